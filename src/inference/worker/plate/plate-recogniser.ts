/**
 * PP-OCRv4 text recogniser (SVTR + CTC): tensor preparation and plate-restricted decoding.
 *
 * Owns the step from a tight line crop to candidate strings with log-probabilities: height-48 resize, BGR
 * channel order and PaddleOCR's (x/255 - 0.5)/0.5 normalisation, zero padding to the batch width, and CTC
 * decoding restricted to plate characters (the model's 6 625 classes are mostly Chinese; reading "0" as "〇" or
 * a sticker as "品" is useless for plates, so the probabilities are folded onto A-Z, 0-9 and, for CN, the
 * province characters). It also decodes under a format pattern (Viterbi over the CTC lattice constrained to
 * letter/digit classes per position). Running the model is the caller's job; this module is pure.
 */
import { charFits, type CharClass } from '../../../matching/plates/formats';
import { CN_PROVINCES, DIGITS, LATIN_LETTERS } from '../../../matching/plates/normalise';
import { resize, type RgbaImage } from './plate-image';

export const REC_HEIGHT = 48;
/** PaddleOCR pads every line to at least 320 px wide (its rec_image_shape); the model saw that in training. */
export const REC_MIN_WIDTH = 320;
/** Input pixels per CTC time step (the SVTR neck downsamples width by 8). */
export const REC_STRIDE = 8;

export interface RecBatch {
  tensor: Float32Array;
  n: number;
  width: number;
  /** Resized width of each crop before padding (to map time steps back to crop x when needed). */
  widths: number[];
}

/** Resize each crop to height 48 keeping aspect, normalise to BGR (x/255-0.5)/0.5, pad right with zeros. */
export function recPreprocess(crops: readonly RgbaImage[], minWidth = REC_MIN_WIDTH, maxWidth = 960): RecBatch {
  const widths = crops.map((c) =>
    Math.min(maxWidth, Math.max(8, Math.ceil((REC_HEIGHT * c.width) / Math.max(1, c.height)))),
  );
  const W = Math.max(minWidth, ...widths);
  const n = crops.length;
  const plane = REC_HEIGHT * W;
  const t = new Float32Array(n * 3 * plane);
  crops.forEach((c, b) => {
    const w = widths[b]!;
    const r =
      c.width === w && c.height === REC_HEIGHT
        ? c
        : resize(c, w, REC_HEIGHT, c.height < REC_HEIGHT ? 'cubic' : 'linear');
    const d = r.data;
    const base = b * 3 * plane;
    for (let y = 0; y < REC_HEIGHT; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 4;
        const o = y * W + x;
        t[base + o] = d[p + 2]! / 127.5 - 1;
        t[base + plane + o] = d[p + 1]! / 127.5 - 1;
        t[base + 2 * plane + o] = d[p]! / 127.5 - 1;
      }
    }
  });
  return { tensor: t, n, width: W, widths };
}

/**
 * How the model's classes fold onto plate characters. Index 0 is CTC blank, 1..N the dictionary, N+1 space.
 * `groups[k]` lists the model indices that mean plate character `chars[k]` (e.g. "O", "o", full-width "Ｏ").
 * `skip` lists separators that are not characters on a plate but legitimately appear between them
 * ("-", "·", ".", space): they are treated like blank rather than forced onto a character.
 */
export interface PlateCharset {
  chars: string[];
  groups: number[][];
  skip: number[];
  classes: number;
}

const SEPARATORS = new Set([
  ' ',
  '-',
  '·',
  '.',
  ':',
  '•',
  '・',
  '_',
  '—',
  '–',
  '─',
  '一',
  '—',
  '|',
  '/',
  ',',
  "'",
  '"',
  '`',
  '~',
  '=',
  '*',
  '+',
]);

/**
 * Build the fold from the dictionary text (ppocr_keys_v1.txt, one character per line).
 * `allowed`: plate characters to keep (default A-Z, 0-9; pass CN_PROVINCES too for Chinese plates).
 */
export function buildCharset(dictText: string, allowed: string = LATIN_LETTERS + DIGITS): PlateCharset {
  const dict = dictText.split(/\r?\n/);
  if (dict.length > 0 && dict[dict.length - 1] === '') dict.pop();
  const chars = [...allowed];
  const index = new Map(chars.map((c, i) => [c, i]));
  const groups: number[][] = chars.map(() => []);
  const skip: number[] = [];
  const classes = dict.length + 2;
  for (let i = 0; i < dict.length; i++) {
    const ch = dict[i]!;
    const norm = ch.normalize('NFKC').toUpperCase();
    const k = index.get(norm);
    if (k !== undefined) groups[k]!.push(i + 1);
    else if (SEPARATORS.has(ch) || SEPARATORS.has(norm)) skip.push(i + 1);
  }
  skip.push(classes - 1); // the trailing space class
  return { chars, groups, skip, classes };
}

