/**
 * Tampering with the vault's IndexedDB from outside (raw IndexedDB API, as a script or a profile editor would):
 * swapped ciphertexts, replayed old versions, restored deleted pages, deleted pages, a damaged or rolled-back
 * root. Every bad record is quarantined and reported; while the list may be incomplete or old, only its deny-list
 * entries load (the allow list waits for an admin's rebuild). Subjects are sealed in pages; these
 * tests use one subject per page (pageTargetBytes: 1) so a page stands for a subject.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Vault } from '../../src/store';
import type { Subject } from '../../src/shared/types';
import { applyPlan } from '../../src/sync';
import {
  PASS,
  expectCode,
  openVault,
  pageOf,
  rawDump,
  rawEditPages,
  rawPages,
  rawPut,
  tpl,
  uniqueName,
  type RawRecord,
} from './vault-helpers';

const opened: Vault[] = [];
async function open(name: string): Promise<Vault> {
  const v = await openVault(name, { pageTargetBytes: 1 });
  opened.push(v);
  return v;
}
afterEach(() => {
  for (const v of opened.splice(0)) v.close();
});

function person(i: number, list: 'allow' | 'deny' = 'allow') {
  return { label: `Person ${i}`, list, plates: [`P-${i}`], templates: { fr_feature: [tpl(512, i), tpl(512, i + 50)] } };
}

async function seeded(tag: string, n: number): Promise<{ name: string; v: Vault; subjects: Subject[] }> {
  const name = uniqueName(tag);
  const v = await open(name);
  await v.setup(PASS);
  const subjects = await v.subjects.putMany(
    Array.from({ length: n }, (_, i) => person(i, i === n - 1 ? 'deny' : 'allow')),
  );
  return { name, v, subjects };
}

/** Flips one bit of the sealed index root, as a profile editor or a failing disk would. */
async function damageRoot(name: string): Promise<void> {
  const r = rec(await rawDump(name), 'index', 'root');
  const box = new Uint8Array((r.value.box as ArrayBuffer).slice(0));
  box[box.length - 1] = (box[box.length - 1] ?? 0) ^ 1;
  await rawPut(name, 'index', [{ key: 'root', value: { ...r.value, box: box.buffer } }]);
}

function rec(dump: RawRecord[], store: string, key: IDBValidKey): { key: IDBValidKey; value: Record<string, unknown> } {
  const r = dump.find((x) => x.store === store && x.key === key);
  if (!r) throw new Error(`no ${store}/${String(key)}`);
  return { key: r.key, value: r.value as Record<string, unknown> };
}

async function restart(name: string): Promise<Vault> {
  const k = await open(name);
  await k.unlockDevice();
  return k;
}

const ids = (xs: { id: string }[]) => xs.map((s) => s.id).sort();

