/**
 * The admin card for the stored data's integrity and restart mode: check the watchlist (what decides, what is held
 * back, what is missing or quarantined, and why), rebuild the index, clear the quarantine, and turn unattended
 * restart on or off with the passphrase entered again.
 *
 * Owns only this card's DOM. It calls the actions it is given (src/app/vault-maintenance.ts, which asks the
 * authority), shows their report, and never reads or writes storage itself. The two irreversible actions (rebuild,
 * clear) ask for a second press on an in-page confirmation that says what they do, not a browser dialog (a kiosk
 * in full-screen mode may not show one). It never shows a subject id or name: counts, page numbers and reasons only.
 */
import type { MaintenanceReport } from '../app/vault-maintenance';
import { describeError } from './error-text';
import { h } from './dom';
import { formatDateTime, hasKey, lang, t } from './i18n';

export interface MaintenanceActions {
  check(): Promise<MaintenanceReport>;
  rebuildIndex(): Promise<MaintenanceReport>;
  clearQuarantine(): Promise<MaintenanceReport>;
  setUnattended(enabled: boolean, passphrase: string): Promise<boolean>;
}

/** Whether this tablet's own revocations (src/app/local-revocations.ts) are among the quarantined records. */
const revocationsQuarantined = (r: MaintenanceReport): boolean =>
  r.quarantine.some((q) => q.store === 'secrets' && (q.key === 'local-revocations' || q.key === 'local-revocations-keep'));

/** A store word in the chosen language, the raw word when the table has none (a reason a newer store added). */
function word(prefix: string, value: string): string {
  const key = `${prefix}_${value}`;
  return hasKey(key) ? t(key) : value;
}

export class MaintenanceCard {
  readonly el: HTMLElement;
  private readonly report: HTMLElement;
  private readonly out: HTMLElement;
  private readonly unattendedState: HTMLElement;
  private readonly unattendedBtn: HTMLButtonElement;
  private readonly pass: HTMLInputElement;
  private unattended: boolean | null = null;

