/**
 * The admin console (behind the passphrase): the gate (first-run set-up, unlock with the lock-out wait shown) and,
 * once unlocked, one card per capability in the order of the job — people first, then enrolment (photo, camera,
 * CSV, plates), sync (bundle file and QR keys, LAN pull), settings (settings, open-set status, guards), the device
 * (pairing, storage and subject key, stored-data maintenance, models, plate reads), the audit log and the wipe.
 * A notice at the top names any stored setting that was repaired to its default, and one (kept in view) the changes
 * made but missing from the audit log until it can be written again.
 *
 * Composes the cards (src/ui/*-card.ts) and routes snapshots to them; it renders the gate itself. Every card calls
 * its service in src/app through the actions given here; this module never reaches storage, crypto, a worker or
 * the network (test/unit/ui-boundary.test.ts).
 */
import type { AppSnapshot } from '../app/controller';
import type { DeviceRole } from '../config/kiosk';
import { auditCard, type AuditActions } from './audit-card';
import { AuditGapNotice } from './audit-gap-notice';
import { field, passphraseRules, roleSelect, run } from './card-kit';
import { DeviceCards, wipeCard, type DeviceActions } from './device-card';
import { h } from './dom';
import { enrolCards, type EnrolActions } from './enrol-cards';
import { guardsCard, type GuardActions } from './guards-card';
import { formatDuration, labelled, t } from './i18n';
import { MaintenanceCard, type MaintenanceActions } from './maintenance-card';
import { PeopleCard, type PeopleActions } from './people-card';
import { SettingsCard, type SettingsActions } from './settings-card';
import { syncCard, type SyncActions } from './sync-card';
import { SyncPullCard, type SyncPullActions } from './sync-pull-card';

export type { GuardRow } from './guards-card';

/** What the console can ask for, one group per capability (each group is one service in src/app). */
export interface AdminActions {
  setup(passphrase: string, opts: { unattended?: boolean; role?: DeviceRole }): Promise<void>;
  unlock(passphrase: string): Promise<void>;
  lock(): void;
  wipe(confirmation: string): Promise<void>;
  people: PeopleActions;
  enrolment: EnrolActions;
  sync: SyncActions;
  /** LAN pull of bundles (src/ui/sync-pull-card.ts). */
  pull: SyncPullActions;
  settings: SettingsActions;
  guards: GuardActions;
  device: DeviceActions;
  audit: AuditActions;
  /** Integrity check, quarantine, index rebuild, unattended restart (src/ui/maintenance-card.ts). */
  maintenance: MaintenanceActions;
}

/** The parts of an unlocked console that follow the snapshot. */
interface ConsoleCards {
  people: PeopleCard;
  settings: SettingsCard;
  device: DeviceCards;
  pull: SyncPullCard;
  maintenance: MaintenanceCard;
  auditGap: AuditGapNotice;
}

export class AdminView {
  readonly root: HTMLElement;
  private readonly gate: HTMLElement;
  private readonly console: HTMLElement;
  private lastSubjectsKey = '';
  private lastPhase = '';
  private cards: ConsoleCards | null = null;

  constructor(private readonly actions: AdminActions) {
    this.gate = h('div', { class: 'gate', 'data-testid': 'admin-gate' });
    this.console = h('div', { class: 'admin-console', 'data-testid': 'admin-console', hidden: true });
    this.root = h('section', { class: 'admin', 'data-testid': 'admin' }, h('h1', {}, t('adminTitle')), this.gate, this.console);
  }

  render(s: AppSnapshot): void {
    const v = s.vault;
    // Re-render a screen only when the gate changes: re-rendering the console would drop what an admin typed.
    const gate = !v || v.status === 'uninitialised' || s.phase === 'wiped' ? 'setup' : !v.admin ? `unlock:${v.lockedUntil}` : 'console';
    if (gate !== this.lastPhase) {
      this.lastPhase = gate;
      if (gate !== 'console') {
        // A locked console keeps nothing: no name, list or key stays in the DOM behind the gate.
        this.console.replaceChildren();
        this.cards?.people.clear();
        this.cards = null;
        this.lastSubjectsKey = '';
      }
      if (!v || v.status === 'uninitialised' || s.phase === 'wiped') this.renderSetup();
      else if (!v.admin) this.renderUnlock(v.lockedUntil);
      else this.renderConsole(s);
      this.gate.hidden = !!v?.admin && s.phase !== 'wiped';
      this.console.hidden = !this.gate.hidden;
    }
    const c = this.cards;
    if (v?.admin && c) {
      const key = `${s.watchlist.loadedAt}|${s.watchlist.subjects}`;
      if (key !== this.lastSubjectsKey) {
        this.lastSubjectsKey = key;
        c.people.render();
      }
      c.device.render(s);
      c.settings.render(s.settings, s.openSet, s.configRepairs);
      c.pull.render(s.sync);
      c.maintenance.render(v.unattended);
      c.auditGap.render(s.auditGap);
    }
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
    const pass = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'unlock-passphrase' });
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
      out.textContent = labelled(t('lockedOutFor'), formatDuration(left));
    };
    if (until > Date.now()) {
      tick();
      this.countdown = setInterval(tick, 1000);
    }
  }

  // ---- console ----

  private renderConsole(s: AppSnapshot): void {
    const a = this.actions;
    const lockBtn = h('button', { type: 'button', 'data-testid': 'admin-lock' }, t('lock'));
    lockBtn.addEventListener('click', () => a.lock());
    const people = new PeopleCard(a.people, a.enrolment);
    const settings = new SettingsCard(a.settings, s.settings);
    const device = new DeviceCards(a.device);
    const pull = new SyncPullCard(a.pull, s.settings.pullMinutes);
    const maintenance = new MaintenanceCard(a.maintenance);
    const auditGap = new AuditGapNotice();
    this.cards = { people, settings, device, pull, maintenance, auditGap };
    // The order of the job: people, enrolment, sync, settings, device; then the audit log and the wipe.
    this.console.replaceChildren(
      h('div', { class: 'toolbar' }, lockBtn),
      auditGap.el,
      settings.notice,
      people.el,
      ...enrolCards(a.enrolment, () => a.people.list()),
      syncCard(a.sync),
      pull.el,
      settings.el,
      settings.openSetEl,
      guardsCard(a.guards),
      device.pairing,
      device.storage,
      maintenance.el,
      device.models,
      device.plateDebugCard,
      auditCard(a.audit),
      wipeCard((c) => a.wipe(c)),
    );
  }
}
