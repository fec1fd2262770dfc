/**
 * What an admin can do, behind the passphrase, composed by capability: the vault's life (set up, unlock, lock,
 * change the passphrase, panic wipe) and guard accounts here, and one service each for people
 * (src/app/people-service.ts), enrolment (enrolment.ts), sync (sync-service.ts), settings (settings-service.ts),
 * the device (device-service.ts), the audit log (audit-service.ts) and stored-data maintenance
 * (vault-maintenance.ts). The admin console has one card per service (src/ui/*-card.ts) and reaches nothing else.
 *
 * Every operation either completes or leaves the stored data exactly as it was (the vault writes one transaction
 * per logical change). Every operation first asks the app's authority (src/app/authority.ts) for its capability,
 * so a caller that skips the UI — a script, a test, a view bug — gets the same STORE_ADMIN_REQUIRED refusal; the
 * vault's own admin gate stays underneath. What it changes is audited once done (src/app/change-audit.ts): an admin
 * session started (setup or passphrase), a wrong passphrase (the failure count, never what was typed), each guard
 * account created, disabled, enabled, given a passkey or deleted (the guard's id, never the name), the passphrase
 * changed. It never renders anything.
 */
import { KioskError, isKioskError } from '../shared/errors';
import { checkWipeConfirmation } from './input-rules';
import type { Capability } from './authority';
import type { KioskController } from './controller';
import { createPasskey } from './passkeys';
import { markKeepHolds } from './local-revocations';
import type { GuardSummary } from '../store';
import { defaultSettings, validateSettingsPatch, type KioskSettings } from '../config/kiosk';
import { AuditService } from './audit-service';
import { DeviceService } from './device-service';
import { EnrolmentService } from './enrolment';
import { PeopleService } from './people-service';
import { SettingsService } from './settings-service';
import { SyncService } from './sync-service';
import { VaultMaintenance } from './vault-maintenance';
import { loginFailedReason, maintainedReason, recordChange, type GuardChange } from './change-audit';

export { parseCsv, parseImportCsv, type CsvEntry } from './csv-import';
export type { EnrolItem, EnrolReport, EnrolTarget } from './enrolment';

export class AdminOps {
  readonly people: PeopleService;
  readonly enrolment: EnrolmentService;
  readonly sync: SyncService;
  readonly settings: SettingsService;
  readonly device: DeviceService;
  readonly audit: AuditService;
  readonly maintenance: VaultMaintenance;

  constructor(private readonly app: KioskController) {
    this.people = new PeopleService(app);
    this.enrolment = new EnrolmentService(app);
    this.sync = new SyncService(app);
    this.settings = new SettingsService(app);
    this.device = new DeviceService(app);
    this.audit = new AuditService(app);
    this.maintenance = new VaultMaintenance(app);
  }

  private get vault() {
    return this.app.vault;
  }

  // ---- vault life ----

  /**
   * First run: set the admin passphrase, choose what this tablet is, create its identity and settings. The
   * settings (with the kiosk id and the chosen role) go in the vault's set-up transaction: a tab closed or a disk
   * full part-way leaves either a set-up vault with them or no vault at all, never one without them.
   */
  async setup(passphrase: string, opts: { unattended?: boolean; role?: KioskSettings['role'] } = {}): Promise<void> {
    const settings = validateSettingsPatch(defaultSettings(), { lang: this.app.snapshot.settings.lang, ...(opts.role ? { role: opts.role } : {}) });
    await this.vault.setup(passphrase, {
      unattended: opts.unattended ?? true,
      settings: { ...settings },
      auditRetentionMs: settings.retentionHours * 3_600_000,
    });
    this.app.authority.adminStarted();
    await this.app.afterUnlock();
    // After afterUnlock: the entry carries the kiosk id of the settings just stored.
    await recordChange(this.app, { outcome: 'admin-unlocked', reason: 'setup', actor: 'admin' });
    await this.markKeepHolds();
  }

  async unlock(passphrase: string): Promise<void> {
    let unlocked: { auditKeyRepaired: boolean };
    try {
      unlocked = await this.vault.unlockAdmin(passphrase);
    } catch (e) {
      await this.unlockFailed(e);
      throw e;
    }
    this.app.authority.adminStarted();
    if (this.app.snapshot.phase !== 'running') await this.app.afterUnlock();
    await recordChange(this.app, { outcome: 'admin-unlocked', reason: 'passphrase', actor: 'admin' });
    if (unlocked.auditKeyRepaired)
      await recordChange(this.app, { outcome: 'vault-maintained', reason: maintainedReason({ action: 'audit-key-repaired' }), actor: 'admin' });
    await this.sync.secureAdminKey();
    await this.markKeepHolds();
  }

