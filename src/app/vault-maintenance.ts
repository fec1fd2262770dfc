/**
 * Vault maintenance, the admin's side of the store's tamper handling: check the watchlist (decrypt every page and
 * say what loaded, what was quarantined, what is held back because the index could not vouch for it or pages it
 * lists are missing or damaged, what is missing), review and clear the quarantine, rebuild the index, and turn unattended restart on or off.
 *
 * Owns only these operations; the store (src/store) does the work and keeps its own admin gate underneath. Every
 * operation first asks the authority (rebuild and quarantine need `edit`, as they decide which watchlist entries
 * count; unattended restart needs `settings` plus the passphrase again, as the vault asks), so a guard or a walk-up
 * user gets STORE_ADMIN_REQUIRED whatever the UI shows. Rebuilding is an admin decision on purpose: it makes every
 * page that authenticates now current again, an old copy put back included, which is why it is never automatic.
 * It never deletes a watchlist page itself (quarantine holds only what the store already moved out).
 *
 * Each of the three changes is audited as 'vault-maintained' by the admin (src/app/change-audit.ts): the index
 * rebuilt (how many people count from it), the quarantine cleared (how many records it held; written before they
 * are deleted, and nothing is deleted without it: AUDIT_NOT_WRITTEN), unattended restart on or off. Never the
 * passphrase, an id or a name.
 */
import type { QuarantineSummary } from '../store';
import { maintainedReason, recordChange, recordChangeFirst, type Maintenance } from './change-audit';
import type { KioskController } from './controller';

/** What a check (or the check after a rebuild) found; ids are never shown, only counts and page numbers. */
export interface WatchlistCheck {
  /** Subjects in pages that authenticated. */
  total: number;
  /** Of those, the ones that decide at the door. */
  loaded: number;
  /**
   * Authentic allow-list entries held back until an admin rebuilds the index: the index could not vouch for them,
   * or pages it lists are missing or damaged (they may have held a deny-listed person).
   */
  heldBack: number;
  /** Pages moved to quarantine by this check. */
  quarantinedNow: number;
  /** Pages the index lists that are gone from storage. */
  missingPages: number;
  /** The store's words for what was wrong with the index (e.g. 'index-root-corrupt'). */
  issues: string[];
}

export interface MaintenanceReport {
  check: WatchlistCheck;
  quarantine: QuarantineSummary[];
  unattended: boolean;
  /** Key records still stored outside the vault's seal (from before keys were sealed): replaced only by a new set-up. */
  unsealedKeys: string[];
}

export class VaultMaintenance {
  constructor(private readonly app: KioskController) {}

  /** Decrypt every page now and list the quarantine (quarantining any page that no longer authenticates). */
  async check(): Promise<MaintenanceReport> {
    this.app.authority.require('edit');
    const { report } = await this.app.vault.loadWatchlist();
    return this.report({
      total: report.total,
      loaded: report.loaded,
      heldBack: report.total - report.loaded,
      quarantinedNow: report.quarantined.length,
      missingPages: report.missingPages.length,
      issues: [...report.issues],
    });
  }

  /** Re-seal the index from the pages that authenticate now; the kiosk then decides with exactly those. */
  async rebuildIndex(): Promise<MaintenanceReport> {
    this.app.authority.require('edit');
    const rebuilt = await this.app.vault.subjects.rebuildIndex();
    try {
      // A damaged index also stops the settings loading (they cannot be vouched for either), so the unlock that
      // brought the admin here stopped before the kiosk ran: finish it now. Otherwise the rebuild's change event
      // (no ids) has the watchlist service reload everything; wait until the next frame decides with it.
      if (this.app.snapshot.phase !== 'running') await this.app.afterUnlock();
      else await this.app.watchlistSettled();
    } finally {
      // After the settings loaded (the entry carries this kiosk's id), and written even if starting the kiosk failed.
      await this.record({ action: 'index-rebuilt', people: rebuilt.total });
    }
    return this.check();
  }

  /**
   * Empty the quarantine after review (the records in it are unreadable to the kiosk either way). They are what is
   * left of the tampering, so they go only once the entry saying so is written (AUDIT_NOT_WRITTEN otherwise).
   */
  async clearQuarantine(): Promise<MaintenanceReport> {
    this.app.authority.require('edit');
    const records = (await this.app.vault.listQuarantine()).length;
    await recordChangeFirst(this.app, {
      outcome: 'vault-maintained',
      reason: maintainedReason({ action: 'quarantine-cleared', records }),
      actor: 'admin',
    });
    await this.app.vault.clearQuarantine();
    return this.check();
  }

  /** Unattended restart on (the kiosk unlocks itself after a reboot) or off (an admin must unlock after each boot). */
  async setUnattended(enabled: boolean, passphrase: string): Promise<boolean> {
    this.app.authority.require('settings');
    await this.app.vault.setUnattended(enabled, passphrase);
    await this.record({ action: 'unattended', on: enabled });
    return this.app.vault.state.unattended;
  }

  private record(m: Maintenance): Promise<void> {
    return recordChange(this.app, { outcome: 'vault-maintained', reason: maintainedReason(m), actor: 'admin' });
  }

  private async report(check: WatchlistCheck): Promise<MaintenanceReport> {
    return {
      check,
      quarantine: await this.app.vault.listQuarantine(),
      unattended: this.app.vault.state.unattended,
      unsealedKeys: await this.app.vault.keys.unsealed(),
    };
  }
}
