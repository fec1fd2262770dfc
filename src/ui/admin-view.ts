/**
 * The admin console (behind the passphrase): first-run set-up, unlock with the lock-out wait shown, enrolment
 * (photo files, live camera, bulk CSV import, plates), the people list (edit, expire, delete), settings and
 * thresholds, model licences, receiver pairing, watchlist sync by file, audit export and panic wipe.
 *
 * Renders snapshots and calls AdminActions; it never touches the vault, crypto or a worker directly. Every action
 * reports success or a clear error in the section it came from; file reports list each photo's outcome.
 */
import type { AppSnapshot } from '../app/controller';
import type { EnrolReport, EnrolTarget } from '../app/admin-ops';
import { padPolicyOf, type DeviceRole, type KioskSettings } from '../config/kiosk';
import { resolveFaceConfig } from '../config/face';
import { DEFAULT_PLATE_MATCH } from '../config/plate';
import type { AuditEntry } from '../shared/types';
import { KioskError } from '../shared/errors';
import type { ListKind, Subject } from '../shared/types';
import type { WatchSubject } from '../app/watchlist';
import { SyncPullCard, type SyncPullActions } from './sync-pull-card';
import { MaintenanceCard, type MaintenanceActions } from './maintenance-card';
import { auditExportFileName, AUDIT_EXPORT_EXTENSION, AUDIT_EXPORT_MIME } from '../app/audit-file';
import { checkPassphrase, LABEL_MAX_CHARS, PASSPHRASE_RULE, previewPlates, splitPlates, WIPE_CONFIRMATION } from '../app/input-rules';
import { qrMatrix } from '../app/qr-exchange';
import { BUNDLE_EXTENSION, BUNDLE_MIME, bundleFileName } from '../sync/transport';
import { h } from './dom';
import { describeError } from './error-text';
import { errorText, formatDateTime, formatDuration, hasKey, lang, setLang, t, tf, type StringKey } from './i18n';
import { reasonText } from './reasons';
import { enrolCoach, filterPeople, namingHolder, peopleToolbar, rowTools, type PeopleQuery } from './people-tools';

export interface GuardRow {
  id: string;
  name: string;
  disabled: boolean;
  hasPin: boolean;
  passkeys: number;
}

export interface AdminActions {
  setup(passphrase: string, opts: { unattended?: boolean; role?: DeviceRole }): Promise<void>;
  unlock(passphrase: string): Promise<void>;
  lock(): void;
  enrolPhotos(items: { file: File; label: string; list: ListKind }[], onProgress?: (d: number, n: number) => void, target?: EnrolTarget): Promise<EnrolReport[]>;
  bulkImport(photos: File[], csv: string, onProgress?: (d: number, n: number) => void): Promise<EnrolReport[]>;
  enrolFromCamera(label: string, list: ListKind, opts: { onProgress?: (got: number, need: number, hint: string | null) => void } & EnrolTarget): Promise<Subject>;
  addPlates(label: string, plates: string[], list: ListKind, target?: EnrolTarget): Promise<Subject>;
  mergeSubjects(keepId: string, otherId: string): Promise<Subject>;
  updateSubject(id: string, patch: Partial<Pick<Subject, 'label' | 'list' | 'validFrom' | 'validUntil'>>): Promise<void>;
  expireSubject(id: string): Promise<void>;
  deleteSubject(id: string): Promise<void>;
  saveSettings(patch: Partial<KioskSettings>): Promise<KioskSettings>;
  pair(code: string): Promise<{ fingerprint: string }>;
  adminPublicKey(): Promise<{ json: string; fingerprint: string }>;
  kioskPublicKey(): Promise<{ json: string; fingerprint: string }>;
  pinAdminKey(json: string): Promise<string>;
  addRecipient(json: string): Promise<string>;
  exportWatchlist(opts: { sitePassphrase?: string }): Promise<{ bytes: Uint8Array<ArrayBuffer>; version: number }>;
  importWatchlist(file: Blob, opts: { sitePassphrase?: string }): Promise<{ version: number; subjects: number }>;
  exportAudit(passphrase: string): Promise<Blob>;
  wipe(confirmation: string): Promise<void>;
  listSubjects(): WatchSubject[];
  cameras(): Promise<{ deviceId: string; label: string }[]>;
  listGuards(): Promise<GuardRow[]>;
  createGuard(name: string, pin: string): Promise<unknown>;
  setGuardDisabled(id: string, disabled: boolean): Promise<void>;
  deleteGuard(id: string): Promise<void>;
  registerPasskey(id: string): Promise<void>;
  readAudit(limit: number): Promise<AuditEntry[]>;
  /** LAN pull of bundles (src/ui/sync-pull-card.ts). */
  pull: SyncPullActions;
  readAuditFile(file: Blob, exportPassphrase: string): Promise<AuditEntry[]>;
  scanAdminKey(): Promise<string>;
  scanKioskKey(): Promise<string>;
  scanPairingCode(): Promise<{ fingerprint: string }>;
  /** Integrity check, quarantine, index rebuild, unattended restart (src/ui/maintenance-card.ts). */
  maintenance: MaintenanceActions;
}

/** A wall time as the value of a datetime-local input (the browser's local time zone), '' for none. */
function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A datetime-local value back to a wall time (undefined when empty); invalid text is refused by the caller. */
function fromLocalInput(v: string): number | undefined {
  if (!v) return undefined;
  const ms = new Date(v).getTime();
  if (Number.isNaN(ms)) throw new Error('date');
  return ms;
}

function roleSelect(testid: string, value: DeviceRole): HTMLSelectElement {
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

/** A refusal in words (field, rule, row), with the code and raw details only in a small line for support. */
function message(el: HTMLElement, e: unknown): void {
  el.dataset['tone'] = 'bad';
  const d = describeError(e, lang());
  const code = d.code ?? (e as { code?: unknown })?.code;
  el.replaceChildren(d.text);
  if (d.details) el.append(h('small', { class: 'details', 'data-testid': 'error-details', title: t('details') }, d.details));
  if (typeof code === 'string') el.dataset['code'] = code;
  else delete el.dataset['code'];
}

/** An outcome, mode or status word in the chosen language (the raw value when the table has none). */
function word(prefix: string, value: string): string {
  const key = `${prefix}_${value}`;
  return hasKey(key) ? t(key) : value;
}

function ok(el: HTMLElement, text: string): void {
  el.dataset['tone'] = 'ok';
  delete el.dataset['code'];
  el.textContent = text;
}

function field(label: string, input: HTMLElement, id: string): HTMLElement {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

function listSelect(id: string): HTMLSelectElement {
  return h('select', { 'data-testid': id }, h('option', { value: 'allow' }, t('listAllow')), h('option', { value: 'deny' }, t('listDeny')));
}

/**
 * A name input with its limit stated (no maxlength: the browser would cut a pasted name silently; the app refuses
 * an over-long one with the limit instead).
 */
function labelInput(testid: string): HTMLInputElement {
  return h('input', { type: 'text', 'data-testid': testid, 'aria-description': tf('labelLimit', { max: LABEL_MAX_CHARS }) });
}

/** Audit entries as a table in the chosen language: local date and time, outcome and mode words, reasons. */
function auditTable(entries: readonly AuditEntry[], names: ReadonlyMap<string, string>): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...[t('time'), t('outcome'), t('modeCol'), t('by'), t('reason')].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...entries.map((e) =>
        h(
          'tr',
          { 'data-outcome': e.outcome, 'data-actor': e.actor ?? '', 'data-at': e.at },
          h('td', {}, formatDateTime(e.at)),
          h('td', {}, word('outcome', e.outcome)),
          h('td', {}, word('mode', e.mode)),
          h('td', {}, e.actor ? (e.actor === 'admin' ? t('admin') : (names.get(e.actor) ?? e.actor)) : ''),
          // A manual override's reason is the guard's own words; policy reasons are translated.
          h('td', {}, e.mode === 'manual' ? (e.reason ?? '') : reasonText(e.reason ?? '', lang())),
        ),
      ),
    ),
  );
}

