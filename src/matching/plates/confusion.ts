/**
 * Confusion-aware plate comparison: a weighted edit distance where substituting look-alike characters is cheap.
 *
 * Owns the confusion table (which pairs a camera plus OCR mix up, and how cheaply) and the distance built on it.
 * A one-character change between two real, different plates that is *not* a look-alike costs a full 1.0, so a
 * match bound below 1 can never merge two plates that differ by a clear character. It never decides access:
 * decide.ts applies the bound and the ambiguity rules.
 */
import { KioskError } from '../../shared/errors';

/** [a, b, cost]: substituting a for b (either way) costs `cost` instead of 1. */
export type ConfusionPair = readonly [string, string, number];

/**
 * Default table. 0.2: pairs that are the same glyph in many plate fonts (O/0, I/1) or differ by one stroke at
 * plate resolution; 0.4: pairs a blurred or low camera mixes up often; 0.6: occasional pairs. Letter-letter and
 * digit-digit pairs matter as much as letter-digit ones (a format rule cannot fix those).
 */
export const DEFAULT_CONFUSIONS: readonly ConfusionPair[] = [
  ['O', '0', 0.2],
  ['I', '1', 0.2],
  ['Q', '0', 0.3],
  ['Q', 'O', 0.3],
  ['D', '0', 0.3],
  ['D', 'O', 0.3],
  ['B', '8', 0.3],
  ['S', '5', 0.3],
  ['Z', '2', 0.3],
  ['G', '6', 0.3],
  ['U', '0', 0.6],
  ['U', 'O', 0.6],
  ['U', 'V', 0.4],
  ['T', '7', 0.4],
  ['A', '4', 0.4],
  ['L', '1', 0.4],
  ['L', 'I', 0.4],
  ['J', '1', 0.6],
  ['J', 'I', 0.6],
  ['G', 'C', 0.4],
  ['E', 'F', 0.4],
  ['B', 'E', 0.6],
  ['B', '3', 0.6],
  ['8', '3', 0.6],
  ['8', '6', 0.6],
  ['8', '9', 0.6],
  ['8', '0', 0.6],
  ['6', '5', 0.6],
  ['2', '7', 0.6],
  ['M', 'N', 0.6],
  ['H', 'N', 0.6],
  ['H', 'M', 0.6],
  ['K', 'X', 0.6],
  ['V', 'Y', 0.6],
  ['P', 'R', 0.6],
  ['C', '0', 0.6],
  ['W', 'V', 0.6],
  ['1', '7', 0.6],
  ['4', '1', 0.6],
];

export interface ConfusionTable {
  /** Substitution cost for an ordered pair key `a + b`; missing means 1. */
  readonly cost: ReadonlyMap<string, number>;
  readonly insert: number;
  readonly delete: number;
}

export function makeConfusionTable(pairs: readonly ConfusionPair[] = DEFAULT_CONFUSIONS, indel = 1): ConfusionTable {
  const cost = new Map<string, number>();
  for (const [a, b, c] of pairs) {
    if (!(c >= 0 && c <= 1)) throw new KioskError('CONFIG_INVALID', { field: `confusion.${a}/${b}`, value: c });
    cost.set(a + b, c);
    cost.set(b + a, c);
  }
  return { cost, insert: indel, delete: indel };
}

export const DEFAULT_TABLE: ConfusionTable = makeConfusionTable();

export function substitutionCost(a: string, b: string, table: ConfusionTable = DEFAULT_TABLE): number {
  if (a === b) return 0;
  return table.cost.get(a + b) ?? 1;
}

/** Characters `c` is confused with at most `maxCost`, cheapest first. */
export function lookAlikes(c: string, maxCost: number, table: ConfusionTable = DEFAULT_TABLE): string[] {
  const out: [string, number][] = [];
  for (const [k, v] of table.cost) if (k[0] === c && v <= maxCost) out.push([k.slice(1), v]);
  return out.sort((x, y) => x[1] - y[1]).map(([k]) => k);
}

/**
 * Weighted Levenshtein distance between two normalised plates. Insertions and deletions cost `table.insert`
 * (a missed or extra character is not a look-alike), substitutions the table's cost.
 */
export function plateDistance(a: string, b: string, table: ConfusionTable = DEFAULT_TABLE): number {
  const A = [...a];
  const B = [...b];
  let prev = new Float64Array(B.length + 1);
  let cur = new Float64Array(B.length + 1);
  for (let j = 0; j <= B.length; j++) prev[j] = j * table.insert;
  for (let i = 1; i <= A.length; i++) {
    cur[0] = i * table.delete;
    for (let j = 1; j <= B.length; j++) {
      cur[j] = Math.min(
        prev[j]! + table.delete,
        cur[j - 1]! + table.insert,
        prev[j - 1]! + substitutionCost(A[i - 1]!, B[j - 1]!, table),
      );
    }
    [prev, cur] = [cur, prev];
  }
  // Round away float noise so 0.2 + 0.3 compares equal to a 0.5 bound.
  return Math.round(prev[B.length]! * 1e6) / 1e6;
}

/**
 * Fold only the pairs that are one glyph in most plate fonts (O→0, I→1). Used to report "exact up to O/0 and
 * I/1", never for access decisions.
 */
export function foldIdenticalGlyphs(plate: string): string {
  return plate.replace(/O/g, '0').replace(/I/g, '1');
}