  constructor(private readonly actions: MaintenanceActions) {
    this.report = h('div', { 'data-testid': 'maint-report' });
    this.out = h('p', { class: 'form-message', role: 'status', 'data-testid': 'maint-message' });
    const check = h('button', { type: 'button', 'data-testid': 'maint-check' }, t('maintCheck'));
    check.addEventListener('click', () => void this.act(check, () => this.actions.check()));
    const rebuild = this.confirmed('maint-rebuild', t('maintRebuild'), t('maintRebuildConfirm'), () => this.actions.rebuildIndex());
    // What clearing costs is said in its confirmation, from a check made when Clear is pressed: the warning below the
    // report shows only after a check, and an admin who pressed Clear at once was told the records were harmless.
    const clear = this.confirmed(
      'maint-clear',
      t('maintClear'),
      async () => {
        const r = await this.actions.check();
        this.showReport(r);
        return revocationsQuarantined(r) ? t('maintClearConfirmRevocations') : t('maintClearConfirm');
      },
      () => this.actions.clearQuarantine(),
    );

    this.unattendedState = h('strong', { 'data-testid': 'maint-unattended' });
    this.pass = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'maint-unattended-pass' });
    this.pass.id = 'maint-unattended-pass';
    this.unattendedBtn = h('button', { type: 'button', 'data-testid': 'maint-unattended-toggle' });
    this.unattendedBtn.addEventListener('click', () => {
      const next = !this.unattended;
      const passphrase = this.pass.value;
      void this.act(this.unattendedBtn, async () => {
        this.showUnattended(await this.actions.setUnattended(next, passphrase));
        return null;
      });
    });

    this.el = h(
      'section',
      { class: 'card', 'data-testid': 'section-maintenance' },
      h('h2', {}, t('maintTitle')),
      h('p', { class: 'help' }, t('maintHelp')),
      h('div', { class: 'toolbar' }, check, rebuild, clear),
      this.report,
      h('p', {}, `${t('maintUnattendedNow')} `, this.unattendedState),
      h('p', { class: 'help' }, t('maintUnattendedHelp')),
      h('div', { class: 'field' }, h('label', { for: this.pass.id }, t('maintUnattendedPass')), this.pass),
      this.unattendedBtn,
      this.out,
    );
  }

  /** Follows the vault's state (unattended mode changes here or at set-up). */
  render(unattended: boolean): void {
    if (unattended !== this.unattended) this.showUnattended(unattended);
  }

  private showUnattended(on: boolean): void {
    this.unattended = on;
    this.unattendedState.textContent = on ? t('maintOn') : t('maintOff');
    this.unattendedState.dataset['on'] = String(on);
    this.unattendedBtn.textContent = on ? t('maintUnattendedOff') : t('maintUnattendedOn');
  }

  /** A button whose first press shows what it will do and a confirm button; only the confirm runs it. */
  /** `warning`: the confirmation's text, or how to find it out when the button is pressed (a failure is said instead). */
  private confirmed(
    testid: string,
    label: string,
    warning: string | (() => Promise<string>),
    fn: () => Promise<MaintenanceReport>,
  ): HTMLElement {
    const start = h('button', { type: 'button', class: 'danger', 'data-testid': testid }, label);
    const yes = h('button', { type: 'button', class: 'danger', 'data-testid': `${testid}-confirm` }, label);
    const no = h('button', { type: 'button', 'data-testid': `${testid}-cancel` }, t('cancel'));
    const text = h('span', { class: 'help', 'data-testid': `${testid}-warning` }, typeof warning === 'string' ? warning : '');
    const ask = h('span', { class: 'confirm', hidden: true }, text, yes, no);
    const close = () => {
      ask.hidden = true;
      start.hidden = false;
    };
    start.addEventListener('click', () => {
      const show = (words: string) => {
        text.textContent = words;
        start.hidden = true;
        ask.hidden = false;
      };
      if (typeof warning === 'string') return show(warning);
      start.disabled = true;
      warning()
        .then(show, (e: unknown) => {
          // No check, no confirmation: the refusal is said, as any action's.
          const d = describeError(e, lang());
          this.out.dataset['tone'] = 'bad';
          if (d.code) this.out.dataset['code'] = d.code;
          this.out.textContent = d.text;
        })
        .finally(() => (start.disabled = false));
    });
    no.addEventListener('click', close);
    yes.addEventListener('click', () => {
      close();
      void this.act(start, fn);
    });
    return h('span', {}, start, ask);
  }

  private async act(button: HTMLButtonElement, fn: () => Promise<MaintenanceReport | null>): Promise<void> {
    button.disabled = true;
    this.out.dataset['tone'] = 'busy';
    this.out.textContent = '…';
    delete this.out.dataset['code'];
    try {
      const r = await fn();
      if (r) this.showReport(r);
      this.out.dataset['tone'] = 'ok';
      this.out.textContent = t('maintDone');
    } catch (e) {
      const d = describeError(e, lang());
      this.out.dataset['tone'] = 'bad';
      if (d.code) this.out.dataset['code'] = d.code;
      this.out.textContent = d.text;
    } finally {
      button.disabled = false;
    }
  }

  private showReport(r: MaintenanceReport): void {
    this.showUnattended(r.unattended);
    const c = r.check;
    const rows: [string, string, string, boolean][] = [
      [t('maintLoaded'), String(c.loaded), 'maint-loaded', false],
      [t('maintHeldBack'), String(c.heldBack), 'maint-held-back', c.heldBack > 0],
      [t('maintMissing'), String(c.missingPages), 'maint-missing', c.missingPages > 0],
      [t('maintQuarantine'), String(r.quarantine.length), 'maint-quarantined', r.quarantine.length > 0],
    ];
    if (c.issues.length) rows.push([t('maintIssues'), c.issues.map((i) => word('maintIssue', i)).join('; '), 'maint-issues', true]);
    // Keys from before they were sealed in the vault: a copy of this tablet's storage could use them.
    if (r.unsealedKeys.length) rows.push([t('maintUnsealedKeys'), `${r.unsealedKeys.length} · ${t('maintUnsealedHelp')}`, 'maint-unsealed-keys', true]);
    const status = h(
      'dl',
      { class: 'status' },
      ...rows.flatMap(([k, v, id, bad]) => [h('dt', {}, k), h('dd', { 'data-testid': id, 'data-tone': bad ? 'bad' : 'ok' }, v)]),
    );
    const list = r.quarantine.length
      ? h(
          'table',
          { 'data-testid': 'maint-quarantine' },
          h('thead', {}, h('tr', {}, ...[t('maintStore'), t('maintRecord'), t('maintReason'), t('maintWhen')].map((x) => h('th', {}, x)))),
          h(
            'tbody',
            {},
            ...r.quarantine.map((q) =>
              h(
                'tr',
                { 'data-store': q.store, 'data-reason': q.reason },
                h('td', {}, word('maintStore', q.store)),
                h('td', {}, q.key),
                h('td', {}, word('maintReason', q.reason)),
                h('td', {}, formatDateTime(q.at)),
              ),
            ),
          ),
        )
      : h('p', { 'data-testid': 'maint-quarantine-empty' }, t('maintQuarantineEmpty'));
    // This tablet's own revocations damaged: what clearing costs is said before the admin presses it (the holds are
    // gone with it, and the next watchlist update installs the desk's list as it is; src/app/local-revocations.ts).
    const revocations = revocationsQuarantined(r)
      ? [h('p', { class: 'notice', role: 'alert', 'data-tone': 'bad', 'data-testid': 'maint-revocations-quarantined' }, t('maintRevocationsQuarantined'))]
      : [];
    this.report.replaceChildren(status, ...revocations, list);
  }
}
