/**
 * Per-region plate formats, position rules and plate-likeness.
 *
 * Owns the configurable description of what a region's plates look like: fixed-length class patterns
 * (L = letter, D = digit, A = letter or digit, P = CN province), a length range, whether the patterns are
 * exhaustive, and whether a pattern may fix letter-vs-digit at a position ("position rules": a Brazilian plate's
 * fourth character is a digit, so an O read there is a 0). It never looks at pixels and never decides access.
 * Rules are general per region, never per plate: a deployment configures its own region or list of patterns.
 */
import { DEFAULT_TABLE, lookAlikes, substitutionCost, type ConfusionTable } from './confusion';
import { isDigit, isLetter, isProvince } from './normalise';

export type CharClass = 'L' | 'D' | 'A' | 'P';

export interface PlateFormat {
  /** Stable name for logs and debug views, e.g. 'br-mercosul'. */
  id: string;
  /** One class per character: L letter, D digit, A letter or digit, P CN province abbreviation. */
  pattern: string;
}

export interface RegionRules {
  region: string;
  formats: readonly PlateFormat[];
  /** True when every plate of the region fits one of `formats` (BR, CN); false where vanity and legacy series
   * make any list incomplete (US, EU as a whole). */
  exhaustive: boolean;
  /** Whether a read that fits a format only after look-alike substitutions is rewritten to the fitting spelling. */
  positionRules: boolean;
  minLength: number;
  maxLength: number;
  /** Letters a format never uses at letter positions (CN plates avoid I and O); used only as a likeness penalty. */
  unusedLetters?: string;
  /** Pairs "xy": x is printed with the same glyph as y in this region, so reads and listed plates spell it y.
   * US states print O and 0 identically (most issue no letter O at all), so 'O0' folds O into 0 there. */
  glyphFolds?: readonly string[];
  /** Plates carry a country band or crest at their left end (EU): format decodes may skip what the recogniser
   * read there, for the price of this probability factor (undefined: they may not). */
  leadingBand?: number;
}

const f = (id: string, pattern: string): PlateFormat => ({ id, pattern });

/**
 * Default rules for the regions the benchmark covers. US and EU lists are the common modern series, not every
 * state/country: they rank candidate reads, and never reject a plate outside them (exhaustive: false).
 */
export const REGION_RULES: Readonly<Record<string, RegionRules>> = {
  us: {
    region: 'us',
    formats: [
      f('us-3l4d', 'LLLDDDD'), // NY, PA, TX, GA, MI, OH, NC, VA, WA, AZ, …
      f('us-1d3l3d', 'DLLLDDD'), // CA
      f('us-mo', 'LLDLDL'), // MO "AB1 C2D"
      f('us-tx', 'LLDLDDD'), // TX 2009-16 "AB1 C234"
      f('us-nj', 'LDDLLL'), // NJ "A12 BCD"
      f('us-1d2l4d', 'DLLDDDD'), // MD
      f('us-1d2l3d', 'DLLDDD'), // MA
      f('us-3l3d', 'LLLDDD'),
      f('us-3d3l', 'DDDLLL'),
      f('us-2l4d', 'LLDDDD'),
      f('us-2l5d', 'LLDDDDD'), // IL
      f('us-3l1d2l', 'LLLDLL'), // FL
      f('us-7d', 'DDDDDDD'),
      f('us-6d', 'DDDDDD'),
    ],
    exhaustive: false,
    positionRules: false,
    minLength: 2,
    maxLength: 8,
    glyphFolds: ['O0'],
  },
  eu: {
    region: 'eu',
    formats: [
      f('sk-it-fr-hr', 'LLDDDLL'), // SK BA-123AB, IT/FR AB-123-CD
      f('cz-1', 'DLDDDDD'), // CZ 1A2 3456
      f('cz-2', 'DLLDDDD'),
      f('pl-2l5d', 'LLDDDDD'),
      f('pl-3l4d', 'LLLDDDD'),
      f('pl-2l4d1l', 'LLDDDDL'),
      f('pl-3l2d2l', 'LLLDDLL'),
      // PL diplomatic plates, white on blue: a letter for the mission's city (W: Warsaw) and six digits, "W 053011".
      // Without it such a read fitted no series and was rewritten into the civil LL-DDDDD one by an O/0 swap (WO53011).
      f('pl-dipl', 'LDDDDDD'),
      f('es', 'DDDDLLL'),
      f('uk', 'LLDDLLL'),
      f('nl-6', 'LLDDDL'),
      f('de-1', 'LLLDDDD'),
      f('de-2', 'LLDDDD'),
      f('de-3', 'LLLLDDD'),
      f('de-4', 'LDDDD'),
      f('at-ch', 'LLDDDDDD'),
    ],
    exhaustive: false,
    positionRules: true,
    minLength: 4,
    maxLength: 8,
    leadingBand: 0.5,
  },
  br: {
    region: 'br',
    formats: [f('br-old', 'LLLDDDD'), f('br-mercosul', 'LLLDLDD')],
    exhaustive: true,
    positionRules: true,
    minLength: 7,
    maxLength: 7,
  },
  cn: {
    region: 'cn',
    formats: [f('cn-blue', 'PLAAAAA'), f('cn-green', 'PLAAAAAA')],
    exhaustive: true,
    positionRules: true,
    minLength: 7,
    maxLength: 8,
    unusedLetters: 'IO',
  },
};

/** Spell a normalised plate the region's way (glyph folds); apply to reads and listed plates alike. */
export function regionSpelling(text: string, rules: RegionRules): string {
  if (!rules.glyphFolds || rules.glyphFolds.length === 0) return text;
  let out = '';
  for (const c of text) {
    const fold = rules.glyphFolds.find((p) => p[0] === c);
    out += fold ? fold[1] : c;
  }
  return out;
}

