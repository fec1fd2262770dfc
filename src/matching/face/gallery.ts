/**
 * 1:N search: one probe template against every enrolled template, answered per identity (best and runner-up).
 *
 * Owns the packed search matrix built from templates the caller already holds (the vault's Subjects); it keeps
 * references to those Float32Arrays for exact re-scoring and never persists or sends anything. Scores are
 * cosine similarities of L2-normalised templates; an identity's score is the best over its templates.
 *
 * Two layouts, same answers:
 * - 'f32': rows packed as float32 in the SIMD kernel's memory; every score is exact.
 * - 'int8': rows quantised per row to int8 (4× less memory traffic, 3× faster at 100k×512), then every identity
 *   that could still be best or runner-up is re-scored exactly from the original float32 templates. "Could" is
 *   decided with a worst-case bound on the quantisation error (below), so the reported best/second identities and
 *   their scores are exactly what the f32 layout gives — decisions never see a quantised score.
 * 'auto' picks int8 from 1M matrix elements on (about 2k templates of 512-D), where the f32 scan nears 0.1 ms.
 *
 * Error bound: a = â/sa + ea with |ea_j| ≤ 0.5/sa (likewise b), so
 *   |a·b − â·b̂/(sa·sb)| ≤ 0.5/sb·‖â/sa‖₁ + 0.5/sa·‖b̂/sb‖₁ + 0.25·D/(sa·sb).
 * With the largest row terms this is one global bound ε per query; an identity is re-scored when its approximate
 * score is within 2ε of the approximate runner-up (any identity truly in the top two must be).
 */
import { KioskError } from '../../shared/errors';
import { createDotKernel, type DotKernel, type Precision } from './dot-kernel';
import { isUnitTemplate, l2Normalise } from './similarity';

export interface GalleryEntry {
  /** Opaque identity key (a Subject id). Several entries may share one. */
  subjectId: string;
  /** L2-normalised template of the gallery's embedder. */
  template: Float32Array;
}

export interface IdentityScore {
  subjectId: string;
  /** Cosine similarity in [-1, 1] (exact float32 arithmetic). */
  score: number;
}

export interface SearchResult {
  best: IdentityScore | null;
  /** The best-scoring *other* identity: the margin a decision needs is best.score − second.score. */
  second: IdentityScore | null;
  /** Rows re-scored exactly (int8 layout only; 0 for f32). */
  rescored: number;
}

export interface GalleryOptions {
  precision?: Precision | 'auto';
  /** false forces the scalar JS kernel (reference for tests). */
  useWasm?: boolean;
}

const AUTO_INT8_ELEMENTS = 1_000_000;

export class FaceGallery {
  readonly dim: number;
  readonly size: number;
  readonly precision: Precision;
  private readonly kernel: DotKernel;
  private readonly templates: Float32Array[];
  /** row → identity index */
  private readonly rowIdentity: Int32Array;
  private readonly identityIds: string[];
  private readonly identityIndex = new Map<string, number>();
  /** Identities removed since the build (1 = removed): never reported, their rows are skipped. */
  private readonly removed: Uint8Array;
  private removedCount = 0;
  private removedRows = 0;
  /** CSR: rows of identity k are identityRows[identityStart[k] .. identityStart[k+1]) */
  private readonly identityStart: Int32Array;
  private readonly identityRows: Int32Array;
  // int8 layout only
  private readonly invScale: Float32Array;
  private readonly maxInvScale: number;
  private readonly maxL1: number;
  private readonly identityMax: Float32Array;

