/**
 * The vault's lifecycle in real Chromium: panic wipe, audit retention (at open and on a timer), a real
 * QuotaExceededError (a Storage Bucket with a small quota), another tab upgrading or deleting the database, and
 * the decision outbox contract.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Vault, VaultEvent } from '../../src/store';
import { openDB } from 'idb';
import { DB_VERSION, migrate, type VaultDB } from '../../src/store/schema';
import { PASS, expectCode, openVault, rawDump, rawOpen, rawPut, serialise, tpl, uniqueName } from './vault-helpers';

const opened: Vault[] = [];
async function open(name: string, opts = {}): Promise<Vault> {
  const v = await openVault(name, opts);
  opened.push(v);
  return v;
}
afterEach(() => {
  for (const v of opened.splice(0)) v.close();
});

const person = (i: number, dim = 512) => ({
  label: `P${i}`,
  list: 'allow' as const,
  plates: [],
  templates: { fr: [tpl(dim, i), tpl(dim, i + 1), tpl(dim, i + 2)] },
});

async function databases(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name ?? '');
}

describe('panic wipe', () => {
  it('needs the confirmation word and the admin; afterwards nothing decrypts, not even with the passphrase', async () => {
    const name = uniqueName('wipe');
    const v = await open(name);
    await v.setup(PASS);
    await v.subjects.putMany([person(1), person(2)]);
    await v.audit.append({ at: Date.now(), outcome: 'grant', subjectId: 'x', kiosk: 'k', mode: 'face' });
    const stolen = (await rawDump(name)).filter((r) => r.store === 'subjects'); // a copy taken before the wipe
    const stolenIds = stolen.flatMap((r) => (r.value as { ids: string[] }).ids);
    expect(stolenIds).toHaveLength(2);
    await expectCode(v.wipe('yes'), 'INPUT_INVALID');
    v.lockAdmin();
    await expectCode(v.wipe('WIPE'), 'STORE_ADMIN_REQUIRED');
    await v.unlockAdmin(PASS);
    expect(await v.wipe('WIPE')).toEqual({ databaseDeleted: true });
    expect(v.state.status).toBe('wiped');
    await expectCode(v.loadWatchlist(), 'STORE_WIPED');
    expect(await databases()).not.toContain(name);

    const again = await open(name);
    expect(again.state.status).toBe('uninitialised');
    await expectCode(again.unlockAdmin(PASS), 'STORE_NOT_INITIALISED');
    await expectCode(again.unlockDevice(), 'STORE_NOT_INITIALISED');
    // Same passphrase, new vault: the old ciphertexts put back do not open (the data key they need is gone).
    await again.setup(PASS);
    again.close();
    await rawPut(
      name,
      'subjects',
      stolen.map((r) => ({ value: r.value })),
    );
    const k = await open(name);
    await k.unlockAdmin(PASS);
    // even asking the vault to index whatever authenticates finds nothing: both fail authentication
    const rebuilt = await k.subjects.rebuildIndex();
    expect(rebuilt.quarantined.map((q) => q.reason)).toEqual(['integrity']); // the one page holding both
    expect(rebuilt.quarantined.flatMap((q) => q.ids).sort()).toEqual(stolenIds.sort());
    expect(rebuilt.total).toBe(0);
    const { subjects, report } = await k.loadWatchlist();
    expect(subjects).toEqual([]);
    expect(report.total).toBe(0);
  });

  it('other tabs are told to close; if one holds on, the data is already unreadable and deletion follows later', async () => {
    const name = uniqueName('wipe-blocked');
    const v = await open(name, { openTimeoutMs: 300 });
    await v.setup(PASS);
    await v.enrol(person(1));
    const other = await open(name); // another tab running the vault: steps aside
    const stubborn = await rawOpen(name); // a connection that ignores versionchange
    stubborn.onversionchange = () => undefined;
    const otherEvents: VaultEvent[] = [];
    other.subscribe((e) => otherEvents.push(e));
    expect(await v.wipe('WIPE')).toEqual({ databaseDeleted: false });
    expect(other.state.status).toBe('version-changed');
    expect(otherEvents.some((e) => e.type === 'state' && e.state.lastError === 'STORE_VERSION_CHANGED')).toBe(true);
    // everything was cleared before the delete was even requested
    for (const store of Array.from(stubborn.objectStoreNames)) {
      const n = await new Promise<number>((resolve) => {
        const r = stubborn.transaction(store).objectStore(store).count();
        r.onsuccess = () => resolve(r.result);
      });
      expect(n, store).toBe(0);
    }
    stubborn.close();
    for (let i = 0; i < 50 && (await databases()).includes(name); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await databases()).not.toContain(name);
  });
});

describe('audit retention', () => {
  const H = 3600_000;

  it('purges entries older than the retention at open and on demand, keeps newer ones', async () => {
    const name = uniqueName('retention');
    let now = 1_800_000_000_000;
    const clock = { now: () => now };
    const v = await open(name, clock);
    await v.setup(PASS);
    expect(v.audit.retentionMs()).toBe(24 * H);
    for (const [age, id] of [
      [25 * H, 'old'],
      [23 * H, 'mid'],
      [60_000, 'new'],
    ] as const) {
      await v.audit.append({ at: now - age, outcome: 'grant', subjectId: id, kiosk: 'k', mode: 'face' });
    }
    expect(await v.audit.purge()).toBe(1);
    expect((await v.audit.read()).entries.map((e) => e.subjectId)).toEqual(['mid', 'new']);
    v.close();

    now += 2 * H; // 'mid' is now 25 h old
    const k = await open(name, clock);
    expect(k.state.status).toBe('locked'); // purged at open without any key
    const raw = (await rawDump(name)).filter((r) => r.store === 'audit');
    expect(raw).toHaveLength(1);
    await k.unlockAdmin(PASS);
    expect((await k.audit.read()).entries.map((e) => e.subjectId)).toEqual(['new']);

    await expectCode(k.audit.setRetention(1000), 'INPUT_INVALID');
    await k.audit.setRetention(H); // 'new' is 2 h old: goes at once
    expect((await k.audit.read()).entries).toEqual([]);
    k.close();
    expect((await open(name, clock)).audit.retentionMs()).toBe(H);
  });

  it('purges on a timer', async () => {
    const name = uniqueName('retention-timer');
    const v = await open(name, { retentionTimerMs: 100 });
    await v.setup(PASS);
    await v.audit.append({ at: Date.now() - 25 * H, outcome: 'grant', subjectId: 'old', kiosk: 'k', mode: 'face' });
    await v.audit.append({ at: Date.now(), outcome: 'grant', subjectId: 'new', kiosk: 'k', mode: 'face' });
    for (let i = 0; i < 40 && (await rawDump(name)).filter((r) => r.store === 'audit').length > 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await v.audit.read()).entries.map((e) => e.subjectId)).toEqual(['new']);
  });
});

interface StorageBucket {
  name: string;
  indexedDB: IDBFactory;
  estimate(): Promise<{ usage?: number; quota?: number }>;
}
interface StorageBuckets {
  open(name: string, opts?: { quota?: number; persisted?: boolean }): Promise<StorageBucket>;
  delete(name: string): Promise<void>;
}

describe('storage full', () => {
  // A real quota, really exceeded: the vault lives in a Storage Bucket created with a 1 MiB quota (Chromium
  // enforces bucket quotas in IndexedDB). The DevTools origin-quota override was tried first: Chromium caches an
  // origin's remaining space for ~30 s per storage context, so it only bites half a minute later.
  it('a real QuotaExceededError leaves the previous state intact and shows in the state', async () => {
    const buckets = (navigator as unknown as { storageBuckets: StorageBuckets }).storageBuckets;
    const bucketName = `vault-quota-${crypto.randomUUID().slice(0, 8)}`;
    const bucket = await buckets.open(bucketName, { quota: 1024 * 1024 });
    const name = uniqueName('quota');
    try {
      const v = await open(name, { indexedDB: bucket.indexedDB });
      await v.setup(PASS);
      const before = await v.subjects.putMany([person(1), person(2)]);
      const dumpBefore = await rawDump(name, bucket.indexedDB);
      const events: VaultEvent[] = [];
      v.subscribe((e) => events.push(e));
      // 300 subjects x 3 templates x 512 floats = 1.8 MB of ciphertext, in one transaction
      await expectCode(v.subjects.putMany(Array.from({ length: 300 }, (_, i) => person(100 + i))), 'STORE_QUOTA');
      expect(v.state).toMatchObject({ quotaExceeded: true, lastError: 'STORE_QUOTA' });
      expect(events.some((e) => e.type === 'state' && e.state.quotaExceeded)).toBe(true);
      expect(events.some((e) => e.type === 'change')).toBe(false);
      const dumpAfter = await rawDump(name, bucket.indexedDB);
      expect(dumpAfter.map((r) => serialise([r.store, r.key, r.value]))).toEqual(
        dumpBefore.map((r) => serialise([r.store, r.key, r.value])),
      );
      const { subjects, report } = await v.loadWatchlist();
      expect(subjects.map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort());
      expect(report.quarantined).toEqual([]);
      // Chromium keeps the aborted transaction's large-value files, counted against the quota, until the
      // database is opened afresh: a restart (new vault instance) gets the space back, and writes work again.
      v.close();
      const w = await open(name, { indexedDB: bucket.indexedDB });
      await w.unlockAdmin(PASS);
      await w.enrol(person(3));
      expect(w.state.quotaExceeded).toBe(false);
      expect((await w.loadWatchlist()).subjects).toHaveLength(3);
    } finally {
      for (const v of opened.splice(0)) v.close();
      // close() lets running transactions finish first; deleting the bucket under them would force-close them
      await new Promise((r) => setTimeout(r, 100));
      await buckets.delete(bucketName);
    }
  });
});

describe('storage persistence and loss', () => {
  it('asks for persistent storage at open and shows the answer', async () => {
    const v = await open(uniqueName('persist'), { requestPersistence: true });
    expect(typeof v.state.persisted).toBe('boolean');
    expect(v.state.persisted).toBe(await navigator.storage.persisted());
    const est = await v.storageEstimate();
    expect(est?.quota).toBeGreaterThan(0);
  });

  it('storage removed under a running vault (browser "clear data"): state terminated, calls refused', async () => {
    const buckets = (navigator as unknown as { storageBuckets: StorageBuckets }).storageBuckets;
    const bucketName = `vault-gone-${crypto.randomUUID().slice(0, 8)}`;
    const bucket = await buckets.open(bucketName);
    const v = await open(uniqueName('terminated'), { indexedDB: bucket.indexedDB });
    await v.setup(PASS);
    const seen: VaultEvent[] = [];
    v.subscribe((e) => seen.push(e));
    await buckets.delete(bucketName); // force-closes every connection to the bucket's databases
    for (let i = 0; i < 40 && v.state.status !== 'terminated'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(v.state).toMatchObject({ status: 'terminated', lastError: 'STORE_UNAVAILABLE', admin: false });
    expect(seen.some((e) => e.type === 'state' && e.state.status === 'terminated')).toBe(true);
    await expectCode(v.loadWatchlist(), 'STORE_UNAVAILABLE');
  });
});

describe('other tabs and versions', () => {
  it('another tab upgrading the schema: this vault closes, says so, and refuses further calls', async () => {
    const name = uniqueName('versionchange');
    const v = await open(name);
    await v.setup(PASS);
    const upgraded = await rawOpen(name, DB_VERSION + 1); // would hang if the vault did not step aside
    expect(v.state.status).toBe('version-changed');
    expect(v.state.lastError).toBe('STORE_VERSION_CHANGED');
    await expectCode(v.loadWatchlist(), 'STORE_VERSION_CHANGED');
    await expectCode(v.enrol(person(1)), 'STORE_VERSION_CHANGED');
    upgraded.close();
    // and this (older) code then refuses the newer database rather than misreading it
    await expectCode(openVault(name), 'STORE_VERSION_CHANGED');
  });

  it('an older tab holding version 1 open blocks the upgrade: STORE_BLOCKED, then the upgrade runs once it lets go', async () => {
    const name = uniqueName('upgrade');
    // the database as the version-1 code built it, still open in that "tab", which ignores versionchange
    const old = await openDB<VaultDB>(name, 1, { upgrade: (db, from, _to, tx) => migrate(db, from, 1, tx) });
    old.addEventListener('versionchange', () => undefined);
    expect(Array.from(old.objectStoreNames)).not.toContain('secrets');
    const states: string[] = [];
    const blocked = openVault(name, { openTimeoutMs: 400 });
    await expectCode(blocked, 'STORE_BLOCKED');
    old.close();
    // the late open (which would have upgraded) is closed by the vault itself; a fresh open upgrades
    const v = await open(name);
    v.subscribe((e) => e.type === 'state' && states.push(e.state.status));
    expect(v.state.status).toBe('uninitialised');
    const raw = await rawOpen(name);
    expect(raw.version).toBe(DB_VERSION);
    expect(Array.from(raw.objectStoreNames)).toContain('secrets');
    raw.close();
    await v.setup(PASS);
    await v.keys.put('sync', { exportedVersion: 1 });
    expect(states).toContain('unlocked');
  });

  it('an open stuck behind another tab gives STORE_BLOCKED after the timeout', async () => {
    const name = uniqueName('blocked');
    const v = await open(name);
    await v.setup(PASS);
    v.close();
    const holder = await rawOpen(name);
    holder.onversionchange = () => undefined; // a tab that does not step aside
    const del = indexedDB.deleteDatabase(name); // queued behind the holder; our open queues behind it
    await expectCode(openVault(name, { openTimeoutMs: 300 }), 'STORE_BLOCKED');
    holder.close();
    await new Promise<void>((resolve) => {
      del.onsuccess = () => resolve();
    });
  });
});

describe('decision outbox', () => {
  it('keeps seq order, rejects a duplicate seq, updates in place, removes idempotently, expires old entries', async () => {
    const name = uniqueName('outbox');
    const v = await open(name);
    await v.setup(PASS);
    const t = 1_800_000_000_000;
    for (const seq of [3, 1, 2])
      await v.outbox.put({ seq, createdAt: t + seq * 1000, body: `body-${seq}`, attempts: 0 });
    expect((await v.outbox.list()).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(
      await expectCode(v.outbox.put({ seq: 2, createdAt: t, body: 'other', attempts: 0 }), 'STORE_DUPLICATE'),
    ).toMatchObject({ seq: 2 });
    await v.outbox.update({ seq: 2, createdAt: 0, body: 'ignored', attempts: 1, lastError: 'UPSTREAM_UNREACHABLE' });
    expect(await v.outbox.list()).toEqual([
      { seq: 1, createdAt: t + 1000, body: 'body-1', attempts: 0 },
      { seq: 2, createdAt: t + 2000, body: 'body-2', attempts: 1, lastError: 'UPSTREAM_UNREACHABLE' },
      { seq: 3, createdAt: t + 3000, body: 'body-3', attempts: 0 },
    ]);
    expect((await v.outbox.list(2)).map((e) => e.seq)).toEqual([1, 2]);
    await v.outbox.remove(1);
    await v.outbox.remove(1);
    expect(await v.outbox.count()).toBe(2);
    await expectCode(v.outbox.update({ seq: 1, createdAt: 0, body: '', attempts: 2 }), 'STORE_NOT_FOUND');
    expect(await v.outbox.purgeOlderThan(1500, t + 4000)).toBe(1); // seq 2 (2.0 s old) goes, seq 3 (1.0 s) stays
    expect((await v.outbox.list()).map((e) => e.seq)).toEqual([3]);
    v.lock();
    await expectCode(v.outbox.put({ seq: 9, createdAt: t, body: 'x', attempts: 0 }), 'STORE_LOCKED');
  });
});
