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
 * vault's own admin gate stays underneath. It never renders anything.
 */
import { KioskError } from '../shared/errors';
import { checkWipeConfirmation } from './input-rules';
import type { Capability } from './authority';
import type { KioskController } from './controller';
import { createPasskey } from './passkeys';
import type { GuardSummary } from '../store';
import { defaultSettings, validateSettingsPatch, type KioskSettings } from '../config/kiosk';
import { AuditService } from './audit-service';
import { DeviceService } from './device-service';
import { EnrolmentService } from './enrolment';
import { PeopleService } from './people-service';
import { SettingsService } from './settings-service';
import { SyncService } from './sync-service';
import { VaultMaintenance } from './vault-maintenance';

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

  /** First run: set the admin passphrase, choose what this tablet is, create its identity and settings. */
  async setup(passphrase: string, opts: { unattended?: boolean; role?: KioskSettings['role'] } = {}): Promise<void> {
    await this.vault.setup(passphrase, { unattended: opts.unattended ?? true });
    this.app.authority.adminStarted();
    const settings = validateSettingsPatch(defaultSettings(), { lang: this.app.snapshot.settings.lang, ...(opts.role ? { role: opts.role } : {}) });
    await this.vault.settings.put({ ...settings });
    await this.app.afterUnlock();
  }

  async unlock(passphrase: string): Promise<void> {
    await this.vault.unlockAdmin(passphrase);
    this.app.authority.adminStarted();
    if (this.app.snapshot.phase !== 'running') await this.app.afterUnlock();
  }

  /** Ends the admin (and any guard) session on this screen. */
  lock(): void {
    this.app.authority.logout();
  }

  changePassphrase(current: string, next: string): Promise<void> {
    this.require('settings');
    return this.vault.changePassphrase(current, next);
  }

  // ---- guards ----

  listGuards(): Promise<GuardSummary[]> {
    this.require('manage-guards');
    return this.vault.guards.list();
  }

  createGuard(name: string, pin: string): Promise<GuardSummary> {
    this.require('manage-guards');
    return this.vault.guards.create(name, pin);
  }

  setGuardDisabled(id: string, disabled: boolean): Promise<void> {
    this.require('manage-guards');
    return this.vault.guards.setDisabled(id, disabled);
  }

  deleteGuard(id: string): Promise<void> {
    this.require('manage-guards');
    return this.vault.guards.remove(id);
  }

  /** Registers a passkey for a guard: the guard verifies on this device's authenticator (PIN or biometric). */
  async registerPasskey(id: string): Promise<void> {
    this.require('manage-guards');
    const g = (await this.vault.guards.list()).find((x) => x.id === id);
    if (!g) throw new KioskError('GUARD_NOT_FOUND');
    const p = await createPasskey(g);
    await this.vault.guards.addPasskey(id, p.credentialId, p.spki, p.alg);
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
