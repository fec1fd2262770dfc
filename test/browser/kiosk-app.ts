/**
 * The app layer of one kiosk for browser tests, with no screen: a real vault in IndexedDB on the test's clock, the
 * controller (with the real face worker) and the admin operations. `closeKiosks()` (in afterEach) stops every one
 * opened, its face worker included, and closes its vault.
 */
import { AdminOps } from '../../src/app/admin-ops';
import { KioskController } from '../../src/app/controller';
import type { AdjustableClock } from '../../src/shared/clock';
import type { Vault, VaultOptions } from '../../src/store';
import { openVault, uniqueName } from './vault-helpers';

const opened: { vault: Vault; app: KioskController }[] = [];

/** `opts`: the vault's own (a database name to reopen, another IndexedDB factory); the clock is the test's. */
export async function openKiosk(
  tag: string,
  clock: AdjustableClock,
  opts: VaultOptions = {},
): Promise<{ vault: Vault; app: KioskController; ops: AdminOps }> {
  const vault = await openVault(opts.name ?? uniqueName(tag), { ...opts, now: () => clock.wall(), monotonic: () => clock.monotonic() });
  const app = new KioskController({ vault, video: document.createElement('video'), clock });
  opened.push({ vault, app });
  return { vault, app, ops: new AdminOps(app) };
}

export function closeKiosks(): void {
  for (const o of opened.splice(0)) {
    o.app.stop();
    o.app.faces.terminate();
    o.vault.close();
  }
}
