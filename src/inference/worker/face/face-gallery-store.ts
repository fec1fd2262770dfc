/**
 * The face worker's watchlist gallery: the one copy of the decrypted templates on the device while the kiosk runs,
 * and the search structure over them, updated in small steps.
 *
 * Owns a map subject id → templates (the Float32Arrays the main thread sent, referenced, not copied again) and two
 * FaceGalleries: a large `base` built rarely, and a small `delta` rebuilt on every change. An edit, expiry or delete
 * of one person costs a tombstone in `base` plus a rebuild of the few rows in `delta`, never a rebuild of 10k rows;
 * `base` is rebuilt (compacted) only when the delta or the tombstones grow past a share of it. Search answers are
 * exactly those of one gallery built from the current map (best and runner-up are merged across the two parts,
 * whose identities never overlap). It never decides access, never sends a template back, and never persists.
 */
import { FaceGallery, type IdentityScore, type SearchResult } from '../../../matching/face/gallery';
import type { GalleryInfo, GalleryTemplate, GalleryUpdate } from '../../../shared/face-protocol';

/** The delta is folded into base once it holds this many rows, or this share of base's rows, whichever is larger. */
const DELTA_ROWS_MIN = 256;
const DELTA_SHARE = 0.05;
/** Base is compacted once this share of its rows belongs to removed identities. */
const DEAD_SHARE = 0.2;

function sameTemplates(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

function entriesOf(map: ReadonlyMap<string, readonly Float32Array[]>, ids?: Iterable<string>): GalleryTemplate[] {
  const out: GalleryTemplate[] = [];
  for (const id of ids ?? map.keys()) for (const template of map.get(id) ?? []) out.push({ subjectId: id, template });
  return out;
}

/** Top two of candidates (disjoint identities), highest score first. */
function topTwo(cands: (IdentityScore | null)[]): [IdentityScore | null, IdentityScore | null] {
  const live = cands.filter((c): c is IdentityScore => c !== null).sort((a, b) => b.score - a.score);
  return [live[0] ?? null, live[1] ?? null];
}

export class GalleryStore {
  private templates = new Map<string, Float32Array[]>();
  /** Subjects whose templates live in `delta` (and are removed from `base`). */
  private deltaIds = new Set<string>();
  private base: FaceGallery;
  private delta: FaceGallery;
  /** Full rebuilds of base (the benchmark reports them: an edit must not cause one). */
  rebuilds = 0;

  constructor(private readonly dim: number) {
    this.base = FaceGallery.build([], {}, dim);
    this.delta = FaceGallery.build([], {}, dim);
  }

  get size(): number {
    return this.base.liveRows + this.delta.size;
  }

  /** Replace everything (first load, a bundle, a settings change). */
  replace(entries: readonly GalleryTemplate[]): GalleryInfo {
    const t0 = performance.now();
    const next = new Map<string, Float32Array[]>();
    for (const e of entries) {
      const list = next.get(e.subjectId);
      if (list) list.push(e.template);
      else next.set(e.subjectId, [e.template]);
    }
    this.templates = next;
    this.compact();
    return this.info(performance.now() - t0);
  }

  /**
   * Apply the vault's change for some subjects: `puts` carry each changed subject's complete templates of this
   * embedder (none = the person has no face templates any more), `removes` the deleted ids. A put whose templates
   * are identical to the held ones (a relabel, an expiry, a plate edit) changes nothing here.
   */
  update(u: GalleryUpdate): GalleryInfo & { changed: number } {
    const t0 = performance.now();
    // Validate first: a bad template refuses the whole update and leaves the gallery as it was.
    if (u.puts.length > 0) FaceGallery.build(u.puts.flatMap((p) => p.templates.map((template) => ({ subjectId: p.subjectId, template }))), {}, this.dim);
    let changed = 0;
    const drop = (id: string): void => {
      this.base.remove(id);
      this.templates.delete(id);
      this.deltaIds.delete(id);
    };
    for (const id of u.removes) {
      if (this.templates.has(id)) changed++;
      drop(id);
    }
    for (const p of u.puts) {
      const held = this.templates.get(p.subjectId);
      if (held ? sameTemplates(held, p.templates) : p.templates.length === 0) continue;
      changed++;
      drop(p.subjectId);
      if (p.templates.length === 0) continue;
      this.templates.set(p.subjectId, [...p.templates]);
      this.deltaIds.add(p.subjectId);
    }
    if (changed > 0) {
      let deltaRows = 0;
      for (const id of this.deltaIds) deltaRows += this.templates.get(id)?.length ?? 0;
      const dead = this.base.size - this.base.liveRows;
      if (deltaRows > Math.max(DELTA_ROWS_MIN, DELTA_SHARE * this.base.size) || dead > DEAD_SHARE * Math.max(1, this.base.size)) {
        this.compact();
      } else {
        this.delta = FaceGallery.build(entriesOf(this.templates, this.deltaIds), {}, this.dim);
      }
    }
    return { ...this.info(performance.now() - t0), changed };
  }

  search(probe: Float32Array): SearchResult | null {
    if (this.size === 0) return null;
    if (this.delta.size === 0) return this.base.search(probe);
    const a = this.base.search(probe);
    const b = this.delta.search(probe);
    const [best, second] = topTwo([a.best, a.second, b.best, b.second]);
    return { best, second, rescored: a.rescored + b.rescored };
  }

  private compact(): void {
    this.base = FaceGallery.build(entriesOf(this.templates), {}, this.dim);
    this.delta = FaceGallery.build([], {}, this.dim);
    this.deltaIds.clear();
    this.rebuilds++;
  }

  private info(buildMs: number): GalleryInfo {
    return {
      size: this.size,
      identities: this.templates.size,
      precision: this.base.precision,
      matrixBytes: this.base.matrixBytes + this.delta.matrixBytes,
      buildMs,
      rebuilds: this.rebuilds,
    };
  }
}