export function charFits(c: string, cls: CharClass): boolean {
  switch (cls) {
    case 'L':
      return isLetter(c);
    case 'D':
      return isDigit(c);
    case 'A':
      return isLetter(c) || isDigit(c);
    case 'P':
      return isProvince(c);
  }
}

export interface FormatFit {
  format: PlateFormat;
  /** The read rewritten to fit the pattern (equal to the read when it fitted as is). */
  text: string;
  /** Sum of look-alike substitution costs needed (0 = fitted as read). */
  cost: number;
}

/**
 * Fit `text` to one pattern, replacing a character of the wrong class by its cheapest look-alike of the right
 * class (cost ≤ maxSubCost). Returns null when the length differs or a position cannot be fixed.
 */
export function fitFormat(
  text: string,
  format: PlateFormat,
  maxSubCost = 0.4,
  table: ConfusionTable = DEFAULT_TABLE,
): FormatFit | null {
  const chars = [...text];
  const classes = [...format.pattern] as CharClass[];
  if (chars.length !== classes.length) return null;
  let cost = 0;
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const cls = classes[i]!;
    if (charFits(c, cls)) {
      out += c;
      continue;
    }
    const alt = lookAlikes(c, maxSubCost, table).find((a) => charFits(a, cls));
    if (alt === undefined) return null;
    cost += substitutionCost(c, alt, table);
    out += alt;
  }
  return { format, text: out, cost };
}

/** Every format of the region the read fits, cheapest first. */
export function fitRegion(text: string, rules: RegionRules, table: ConfusionTable = DEFAULT_TABLE): FormatFit[] {
  const fits: FormatFit[] = [];
  for (const fmt of rules.formats) {
    const fit = fitFormat(text, fmt, 0.4, table);
    if (fit) fits.push(fit);
  }
  return fits.sort((a, b) => a.cost - b.cost);
}

/**
 * Apply the region's position rules: when the cheapest fitting formats all agree on one spelling, return it.
 * Two formats that disagree (one wants O, the other 0) leave the read unchanged: no guess. A read that needs
 * substitutions costing more than `maxCost` in all to fit is left alone too (in a non-exhaustive region it is more
 * likely a series nobody listed, such as a vanity plate, than a misread).
 */
export function applyPositionRules(
  text: string,
  rules: RegionRules,
  table: ConfusionTable = DEFAULT_TABLE,
  maxCost = Infinity,
): string {
  text = regionSpelling(text, rules);
  if (!rules.positionRules) return text;
  const fits = fitRegion(text, rules, table);
  if (fits.length === 0) return text;
  if (fits[0]!.cost === 0 || fits[0]!.cost > maxCost) return text;
  const best = fits.filter((x) => x.cost === fits[0]!.cost);
  const spellings = new Set(best.map((x) => x.text));
  return spellings.size === 1 ? best[0]!.text : text;
}

export interface Likeness {
  /** 0..1: how much the string looks like a plate of the region. */
  score: number;
  /** The format it fits (after position rules), if any. */
  format?: string;
}

/**
 * How plate-like a normalised read is for a region. Used to pick among text lines in a frame (a state name, a
 * dealer's phone number and the registration all read as text) and among alternative decodings of one line.
 * The scale is ordinal; its only contract is: fits a format > plausible > implausible > empty.
 */
export function plateLikeness(text: string, rules: RegionRules, table: ConfusionTable = DEFAULT_TABLE): Likeness {
  const chars = [...text];
  const n = chars.length;
  if (n === 0) return { score: 0 };
  if (n < rules.minLength || n > rules.maxLength) {
    const off = n < rules.minLength ? rules.minLength - n : n - rules.maxLength;
    return { score: Math.max(0.02, 0.25 - 0.1 * off) };
  }
  const fits = fitRegion(text, rules, table);
  const exact = fits.find((x) => x.cost === 0);
  if (exact) return { score: 1, format: exact.format.id };
  const letters = chars.filter(isLetter).length;
  const digits = chars.filter(isDigit).length;
  const unused = rules.unusedLetters ? chars.filter((c) => rules.unusedLetters!.includes(c)).length : 0;
  if (fits.length > 0 && rules.positionRules) {
    return { score: Math.max(0.3, 0.95 - fits[0]!.cost - 0.1 * unused), format: fits[0]!.format.id };
  }
  if (rules.exhaustive) return { score: 0.15 };
  // Non-exhaustive regions: mixed letters and digits is the strongest generic cue (words and phone numbers
  // printed around plates are all letters or all digits).
  let score: number;
  if (fits.length > 0) score = LIKENESS.lookAlikeFit - fits[0]!.cost / 2;
  else if (letters > 0 && digits > 0) score = LIKENESS.mixed;
  else if (digits === 0) score = LIKENESS.lettersOnly;
  else score = LIKENESS.digitsOnly;
  return { score: Math.max(0.05, score - 0.1 * unused) };
}

/**
 * Likeness of reads in non-exhaustive regions that fit no listed format as read. The gap between `mixed` and a
 * format fit (1) is what a format-constrained decode must make up in path probability to win.
 */
export const LIKENESS = {
  /** Fits a format after look-alike substitutions (minus half their cost). */
  lookAlikeFit: 0.85,
  /** Letters and digits, no listed format (vanity and legacy series). */
  mixed: 0.7,
  /** Digits only, no listed format (phone numbers, dates, dealer numbers are all digits). */
  digitsOnly: 0.45,
  /** Letters only (state names, slogans, dealer names). */
  lettersOnly: 0.25,
};