  private constructor(entries: readonly GalleryEntry[], dim: number, opts: GalleryOptions) {
    this.dim = dim;
    this.size = entries.length;
    const want = opts.precision ?? 'auto';
    this.precision = want === 'auto' ? (entries.length * dim >= AUTO_INT8_ELEMENTS ? 'int8' : 'f32') : want;
    try {
      this.kernel = createDotKernel(this.precision, Math.max(1, entries.length), dim, opts.useWasm ?? true);
    } catch (e) {
      // memory.grow refuses past the engine's limit: say so instead of failing on a RangeError.
      throw new KioskError('INTERNAL', { reason: 'gallery too large for memory', rows: entries.length }, { cause: e });
    }
    this.templates = entries.map((e) => e.template);
    const index = this.identityIndex;
    this.identityIds = [];
    this.rowIdentity = new Int32Array(entries.length);
    entries.forEach((e, r) => {
      let k = index.get(e.subjectId);
      if (k === undefined) {
        k = this.identityIds.length;
        index.set(e.subjectId, k);
        this.identityIds.push(e.subjectId);
      }
      this.rowIdentity[r] = k;
    });
    const ids = this.identityIds.length;
    this.removed = new Uint8Array(ids);
    this.identityStart = new Int32Array(ids + 1);
    for (let r = 0; r < entries.length; r++) this.identityStart[this.rowIdentity[r]! + 1]!++;
    for (let k = 0; k < ids; k++) this.identityStart[k + 1]! += this.identityStart[k]!;
    this.identityRows = new Int32Array(entries.length);
    const fill = this.identityStart.slice(0, ids);
    for (let r = 0; r < entries.length; r++) this.identityRows[fill[this.rowIdentity[r]!]!++] = r;
    this.identityMax = new Float32Array(ids);

    this.invScale = new Float32Array(this.precision === 'int8' ? entries.length : 0);
    let maxInv = 0;
    let maxL1 = 0;
    const q = new Int8Array(dim);
    entries.forEach((e, r) => {
      if (this.precision === 'f32') {
        this.kernel.setRow(r, e.template);
        return;
      }
      const inv = quantise(e.template, q);
      this.invScale[r] = inv;
      maxInv = Math.max(maxInv, inv);
      let l1 = 0;
      for (let j = 0; j < dim; j++) l1 += Math.abs(q[j]!) * inv;
      maxL1 = Math.max(maxL1, l1);
      this.kernel.setRow(r, q);
    });
    this.maxInvScale = maxInv;
    this.maxL1 = maxL1;
  }

  /**
   * Build from entries; every template must be a finite unit vector of one length (MATCH_VECTOR_LENGTH /
   * MATCH_VECTOR_INVALID otherwise: a corrupt or foreign template is refused, not silently repaired).
   */
  static build(entries: readonly GalleryEntry[], opts: GalleryOptions = {}, dim?: number): FaceGallery {
    const d = dim ?? entries[0]?.template.length;
    if (d === undefined || d <= 0) throw new KioskError('MATCH_VECTOR_INVALID', { reason: 'no dimension' });
    entries.forEach((e, i) => {
      if (e.template.length !== d) throw new KioskError('MATCH_VECTOR_LENGTH', { a: d, b: e.template.length, row: i });
      if (!isUnitTemplate(e.template)) throw new KioskError('MATCH_VECTOR_INVALID', { reason: 'not unit', row: i });
    });
    return new FaceGallery(entries, d, opts);
  }

  /** Identities that can still be reported (built minus removed). */
  get identities(): number {
    return this.identityIds.length - this.removedCount;
  }

  /** Rows still searched for a live identity (size minus the rows of removed identities). */
  get liveRows(): number {
    return this.size - this.removedRows;
  }

  /**
   * Stop reporting `subjectId` (a deleted or re-enrolled person) without rebuilding the matrix: O(1), so one edit
   * in a large watchlist costs nothing here. Its rows are still scanned until the owner rebuilds (see
   * src/inference/worker/face/face-gallery-store.ts). Returns whether it was present.
   */
  remove(subjectId: string): boolean {
    const k = this.identityIndex.get(subjectId);
    if (k === undefined || this.removed[k]) return false;
    this.removed[k] = 1;
    this.removedCount++;
    this.removedRows += this.identityStart[k + 1]! - this.identityStart[k]!;
    return true;
  }

  /** Bytes of the search matrix (not counting the caller's float32 templates it references). */
  get matrixBytes(): number {
    return this.kernel.matrixBytes;
  }

  get simd(): boolean {
    return this.kernel.simd;
  }

  /** Best and runner-up identity for `probe` (any finite non-zero vector of the gallery's length). */
  search(probe: ArrayLike<number>): SearchResult {
    if (probe.length !== this.dim) throw new KioskError('MATCH_VECTOR_LENGTH', { a: this.dim, b: probe.length });
    const query = l2Normalise(probe); // also refuses NaN / zero probes
    if (this.size === 0) return { best: null, second: null, rescored: 0 };
    return this.precision === 'f32' ? this.searchF32(query) : this.searchInt8(query);
  }