describe('tampered records', () => {
  it('two swapped page ciphertexts fail to open: both quarantined; until a rebuild only the deny list loads', async () => {
    const { name, v, subjects } = await seeded('swap', 5);
    v.close();
    const [a, b] = [subjects[0]!, subjects[1]!];
    let pa = -1;
    let pb = -1;
    await rawEditPages(name, (pages) => {
      const x = pageOf(pages, a.id);
      const y = pageOf(pages, b.id);
      [pa, pb] = [x.page, y.page];
      [x.box, y.box] = [y.box, x.box];
    });
    const k = await restart(name);
    const first = await k.loadWatchlist();
    // The list lost two people the root vouched for (either might have been deny-listed): the allow list waits for
    // an admin, the deny-list entry still loads (attacker review, session 24: the rest used to stay armed).
    expect(ids(first.subjects)).toEqual(ids([subjects[4]!]));
    expect(first.report.unverified.sort()).toEqual(ids(subjects.slice(2, 4)));
    expect(first.report.loaded).toBe(1);
    expect(first.report.quarantined.sort((x, y) => x.page - y.page)).toEqual(
      [
        { page: pa, ids: [a.id], reason: 'integrity' },
        { page: pb, ids: [b.id], reason: 'integrity' },
      ].sort((x, y) => x.page - y.page),
    );
    expect(k.state.quarantined).toBe(2);
    const q = await k.listQuarantine();
    expect(q.map((x) => [x.store, x.key, x.reason]).sort()).toEqual(
      [String(pa), String(pb)].sort().map((p) => ['subjects', p, 'integrity']),
    );
    // the quarantined pages left the store; the next load reports them missing, not corrupt again
    const second = await k.loadWatchlist();
    expect(second.report.quarantined).toEqual([]);
    expect(second.report.missingPages.sort()).toEqual([pa, pb].sort());
    expect(ids(second.subjects)).toEqual(ids([subjects[4]!]));
    expect(second.report.unverified).toHaveLength(2);
    // The admin reviews and rebuilds the index from what authenticates now: the three left all count again.
    await k.unlockAdmin(PASS);
    await k.subjects.rebuildIndex();
    const third = await k.loadWatchlist();
    expect(ids(third.subjects)).toEqual(ids(subjects.slice(2)));
    expect(third.report).toMatchObject({ missingPages: [], unverified: [], quarantined: [] });
  });

  it('an old version put back, a deleted page restored and a page deleted behind the vault’s back are all caught', async () => {
    const { name, v, subjects } = await seeded('replay', 5);
    const [a, c, d] = [subjects[0]!, subjects[1]!, subjects[4]!];
    const old = await rawPages(name);
    const [pa, pc] = [pageOf(old, a.id), pageOf(old, c.id)];
    await v.enrol({ ...person(0), id: a.id, list: 'deny' }); // a: allow -> deny (its page is rewritten)
    await v.subjects.delete(c.id); // c: revoked (its page goes)
    v.close();
    let pd = -1;
    await rawEditPages(name, (pages) => {
      pages.set(pa.page, pa); // a rolled back
      pages.set(pc.page, pc); // c put back
      pd = pageOf(pages, d.id).page;
      pages.delete(pd); // d (the deny-list entry) silently removed
    });
    const k = await restart(name);
    const { subjects: loaded, report } = await k.loadWatchlist();
    // The deny-list entry d is gone: the allow-listed b, c's neighbours, must not stay armed without it.
    expect(ids(loaded)).toEqual([]);
    expect(report.unverified.sort()).toEqual(ids([subjects[2]!, subjects[3]!]));
    expect(report.quarantined.sort((x, y) => x.reason.localeCompare(y.reason))).toEqual([
      { page: pc.page, ids: [c.id], reason: 'not-in-index' },
      { page: pa.page, ids: [a.id], reason: 'stale-version' },
    ]);
    expect(report.missingPages).toEqual([pd]);
    expect(k.state.lastError).toBe('STORE_CORRUPT_RECORD');
  });

  it('a page copied under another page number does not open there', async () => {
    const { name, v, subjects } = await seeded('moved', 3);
    v.close();
    await rawEditPages(name, (pages) => {
      const p = pageOf(pages, subjects[0]!.id);
      pages.set(999, { ...p, page: 999 });
    });
    const k = await restart(name);
    const { subjects: loaded, report } = await k.loadWatchlist();
    expect(ids(loaded)).toEqual(ids(subjects));
    expect(report.quarantined).toEqual([{ page: 999, ids: [subjects[0]!.id], reason: 'not-in-index' }]);
  });

  it('a subject ciphertext moved into the settings record does not open there', async () => {
    const { name, v, subjects } = await seeded('xstore', 2);
    await v.settings.put({ kioskId: 'k' });
    v.close();
    const dump = await rawDump(name);
    const s = rec(dump, 'settings', 'settings');
    const box = pageOf(await rawPages(name), subjects[0]!.id).box;
    await rawPut(name, 'settings', [{ key: 'settings', value: { ...s.value, box } }]);
    const k = await restart(name);
    const d = await expectCode(k.settings.get(), 'STORE_CORRUPT_RECORD');
    expect(d).toMatchObject({ store: 'settings', reason: 'integrity' });
    expect((await k.listQuarantine()).map((q) => q.store)).toEqual(['settings']);
    expect((await k.loadWatchlist()).subjects).toHaveLength(2);
  });

  it('an older settings record put back is refused (its version is in the sealed root)', async () => {
    const { name, v } = await seeded('settings-replay', 1);
    await v.settings.put({ faceThreshold: 0.5 });
    const old = await rawDump(name);
    await v.settings.put({ faceThreshold: 0.3 });
    v.close();
    await rawPut(name, 'settings', [rec(old, 'settings', 'settings')]);
    const k = await restart(name);
    expect(await expectCode(k.settings.get(), 'STORE_CORRUPT_RECORD')).toMatchObject({ reason: 'stale-version' });
  });

  it('swapped audit entries are quarantined on read; the rest are returned', async () => {
    const { name, v } = await seeded('audit-swap', 1);
    const t = Date.now();
    for (let i = 0; i < 4; i++)
      await v.audit.append({ at: t + i, outcome: 'grant', subjectId: `s${i}`, kiosk: 'k', mode: 'face' });
    v.close();
    const dump = (await rawDump(name)).filter((r) => r.store === 'audit');
    const xv = dump[0]!.value as Record<string, unknown>;
    const yv = dump[1]!.value as Record<string, unknown>;
    await rawPut(name, 'audit', [{ value: { ...xv, box: yv.box } }, { value: { ...yv, box: xv.box } }]);
    const k = await open(name);
    await k.unlockAdmin(PASS);
    const r = await k.audit.read();
    expect(r.quarantined).toBe(2);
    expect(r.entries.map((e) => e.subjectId)).toEqual(['s2', 's3']);
  });

  it('a damaged outbox record is quarantined and skipped; delivery order of the rest is kept', async () => {
    const { name, v } = await seeded('outbox-tamper', 1);
    for (const seq of [1, 2, 3]) await v.outbox.put({ seq, createdAt: Date.now(), body: `b${seq}`, attempts: 0 });
    v.close();
    const r2 = rec(await rawDump(name), 'outbox', 2);
    const box = new Uint8Array((r2.value.box as ArrayBuffer).slice(0));
    box[20] = (box[20] ?? 0) ^ 0xff;
    await rawPut(name, 'outbox', [{ value: { ...r2.value, box: box.buffer } }]);
    const k = await restart(name);
    expect((await k.outbox.list()).map((e) => e.body)).toEqual(['b1', 'b3']);
    expect(await k.outbox.count()).toBe(2);
  });

  it('a damaged root: allow-list entries are held back (fail closed), deny-list entries load, until the index is rebuilt', async () => {
    const { name, v, subjects } = await seeded('root', 4);
    v.close();
    await damageRoot(name);
    const k = await restart(name);
    const first = await k.loadWatchlist();
    expect(first.report.issues).toEqual(['index-root-corrupt']);
    expect(first.report.unverified.sort()).toEqual(ids(subjects));
    expect(first.subjects.map((s) => s.list)).toEqual(['deny']);
    expect(first.report.quarantined).toEqual([]);
    await k.unlockAdmin(PASS);
    await expectCode(k.enrol(person(9)), 'STORE_CORRUPT_RECORD');
    await expectCode(k.settings.put({ a: 1 }), 'STORE_CORRUPT_RECORD');
    await k.subjects.rebuildIndex();
    const second = await k.loadWatchlist();
    expect(second.report).toMatchObject({ loaded: 4, quarantined: [], missingPages: [], unverified: [], issues: [] });
    await k.enrol({ ...person(0), id: subjects[0]!.id, label: 'Renamed' });
    expect((await k.subjects.get(subjects[0]!.id))?.label).toBe('Renamed');
    expect(await k.subjects.count()).toBe(4);
  });

  it('rebuilding after a damaged root keeps the installed bundle version: an older bundle is still refused', async () => {
    // Found by an attacker review (session 19): the rebuilt root carried version 0, so any older signed bundle — one
    // still listing a revoked person — installed again after one flipped byte and an admin's rebuild.
    const name = uniqueName('root-version');
    const v = await open(name);
    await v.setup(PASS);
    const plan = (from: number, to: number, label: string) =>
      applyPlan(
        { version: from, subjects: [] },
        { kind: 'full', baseVersion: 0, version: to, createdAt: 0, issuerKeyId: 'x', subjects: [{ ...person(1), id: 'a1', label, createdAt: 1, updatedAt: 1, version: 1 }] },
      );
    await v.applyWatchlistPlan(plan(0, 3, 'v3'));
    await v.applyWatchlistPlan(plan(3, 4, 'v4'));
    v.close();
    await damageRoot(name);
    const k = await restart(name);
    await k.unlockAdmin(PASS);
    await k.subjects.rebuildIndex();
    expect(await k.watchlistVersion()).toBe(4);
    await expectCode(k.applyWatchlistPlan(plan(0, 3, 'v3 again')), 'BUNDLE_ROLLBACK');
    expect((await k.loadWatchlist()).subjects.map((x) => x.label)).toEqual(['v4']);
  });

  it('damaging the root to smuggle back a revoked allow entry does not grant it', async () => {
    const { name, v, subjects } = await seeded('smuggle', 3);
    const c = subjects[0]!;
    const pc = pageOf(await rawPages(name), c.id);
    await v.subjects.delete(c.id);
    v.close();
    await rawEditPages(name, (pages) => pages.set(pc.page, pc));
    const r = rec(await rawDump(name), 'index', 'root');
    const box = new Uint8Array((r.value.box as ArrayBuffer).slice(0));
    box[13] = (box[13] ?? 0) ^ 1;
    await rawPut(name, 'index', [{ key: 'root', value: { ...r.value, box: box.buffer } }]);
    const k = await restart(name);
    const { subjects: loaded, report } = await k.loadWatchlist();
    expect(loaded.map((s) => s.id)).not.toContain(c.id);
    expect(report.unverified).toContain(c.id);
  });

  it('a root rolled back on its own no longer vouches for newer pages', async () => {
    const { name, v } = await seeded('index-rollback', 2);
    const oldRoot = rec(await rawDump(name), 'index', 'root');
    const added = await v.enrol(person(9));
    v.close();
    const pa = pageOf(await rawPages(name), added.id).page;
    await rawPut(name, 'index', [oldRoot]);
    const k = await restart(name);
    const { subjects: loaded, report } = await k.loadWatchlist();
    expect(loaded).toHaveLength(2);
    expect(report.quarantined).toEqual([{ page: pa, ids: [added.id], reason: 'not-in-index' }]);
  });
});