export const LATIN_AND_PROVINCES = LATIN_LETTERS + DIGITS + CN_PROVINCES;

/** Per-time-step probabilities folded onto [skip, char0, char1, ...]; also the mass left on other classes. */
export interface Folded {
  T: number;
  K: number;
  /** T x (K + 1): column 0 is blank+separators, column k+1 plate char k. */
  p: Float32Array;
  /** T: probability on classes that are neither plate characters nor separators (CJK, punctuation, …). */
  other: Float32Array;
}

export function foldProbs(probs: Float32Array, offset: number, T: number, cs: PlateCharset): Folded {
  const K = cs.chars.length;
  const C = cs.classes;
  const p = new Float32Array(T * (K + 1));
  const other = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const row = offset + t * C;
    let s = probs[row]!;
    for (const i of cs.skip) s += probs[row + i]!;
    p[t * (K + 1)] = s;
    let kept = s;
    for (let k = 0; k < K; k++) {
      let v = 0;
      for (const i of cs.groups[k]!) v += probs[row + i]!;
      p[t * (K + 1) + k + 1] = v;
      kept += v;
    }
    other[t] = Math.max(0, 1 - kept);
  }
  return { T, K, p, other };
}

export interface Decoded {
  text: string;
  /** Per character: the highest probability the character reached in its frames. */
  charProbs: number[];
  /** Geometric mean of charProbs (0 for an empty string). */
  confidence: number;
  /** Per character: first and last time step it occupies (greedy decode only; 8 input pixels per step). */
  spans?: [number, number][];
  /** Which pattern constrained the decode, if any. */
  pattern?: string;
}

function finish(text: string, charProbs: number[], pattern?: string): Decoded {
  const confidence =
    charProbs.length === 0
      ? 0
      : Math.exp(charProbs.reduce((s, q) => s + Math.log(Math.max(q, 1e-6)), 0) / charProbs.length);
  return pattern === undefined ? { text, charProbs, confidence } : { text, charProbs, confidence, pattern };
}

/**
 * Greedy CTC decode over plate characters only. Mass on other classes (CJK look-alikes, stray symbols) is left
 * out of the argmax, so a frame whose top class was "〇" still yields the best plate character or blank.
 */
export function greedyDecode(f: Folded, cs: PlateCharset, otherWeight = 0): Decoded {
  const { T, K, p } = f;
  let text = '';
  const probs: number[] = [];
  const spans: [number, number][] = [];
  let prev = -1;
  for (let t = 0; t < T; t++) {
    let best = 0;
    let bv = p[t * (K + 1)]!;
    for (let k = 1; k <= K; k++) {
      const v = p[t * (K + 1) + k]!;
      if (v > bv) {
        bv = v;
        best = k;
      }
    }
    // A frame the model gives mostly to non-plate classes (a sticker read as a CJK glyph) is not a character.
    if (best !== 0 && otherWeight > 0 && f.other[t]! * otherWeight > bv) best = 0;
    if (best !== 0 && best !== prev) {
      text += cs.chars[best - 1];
      probs.push(bv);
      spans.push([t, t]);
    } else if (best !== 0 && best === prev) {
      probs[probs.length - 1] = Math.max(probs[probs.length - 1]!, bv);
      spans[spans.length - 1]![1] = t;
    }
    prev = best;
  }
  return { ...finish(text, probs), spans };
}

/**
 * Best CTC path whose characters follow `pattern` (one class per character: L, D, A, P). Viterbi over the
 * states blank₀, (slot 1, char), blank₁, (slot 2, char), …, where a slot keeps one character for all its frames:
 * a slot that could change character from frame to frame would swallow a neighbour's frames for free and drop a
 * character to fit a shorter pattern ("ASC7399" → "AS7399"). Returns null when the line has too few frames for
 * the pattern. `logScore` is the path's log-probability, so callers can compare it with the unconstrained path's
 * (`pathLogProb`). With `leadingBand` (a probability factor), the path may open with a lead state over the first
 * fifth of the frames that takes whatever the model saw there at no cost but that factor once: an EU plate's
 * country band or a crest read as a character ("HRK708A1" → "RK708AI").
 */
