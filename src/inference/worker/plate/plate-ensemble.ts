/**
 * How the plate readers' reads become one result: same-text reads pooled, each reader's own best read, the
 * agreement test between the project's trained recogniser and PP-OCR, and which reader's spelling wins per region.
 *
 * Owns the 'ensemble' rule (docs/plates.md): the two independent readers must agree up to look-alikes
 * (plateDistance ≤ 0.5, the matcher's own bound) or the frame's confidence drops so the decision refuses; in regions
 * where one reader is measurably weaker, the other one's spelling is reported. Pure functions on scored reads: it
 * never runs a model, never sees pixels and never decides access (src/matching/plates/decide.ts does). It must
 * never let one reader alone make a frame confident when the other read a different plate.
 */
import { plateDistance } from '../../../matching/plates/confusion';

/** The fields of a read the combination needs (PlateCandidate fits). */
export interface ScoredRead {
  text: string;
  confidence: number;
  score: number;
  /** Crop and decode tags; the reader is named by TRAINED_TAG, EN_TAG or TESSERACT_TAG (none: PP-OCRv4). */
  source: string;
}

/** Source tags of the readers other than PP-OCRv4. */
export const TRAINED_TAG = '/trained';
export const EN_TAG = '/en';
export const TESSERACT_TAG = '/tesseract';

/** The independent readers: the trained recogniser, PP-OCR (v4 and the v3 English model, one family), tesseract. */
export type ReaderFamily = 'trained' | 'ppocr' | 'tesseract';

export function readerFamily(source: string): ReaderFamily {
  if (source.includes(TRAINED_TAG)) return 'trained';
  if (source.endsWith(TESSERACT_TAG)) return 'tesseract';
  return 'ppocr';
}

/** Whose spelling an ensemble result reports: all reads pooled (equal texts add up), or one reader's own best. */
export type EnsembleLead = 'pool' | 'ppocr' | 'trained';

export interface EnsembleOptions {
  /** Confidence factor when the two readers' own best reads differ by more than look-alikes (1: off). */
  disagreeFactor: number;
  /** Per region: whose read is reported. Unlisted regions pool. */
  lead: Readonly<Partial<Record<string, EnsembleLead>>>;
}

/**
 * How equal-text reads combine: 'max' keeps the best score, 'sum' adds them all, 'voices' adds each recogniser's
 * reads but lets PP-OCR's two recognisers (v4 and the v3 English model) count as one voice, the larger of their two
 * sums. They are one family (same lineage, correlated misreads), and the English model reads a line only when v4's
 * best read of it scores below rec2Below and the trained recogniser's best read of it is another text: under 'sum',
 * exactly there, one family's misread counted twice against the other reader (docs/plates.md, "One voice per reader
 * family"). The pipeline's stopping and retry thresholds compare pooled scores, so the mode also changes which reads
 * a frame gathers.
 */
export type ReadCombine = 'max' | 'sum' | 'voices';

/** The recogniser a read came from: the family, with PP-OCR's English model apart from v4. */
function recogniserOf(source: string): string {
  const family = readerFamily(source);
  return family === 'ppocr' && source.includes(EN_TAG) ? 'ppocr-en' : family;
}

/** Merge reads with the same text into one, best-scoring first: the fields of the first read (or of a later one
 * scoring above the pooled score so far), the score as `combine` says. */
export function poolReads<T extends ScoredRead>(reads: readonly T[], combine: ReadCombine): T[] {
  const by = new Map<string, T>();
  const sums = new Map<string, Map<string, number>>(); // 'voices': per text, each recogniser's sum
  for (const c of reads) {
    const prev = by.get(c.text);
    if (combine === 'voices') {
      const per = sums.get(c.text) ?? new Map<string, number>();
      const r = recogniserOf(c.source);
      per.set(r, (per.get(r) ?? 0) + c.score);
      sums.set(c.text, per);
    }
    if (!prev) {
      by.set(c.text, { ...c });
      continue;
    }
    const best = c.score > prev.score ? c : prev;
    const score = combine === 'sum' ? prev.score + c.score : combine === 'max' ? best.score : voices(sums.get(c.text)!);
    by.set(c.text, { ...best, score });
  }
  return [...by.values()].sort((a, b) => b.score - a.score);
}

/** 'voices': the recognisers' sums added, PP-OCR's two taken as one (their larger sum). */
function voices(sums: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [r, v] of sums) if (r !== 'ppocr' && r !== 'ppocr-en') total += v;
  return total + Math.max(sums.get('ppocr') ?? 0, sums.get('ppocr-en') ?? 0);
}

/** One reader's own best non-empty read (its reads pooled; under 'voices' a family's recognisers add up: the
 * family's own opinion is both of its models', only against the other family it counts once). */
function readerBest<T extends ScoredRead>(
  raw: readonly T[],
  family: ReaderFamily,
  combine: ReadCombine,
): T | undefined {
  return poolReads(
    raw.filter((c) => readerFamily(c.source) === family),
    combine === 'voices' ? 'sum' : combine,
  ).find((c) => c.text !== '');
}

export interface EnsembleChoice<T> {
  /** Every read pooled, best first (the ranked alternatives a result lists). */
  ranked: T[];
  /** The reported read: the pooled best, or the leading reader's own best. */
  best: T | undefined;
  /** The reported confidence (the best read's, times disagreeFactor when the readers disagree). */
  confidence: number;
  /** 'agree': both readers read the same plate up to look-alikes; 'disagree': they did not; 'single': one reader. */
  readers: 'agree' | 'disagree' | 'single';
}

/**
 * Choose the frame's read. With reads from both the trained recogniser and PP-OCR, their own best reads are compared
 * with the matcher's distance: beyond look-alikes the readers disagree and the confidence is cut (the decision then
 * refuses rather than trusting either). The reported text is the pooled best, or in a region with a lead, the
 * leading reader's best (so a confident misread by the weaker reader neither wins nor adds up against it).
 */
export function chooseRead<T extends ScoredRead>(
  raw: readonly T[],
  region: string,
  combine: ReadCombine,
  o: EnsembleOptions,
): EnsembleChoice<T> {
  const ranked = poolReads(raw, combine);
  const trained = readerBest(raw, 'trained', combine);
  const ppocr = readerBest(raw, 'ppocr', combine);
  if (!trained || !ppocr) {
    const best = ranked[0];
    return { ranked, best, confidence: best?.confidence ?? 0, readers: 'single' };
  }
  const lead = o.lead[region] ?? 'pool';
  const best = lead === 'ppocr' ? ppocr : lead === 'trained' ? trained : ranked[0]!;
  const agree = plateDistance(trained.text, ppocr.text) <= 0.5;
  return {
    ranked,
    best,
    confidence: best.confidence * (agree ? 1 : o.disagreeFactor),
    readers: agree ? 'agree' : 'disagree',
  };
}
