/**
 * The small pieces every admin card is built from: a card with its one heading, a labelled field, the outcome line
 * (done, or a refusal in words with the code only in a "details" line), running an action with its button disabled,
 * the list and role pickers, name inputs that state their limit, date-time inputs, the passphrase rules and saving
 * a file the browser downloads.
 *
 * Owns only DOM helpers; it holds no state, decides nothing and never reaches storage, crypto, a worker or the
 * network (a card gets what it shows from its service in src/app).
 */
import type { DeviceRole } from '../config/kiosk';
import { checkPassphrase, LABEL_MAX_CHARS, PASSPHRASE_RULE } from '../app/input-rules';
import type { ListKind } from '../shared/types';
import { h } from './dom';
import { describeError } from './error-text';
import { colon, formatDateTime, hasKey, lang, t, tf, type StringKey } from './i18n';

/**
 * One admin card: a `section` with exactly one `h2` (the console's heading levels are h1 for the screen, h2 for a
 * card, h3 for a part inside one — test/e2e/admin-layout.test.ts checks it).
 */
export function card(title: string, testid: string, ...children: (Node | null | undefined | false)[]): HTMLElement {
  return h('section', { class: 'card', 'data-testid': testid }, h('h2', {}, title), ...children);
}

/** A refusal in words (field, rule, row), with the code and raw details only in a small line for support. */
export function message(el: HTMLElement, e: unknown): void {
  el.dataset['tone'] = 'bad';
  const d = describeError(e, lang());
  const code = d.code ?? (e as { code?: unknown })?.code;
  el.replaceChildren(d.text);
  if (d.details) el.append(h('small', { class: 'details', 'data-testid': 'error-details', title: t('details') }, d.details));
  if (typeof code === 'string') el.dataset['code'] = code;
  else delete el.dataset['code'];
}

export function ok(el: HTMLElement, text: string): void {
  el.dataset['tone'] = 'ok';
  delete el.dataset['code'];
  el.textContent = text;
}

/** An outcome, mode or status word in the chosen language (the raw value when the table has none). */
export function word(prefix: string, value: string): string {
  const key = `${prefix}_${value}`;
  return hasKey(key) ? t(key) : value;
}

