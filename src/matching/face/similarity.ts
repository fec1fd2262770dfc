/**
 * Similarity between two face templates, with the guards a door decision needs.
 *
 * Owns: cosine similarity, L2 distance and L2 normalisation of embedding vectors. Every function refuses input
 * that would silently produce a meaningless score — different lengths (templates of two embedders mixed up),
 * an all-zero vector, NaN or Infinity (a broken model or a corrupt record) — with a MATCH_* KioskError, because a
 * NaN compared against a threshold is `false` in both directions and an outcome built on it is undefined.
 * Pure functions: no I/O, no globals, inputs are never modified.
 */
import { KioskError } from '../../shared/errors';

export type Vector = ArrayLike<number>;

/** Refuses vectors that cannot be compared: empty, different lengths. */
function checkPair(a: Vector, b: Vector): void {
  if (a.length !== b.length) throw new KioskError('MATCH_VECTOR_LENGTH', { a: a.length, b: b.length });
  if (a.length === 0) throw new KioskError('MATCH_VECTOR_INVALID', { reason: 'empty' });
}

/** Squared L2 norm; throws MATCH_VECTOR_INVALID on NaN/Infinity or a zero vector. */
function checkedNormSq(v: Vector, which: string): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    s += x * x;
  }
  // One finiteness test on the sum catches any NaN/Infinity element (they propagate) without a branch per element.
  if (!Number.isFinite(s)) throw new KioskError('MATCH_VECTOR_INVALID', { which, reason: 'not finite' });
  if (s === 0) throw new KioskError('MATCH_VECTOR_INVALID', { which, reason: 'zero norm' });
  return s;
}

/** Cosine similarity in [-1, 1]. Works on unnormalised vectors (divides by both norms). */
export function cosineSimilarity(a: Vector, b: Vector): number {
  checkPair(a, b);
  const na = checkedNormSq(a, 'a');
  const nb = checkedNormSq(b, 'b');
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  const c = dot / Math.sqrt(na * nb);
  // Rounding can push |c| a hair past 1; clamp so callers may rely on the documented range.
  return Math.max(-1, Math.min(1, c));
}

/** Euclidean distance. Zero vectors are refused here too: a zero template is never a real face. */
export function l2Distance(a: Vector, b: Vector): number {
  checkPair(a, b);
  checkedNormSq(a, 'a');
  checkedNormSq(b, 'b');
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

/** A new Float32Array with unit L2 norm (the form every stored template has). */
export function l2Normalise(v: Vector): Float32Array {
  if (v.length === 0) throw new KioskError('MATCH_VECTOR_INVALID', { reason: 'empty' });
  const n = Math.sqrt(checkedNormSq(v, 'v'));
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}

/** For unit vectors, L2 distance and cosine are one scale: d² = 2 − 2·cos. Lets thresholds be stated once. */
export function cosineFromL2(distance: number): number {
  return 1 - (distance * distance) / 2;
}

/** True when `v` is finite and has unit norm within `tol` (what a stored template must be). */
export function isUnitTemplate(v: Vector, tol = 1e-3): boolean {
  if (v.length === 0) return false;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Number.isFinite(s) && Math.abs(Math.sqrt(s) - 1) <= tol;
}