/** Which settings a save changes, as the labels the form shows (compared by value, nested parts included). */
function changedSettings(cur: KioskSettings, next: Partial<KioskSettings>): StringKey[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const labels: [keyof KioskSettings, StringKey][] = [
    ['role', 'deviceRole'],
    ['sessionIdleSeconds', 'field_sessionIdleSeconds'],
    ['overrideLimit', 'field_overrideLimit'],
    ['overrideWindowMinutes', 'field_overrideWindowMinutes'],
    ['mode', 'mode'],
    ['lang', 'language'],
    ['showNames', 'showNames'],
    ['subjectRefs', 'subjectRefs'],
    ['pad', 'padPolicy'],
    ['retentionHours', 'field_retentionHours'],
    ['door', 'field_door'],
    ['upstreamPath', 'field_upstreamPath'],
    ['cameraDeviceId', 'camera'],
    ['presenceCooldownSeconds', 'presenceCooldown'],
  ];
  const out = labels.filter(([k]) => k in next && !same(cur[k], next[k])).map(([, l]) => l);
  const a = cur.face;
  const b = next.face ?? a;
  if (!same(a.embedder, b.embedder)) out.push('field_embedder');
  if (!same(a.thresholds, b.thresholds)) out.push('field_accept');
  if (!same(a.pad?.liveThreshold, b.pad?.liveThreshold)) out.push('field_liveThreshold');
  if (!same(a.openSet?.targetFpir, b.openSet?.targetFpir)) out.push('fpirTargetSetting');
  const region = cur.plate.region ?? DEFAULT_PLATE_MATCH.region;
  if (!same(region, next.plate?.region ?? region)) out.push('field_plateRegion');
  return out;
}

/** A QR code on a canvas: 6 px per module, black on white (what a camera across a desk reads reliably). */
function qrCanvas(text: string, testid: string): HTMLCanvasElement {
  const m = qrMatrix(text);
  const px = 6;
  const c = h('canvas', { width: m.length * px, height: m.length * px, class: 'qr', 'data-testid': testid, role: 'img', 'aria-label': t('qrHelp') });
  const ctx = c.getContext('2d');
  if (ctx) {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#000';
    m.forEach((row, y) => row.forEach((dark, x) => dark && ctx.fillRect(x * px, y * px, px, px)));
  }
  return c;
}