export function field(label: string, input: HTMLElement, id: string): HTMLElement {
  // A wrapped control (filePicker) is labelled through the control inside it.
  const control = input.matches('input, select, textarea') ? input : (input.querySelector('input, select, textarea') ?? input);
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/**
 * A file input with its button and "what is chosen" in the chosen language: the browser's own control says
 * "Choose Files" / "No file chosen" in the browser's language whatever the screen's (hand check, stop 31). The
 * native input stays the focusable, labelled control (visually hidden; its focus ring is drawn on the button).
 * Code that clears `input.value` dispatches 'change' so the line follows.
 */
export function filePicker(input: HTMLInputElement): HTMLElement {
  input.classList.add('file-native');
  const choose = h('button', { type: 'button', class: 'secondary file-choose', tabindex: '-1', 'aria-hidden': 'true' }, t(input.multiple ? 'chooseFilesButton' : 'chooseFileButton'));
  const chosen = h('span', { class: 'file-chosen', 'data-testid': `${input.dataset['testid'] ?? 'file'}-chosen` });
  choose.addEventListener('click', () => input.click());
  const show = (): void => {
    const list = [...(input.files ?? [])];
    chosen.textContent = list.length === 0 ? t('noFileChosen') : list.length === 1 ? list[0]!.name : tf('filesChosen', { n: list.length });
  };
  input.addEventListener('change', show);
  show();
  return h('span', { class: 'file-picker' }, input, choose, chosen);
}

/** The outcome line of a card (status for progress and results; `alert` where a refusal must be announced). */
export function outLine(testid: string, role: 'status' | 'alert' = 'status'): HTMLElement {
  return h('p', { class: 'form-message', role, 'data-testid': testid });
}

export function listSelect(id: string): HTMLSelectElement {
  return h('select', { 'data-testid': id }, h('option', { value: 'allow' }, t('listAllow')), h('option', { value: 'deny' }, t('listDeny')));
}

export const listOf = (s: HTMLSelectElement): ListKind => s.value as ListKind;

export function roleSelect(testid: string, value: DeviceRole): HTMLSelectElement {
  const s = h(
    'select',
    { 'data-testid': testid },
    h('option', { value: 'visitor' }, t('roleVisitor')),
    h('option', { value: 'guard' }, t('roleGuard')),
    h('option', { value: 'attended' }, t('roleAttended')),
  );
  s.value = value;
  return s;
}

/**
 * A name input with its limit stated (no maxlength: the browser would cut a pasted name silently; the app refuses
 * an over-long one with the limit instead).
 */
export function labelInput(testid: string): HTMLInputElement {
  return h('input', { type: 'text', 'data-testid': testid, 'aria-description': tf('labelLimit', { max: LABEL_MAX_CHARS }) });
}

/** A wall time as the value of a datetime-local input (the browser's local time zone), '' for none. */
export function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * A date-time input with what it holds read back beneath it in the chosen language (Intl): the input itself is the
 * browser's control and shows the browser's locale ("01/01/2030, 10:00 AM" on a Chinese screen in an English
 * browser), so the line under it is what the admin can rely on.
 */
export function dateTimeField(testid: string, ms: number | undefined, label: string): { input: HTMLInputElement; el: HTMLElement } {
  const input = h('input', { type: 'datetime-local', value: toLocalInput(ms), 'aria-label': label, 'data-testid': testid });
  const read = h('small', { class: 'help date-read', 'data-testid': `${testid}-read` });
  const show = (): void => {
    let v: number | undefined;
    try {
      v = fromLocalInput(input.value);
    } catch {
      v = undefined;
    }
    read.textContent = `${label}${colon()}${v === undefined ? t('dateNotSet') : formatDateTime(v)}`;
  };
  input.addEventListener('input', show);
  input.addEventListener('change', show);
  show();
  return { input, el: h('div', { class: 'date-field' }, input, read) };
}

/** A datetime-local value back to a wall time (undefined when empty); invalid text is refused by the caller. */
export function fromLocalInput(v: string): number | undefined {
  if (!v) return undefined;
  const ms = new Date(v).getTime();
  if (Number.isNaN(ms)) throw new Error('date');
  return ms;
}

/** Hands bytes to the browser as a download named `name` (the service chose the name and type). */
export function save(bytes: BlobPart, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Runs an action with the button disabled and the outcome in `out`. */
export async function run(button: HTMLButtonElement, out: HTMLElement, fn: () => Promise<string | void>): Promise<void> {
  button.disabled = true;
  out.dataset['tone'] = 'busy';
  out.textContent = '…';
  try {
    const text = await fn();
    ok(out, text ?? t('done'));
  } catch (e) {
    message(out, e);
  } finally {
    button.disabled = false;
  }
}

/** The passphrase rule, shown before anyone types, and what a typed passphrase still misses (live). */
export function passphraseRules(input: HTMLInputElement, testid: string): HTMLElement {
  const vars = { min: PASSPHRASE_RULE.min, max: PASSPHRASE_RULE.max, long: PASSPHRASE_RULE.long };
  const reasons = ['too-short', 'too-few-kinds', 'too-repetitive', 'sequence', 'common'] as const;
  const items = reasons.map((r) => h('li', { 'data-rule': r }, tf(`passRule_${r}` as StringKey, vars)));
  const box = h('div', { class: 'help rules', 'data-testid': testid }, t('passRulesTitle'), h('ul', {}, ...items));
  input.addEventListener('input', () => {
    // Only which rules are met is shown, never the passphrase or a part of it.
    const missing = new Set<string>(input.value ? checkPassphrase(input.value).reasons : reasons);
    for (const li of items) li.dataset['met'] = String(!missing.has(li.dataset['rule']!));
  });
  return box;
}