  /**
   * Bans made on this tablet before keep holds existed are marked once (src/app/local-revocations.ts). Never stops an
   * unlock: until it is done, installs keep every deny record anyway, and the next unlock tries again.
   */
  private async markKeepHolds(): Promise<void> {
    try {
      await markKeepHolds(this.vault);
    } catch (e) {
      console.warn(`keep holds not marked yet (${isKioskError(e) ? e.code : 'INTERNAL'})`);
    }
  }

  /**
   * A wrong passphrase on a running kiosk is audited with the count in a row and the wait it started. Attempts the
   * lock-out refused before any check are not (anyone at the screen could fill the log with them); nor is a wrong
   * passphrase while the device itself is locked, when there is no key to append with.
   */
  private async unlockFailed(e: unknown): Promise<void> {
    if (!isKioskError(e, 'STORE_WRONG_PASSPHRASE') || this.vault.state.status !== 'unlocked') return;
    const failures = Number(e.details?.['failures'] ?? 0);
    const lockoutMs = Number(e.details?.['waitMs'] ?? 0);
    await recordChange(this.app, { outcome: 'login-failed', reason: loginFailedReason({ kind: 'wrong', via: 'passphrase', failures, lockoutMs }) });
  }

  /** Ends the admin (and any guard) session on this screen. */
  lock(): void {
    this.app.authority.logout();
  }

  async changePassphrase(current: string, next: string): Promise<void> {
    this.require('settings');
    await this.vault.changePassphrase(current, next);
    await recordChange(this.app, { outcome: 'settings-changed', reason: 'passphrase', actor: 'admin' });
  }

  // ---- guards ----

  listGuards(): Promise<GuardSummary[]> {
    this.require('manage-guards');
    return this.vault.guards.list();
  }

  async createGuard(name: string, pin: string): Promise<GuardSummary> {
    this.require('manage-guards');
    const g = await this.vault.guards.create(name, pin);
    await this.guardChanged(g.id, 'created');
    return g;
  }

  async setGuardDisabled(id: string, disabled: boolean): Promise<void> {
    this.require('manage-guards');
    await this.vault.guards.setDisabled(id, disabled);
    await this.guardChanged(id, disabled ? 'disabled' : 'enabled');
  }

  async deleteGuard(id: string): Promise<void> {
    this.require('manage-guards');
    await this.vault.guards.remove(id);
    await this.guardChanged(id, 'deleted');
  }

  /** The device-wide guard PIN lock-out: wrong tries counted and the wait left (0 when PIN logins are open). */
  async guardLockout(): Promise<{ failures: number; waitMs: number; lockedUntil: number }> {
    this.require('manage-guards');
    return this.vault.guards.lockout();
  }

  /**
   * Ends the guard PIN lock-out early (a visitor's five wrong tries locked every guard's PIN); audited with the tries
   * it held. Nothing to clear is not an audited change. Returns the tries cleared.
   */
  async clearGuardLockout(): Promise<number> {
    this.require('manage-guards');
    const held = await this.vault.guards.clearLockout();
    if (held.failures === 0 && held.waitMs === 0) return 0;
    await recordChange(this.app, {
      outcome: 'vault-maintained',
      reason: maintainedReason({ action: 'guard-lockout-cleared', failures: held.failures }),
      actor: 'admin',
    });
    return held.failures;
  }

  /** Registers a passkey for a guard: the guard verifies on their own security key (its PIN or fingerprint). */
  async registerPasskey(id: string): Promise<void> {
    this.require('manage-guards');
    const g = (await this.vault.guards.list()).find((x) => x.id === id);
    if (!g) throw new KioskError('GUARD_NOT_FOUND');
    const p = await createPasskey(g);
    await this.vault.guards.addPasskey(id, p.credentialId, p.spki, p.alg);
    await this.guardChanged(id, 'passkey-added');
  }

  /** The guard's id, never the name: the audit card looks the name up while the account exists. */
  private guardChanged(id: string, change: GuardChange): Promise<void> {
    return recordChange(this.app, { outcome: 'guard-changed', subjectId: id, reason: change, actor: 'admin' });
  }

  async wipe(confirmation: string): Promise<void> {
    this.require('wipe');
    checkWipeConfirmation(confirmation);
    await this.vault.wipe(confirmation);
  }

  /** The one check every operation starts with (STORE_ADMIN_REQUIRED when the session lacks it). */
  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