function save(bytes: BlobPart, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Runs an action with the button disabled and the outcome in `out`. */
async function run(button: HTMLButtonElement, out: HTMLElement, fn: () => Promise<string | void>): Promise<void> {
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

function reportList(reports: EnrolReport[]): HTMLElement {
  return h(
    'ul',
    { class: 'reports', 'data-testid': 'enrol-reports' },
    ...reports.map((r) => {
      const d = r.code ? describeError(KioskError.fromJSON({ code: r.code, message: r.message ?? '', details: r.details ?? {} }), lang()) : null;
      return h(
        'li',
        { 'data-ok': String(r.ok), 'data-code': r.code ?? '', ...(typeof r.details?.['row'] === 'number' ? { 'data-row': r.details['row'] } : {}) },
        `${r.file} → ${r.label}: ${r.ok || !d ? t('enrolled') : d.text}`,
        d ? h('small', { class: 'details' }, d.details) : null,
      );
    }),
  );
}

/** The passphrase rule, shown before anyone types, and what a typed passphrase still misses (live). */
function passphraseRules(input: HTMLInputElement, testid: string): HTMLElement {
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

export class AdminView {
  readonly root: HTMLElement;
  private readonly gate: HTMLElement;
  private readonly console: HTMLElement;
  private readonly people: HTMLElement;
  private readonly plateDebug: HTMLElement;
  private lastSubjectsKey = '';
  private lastPhase = '';
  private modelsLoaded = false;
  private readonly models: HTMLElement;
  private readonly openSet: HTMLElement;
  private lastOpenSet: unknown = undefined;
  private settingsForm: HTMLElement | null = null;
  private pullCard: SyncPullCard | null = null;
  private maintCard: MaintenanceCard | null = null;
  private shownSettings: KioskSettings | null = null;
  /** The people list's outcome line: kept across re-renders of the table, so a result is not lost with it. */
  private readonly peopleOut: HTMLElement;
  private readonly settingsOut: HTMLElement;
  /** Search text and order of the people list (kept across re-renders). */
  private readonly peopleQuery: PeopleQuery = { text: '', sort: 'name' };

  constructor(private readonly actions: AdminActions) {
    this.gate = h('div', { class: 'gate', 'data-testid': 'admin-gate' });
    this.people = h('div', { 'data-testid': 'people' });
    this.peopleOut = h('p', { class: 'form-message', role: 'alert', 'data-testid': 'people-message' });
    this.settingsOut = h('p', { class: 'form-message', role: 'status', 'data-testid': 'settings-message' });
    this.plateDebug = h('div', { class: 'plate-debug', 'data-testid': 'plate-debug' });
    this.models = h('div', { 'data-testid': 'model-licences' });
    this.openSet = h('dl', { class: 'status', 'data-testid': 'open-set' });
    this.console = h('div', { class: 'admin-console', 'data-testid': 'admin-console', hidden: true });
    this.root = h('section', { class: 'admin', 'data-testid': 'admin' }, h('h1', {}, t('adminTitle')), this.gate, this.console);
  }

  render(s: AppSnapshot): void {
    const v = s.vault;
    // Re-render a screen only when the gate changes: re-rendering the console would drop what an admin typed.
    const gate = !v || v.status === 'uninitialised' || s.phase === 'wiped' ? 'setup' : !v.admin ? `unlock:${v.lockedUntil}` : 'console';
    const phaseKey = gate;
    if (phaseKey !== this.lastPhase) {
      this.lastPhase = phaseKey;
      if (gate !== 'console') {
        // A locked console keeps nothing: no name, list or key stays in the DOM behind the gate.
        this.console.replaceChildren();
        this.people.replaceChildren();
        this.plateDebug.replaceChildren();
        this.lastSubjectsKey = '';
        this.lastOpenSet = undefined;
        this.modelsLoaded = false;
      }
      if (!v || v.status === 'uninitialised' || s.phase === 'wiped') this.renderSetup();
      else if (!v.admin) this.renderUnlock(v.lockedUntil);
      else this.renderConsole(s);
      this.gate.hidden = !!v?.admin && s.phase !== 'wiped';
      this.console.hidden = !this.gate.hidden;
    }
    if (v?.admin) {
      const key = `${s.watchlist.loadedAt}|${s.watchlist.subjects}`;
      if (key !== this.lastSubjectsKey) {
        this.lastSubjectsKey = key;
        this.renderPeople();
      }
      this.renderPlateDebug(s);
      // Settings changed under the form (set-up finished, another save): show the values in force.
      if (this.settingsForm && s.settings !== this.shownSettings) {
        const old = this.settingsForm;
        old.replaceWith(this.settingsCard(s.settings));
      }
      if (s.openSet !== this.lastOpenSet) {
        this.lastOpenSet = s.openSet;
        this.renderOpenSet(s);
      }
      this.pullCard?.render(s.sync);
      this.maintCard?.render(v.unattended);
    }
  }

  /** The accept threshold the gallery size forces, the expected FPIR there, and a refusal when unreachable. */
  private renderOpenSet(s: AppSnapshot): void {
    const o = s.openSet;
    if (!o) {
      this.openSet.replaceChildren();
      return;
    }
    const pct = (x: number) => `${(100 * x).toPrecision(2)}%`;
    this.openSet.dataset['reachable'] = String(o.reachable);
    this.openSet.dataset['threshold'] = o.threshold.toFixed(3);
    const refused = o.reachable
      ? []
      : [
          h(
            'dd',
            { role: 'alert', class: 'form-message', 'data-tone': 'bad', 'data-testid': 'open-set-refused', 'data-code': 'WATCHLIST_TOO_LARGE' },
            `${t('openSetUnreachable')} [WATCHLIST_TOO_LARGE]`,
          ),
        ];
    this.openSet.replaceChildren(
      h('dt', {}, t('openSetThreshold')),
      h('dd', { 'data-testid': 'open-set-threshold' }, `${o.threshold.toFixed(3)} (${o.templates} ${t('openSetTemplates')})`),
      h('dt', {}, t('openSetFpir')),
      h('dd', { 'data-testid': 'open-set-fpir' }, `${pct(o.expectedFpir)} (${t('openSetTarget')} ≤ ${pct(o.targetFpir)})`),
      ...refused,
    );
  }

  // ---- gate ----

  private renderSetup(): void {
    const pass = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'setup-passphrase' });
    const again = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'setup-passphrase-again' });
    const unattended = h('input', { type: 'checkbox', checked: true, 'data-testid': 'setup-unattended' });
    const role = roleSelect('setup-role', 'visitor');
    const out = h('p', { class: 'form-message', role: 'alert', 'data-testid': 'setup-message' });
    const btn = h('button', { type: 'submit', 'data-testid': 'setup-submit' }, t('setupSubmit'));
    const form = h(
      'form',
      { 'aria-label': t('setupTitle') },
      h('h2', {}, t('setupTitle')),
      h('p', {}, t('setupHelp')),
      field(t('passphrase'), pass, 'setup-pass'),
      passphraseRules(pass, 'setup-rules'),
      field(t('passphraseAgain'), again, 'setup-pass-2'),
      h('label', { class: 'check' }, unattended, ` ${t('unattended')}`),
      field(t('deviceRole'), role, 'setup-role-in'),
      h('p', { class: 'help' }, t('deviceRoleHelp')),
      btn,
      out,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (pass.value !== again.value) {
        out.dataset['tone'] = 'bad';
        out.textContent = t('passphraseMismatch');
        return;
      }
      void run(btn, out, async () => {
        await this.actions.setup(pass.value, { unattended: unattended.checked, role: role.value as DeviceRole });
        pass.value = again.value = '';
      });
    });
    this.gate.replaceChildren(form);
  }

  private renderUnlock(lockedUntil: number): void {
    const pass = h('input', { type: 'password', autocomplete: 'current-password', 'data-testid': 'unlock-passphrase' });
    const out = h('p', { class: 'form-message', role: 'alert', 'data-testid': 'unlock-message' });
    const btn = h('button', { type: 'submit', 'data-testid': 'unlock-submit' }, t('unlock'));
    const form = h('form', { 'aria-label': t('unlock') }, h('h2', {}, t('unlock')), field(t('passphrase'), pass, 'unlock-pass'), btn, out);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (btn.disabled) return;
      void run(btn, out, async () => {
        await this.actions.unlock(pass.value);
        pass.value = '';
      });
    });
    this.gate.replaceChildren(form);
    this.unlockUntil = lockedUntil;
    this.lockoutCountdown(btn, out);
  }

  private unlockUntil = 0;
  private countdown: ReturnType<typeof setInterval> | null = null;

  /**
   * While the vault is locked out: the remaining time, counting down, and the unlock button disabled until it ends
   * (the vault refuses an attempt anyway; the screen says so before anyone types).
   */
  private lockoutCountdown(btn: HTMLButtonElement, out: HTMLElement): void {
    if (this.countdown !== null) clearInterval(this.countdown);
    this.countdown = null;
    // A failed attempt that starts a lock-out changes the vault's lockedUntil, which re-renders this form.
    const until = this.unlockUntil;
    const tick = (): void => {
      const left = until - Date.now();
      if (left <= 0 || !btn.isConnected) {
        if (this.countdown !== null) clearInterval(this.countdown);
        this.countdown = null;
        if (btn.isConnected && btn.dataset['lockedOut'] === 'true') {
          btn.disabled = false;
          btn.textContent = t('unlock');
          delete btn.dataset['lockedOut'];
          out.replaceChildren();
          delete out.dataset['tone'];
          delete out.dataset['code'];
        }
        return;
      }
      btn.disabled = true;
      btn.dataset['lockedOut'] = 'true';
      btn.textContent = `${t('lockedOutButton')} ${formatDuration(left)}`;
      out.dataset['tone'] = 'bad';
      out.dataset['code'] = 'STORE_LOCKED_OUT';
      out.dataset['remainingMs'] = String(left);
      out.textContent = `${t('lockedOutFor')} ${formatDuration(left)}`;
    };
    if (until > Date.now()) {
      tick();
      this.countdown = setInterval(tick, 1000);
    }
  }

  // ---- console ----

  private section(title: string, testid: string, ...children: (Node | null)[]): HTMLElement {
    return h('section', { class: 'card', 'data-testid': testid }, h('h2', {}, title), ...children);
  }

  private renderConsole(s: AppSnapshot): void {
    const lockBtn = h('button', { type: 'button', 'data-testid': 'admin-lock' }, t('lock'));
    lockBtn.addEventListener('click', () => this.actions.lock());
    this.console.replaceChildren(
      h('div', { class: 'toolbar' }, lockBtn),
      this.section(t('people'), 'section-people', this.people),
      this.guardsCard(),
      this.enrolPhotosCard(),
      this.enrolCameraCard(),
      this.bulkCard(),
      this.platesCard(),
      this.settingsCard(s.settings),
      this.section(t('openSetTitle'), 'section-open-set', this.openSet),
      this.pairingCard(),
      this.syncCard(),
      (this.pullCard = new SyncPullCard(this.actions.pull, s.settings.pullMinutes)).el,
      this.auditCard(),
      (this.maintCard = new MaintenanceCard(this.actions.maintenance)).el,
      this.section(t('plateDebug'), 'section-plate-debug', h('p', { class: 'help' }, t('plateDebugHelp')), this.plateDebug),
      this.section(t('modelsTitle'), 'section-models', this.models),
      this.wipeCard(),
    );
    void this.loadModels();
  }

  private renderPeople(): void {
    const subjects = this.actions.listSubjects();
    if (subjects.length === 0) {
      this.people.replaceChildren(h('p', { 'data-testid': 'people-empty' }, t('noPeople')));
      return;
    }
    const out = this.peopleOut;
    const rows = filterPeople(subjects, this.peopleQuery).map((s) => {
      const expired = s.validUntil !== undefined && s.validUntil <= Date.now();
      const expire = h('button', { type: 'button', 'data-testid': 'expire' }, t('expire'));
      const del = h('button', { type: 'button', class: 'danger', 'data-testid': 'delete' }, t('delete'));
      const label = h('input', { type: 'text', value: s.label, 'aria-label': t('label'), 'data-testid': 'edit-label' });
      const list = listSelect('edit-list');
      list.value = s.list;
      const saveBtn = h('button', { type: 'button', 'data-testid': 'save-subject' }, t('save'));
      const from = h('input', { type: 'datetime-local', value: toLocalInput(s.validFrom), 'aria-label': t('validFrom'), 'data-testid': 'edit-valid-from' });
      const until = h('input', { type: 'datetime-local', value: toLocalInput(s.validUntil), 'aria-label': t('validUntil'), 'data-testid': 'edit-valid-until' });
      expire.addEventListener('click', () => void run(expire, out, () => this.actions.expireSubject(s.id)));
      del.addEventListener('click', () => {
        if (confirm(t('confirmDelete'))) void run(del, out, () => this.actions.deleteSubject(s.id));
      });
      saveBtn.addEventListener('click', () =>
        void run(saveBtn, out, async () => {
          let validFrom: number | undefined;
          let validUntil: number | undefined;
          try {
            validFrom = fromLocalInput(from.value);
            validUntil = fromLocalInput(until.value);
          } catch {
            throw new Error(t('badDate'));
          }
          if (validFrom !== undefined && validUntil !== undefined && validUntil <= validFrom) throw new Error(t('badPeriod'));
          await this.actions.updateSubject(s.id, { label: label.value, list: list.value as ListKind, validFrom, validUntil });
        }),
      );
      const templates = Object.values(s.templateCounts).reduce((n, a) => n + a, 0);
      return h(
        'tr',
        { 'data-subject': s.id, 'data-label': s.label },
        h('td', {}, label),
        h('td', {}, list),
        h('td', {}, String(templates)),
        h('td', {}, s.plates.join(' ')),
        h('td', { 'data-testid': 'validity' }, expired ? t('expired') : '', from, until),
        h('td', {}, saveBtn, expire, del, this.personTools(s, subjects)),
      );
    });
    this.people.replaceChildren(
      peopleToolbar(this.peopleQuery, () => this.renderPeople()),
      h(
        'table',
        { 'data-testid': 'people-table' },
        h('thead', {}, h('tr', {}, ...[t('label'), t('list'), t('templates'), t('plates'), t('validUntil'), t('colActions')].map((c) => h('th', {}, c)))),
        h('tbody', {}, ...rows),
      ),
      out,
    );
  }

  /** Add photos or a plate to this person, or merge another person into them. */
  private personTools(s: WatchSubject, all: readonly WatchSubject[]): HTMLElement {
    const out = this.peopleOut;
    const others = all.filter((o) => o.id !== s.id);
    return rowTools(
      others,
      {
        addPhotos: async (files) => {
          const r = await this.actions.enrolPhotos(files.map((file) => ({ file, label: s.label, list: s.list })), undefined, { addTo: s.id });
          const bad = r.find((x) => !x.ok);
          if (bad) throw Object.assign(new Error(`${bad.file}: ${bad.message ?? ''} [${bad.code}]`), { code: bad.code });
        },
        addPlate: async (plate) => {
          try {
            await this.actions.addPlates(s.label, [plate], s.list, { addTo: s.id });
          } catch (e) {
            throw namingHolder(e, all);
          }
        },
        mergeWith: async (otherId) => void (await this.actions.mergeSubjects(s.id, otherId)),
      },
      (button, fn) => void run(button, out, fn),
    );
  }

  private enrolPhotosCard(): HTMLElement {
    const files = h('input', { type: 'file', accept: 'image/*', multiple: true, 'data-testid': 'enrol-files' });
    const label = labelInput('enrol-label');
    const list = listSelect('enrol-list');
    const btn = h('button', { type: 'button', 'data-testid': 'enrol-submit' }, t('enrol'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'enrol-message' });
    const reports = h('div', { 'data-testid': 'enrol-report' });
    // A face already enrolled: the choice to add to that person comes first, a new record second.
    const duplicate = h('div', { class: 'duplicate', 'data-testid': 'enrol-duplicate', hidden: true });
    const enrol = (chosen: File[], button: HTMLButtonElement, target: EnrolTarget) =>
      void run(button, out, async () => {
        if (chosen.length === 0) throw new Error(t('chooseFiles'));
        reports.replaceChildren();
        duplicate.hidden = true;
        duplicate.replaceChildren();
        const r = await this.actions.enrolPhotos(
          chosen.map((file) => ({ file, label: label.value, list: list.value as ListKind })),
          (d, n) => (out.textContent = `${d}/${n}`),
          target,
        );
        reports.replaceChildren(reportList(r));
        files.value = '';
        const good = r.filter((x) => x.ok);
        const dup = r.find((x) => x.code === 'ENROL_DUPLICATE_FACE' && x.holderId);
        const holder = dup ? this.actions.listSubjects().find((x) => x.id === dup.holderId) : undefined;
        if (dup && holder) {
          const addTo = h('button', { type: 'button', 'data-testid': 'enrol-add-to-existing' }, `${t('addToExisting')} ${holder.label}`);
          const asNew = h('button', { type: 'button', class: 'secondary', 'data-testid': 'enrol-as-new' }, t('enrolAsNew'));
          addTo.addEventListener('click', () => enrol(chosen, addTo, { addTo: holder.id }));
          asNew.addEventListener('click', () => enrol(chosen, asNew, { allowDuplicate: true }));
          duplicate.replaceChildren(h('p', {}, `${t('duplicateOf')}: ${holder.label}`), addTo, asNew);
          duplicate.hidden = false;
          throw Object.assign(new Error(`${errorText('ENROL_DUPLICATE_FACE', dup.message ?? '')} ${t('duplicateOf')}: ${holder.label} [ENROL_DUPLICATE_FACE]`), { code: 'ENROL_DUPLICATE_FACE' });
        }
        if (good.length === 0) {
          const first = r.find((x) => x.code);
          throw Object.assign(new Error(`${t('enrolledNone')}: ${first?.message ?? ''}`), first?.code ? { code: first.code } : {});
        }
        return `${good.length}/${r.length} ${t('photosEnrolled')}`;
      });
    btn.addEventListener('click', () => enrol([...(files.files ?? [])], btn, {}));
    return this.section(
      t('enrolPhotos'),
      'section-enrol-photos',
      h('p', { class: 'help' }, t('enrolPhotosHelp')),
      field(t('label'), label, 'enrol-label-in'),
      field(t('list'), list, 'enrol-list-in'),
      field(t('photos'), files, 'enrol-files-in'),
      btn,
      out,
      duplicate,
      reports,
    );
  }

  private enrolCameraCard(): HTMLElement {
    const label = labelInput('camera-enrol-label');
    const list = listSelect('camera-enrol-list');
    const btn = h('button', { type: 'button', 'data-testid': 'camera-enrol-submit' }, t('enrolFromCamera'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'camera-enrol-message' });
    const coach = enrolCoach();
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        coach.reset();
        await this.actions.enrolFromCamera(label.value, list.value as ListKind, { onProgress: coach.update });
        return t('enrolledOne');
      }),
    );
    return this.section(t('enrolFromCamera'), 'section-enrol-camera', h('p', { class: 'help' }, t('enrolCameraHelp')), field(t('label'), label, 'cam-label'), field(t('list'), list, 'cam-list'), btn, coach.root, out);
  }

  private bulkCard(): HTMLElement {
    const photos = h('input', { type: 'file', accept: 'image/*', multiple: true, 'data-testid': 'bulk-photos' });
    const csv = h('input', { type: 'file', accept: '.csv,text/csv', 'data-testid': 'bulk-csv' });
    const btn = h('button', { type: 'button', 'data-testid': 'bulk-submit' }, t('import'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'bulk-message' });
    const reports = h('div', { 'data-testid': 'bulk-report' });
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        const csvFile = csv.files?.[0];
        if (!csvFile) throw new Error(t('chooseCsv'));
        reports.replaceChildren();
        const r = await this.actions.bulkImport([...(photos.files ?? [])], await csvFile.text(), (d, n) => (out.textContent = `${d}/${n}`));
        reports.replaceChildren(reportList(r));
        return `${r.filter((x) => x.ok).length}/${r.length} ${t('photosEnrolled')}`;
      }),
    );
    return this.section(t('bulkImport'), 'section-bulk', h('p', { class: 'help' }, t('bulkHelp')), field(t('photos'), photos, 'bulk-photos-in'), field(t('field_csv'), csv, 'bulk-csv-in'), btn, out, reports);
  }

  private platesCard(): HTMLElement {
    const label = labelInput('plate-label');
    const plates = h('input', { type: 'text', 'data-testid': 'plate-numbers', placeholder: 'ABC1234' });
    // What will be stored, shown while typing: normalisation (case, accents, spaces, punctuation) is never silent.
    const preview = h('p', { class: 'help', 'aria-live': 'polite', 'data-testid': 'plate-preview' });
    const showPreview = (): void => {
      const p = previewPlates(plates.value);
      preview.dataset['plates'] = p.join(',');
      preview.textContent = plates.value.trim() === '' ? '' : p.length > 0 ? tf('platePreview', { plates: p.join(', ') }) : t('platePreviewNone');
    };
    plates.addEventListener('input', showPreview);
    const list = listSelect('plate-list');
    const btn = h('button', { type: 'button', 'data-testid': 'plate-submit' }, t('addPlates'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'plate-message' });
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        // Several plates are separated by commas or semicolons; spaces belong to a plate ("AB 12 CD").
        let s: Subject;
        try {
          s = await this.actions.addPlates(label.value, splitPlates(plates.value), list.value as ListKind);
        } catch (e) {
          throw namingHolder(e, this.actions.listSubjects());
        }
        plates.value = '';
        showPreview();
        return `${t('enrolledOne')} ${t('plates')}: ${s.plates.join(', ')}`;
      }),
    );
    return this.section(t('addPlates'), 'section-plates', field(t('label'), label, 'plate-label-in'), field(t('plates'), plates, 'plate-numbers-in'), preview, field(t('list'), list, 'plate-list-in'), btn, out);
  }

  private settingsCard(s: KioskSettings): HTMLElement {
    this.shownSettings = s;
    // Every control shows the value in force: where a setting is "the default", the default's value is shown.
    const inForce = resolveFaceConfig(s.face);
    const mode = h('select', { 'data-testid': 'setting-mode' }, h('option', { value: 'face' }, t('modeFace')), h('option', { value: 'plate' }, t('modePlate')));
    mode.value = s.mode;
    const language = h('select', { 'data-testid': 'setting-lang' }, h('option', { value: 'en' }, 'English'), h('option', { value: 'zh' }, '中文'));
    language.value = lang();
    const names = h('input', { type: 'checkbox', checked: s.showNames, 'data-testid': 'setting-show-names' });
    const refs = h('input', { type: 'checkbox', checked: s.subjectRefs, 'data-testid': 'setting-subject-refs' });
    const padWords: Record<string, StringKey> = { off: 'padOff', passive: 'padPassive', active: 'padActive' };
    const pad = h(
      'select',
      { 'data-testid': 'setting-pad' },
      h('option', { value: '' }, `${t('padRoleDefault')}: ${t(padWords[padPolicyOf({ role: s.role })]!)}`),
      h('option', { value: 'off' }, t('padOff')),
      h('option', { value: 'passive' }, t('padPassive')),
      h('option', { value: 'active' }, t('padActive')),
    );
    pad.value = s.pad ?? '';
    const live = h('input', { type: 'number', step: '0.01', min: '0.01', max: '0.999', 'data-testid': 'setting-live-threshold', value: String(inForce.pad.liveThreshold) });
    const embedder = h('select', { 'data-testid': 'setting-embedder' }, h('option', { value: 'fr_feature' }, 'fr_feature (512-D)'), h('option', { value: 'dlib_resnet' }, t('embedderDlib')));
    embedder.value = inForce.embedder;
    // The open-set target in percent (the admin screen shows FPIR in percent), the value in force shown.
    const fpirTarget = h('input', { type: 'number', step: 'any', min: '0', max: '50', 'data-testid': 'setting-fpir-target', value: String(Number((100 * inForce.openSet.targetFpir).toPrecision(6))) });
    const accept = h('input', { type: 'number', step: '0.01', min: '-1', max: '1', 'data-testid': 'setting-accept', value: String(inForce.thresholds[inForce.embedder].accept) });
    // The accept threshold belongs to an embedder: choosing the other one shows that one's threshold in force.
    embedder.addEventListener('change', () => {
      accept.value = String(inForce.thresholds[embedder.value as 'fr_feature' | 'dlib_resnet'].accept);
    });
    const retention = h('input', { type: 'number', min: '1', max: String(24 * 366), value: String(s.retentionHours), 'data-testid': 'setting-retention' });
    const role = roleSelect('setting-role', s.role);
    const idle = h('input', { type: 'number', min: '0', max: '3600', value: String(s.sessionIdleSeconds), 'data-testid': 'setting-idle' });
    const overrideLimit = h('input', { type: 'number', min: '1', max: '100', value: String(s.overrideLimit), 'data-testid': 'setting-override-limit' });
    const overrideWindow = h('input', { type: 'number', min: '1', max: '1440', value: String(s.overrideWindowMinutes), 'data-testid': 'setting-override-window' });
    const cooldown = h('input', { type: 'number', min: '5', max: '3600', value: String(s.presenceCooldownSeconds), 'data-testid': 'setting-presence-cooldown' });
    const door = h('input', { type: 'text', value: s.door, 'data-testid': 'setting-door' });
    const path = h('input', { type: 'text', value: s.upstreamPath, 'data-testid': 'setting-upstream-path' });
    const region = h('select', { 'data-testid': 'setting-plate-region' }, ...['us', 'eu', 'br', 'cn'].map((r) => h('option', { value: r }, r.toUpperCase())));
    region.value = s.plate.region ?? DEFAULT_PLATE_MATCH.region;
    const camera = h('select', { 'data-testid': 'setting-camera' }, h('option', { value: '' }, t('defaultCamera')));
    void this.actions.cameras().then((cams) => {
      for (const c of cams) camera.append(h('option', { value: c.deviceId }, c.label));
      camera.value = s.cameraDeviceId;
    });
    const btn = h('button', { type: 'button', 'data-testid': 'settings-save' }, t('save'));
    // One outcome line for every rendering of this card: a save re-renders it with the stored values.
    const out = this.settingsOut;
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        // Numbers are read strictly: an empty or out-of-range box is refused with its field named, never saved as 0.
        const numberOf = (input: HTMLInputElement, field: string, integer: boolean): number => {
          const v = input.value.trim() === '' ? NaN : Number(input.value);
          const min = Number(input.min);
          const max = Number(input.max);
          if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) throw new KioskError('CONFIG_INVALID', { field, min, max });
          return v;
        };
        const emb = embedder.value as 'fr_feature' | 'dlib_resnet';
        const face = { ...s.face };
        if (emb !== inForce.embedder || s.face.embedder !== undefined) face.embedder = emb;
        const acceptValue = numberOf(accept, 'accept', false);
        if (acceptValue !== inForce.thresholds[emb].accept) {
          face.thresholds = { ...(s.face.thresholds ?? {}), [emb]: { ...(s.face.thresholds?.[emb] ?? {}), accept: acceptValue } };
        }
        // An empty box means the documented default (docs/liveness.md); the config refuses values outside (0, 1).
        const { liveThreshold: _old, ...padRest } = s.face.pad ?? {};
        const liveValue = live.value.trim() === '' ? undefined : numberOf(live, 'liveThreshold', false);
        face.pad = liveValue === undefined || (liveValue === inForce.pad.liveThreshold && _old === undefined) ? padRest : { ...padRest, liveThreshold: liveValue };
        const { targetFpir: _oldTarget, ...openSetRest } = s.face.openSet ?? {};
        const fpirValue = fpirTarget.value.trim() === '' ? undefined : numberOf(fpirTarget, 'targetFpir', false) / 100;
        face.openSet =
          fpirValue === undefined || (fpirValue === inForce.openSet.targetFpir && _oldTarget === undefined) ? openSetRest : { ...openSetRest, targetFpir: fpirValue };
        const next: Partial<KioskSettings> = {
          mode: mode.value as KioskSettings['mode'],
          lang: language.value as 'en' | 'zh',
          showNames: names.checked,
          subjectRefs: refs.checked,
          pad: (pad.value || undefined) as KioskSettings['pad'],
          retentionHours: numberOf(retention, 'retentionHours', true),
          door: door.value.trim(),
          upstreamPath: path.value.trim(),
          cameraDeviceId: camera.value,
          face,
          plate: { ...s.plate, region: region.value },
          role: role.value as DeviceRole,
          sessionIdleSeconds: numberOf(idle, 'sessionIdleSeconds', true),
          overrideLimit: numberOf(overrideLimit, 'overrideLimit', true),
          overrideWindowMinutes: numberOf(overrideWindow, 'overrideWindowMinutes', true),
          presenceCooldownSeconds: numberOf(cooldown, 'presenceCooldownSeconds', true),
        };
        const changed = changedSettings(s, next);
        if (changed.length === 0) return t('settingsUnchanged');
        setLang(language.value as 'en' | 'zh');
        await this.actions.saveSettings(next);
        return tf('settingsChanged', { fields: changed.map((f) => t(f)).join(lang() === 'zh' ? '、' : ', ') });
      }),
    );
    this.settingsForm = this.section(
      t('settings'),
      'section-settings',
      field(t('deviceRole'), role, 'set-role'),
      field(t('sessionIdle'), idle, 'set-idle'),
      field(t('overrideLimit'), overrideLimit, 'set-override-limit'),
      field(t('overrideWindow'), overrideWindow, 'set-override-window'),
      field(t('presenceCooldown'), cooldown, 'set-presence-cooldown'),
      field(t('mode'), mode, 'set-mode'),
      field(t('language'), language, 'set-lang'),
      h('label', { class: 'check' }, names, ` ${t('showNames')}`),
      h('label', { class: 'check' }, refs, ` ${t('subjectRefs')}`),
      field(t('padPolicy'), pad, 'set-pad'),
      field(t('padLiveThreshold'), live, 'set-live-threshold'),
      field(t('embedder'), embedder, 'set-embedder'),
      field(t('acceptThreshold'), accept, 'set-accept'),
      field(t('fpirTargetSetting'), fpirTarget, 'set-fpir-target'),
      field(t('plateRegion'), region, 'set-region'),
      field(t('camera'), camera, 'set-camera'),
      field(t('retentionHours'), retention, 'set-retention'),
      field(t('door'), door, 'set-door'),
      field(t('upstreamPath'), path, 'set-path'),
      btn,
      out,
    );
    return this.settingsForm;
  }

  private pairingCard(): HTMLElement {
    const code = h('input', { type: 'text', autocomplete: 'off', 'data-testid': 'pair-code' });
    const btn = h('button', { type: 'button', 'data-testid': 'pair-submit' }, t('pair'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'pair-message' });
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        const r = await this.actions.pair(code.value);
        code.value = '';
        return `${t('paired')} ${r.fingerprint}`;
      }),
    );
    const scan = h('button', { type: 'button', 'data-testid': 'pair-scan' }, t('scanPairCode'));
    scan.addEventListener('click', () =>
      void run(scan, out, async () => {
        out.textContent = t('scanning');
        return `${t('paired')} ${(await this.actions.scanPairingCode()).fingerprint}`;
      }),
    );
    return this.section(t('pairing'), 'section-pairing', h('p', { class: 'help' }, t('pairHelp')), field(t('pairCode'), code, 'pair-code-in'), btn, scan, out);
  }

  private syncCard(): HTMLElement {
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'sync-message' });
    const keyOut = h('textarea', { readonly: true, rows: 3, 'data-testid': 'key-json', 'aria-label': t('publicKey') });
    const showAdmin = h('button', { type: 'button', 'data-testid': 'show-admin-key' }, t('showAdminKey'));
    const showKiosk = h('button', { type: 'button', 'data-testid': 'show-kiosk-key' }, t('showKioskKey'));
    const fp = h('p', { class: 'fingerprint', 'data-testid': 'key-fingerprint' });
    const qr = h('div', { class: 'qr-box', 'data-testid': 'key-qr-box' });
    const showKey = (k: { json: string; fingerprint: string }) => {
      keyOut.value = k.json;
      fp.textContent = k.fingerprint;
      qr.replaceChildren(qrCanvas(k.json, 'key-qr'), h('p', { class: 'help' }, t('qrHelp')));
    };
    showAdmin.addEventListener('click', () => void run(showAdmin, out, async () => showKey(await this.actions.adminPublicKey())));
    showKiosk.addEventListener('click', () => void run(showKiosk, out, async () => showKey(await this.actions.kioskPublicKey())));
    // Reading the other tablet's QR code with this camera: the fingerprint is shown here to compare with theirs.
    const scanAdmin = h('button', { type: 'button', 'data-testid': 'scan-admin-key' }, t('scanAdminKey'));
    const scanKiosk = h('button', { type: 'button', 'data-testid': 'scan-kiosk-key' }, t('scanKioskKey'));
    scanAdmin.addEventListener('click', () =>
      void run(scanAdmin, out, async () => {
        out.textContent = t('scanning');
        const fingerprint = await this.actions.scanAdminKey();
        fp.textContent = fingerprint;
        return `${t('pinned')} ${fingerprint}`;
      }),
    );
    scanKiosk.addEventListener('click', () =>
      void run(scanKiosk, out, async () => {
        out.textContent = t('scanning');
        const fingerprint = await this.actions.scanKioskKey();
        fp.textContent = fingerprint;
        return `${t('added')} ${fingerprint}`;
      }),
    );
    const pinIn = h('textarea', { rows: 3, 'data-testid': 'pin-admin-json' });
    const pinBtn = h('button', { type: 'button', 'data-testid': 'pin-admin-submit' }, t('pinAdminKey'));
    pinBtn.addEventListener('click', () => void run(pinBtn, out, async () => `${t('pinned')} ${await this.actions.pinAdminKey(pinIn.value)}`));
    const recIn = h('textarea', { rows: 3, 'data-testid': 'recipient-json' });
    const recBtn = h('button', { type: 'button', 'data-testid': 'recipient-submit' }, t('addRecipient'));
    recBtn.addEventListener('click', () => void run(recBtn, out, async () => `${t('added')} ${await this.actions.addRecipient(recIn.value)}`));
    const site = h('input', { type: 'password', autocomplete: 'off', 'data-testid': 'site-passphrase' });
    const exportBtn = h('button', { type: 'button', 'data-testid': 'export-bundle' }, t('exportBundle'));
    exportBtn.addEventListener('click', () =>
      void run(exportBtn, out, async () => {
        const r = await this.actions.exportWatchlist(site.value ? { sitePassphrase: site.value } : {});
        save(r.bytes, bundleFileName({ kind: 'full', version: r.version }), BUNDLE_MIME);
        return `${t('exported')} v${r.version}`;
      }),
    );
    const file = h('input', { type: 'file', accept: BUNDLE_EXTENSION, 'data-testid': 'import-bundle-file' });
    const importBtn = h('button', { type: 'button', 'data-testid': 'import-bundle' }, t('importBundle'));
    importBtn.addEventListener('click', () =>
      void run(importBtn, out, async () => {
        const f = file.files?.[0];
        if (!f) throw new Error(t('chooseFiles'));
        const r = await this.actions.importWatchlist(f, site.value ? { sitePassphrase: site.value } : {});
        return `${t('imported')} v${r.version}: ${r.subjects} ${t('people')}`;
      }),
    );
    return this.section(
      t('sync'),
      'section-sync',
      h('p', { class: 'help' }, t('syncHelp')),
      h('div', { class: 'buttons' }, showAdmin, showKiosk),
      keyOut,
      fp,
      qr,
      h('div', { class: 'buttons' }, scanAdmin, scanKiosk),
      field(t('pinAdminKey'), pinIn, 'pin-in'),
      pinBtn,
      field(t('addRecipient'), recIn, 'rec-in'),
      recBtn,
      field(t('sitePassphrase'), site, 'site-pass'),
      h('div', { class: 'buttons' }, exportBtn),
      field(t('bundleFile'), file, 'bundle-file'),
      importBtn,
      out,
    );
  }

  private auditCard(): HTMLElement {
    const pass = h('input', { type: 'password', autocomplete: 'off', 'data-testid': 'audit-passphrase' });
    const btn = h('button', { type: 'button', 'data-testid': 'audit-export' }, t('exportAudit'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'audit-message' });
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        const name = auditExportFileName(Date.now());
        save(await this.actions.exportAudit(pass.value), name, AUDIT_EXPORT_MIME);
        return `${t('exported')}: ${name}`;
      }),
    );
    const show = h('button', { type: 'button', 'data-testid': 'audit-show' }, t('auditShow'));
    const table = h('div', { 'data-testid': 'audit-entries' });
    show.addEventListener('click', () =>
      void run(show, out, async () => {
        const [entries, guards] = await Promise.all([this.actions.readAudit(50), this.actions.listGuards()]);
        table.replaceChildren(auditTable(entries, new Map(guards.map((g) => [g.id, g.name]))));
        return `${entries.length} ${t('auditEntries')}`;
      }),
    );
    // Reading an exported file back: the same table, from the file, with the passphrase it was exported with.
    const file = h('input', { type: 'file', accept: AUDIT_EXPORT_EXTENSION, 'data-testid': 'audit-read-file' });
    const filePass = h('input', { type: 'password', autocomplete: 'off', 'data-testid': 'audit-read-passphrase' });
    const readBtn = h('button', { type: 'button', 'data-testid': 'audit-read' }, t('auditRead'));
    const readOut = h('p', { class: 'form-message', role: 'status', 'data-testid': 'audit-read-message' });
    const readTable = h('div', { 'data-testid': 'audit-read-entries' });
    readBtn.addEventListener('click', () =>
      void run(readBtn, readOut, async () => {
        const f = file.files?.[0];
        if (!f) throw new KioskError('INPUT_REQUIRED', { field: 'file' });
        readTable.replaceChildren();
        const [entries, guards] = await Promise.all([this.actions.readAuditFile(f, filePass.value), this.actions.listGuards()]);
        readTable.replaceChildren(auditTable(entries, new Map(guards.map((g) => [g.id, g.name]))));
        filePass.value = '';
        return `${entries.length} ${t('auditEntries')}`;
      }),
    );
    return this.section(
      t('audit'),
      'section-audit',
      h('p', { class: 'help' }, t('auditHelp')),
      field(t('exportPassphrase'), pass, 'audit-pass'),
      passphraseRules(pass, 'audit-rules'),
      btn,
      show,
      out,
      table,
      h('h3', {}, t('auditReadTitle')),
      h('p', { class: 'help' }, t('auditReadHelp')),
      field(t('auditFile'), file, 'audit-read-file-in'),
      field(t('exportPassphrase'), filePass, 'audit-read-pass'),
      readBtn,
      readOut,
      readTable,
    );
  }

  private guardsCard(): HTMLElement {
    const name = h('input', { type: 'text', maxlength: 64, 'data-testid': 'guard-name' });
    const pin = h('input', { type: 'password', inputmode: 'numeric', autocomplete: 'new-password', maxlength: 12, 'data-testid': 'guard-pin' });
    const add = h('button', { type: 'button', 'data-testid': 'guard-add' }, t('addGuard'));
    const out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'guards-message' });
    const list = h('div', { 'data-testid': 'guards-list' });
    const refresh = async (): Promise<void> => {
      const guards = await this.actions.listGuards();
      list.replaceChildren(
        guards.length === 0
          ? h('p', {}, t('noGuards'))
          : h(
              'table',
              { 'data-testid': 'guards-table' },
              h('tbody', {}, ...guards.map((g) => this.guardRow(g, out, refresh))),
            ),
      );
    };
    add.addEventListener('click', () =>
      void run(add, out, async () => {
        await this.actions.createGuard(name.value, pin.value);
        name.value = pin.value = '';
        await refresh();
        return t('guardAdded');
      }),
    );
    void refresh().catch((e: unknown) => message(out, e));
    return this.section(
      t('guards'),
      'section-guards',
      h('p', { class: 'help' }, t('guardsHelp')),
      field(t('guardName'), name, 'guard-name-in'),
      field(t('pin'), pin, 'guard-pin-in'),
      add,
      out,
      list,
    );
  }

  private guardRow(g: GuardRow, out: HTMLElement, refresh: () => Promise<void>): HTMLElement {
    const toggle = h('button', { type: 'button', 'data-testid': 'guard-toggle' }, g.disabled ? t('enable') : t('disable'));
    const passkey = h('button', { type: 'button', 'data-testid': 'guard-passkey' }, t('registerPasskey'));
    const del = h('button', { type: 'button', class: 'danger', 'data-testid': 'guard-delete' }, t('delete'));
    toggle.addEventListener('click', () => void run(toggle, out, async () => { await this.actions.setGuardDisabled(g.id, !g.disabled); await refresh(); }));
    passkey.addEventListener('click', () => void run(passkey, out, async () => { await this.actions.registerPasskey(g.id); await refresh(); return t('passkeyAdded'); }));
    del.addEventListener('click', () => {
      if (confirm(t('confirmDelete'))) void run(del, out, async () => { await this.actions.deleteGuard(g.id); await refresh(); });
    });
    return h(
      'tr',
      { 'data-guard': g.id, 'data-name': g.name, 'data-disabled': String(g.disabled) },
      h('td', {}, g.name),
      h('td', {}, g.hasPin ? t('pin') : ''),
      h('td', {}, `${t('passkeys')}: ${g.passkeys}`),
      h('td', {}, g.disabled ? t('disabled') : t('active')),
      h('td', {}, toggle, passkey, del),
    );
  }

  private wipeCard(): HTMLElement {
    const confirmIn = h('input', { type: 'text', autocomplete: 'off', placeholder: WIPE_CONFIRMATION, 'data-testid': 'wipe-confirm' });
    const btn = h('button', { type: 'button', class: 'danger', 'data-testid': 'wipe-submit' }, t('wipe'));
    const out = h('p', { class: 'form-message', role: 'alert', 'data-testid': 'wipe-message' });
    btn.addEventListener('click', () => void run(btn, out, () => this.actions.wipe(confirmIn.value)));
    return this.section(t('wipe'), 'section-wipe', h('p', { class: 'help' }, t('wipeHelp')), field(t('wipeConfirm'), confirmIn, 'wipe-in'), btn, out);
  }

  private renderPlateDebug(s: AppSnapshot): void {
    const first = s.plateDebug[0];
    if (!first || this.plateDebug.dataset['at'] === String(first.at)) return;
    this.plateDebug.dataset['at'] = String(first.at);
    this.plateDebug.replaceChildren(
      ...s.plateDebug.slice(0, 6).map((d) => {
        const crops = d.crops.map((c) => {
          const canvas = h('canvas', { width: c.width, height: c.height, title: c.source });
          canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(c.data), c.width, c.height), 0, 0);
          return canvas;
        });
        return h('div', { class: 'plate-read' }, h('strong', {}, d.text || '—'), ` ${d.confidence.toFixed(2)} `, h('small', {}, d.candidates.join(' · ')), ...crops);
      }),
    );
  }

  private async loadModels(): Promise<void> {
    if (this.modelsLoaded) return;
    try {
      const r = await fetch('/models/manifest.json');
      const m = (await r.json()) as { files: { id: string; package: string; version: string; license: string; provenance: string }[] };
      this.models.replaceChildren(
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ...[t('colFile'), t('colPackage'), t('licence'), t('provenance')].map((c) => h('th', {}, c)))),
          h('tbody', {}, ...m.files.map((f) => h('tr', {}, h('td', {}, f.id), h('td', {}, `${f.package}@${f.version}`), h('td', {}, f.license), h('td', {}, f.provenance)))),
        ),
      );
      this.modelsLoaded = true;
    } catch (e) {
      message(this.models, e);
    }
  }
}
