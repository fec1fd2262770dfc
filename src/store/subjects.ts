/**
 * The watchlist: subject create/replace/delete and the fast load that decrypts everything into memory for
 * matching. Owns the subject pages: subjects (label, list, validity, plates, templates) are encoded back to back
 * in pages of ~256 KB and each page is one AES-GCM box bound to (store, page, format, version), its version listed
 * in the sealed root. Templates exist in clear only in the Subject objects this module returns (views into the
 * decrypted page), never in storage, logs or errors.
 *
 * Load speed: pages are read in key-ordered chunks, the next chunk's read overlapping this chunk's decrypts
 * (WebCrypto runs off the main thread). Tamper detection and quarantine work per page: one damaged or swapped
 * page takes its ~40 subjects out, every other page loads.
 */
import { isKioskError, KioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import { bindingData, open, seal } from '../crypto/aead';
import {
  decodeEntry,
  decodePage,
  encodePage,
  encodeSubject,
  newSubjectId,
  validateId,
  validateSubjectInput,
  type PageEntry,
  type SubjectInput,
} from './codec';
import type { QuarantineItem, VaultCore } from './core';
import { assertGeneration, loadSnapshot, nextGen, prepareRoot, requireRoot } from './manifest';
import type { IndexSnapshot } from './snapshot';
import { PAGE_TARGET_BYTES, RECORD_FORMAT, type SecretRecord, type SubjectPageRecord } from './schema';
import { secretAad } from './secrets';

/**
 * The installed bundle version is sealed in the root and, since session 19, also in this separate record written in
 * the same transaction: rebuilding the index after a damaged root (one flipped byte) used to seal version 0 into the
 * new root, and every older signed bundle — one still listing a revoked person — installed again.
 */
const VERSION_FLOOR = 'watchlist-version';
const floorBytes = new TextEncoder();

/** Pages per read: ~4 MB at the target page size, small enough to overlap reading with decryption. */
const LOAD_CHUNK_PAGES = 16;

export interface LoadReport {
  /** Subjects in pages that authenticated. */
  total: number;
  loaded: number;
  /**
   * Pages moved to quarantine: failed authentication ('integrity'), not listed in the root ('not-in-index', e.g.
   * a deleted page put back) or an older version than the root lists ('stale-version'). `ids` are the page's
   * clear locator hints: the subjects most likely lost with it.
   */
  quarantined: { page: number; ids: string[]; reason: string }[];
  /** Pages the root lists that are absent from disk (deleted behind the vault's back). */
  missingPages: number[];
  /**
   * Allow-list entries held back until an admin rebuilds the index (deny-list entries still load): authentic, but
   * the root could not be verified (see `issues`), so they may be old copies; or the root is fine but pages it
   * lists are missing, unreadable or older than listed (`missingPages`, `quarantined`), so the list may lack
   * someone, a deny-listed person included.
   */
  unverified: string[];
  issues: string[];
  ms: number;
}

/**
 * Whether a load found the list possibly incomplete or old (pages quarantined, missing or held back, an index that
 * failed): the admin reviews the storage card and rebuilds the index before the list is exported, replaced by a
 * bundle, or trusted whole.
 */
export function loadIncomplete(r: LoadReport): boolean {
  return r.quarantined.length + r.missingPages.length + r.unverified.length + r.issues.length > 0;
}

export interface WatchlistLoad {
  subjects: Subject[];
  /** Version of the last watchlist bundle applied (0 if the watchlist was only edited here). */
  version: number;
  report: LoadReport;
}

/** A verified bundle's change set, as src/sync's applyPlan makes it (structurally: the store does not import sync). */
export interface WatchlistPlanLike {
  kind: 'full' | 'delta';
  fromVersion: number;
  toVersion: number;
  /** The complete new watchlist. */
  subjects: readonly Subject[];
  puts: readonly Subject[];
  deletes: readonly string[];
}

/** Subject input as written; bundles carry their own creation time. */
type WriteInput = SubjectInput & { createdAt?: number };

interface WriteOpts {
  replaceAll: boolean;
  /** Bundle apply: the installed version must be `from`; the root records `to`. */
  bundle?: { from: number; to: number };
}

function fromSubject(s: Subject): WriteInput {
  const i: WriteInput = { id: s.id, label: s.label, list: s.list, templates: s.templates, plates: [...s.plates] };
  if (s.validFrom !== undefined) i.validFrom = s.validFrom;
  if (s.validUntil !== undefined) i.validUntil = s.validUntil;
  if (Number.isFinite(s.createdAt)) i.createdAt = s.createdAt;
  return i;
}

export const pageAad = (page: number, v: number): Uint8Array<ArrayBuffer> =>
  bindingData('subjects', page, RECORD_FORMAT, v);

/** Which page holds which subject, as of generation `gen`. */
export interface Locator {
  gen: number;
  pages: Map<number, { v: number; ids: string[] }>;
  byId: Map<string, number>;
}

type Opened = { ok: true; entries: PageEntry[] } | { ok: false; reason: string };

const entryBytes = (e: PageEntry): number => 12 + e.id.length + e.payload.byteLength + 8;

export class SubjectsApi {
  /** Set by a load or a write; refreshed from the changed pages when another tab moved the generation. */
  private locator: Locator | null = null;
  private readonly pageTargetBytes: number;

  constructor(private readonly core: VaultCore) {
    this.pageTargetBytes = core.pageTargetBytes ?? PAGE_TARGET_BYTES;
    core.subscribe((e) => {
      if (e.type === 'state' && e.state.status !== 'unlocked') this.locator = null;
    });
  }

  /** Creates (no id, or an unknown id) or replaces (a known id) one subject. Admin. */
  async put(input: SubjectInput): Promise<Subject> {
    const [s] = await this.putMany([input]);
    if (!s) throw new KioskError('INTERNAL', { where: 'subjects.put' });
    return s;
  }

  /** Several subjects in one transaction: all are written or none. `replaceAll` first removes every other subject. Admin. */
  async putMany(inputs: SubjectInput[], opts: { replaceAll?: boolean } = {}): Promise<Subject[]> {
    this.core.requireAdmin();
    return this.write(inputs, [], { replaceAll: opts.replaceAll ?? false });
  }

  /** Merging two people: writes the merged record and deletes the other one in one transaction (both or neither). Admin. */
  async putAndDelete(input: SubjectInput, deleteId: string): Promise<Subject> {
    validateId(deleteId);
    this.core.requireAdmin();
    const [s] = await this.write([input], [deleteId], { replaceAll: false });
    if (!s) throw new KioskError('INTERNAL', { where: 'subjects.putAndDelete' });
    return s;
  }

  /** Admin. STORE_NOT_FOUND for an unknown id. */
  async delete(id: string): Promise<void> {
    validateId(id);
    this.core.requireAdmin();
    await this.write([], [id], { replaceAll: false });
  }

  /** Subjects the verified root accounts for. */
  async count(): Promise<number> {
    const { dataKey } = this.core.requireUnlocked();
    return this.core.withLock('shared', async () => {
      const snap = await this.freshSnapshot(dataKey);
      return (await this.ensureLocator(snap)).byId.size;
    });
  }

  /** One subject, from a page verified against a fresh root (null if unknown). */
  async get(id: string): Promise<Subject | null> {
    validateId(id);
    const { dataKey } = this.core.requireUnlocked();
    return this.core.withLock('shared', async () => {
      const snap = await this.freshSnapshot(dataKey);
      const loc = await this.ensureLocator(snap);
      const p = loc.byId.get(id);
      if (p === undefined) return null;
      const rec = await this.core.read((db) => db.get('subjects', p));
      if (!rec) throw new KioskError('STORE_CORRUPT_RECORD', { store: 'subjects', reason: 'missing' });
      const res = await this.openPage(dataKey, snap, rec);
      if (!res.ok) {
        await this.quarantinePages([{ rec, reason: res.reason }]);
        throw new KioskError('STORE_CORRUPT_RECORD', { store: 'subjects', reason: res.reason });
      }
      const e = res.entries.find((x) => x.id === id);
      return e ? decodeEntry(e) : null;
    });
  }

  /**
   * Decrypts the whole watchlist into memory. Bad pages are quarantined and reported; all others load, except that
   * allow-list entries are held back while the list may be incomplete or old (see LoadReport.unverified).
   */
  async load(): Promise<WatchlistLoad> {
    const { dataKey } = this.core.requireUnlocked();
    return this.core.withLock('shared', async () => {
      const t0 = performance.now();
      const snap = await this.freshSnapshot(dataKey);
      let subjects: Subject[] = [];
      const bad: { rec: SubjectPageRecord; reason: string }[] = [];
      const unverified: string[] = [];
      const issues = [...snap.issues];
      const seenPages = new Set<number>();
      const seenIds = new Set<string>();
      const loc: Locator = { gen: snap.gen, pages: new Map(), byId: new Map() };
      let total = 0;
      const take = (recs: SubjectPageRecord[], opened: Opened[]): void => {
        recs.forEach((rec, i) => {
          const res = opened[i];
          seenPages.add(rec.page);
          if (!res?.ok) {
            bad.push({ rec, reason: res?.reason ?? 'integrity' });
            return;
          }
          const ids: string[] = [];
          for (const e of res.entries) {
            if (seenIds.has(e.id)) {
              issues.push(`duplicate-subject:${rec.page}`);
              continue;
            }
            seenIds.add(e.id);
            ids.push(e.id);
            total++;
            const s = decodeEntry(e);
            // An authentic page the root cannot vouch for might be an old copy put back. Fail closed: deny-list
            // entries still load (denying more is safe), allow-list entries wait for the admin to review and
            // rebuild the index. They stay on disk either way.
            if (!snap.pages) unverified.push(s.id);
            if (snap.pages || s.list === 'deny') subjects.push(s);
            loc.byId.set(e.id, rec.page);
          }
          loc.pages.set(rec.page, { v: rec.v, ids });
        });
      };
      // Three stages in flight: read chunk k+1 (IndexedDB), decrypt chunk k (WebCrypto threads), decode chunk
      // k-1 (this thread).
      let pending = this.readPages(undefined);
      let prev: { recs: SubjectPageRecord[]; opened: Promise<Opened[]> } | null = null;
      for (;;) {
        const recs = await pending;
        if (recs.length === 0) break;
        const last = recs[recs.length - 1];
        pending = recs.length < LOAD_CHUNK_PAGES || !last ? Promise.resolve([]) : this.readPages(last.page);
        const cur = { recs, opened: Promise.all(recs.map((r) => this.openPage(dataKey, snap, r))) };
        if (prev) take(prev.recs, await prev.opened);
        prev = cur;
      }
      if (prev) take(prev.recs, await prev.opened);
      const missingPages = snap.pages ? [...snap.pages.keys()].filter((p) => !seenPages.has(p)) : [];
      // Pages the root lists that are gone, failed to open or are older than listed: whoever they held is missing
      // from this load, a deny-listed person included. Fail closed as for an unverifiable root: deny-list entries
      // load, allow-list entries wait for an admin to review and rebuild the index. Before, the rest of the list
      // stayed armed, so deleting a deny-listed person's page from the profile's files (no key needed) removed
      // their alert, and the rule that refuses a grant when a deny-listed look-alike comes a close second had no
      // record to fire on (attacker review, session 24). A page the root does not list (`not-in-index`, e.g. a
      // deleted page put back) loses no one and holds nothing back.
      const lost = missingPages.length > 0 || bad.some((b) => b.reason !== 'not-in-index');
      if (snap.pages && lost) {
        for (const s of subjects) if (s.list !== 'deny') unverified.push(s.id);
        subjects = subjects.filter((s) => s.list === 'deny');
      }
      if (bad.length) await this.quarantinePages(bad);
      if (snap.pages) this.locator = loc;
      const report: LoadReport = {
        total,
        loaded: subjects.length,
        quarantined: bad.map((b) => ({
          page: b.rec.page,
          ids: Array.isArray(b.rec.ids) ? b.rec.ids.map(String) : [],
          reason: b.reason,
        })),
        missingPages,
        unverified,
        issues,
        ms: performance.now() - t0,
      };
      if (bad.length || missingPages.length || issues.length) this.core.setState({ lastError: 'STORE_CORRUPT_RECORD' });
      return { subjects, version: snap.watchlistVersion, report };
    });
  }

  /**
   * Applies a watchlist bundle's plan in one transaction and records its version in the sealed root. The caller
   * (src/sync) has verified the bundle's signature; device unlock is enough, so a kiosk can update unattended.
   * BUNDLE_ROLLBACK if the installed version is not the plan's base (another update got there first).
   */
  async applyPlan(plan: WatchlistPlanLike): Promise<void> {
    this.core.requireUnlocked();
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (!ok(plan.fromVersion) || !ok(plan.toVersion) || plan.toVersion <= plan.fromVersion) {
      throw new KioskError('INPUT_INVALID', { field: 'plan-version' });
    }
    const full = plan.kind === 'full';
    const inputs = (full ? plan.subjects : plan.puts).map(fromSubject);
    await this.write(inputs, full ? [] : [...plan.deletes], {
      replaceAll: full,
      bundle: { from: plan.fromVersion, to: plan.toVersion },
    });
  }

  /** The installed version as the separate record holds it (0 when there is none or it does not open). */
  private async versionFloor(key: CryptoKey): Promise<number> {
    const rec = await this.core.read((db) => db.get('secrets', VERSION_FLOOR));
    if (!rec) return 0;
    try {
      const v = (JSON.parse(new TextDecoder().decode(await open(key, rec.box, secretAad(VERSION_FLOOR)))) as { v?: unknown }).v;
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
    } catch {
      return 0;
    }
  }

  /** Version of the last bundle applied, from a fresh root. */
  async watchlistVersion(): Promise<number> {
    const { dataKey } = this.core.requireUnlocked();
    const snap = await this.freshSnapshot(dataKey);
    requireRoot(snap);
    return snap.watchlistVersion;
  }

  /**
   * Re-seals the root from the pages that authenticate now (admin, after reviewing a load report). A page put
   * back from an old copy becomes current again: that is why this is an admin decision.
   */
  async rebuildIndex(): Promise<LoadReport> {
    const { dataKey } = this.core.requireAdmin();
    return this.core.withLock('exclusive', async () => {
      const t0 = performance.now();
      const snap = await this.freshSnapshot(dataKey);
      const unchecked: IndexSnapshot = { ...snap, pages: null };
      const pages = new Map<number, number>();
      const loc: Locator = { gen: 0, pages: new Map(), byId: new Map() };
      const bad: { rec: SubjectPageRecord; reason: string }[] = [];
      let total = 0;
      let maxV = 0;
      let nextPage = 0;
      let lastPageBytes = 0;
      let after: number | undefined;
      for (;;) {
        const recs = await this.readPages(after);
        if (recs.length === 0) break;
        after = recs[recs.length - 1]?.page;
        const opened = await Promise.all(recs.map((r) => this.openPage(dataKey, unchecked, r)));
        recs.forEach((rec, i) => {
          const res = opened[i];
          maxV = Math.max(maxV, Number.isFinite(rec.v) ? rec.v : 0);
          if (!res?.ok) {
            bad.push({ rec, reason: res?.reason ?? 'integrity' });
            return;
          }
          pages.set(rec.page, rec.v);
          const ids = res.entries.map((e) => e.id).filter((id) => !loc.byId.has(id));
          for (const id of ids) loc.byId.set(id, rec.page);
          loc.pages.set(rec.page, { v: rec.v, ids });
          total += ids.length;
          if (rec.page + 1 > nextPage) {
            nextPage = rec.page + 1;
            lastPageBytes = res.entries.reduce((n, e) => n + entryBytes(e), 0);
          }
        });
      }
      const root = await this.core.read((db) => db.get('index', 'root'));
      maxV = Math.max(maxV, root?.v ?? 0);
      const settings = await this.core.read((db) => db.get('settings', 'settings'));
      let settingsV = 0;
      if (settings) {
        maxV = Math.max(maxV, settings.v);
        try {
          await open(dataKey, settings.box, bindingData('settings', 'settings', RECORD_FORMAT, settings.v));
          settingsV = settings.v;
        } catch {
          settingsV = 0;
        }
      }
      if (bad.length) await this.quarantinePages(bad);
      const gen = nextGen(snap, maxV);
      const base: IndexSnapshot = { ...snap, gen: Math.min(snap.gen, gen - 1) };
      const watchlistVersion = Math.max(snap.watchlistVersion, await this.versionFloor(dataKey));
      const { record, next } = await prepareRoot(dataKey, base, gen, { pages, settingsV, nextPage, lastPageBytes, watchlistVersion });
      await this.core.writeTx(['index'], async (tx) => {
        assertGeneration(await tx.store.get('root'), snap);
        await tx.store.put(record, 'root');
      });
      this.core.index = next;
      this.locator = { ...loc, gen };
      this.core.emit({ type: 'change', store: 'subjects' });
      return {
        total,
        loaded: total,
        quarantined: bad.map((b) => ({
          page: b.rec.page,
          ids: Array.isArray(b.rec.ids) ? b.rec.ids.map(String) : [],
          reason: b.reason,
        })),
        missingPages: [],
        unverified: [],
        issues: [],
        ms: performance.now() - t0,
      };
    });
  }

  // --- internals ----------------------------------------------------------------------------------------------

  private async freshSnapshot(key: CryptoKey): Promise<IndexSnapshot> {
    const snap = await loadSnapshot(this.core, key);
    this.core.index = snap;
    return snap;
  }

  private readPages(after: number | undefined): Promise<SubjectPageRecord[]> {
    return this.core.read((db) =>
      db.getAll('subjects', after === undefined ? undefined : IDBKeyRange.lowerBound(after, true), LOAD_CHUNK_PAGES),
    );
  }

  /** Checks a page against the root (cheap, first), then authenticates and splits it. */
  private async openPage(key: CryptoKey, snap: IndexSnapshot, rec: SubjectPageRecord): Promise<Opened> {
    if (snap.pages) {
      const v = snap.pages.get(rec.page);
      if (v === undefined) return { ok: false, reason: 'not-in-index' };
      if (v !== rec.v) return { ok: false, reason: 'stale-version' };
    }
    if (rec.f !== RECORD_FORMAT || !(rec.box instanceof ArrayBuffer)) return { ok: false, reason: 'integrity' };
    try {
      return { ok: true, entries: decodePage(await open(key, rec.box, pageAad(rec.page, rec.v))) };
    } catch {
      return { ok: false, reason: 'integrity' };
    }
  }

  private async quarantinePages(bad: { rec: SubjectPageRecord; reason: string }[]): Promise<void> {
    const items: QuarantineItem[] = bad.map((b) => ({
      store: 'subjects',
      key: b.rec.page,
      reason: b.reason,
      raw: b.rec,
    }));
    await this.core.quarantine(items);
    if (this.locator) {
      for (const b of bad) {
        for (const id of this.locator.pages.get(b.rec.page)?.ids ?? []) this.locator.byId.delete(id);
        this.locator.pages.delete(b.rec.page);
      }
    }
  }

  /**
   * The page of every subject, for the root in `snap`. Pages whose version changed since the locator was built
   * (another tab wrote) are re-read: their clear `ids` are a hint, checked against the sealed page on every write.
   */
  private async ensureLocator(snap: IndexSnapshot): Promise<Locator> {
    const pages = requireRoot(snap);
    const cur = this.locator;
    if (cur && cur.gen === snap.gen) return cur;
    const loc: Locator = cur
      ? { gen: snap.gen, pages: new Map(cur.pages), byId: new Map(cur.byId) }
      : { gen: snap.gen, pages: new Map(), byId: new Map() };
    for (const [p, known] of loc.pages) {
      if (pages.get(p) !== known.v) {
        for (const id of known.ids) if (loc.byId.get(id) === p) loc.byId.delete(id);
        loc.pages.delete(p);
      }
    }
    const toRead = [...pages.keys()].filter((p) => !loc.pages.has(p));
    for (let i = 0; i < toRead.length; i += LOAD_CHUNK_PAGES) {
      const chunk = toRead.slice(i, i + LOAD_CHUNK_PAGES);
      const recs = await this.core.read(async (db) => {
        const tx = db.transaction('subjects', 'readonly');
        const all = await Promise.all(chunk.map((p) => tx.store.get(p)));
        await tx.done;
        return all;
      });
      for (const r of recs) {
        if (!r || !Array.isArray(r.ids)) continue;
        loc.pages.set(r.page, { v: r.v, ids: r.ids });
        for (const id of r.ids) loc.byId.set(id, r.page);
      }
    }
    this.locator = loc;
    return loc;
  }

  private async write(inputs: WriteInput[], deletes: string[], opts: WriteOpts): Promise<Subject[]> {
    for (const i of inputs) validateSubjectInput(i);
    const ids = inputs.flatMap((i) => (i.id === undefined ? [] : [i.id]));
    if (new Set([...ids, ...deletes]).size !== ids.length + deletes.length) {
      throw new KioskError('INPUT_INVALID', { field: 'id', reason: 'duplicate' });
    }
    return this.core.withLock('exclusive', async () => {
      for (let attempt = 0; ; attempt++) {
        const { dataKey } = this.core.requireUnlocked();
        const snap = attempt === 0 && this.core.index ? this.core.index : await this.freshSnapshot(dataKey);
        try {
          return await this.writeOnce(dataKey, snap, inputs, deletes, opts);
        } catch (e) {
          // Another tab wrote since our snapshot: re-read it once and redo the sealing against it.
          if (attempt === 0 && isKioskError(e, 'STORE_CONFLICT')) continue;
          throw e;
        }
      }
    });
  }

  /** Reads and opens existing pages a change rewrites; each must be the version the root lists. */
  private async openExisting(
    key: CryptoKey,
    snap: IndexSnapshot,
    pageNos: number[],
  ): Promise<Map<number, PageEntry[]>> {
    const out = new Map<number, PageEntry[]>();
    if (pageNos.length === 0) return out;
    const recs = await this.core.read(async (db) => {
      const tx = db.transaction('subjects', 'readonly');
      const all = await Promise.all(pageNos.map((p) => tx.store.get(p)));
      await tx.done;
      return all;
    });
    const opened = await Promise.all(
      recs.map((r) => (r ? this.openPage(key, snap, r) : Promise.resolve<Opened>({ ok: false, reason: 'missing' }))),
    );
    const failed = opened.findIndex((res) => !res.ok);
    if (failed >= 0) {
      // A page newer than our snapshot means another tab wrote: a conflict to retry, not damage.
      assertGeneration(await this.core.read((db) => db.get('index', 'root')), snap);
      const res = opened[failed];
      throw new KioskError('STORE_CORRUPT_RECORD', {
        store: 'subjects',
        page: pageNos[failed] ?? -1,
        reason: res && !res.ok ? res.reason : 'unknown',
        hint: 'load-watchlist',
      });
    }
    opened.forEach((res, i) => {
      if (res.ok) out.set(pageNos[i] ?? -1, res.entries);
    });
    return out;
  }

  private async writeOnce(
    key: CryptoKey,
    snap: IndexSnapshot,
    inputs: WriteInput[],
    deletes: string[],
    opts: WriteOpts,
  ): Promise<Subject[]> {
    const { replaceAll, bundle } = opts;
    if (bundle) {
      requireRoot(snap);
      if (snap.watchlistVersion !== bundle.from) {
        // a stale snapshot is caught by the generation check below and retried; this is the real refusal
        assertGeneration(await this.core.read((db) => db.get('index', 'root')), snap);
        throw new KioskError('BUNDLE_ROLLBACK', { installed: snap.watchlistVersion, base: bundle.from });
      }
    }
    const now = this.core.now();
    const gen = nextGen(snap);
    const pages = replaceAll ? new Map<number, number>() : new Map(requireRoot(snap));
    const loc = replaceAll ? null : await this.ensureLocator(snap);
    const pageOfId = (id: string): number | undefined => loc?.byId.get(id);

    for (const id of deletes)
      if (pageOfId(id) === undefined) throw new KioskError('STORE_NOT_FOUND', { store: 'subjects' });
    const lastPage = replaceAll || snap.nextPage === 0 || !pages.has(snap.nextPage - 1) ? -1 : snap.nextPage - 1;
    const newCount = inputs.filter((i) => i.id === undefined || pageOfId(i.id) === undefined).length;
    const existing = new Set<number>();
    for (const id of deletes) existing.add(pageOfId(id) ?? -1);
    for (const i of inputs) if (i.id !== undefined && pageOfId(i.id) !== undefined) existing.add(pageOfId(i.id) ?? -1);
    if (newCount > 0 && lastPage >= 0 && snap.lastPageBytes < this.pageTargetBytes) existing.add(lastPage);
    const work = await this.openExisting(key, snap, [...existing]);

    // every id we were told lives on a page must really be in the sealed page
    const findOld = (id: string): PageEntry | undefined => {
      const p = pageOfId(id);
      if (p === undefined) return undefined;
      const e = work.get(p)?.find((x) => x.id === id);
      if (!e)
        throw new KioskError('STORE_CORRUPT_RECORD', {
          store: 'subjects',
          page: p,
          reason: 'locator',
          hint: 'rebuild-index',
        });
      return e;
    };
    for (const id of deletes) {
      findOld(id);
      const p = pageOfId(id) ?? -1;
      work.set(
        p,
        (work.get(p) ?? []).filter((e) => e.id !== id),
      );
    }

    const subjects: Subject[] = [];
    let nextPage = replaceAll ? 0 : snap.nextPage;
    let fillPage = work.has(lastPage) ? lastPage : -1;
    let fillBytes = fillPage >= 0 ? (work.get(fillPage) ?? []).reduce((n, e) => n + entryBytes(e), 0) : Infinity;
    for (const i of inputs) {
      const id = i.id ?? newSubjectId();
      const old = i.id !== undefined ? findOld(id) : undefined;
      const s: Subject = {
        id,
        label: i.label,
        list: i.list,
        templates: i.templates,
        plates: [...i.plates],
        createdAt: old ? decodeEntry(old).createdAt : (i.createdAt ?? now),
        updatedAt: now,
        version: gen,
      };
      if (i.validFrom !== undefined) s.validFrom = i.validFrom;
      if (i.validUntil !== undefined) s.validUntil = i.validUntil;
      subjects.push(s);
      const entry: PageEntry = { id, v: gen, payload: encodeSubject(s) };
      let p: number;
      if (old) {
        // an edit stays on its page
        p = pageOfId(id) ?? -1;
        work.set(
          p,
          (work.get(p) ?? []).map((e) => (e.id === id ? entry : e)),
        );
        continue;
      }
      const size = entryBytes(entry);
      if (fillPage < 0 || fillBytes + size > this.pageTargetBytes) {
        fillPage = nextPage++;
        fillBytes = 0;
        work.set(fillPage, []);
      }
      p = fillPage;
      fillBytes += size;
      work.get(p)?.push(entry);
    }

    const records: SubjectPageRecord[] = [];
    const emptied: number[] = [];
    await Promise.all(
      [...work].map(async ([p, entries]) => {
        if (entries.length === 0) {
          emptied.push(p);
          pages.delete(p);
          return;
        }
        pages.set(p, gen);
        records.push({
          page: p,
          v: gen,
          f: RECORD_FORMAT,
          ids: entries.map((e) => e.id),
          box: await seal(key, encodePage(entries), pageAad(p, gen)),
        });
      }),
    );
    const lastPageBytes = fillPage >= 0 && fillPage === nextPage - 1 ? fillBytes : snap.lastPageBytes;
    const { record, next } = await prepareRoot(key, snap, gen, {
      pages,
      nextPage,
      lastPageBytes,
      ...(bundle ? { watchlistVersion: bundle.to } : {}),
    });
    const floor: SecretRecord | null = bundle
      ? { f: RECORD_FORMAT, keys: [], box: await seal(key, floorBytes.encode(JSON.stringify({ v: bundle.to })), secretAad(VERSION_FLOOR)) }
      : null;
    await this.core.writeTx(['subjects', 'index', 'secrets'], async (tx) => {
      const index = tx.objectStore('index');
      assertGeneration(await index.get('root'), snap);
      const store = tx.objectStore('subjects');
      if (replaceAll) await store.clear();
      // Issue every request before awaiting any: one pass through the event loop instead of one per record.
      await Promise.all([
        ...emptied.map((p) => store.delete(p)),
        ...records.map((r) => store.put(r)),
        index.put(record, 'root'),
        ...(floor ? [tx.objectStore('secrets').put(floor, VERSION_FLOOR)] : []),
      ]);
    });
    this.core.index = next;
    const nextLoc: Locator =
      loc && !replaceAll
        ? { gen, pages: new Map(loc.pages), byId: new Map(loc.byId) }
        : { gen, pages: new Map(), byId: new Map() };
    for (const p of emptied) nextLoc.pages.delete(p);
    for (const id of deletes) nextLoc.byId.delete(id);
    for (const r of records) {
      nextLoc.pages.set(r.page, { v: gen, ids: r.ids });
      for (const id of r.ids) nextLoc.byId.set(id, r.page);
    }
    this.locator = nextLoc;
    // A replace-all also dropped subjects it does not name: no ids then, so listeners reload everything.
    this.core.emit(
      replaceAll
        ? { type: 'change', store: 'subjects' }
        : { type: 'change', store: 'subjects', ids: [...subjects.map((s) => s.id), ...deletes], subjects },
    );
    return subjects;
  }
}
