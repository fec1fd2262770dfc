/**
 * Changes the vault once wrote in two IndexedDB transactions, cut between them the way a closed tab or a failed
 * write cuts them (review findings 5, 6 and 13), in real Chromium on the real IndexedDB: saving settings with a new
 * audit retention, the first-run set-up, and turning unattended restart off. The vault's code is unchanged; the
 * IndexedDB factory it is given closes the connection right after a chosen transaction commits (the tab is gone
 * before the next one starts), or aborts that transaction. Reopened, the vault must read as one whole state: the
 * retention the settings name is the one it purges by; a set-up vault has its settings (its kiosk id and role) or
 * there is no vault at all; a vault with unattended restart half turned off asks for the passphrase, and does not
 * report a damaged record.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { isKioskError } from '../../src/shared/errors';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode, openVault, rawDump, uniqueName } from './vault-helpers';

const H = 3_600_000;

type StoreMatch = (stores: readonly string[]) => boolean;

/**
 * An IndexedDB factory that can interrupt the vault: once armed, the next read-write transaction whose stores
 * match is aborted ('fail'), or the connection is closed as soon as it commits ('close-after'), so every later
 * transaction of the same change fails as it would in a tab that closed there.
 */
function interruptible(): {
  factory: IDBFactory;
  arm(how: 'fail' | 'close-after', match: StoreMatch): void;
  fired(): boolean;
} {
  let rule: { how: 'fail' | 'close-after'; match: StoreMatch } | null = null;
  let fired = false;
  const factory = {
    open(name: string, version?: number): IDBOpenDBRequest {
      const request = indexedDB.open(name, version);
      // Registered before the vault's own listener: the connection it gets already reports its transactions here.
      request.addEventListener('success', () => {
        const db = request.result;
        const transaction = db.transaction.bind(db);
        db.transaction = ((stores: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) => {
          const tx = transaction(stores, mode, options);
          const names = typeof stores === 'string' ? [stores] : [...stores];
          if (rule && mode === 'readwrite' && rule.match(names)) {
            const { how } = rule;
            rule = null;
            fired = true;
            if (how === 'fail') tx.abort();
            else tx.addEventListener('complete', () => db.close());
          }
          return tx;
        }) as IDBDatabase['transaction'];
      });
      return request;
    },
    deleteDatabase: (name: string) => indexedDB.deleteDatabase(name),
    cmp: (a: unknown, b: unknown) => indexedDB.cmp(a, b),
    databases: () => indexedDB.databases(),
  };
  return {
    factory: factory as unknown as IDBFactory,
    arm(how, match) {
      rule = { how, match };
      fired = false;
    },
    fired: () => fired,
  };
}

const has =
  (...names: string[]): StoreMatch =>
  (stores) =>
    names.every((n) => stores.includes(n));

async function rejects(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (isKioskError(e)) return;
    throw e;
  }
  throw new Error('expected the interrupted change to reject');
}

afterEach(() => closeKiosks());

describe('settings with a new audit retention (finding 5)', () => {
  it('a tab closed right after the settings are stored leaves the retention they name in force', async () => {
    const clock = new AdjustableClock();
    const tab = interruptible();
    const name = uniqueName('interrupted-retention');
    const k = await openKiosk('interrupted-retention', clock, { name, indexedDB: tab.factory });
    await k.ops.setup(PASS, { role: 'attended' });
    expect(k.vault.audit.retentionMs()).toBe(24 * H);

    tab.arm('close-after', has('settings'));
    await rejects(k.ops.settings.saveSettings({ retentionHours: 720 }));
    expect(tab.fired()).toBe(true);
    closeKiosks();

    // The next start: the purge (which runs while locked) and the settings card agree on 720 h.
    const again = await openVault(name);
    try {
      expect(again.audit.retentionMs()).toBe(720 * H);
      await again.unlockAdmin(PASS);
      expect((await again.settings.get())['retentionHours']).toBe(720);
    } finally {
      again.close();
    }
  }, 60_000);

  it('a save whose retention cannot be stored stores nothing: the screen, the record and the purge keep 24 h', async () => {
    const clock = new AdjustableClock();
    const tab = interruptible();
    const name = uniqueName('failed-retention');
    const k = await openKiosk('failed-retention', clock, { name, indexedDB: tab.factory });
    await k.ops.setup(PASS, { role: 'attended' });

    // The write that stores the retention (meta) fails.
    tab.arm('fail', has('meta'));
    await rejects(k.ops.settings.saveSettings({ retentionHours: 720, showNames: true }));
    expect(tab.fired()).toBe(true);
    expect(k.app.snapshot.settings.retentionHours).toBe(24);
    expect(k.vault.audit.retentionMs()).toBe(24 * H);
    const stored = await k.vault.settings.get();
    expect(stored['retentionHours']).toBe(24);
    expect(stored['showNames']).toBe(false);

    // Saved again, both are stored.
    await k.ops.settings.saveSettings({ retentionHours: 720 });
    expect(k.vault.audit.retentionMs()).toBe(720 * H);
    closeKiosks();
    const again = await openVault(name);
    expect(again.audit.retentionMs()).toBe(720 * H);
    again.close();
  }, 60_000);
});

