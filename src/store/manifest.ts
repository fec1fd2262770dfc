/**
 * The sealed root that makes pages and settings non-replayable: one record holding the generation, the version
 * of every subject page, the settings version and page placement hints. A page's version is in its additional
 * data, so an old copy of a page still authenticates on its own; the root is what says it is not current, and a
 * page deleted behind the vault's back is noticed rather than silently absent (deleting a deny-list entry is the
 * obvious attack).
 *
 * Versions are generations: every change seals its pages and the root at the new generation, so a (page, version)
 * pair never repeats over the vault's life, even across an index rebuild.
 *
 * Limit, stated plainly: restoring the *whole* vault from an older copy of the profile (root and pages together)
 * is indistinguishable from the real past; only a trusted counter outside the browser could tell. The watchlist
 * sync compares its bundle version with the server's for that reason.
 *
 * Owns sealing/opening of the root and the snapshot; callers hold the watchlist lock.
 */
import { KioskError } from '../shared/errors';
import { bindingData, open, seal } from '../crypto/aead';
import type { VaultCore } from './core';
import { RECORD_FORMAT, type IndexRecord } from './schema';
import type { IndexSnapshot } from './snapshot';

interface RootPayload {
  g: number;
  /** [page, version] pairs */
  p: [number, number][];
  s: number;
  n: number;
  o: number;
  w: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const rootAad = (gen: number): Uint8Array<ArrayBuffer> => bindingData('index', 'root', RECORD_FORMAT, gen);

export function emptySnapshot(): IndexSnapshot {
  return {
    gen: 0,
    rawGen: 0,
    settingsV: 0,
    pages: new Map(),
    nextPage: 0,
    lastPageBytes: 0,
    watchlistVersion: 0,
    issues: [],
  };
}

/** Reads and verifies the root (one decrypt). Never throws for tampering: it reports in `issues`. */
export async function loadSnapshot(core: VaultCore, key: CryptoKey): Promise<IndexSnapshot> {
  const root = await core.read((db) => db.get('index', 'root'));
  const snap = emptySnapshot();
  snap.rawGen = root?.v ?? 0;
  if (!root) {
    snap.pages = null;
    snap.issues.push('index-root-missing');
    return snap;
  }
  try {
    const p = JSON.parse(decoder.decode(await open(key, root.box, rootAad(root.v)))) as RootPayload;
    if (p.g !== root.v || !Array.isArray(p.p)) throw new Error('root shape');
    snap.gen = p.g;
    snap.pages = new Map(p.p);
    snap.settingsV = p.s;
    snap.nextPage = p.n;
    snap.lastPageBytes = p.o;
    snap.watchlistVersion = p.w ?? 0;
  } catch {
    snap.pages = null;
    snap.issues.push('index-root-corrupt');
  }
  return snap;
}

/** Writers that would re-seal a root they could not read must stop: the admin rebuilds the index first. */
export function requireRoot(snap: IndexSnapshot): Map<number, number> {
  if (!snap.pages) throw new KioskError('STORE_CORRUPT_RECORD', { store: 'index', hint: 'rebuild-index' });
  return snap.pages;
}

/**
 * Seals the root of generation `gen` with the given page versions (changed pages carry `gen` themselves).
 * Returns the record and the snapshot that becomes current once the transaction commits.
 */
export async function prepareRoot(
  key: CryptoKey,
  snap: IndexSnapshot,
  gen: number,
  next: {
    pages?: Map<number, number>;
    settingsV?: number;
    nextPage?: number;
    lastPageBytes?: number;
    watchlistVersion?: number;
  } = {},
): Promise<{ record: IndexRecord; next: IndexSnapshot }> {
  if (gen <= snap.gen) throw new KioskError('INTERNAL', { where: 'manifest', reason: 'generation' });
  const pages = next.pages ?? requireRoot(snap);
  const payload: RootPayload = {
    g: gen,
    p: [...pages],
    s: next.settingsV ?? snap.settingsV,
    n: next.nextPage ?? snap.nextPage,
    o: next.lastPageBytes ?? snap.lastPageBytes,
    w: next.watchlistVersion ?? snap.watchlistVersion,
  };
  const record: IndexRecord = {
    v: gen,
    f: RECORD_FORMAT,
    box: await seal(key, encoder.encode(JSON.stringify(payload)), rootAad(gen)),
  };
  return {
    record,
    next: {
      gen,
      rawGen: gen,
      settingsV: payload.s,
      pages,
      nextPage: payload.n,
      lastPageBytes: payload.o,
      watchlistVersion: payload.w,
      issues: [],
    },
  };
}

/** The generation of the next change. `floor`: after a root was lost, the highest version seen anywhere. */
export function nextGen(snap: IndexSnapshot, floor = 0): number {
  return Math.max(snap.gen, snap.rawGen, floor) + 1;
}

/** Inside a write transaction: another tab moved the generation since our snapshot -> STORE_CONFLICT (retry). */
export function assertGeneration(current: IndexRecord | undefined, snap: IndexSnapshot): void {
  if ((current?.v ?? 0) !== snap.rawGen) {
    throw new KioskError('STORE_CONFLICT', { expected: snap.rawGen, found: current?.v ?? 0 });
  }
}