export function constrainedDecode(
  f: Folded,
  cs: PlateCharset,
  pattern: string,
  leadingBand?: number,
): (Decoded & { logScore: number }) | null {
  const { T, K, p } = f;
  const classes = [...pattern] as CharClass[];
  const L = classes.length;
  if (L === 0 || T < L) return null;
  // State layout: blanks 0..L (blank i follows i characters), then each slot's allowed characters.
  const slotChars: number[][] = classes.map((cls) => {
    const ks: number[] = [];
    for (let k = 0; k < K; k++) if (charFits(cs.chars[k]!, cls)) ks.push(k + 1);
    return ks;
  });
  const slotBase: number[] = [];
  let n = L + 1;
  for (const ks of slotChars) {
    slotBase.push(n);
    n += ks.length;
  }
  // The lead state, last; it exists only when a leading band may be skipped.
  const lead = leadingBand !== undefined && leadingBand > 0 ? n++ : -1;
  const leadUntil = Math.ceil(T / 5);
  const NEG = -1e30;
  const lp = (t: number, k: number): number => Math.log(Math.max(p[t * (K + 1) + k]!, 1e-12));
  const maxLp = (t: number): number => {
    let m = 0;
    for (let k = 0; k <= K; k++) m = Math.max(m, p[t * (K + 1) + k]!);
    return Math.log(Math.max(m, 1e-12));
  };
  let score = new Float64Array(n).fill(NEG);
  const back = new Int32Array(T * n).fill(-1);
  score[0] = lp(0, 0);
  slotChars[0]!.forEach((k, j) => (score[slotBase[0]! + j] = lp(0, k)));
  if (lead >= 0) score[lead] = Math.log(leadingBand!) + maxLp(0);
  for (let t = 1; t < T; t++) {
    const next = new Float64Array(n).fill(NEG);
    const set = (s: number, v: number, from: number): void => {
      if (v > next[s]!) {
        next[s] = v;
        back[t * n + s] = from;
      }
    };
    const blank = lp(t, 0);
    if (lead >= 0 && t < leadUntil && score[lead]! > NEG / 2) set(lead, score[lead]! + maxLp(t), lead);
    // Leaving the lead state: into blank₀ or straight into the first character.
    const fromLead = lead >= 0 && t <= leadUntil ? score[lead]! : NEG;
    if (fromLead > NEG / 2) {
      set(0, fromLead + blank, lead);
      slotChars[0]!.forEach((k, j) => set(slotBase[0]! + j, fromLead + lp(t, k), lead));
    }
    for (let i = 0; i <= L; i++) {
      // Blank i: stay, or end slot i-1's character.
      if (score[i]! > NEG / 2) set(i, score[i]! + blank, i);
      if (i > 0)
        slotChars[i - 1]!.forEach((_, j) => set(i, score[slotBase[i - 1]! + j]! + blank, slotBase[i - 1]! + j));
    }
    for (let i = 0; i < L; i++) {
      const ks = slotChars[i]!;
      const base = slotBase[i]!;
      // The previous slot's two best characters: a direct move (no blank between) needs a different character.
      let b1 = -1;
      let b2 = -1;
      if (i > 0) {
        const pb = slotBase[i - 1]!;
        slotChars[i - 1]!.forEach((_, j) => {
          const v = score[pb + j]!;
          if (b1 < 0 || v > score[b1]!) {
            b2 = b1;
            b1 = pb + j;
          } else if (b2 < 0 || v > score[b2]!) b2 = pb + j;
        });
      }
      const c1 = b1 >= 0 ? slotChars[i - 1]![b1 - slotBase[i - 1]!]! : -1;
      const c2 = b2 >= 0 ? slotChars[i - 1]![b2 - slotBase[i - 1]!]! : -1;
      ks.forEach((k, j) => {
        const s = base + j;
        const e = lp(t, k);
        set(s, score[s]! + e, s); // stay on the same character
        set(s, score[i]! + e, i); // after blank i
        // Straight from the previous slot: its best character, or its second best when that is this one.
        if (b1 >= 0 && c1 !== k) set(s, score[b1]! + e, b1);
        else if (b2 >= 0 && c2 !== k) set(s, score[b2]! + e, b2);
      });
    }
    score = next;
  }
  let s = L;
  slotChars[L - 1]!.forEach((_, j) => {
    if (score[slotBase[L - 1]! + j]! > score[s]!) s = slotBase[L - 1]! + j;
  });
  const logScore = score[s]!;
  if (logScore <= NEG / 2) return null;
  // Backtrace: each slot's character and the highest probability it reached in its frames.
  const chars: number[] = new Array<number>(L).fill(0);
  const probs: number[] = new Array<number>(L).fill(0);
  for (let t = T - 1; t >= 0; t--) {
    if (s > L && s !== lead) {
      let i = L - 1;
      while (slotBase[i]! > s) i--;
      const k = slotChars[i]![s - slotBase[i]!]!;
      chars[i] = k;
      probs[i] = Math.max(probs[i]!, p[t * (K + 1) + k]!);
    }
    if (t > 0) s = back[t * n + s]!;
  }
  const text = chars.map((k) => cs.chars[k - 1]).join('');
  return { ...finish(text, probs, pattern), logScore };
}

/** Log-probability of the unconstrained best path over the folded classes (upper bound for constrained paths). */
export function pathLogProb(f: Folded): number {
  const { T, K, p } = f;
  let s = 0;
  for (let t = 0; t < T; t++) {
    let m = 0;
    for (let k = 0; k <= K; k++) m = Math.max(m, p[t * (K + 1) + k]!);
    s += Math.log(Math.max(m, 1e-12));
  }
  return s;
}