describe('first-run set-up (finding 6)', () => {
  it('a tab closed right after the keys are stored leaves a vault with its settings: one kiosk id, the chosen role', async () => {
    const clock = new AdjustableClock();
    const tab = interruptible();
    const name = uniqueName('interrupted-setup');
    const k = await openKiosk('interrupted-setup', clock, { name, indexedDB: tab.factory });

    tab.arm('close-after', has('keyring'));
    await rejects(k.ops.setup(PASS, { role: 'guard' }));
    expect(tab.fired()).toBe(true);
    closeKiosks();

    // Two restarts (unattended, the default): the same stored kiosk id both times, and the role chosen at set-up.
    const ids: unknown[] = [];
    for (let boot = 0; boot < 2; boot++) {
      const v = await openVault(name);
      try {
        expect(v.state.status).toBe('locked');
        await v.unlockDevice();
        const stored = await v.settings.get();
        expect(stored['role']).toBe('guard');
        expect(typeof stored['kioskId']).toBe('string');
        ids.push(stored['kioskId']);
      } finally {
        v.close();
      }
    }
    expect(ids[1]).toBe(ids[0]);
  }, 60_000);

  it('set-up whose settings cannot be stored leaves no vault, and can be done again', async () => {
    const clock = new AdjustableClock();
    const tab = interruptible();
    const name = uniqueName('failed-setup');
    const k = await openKiosk('failed-setup', clock, { name, indexedDB: tab.factory });

    tab.arm('fail', has('settings'));
    await rejects(k.ops.setup(PASS, { role: 'guard' }));
    expect(tab.fired()).toBe(true);
    expect(k.vault.state.status).toBe('uninitialised');
    expect((await rawDump(name)).filter((r) => r.store === 'keyring')).toEqual([]);

    // Not STORE_ALREADY_INITIALISED: nothing was set up, so setting up again works.
    await k.ops.setup(PASS, { role: 'guard' });
    expect(k.app.snapshot.settings.role).toBe('guard');
    expect((await k.vault.settings.get())['kioskId']).toBe(k.app.snapshot.settings.kioskId);
  }, 60_000);
});

describe('unattended restart turned off (finding 13)', () => {
  it('a tab closed between overwriting the device key and deleting it: the next start asks for the passphrase', async () => {
    const tab = interruptible();
    const name = uniqueName('interrupted-unattended');
    const v = await openVault(name, { indexedDB: tab.factory });
    await v.setup(PASS);
    expect(v.state.unattended).toBe(true);

    tab.arm('close-after', has('keyring'));
    await rejects(v.setUnattended(false, PASS));
    expect(tab.fired()).toBe(true);
    expect(v.state.unattended).toBe(false);
    v.close();
    // Cut between the two: the overwritten device record is still there.
    expect((await rawDump(name)).some((r) => r.store === 'keyring' && r.key === 'device')).toBe(true);

    const next = await openVault(name);
    expect(next.state).toMatchObject({ status: 'locked', unattended: false });
    expect(await expectCode(next.unlockDevice(), 'STORE_LOCKED')).toEqual({ reason: 'passphrase-needed' });
    expect(next.state.lastError).toBeNull();
    expect(next.state.quarantined).toBe(0);

    // The admin unlocks as the screen says; turning the mode on again replaces what was left.
    await next.unlockAdmin(PASS);
    await next.setUnattended(true, PASS);
    next.close();
    const on = await openVault(name);
    await on.unlockDevice();
    expect(on.state.status).toBe('unlocked');
    on.close();
  }, 60_000);
});