  private searchF32(query: Float32Array): SearchResult {
    const scores = this.kernel.scores(query);
    const max = this.identityMax.fill(-Infinity);
    const rid = this.rowIdentity;
    for (let r = 0; r < this.size; r++) {
      const k = rid[r]!;
      const s = scores[r]!;
      if (s > max[k]!) max[k] = s;
    }
    if (this.removedCount > 0) this.dropRemoved(max);
    const [b, s] = topTwo(max);
    return { best: this.identityScore(b, max), second: this.identityScore(s, max), rescored: 0 };
  }

  private searchInt8(query: Float32Array): SearchResult {
    const qq = new Int8Array(this.dim);
    const qInv = quantise(query, qq);
    let qL1 = 0;
    for (let j = 0; j < this.dim; j++) qL1 += Math.abs(qq[j]!) * qInv;
    const raw = this.kernel.scores(qq);
    const approx = this.identityMax.fill(-Infinity);
    const rid = this.rowIdentity;
    const inv = this.invScale;
    for (let r = 0; r < this.size; r++) {
      const k = rid[r]!;
      const s = raw[r]! * inv[r]! * qInv;
      if (s > approx[k]!) approx[k] = s;
    }
    if (this.removedCount > 0) this.dropRemoved(approx);
    const eps =
      0.5 * qInv * this.maxL1 + 0.5 * this.maxInvScale * qL1 + 0.25 * this.dim * this.maxInvScale * qInv + 1e-6;
    const [a1, a2] = topTwo(approx);
    if (a1 < 0) return { best: null, second: null, rescored: 0 };
    const floor = (a2 >= 0 ? approx[a2]! : approx[a1]!) - 2 * eps;
    // Exact re-score of every identity that could be in the true top two.
    const exact = new Map<number, number>();
    let rescored = 0;
    for (let k = 0; k < this.identityIds.length; k++) {
      if (approx[k]! < floor) continue;
      let best = -Infinity;
      for (let i = this.identityStart[k]!; i < this.identityStart[k + 1]!; i++) {
        const t = this.templates[this.identityRows[i]!]!;
        let d = 0;
        for (let j = 0; j < this.dim; j++) d += t[j]! * query[j]!;
        if (d > best) best = d;
        rescored++;
      }
      exact.set(k, best);
    }
    let b = -1;
    let s = -1;
    for (const [k, v] of exact) {
      if (b < 0 || v > exact.get(b)!) {
        s = b;
        b = k;
      } else if (s < 0 || v > exact.get(s)!) s = k;
    }
    const mk = (k: number): IdentityScore | null =>
      k < 0 ? null : { subjectId: this.identityIds[k]!, score: clamp(exact.get(k)!) };
    return { best: mk(b), second: mk(s), rescored };
  }

  private dropRemoved(scores: Float32Array): void {
    for (let k = 0; k < this.removed.length; k++) if (this.removed[k]) scores[k] = -Infinity;
  }

  private identityScore(k: number, max: Float32Array): IdentityScore | null {
    return k < 0 ? null : { subjectId: this.identityIds[k]!, score: clamp(max[k]!) };
  }
}

/** Per-vector symmetric int8 quantisation into `out`; returns the inverse scale (value ≈ q · inv). */
function quantise(v: ArrayLike<number>, out: Int8Array): number {
  let m = 0;
  for (let j = 0; j < v.length; j++) m = Math.max(m, Math.abs(v[j]!));
  if (m === 0) {
    out.fill(0);
    return 0;
  }
  const s = 127 / m;
  for (let j = 0; j < v.length; j++) out[j] = Math.round(v[j]! * s);
  return 1 / s;
}

/** Indices of the largest and second-largest entries (-1 when absent; -Infinity marks a removed identity). */
function topTwo(values: Float32Array): [number, number] {
  let b = -1;
  let s = -1;
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (v === -Infinity) continue;
    if (b < 0 || v > values[b]!) {
      s = b;
      b = k;
    } else if (s < 0 || v > values[s]!) s = k;
  }
  return [b, s];
}

function clamp(x: number): number {
  return Math.max(-1, Math.min(1, x));
}
