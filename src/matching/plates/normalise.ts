/**
 * Plate text normalisation: the one canonical spelling every other plate function compares.
 *
 * Owns what counts as a plate character: A-Z, 0-9 and the Chinese province abbreviations a CN plate starts with.
 * Case, spaces, dashes, dots, the CN separator "·", full-width forms and diacritics are folded away, so
 * "rk 550-ao", "RK550AO" and "ＲＫ５５０ＡＯ" are the same plate. It never guesses between confusable characters
 * (O vs 0): that is confusion.ts's job, with weights, at match time.
 */

export const LATIN_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGITS = '0123456789';

/**
 * The shortest plate that may be listed (src/app/input-rules.ts) or granted on (decide.ts): 1-3 characters (a bay or
 * fleet number, a taxi's roof number, a sticker) are printed on many cars and signs, and the readers read them there.
 */
export const MIN_PLATE_CHARS = 4;
/** Province abbreviations that open a mainland-China plate (31 of them). */
export const CN_PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';

const PROVINCE_SET = new Set(CN_PROVINCES);

export function isLetter(c: string): boolean {
  return c.length === 1 && c >= 'A' && c <= 'Z';
}

export function isDigit(c: string): boolean {
  return c.length === 1 && c >= '0' && c <= '9';
}

export function isProvince(c: string): boolean {
  return PROVINCE_SET.has(c);
}

/** True when `c` may appear in a normalised plate. */
export function isPlateChar(c: string): boolean {
  return isLetter(c) || isDigit(c) || isProvince(c);
}

/**
 * Fold any spelling of a plate to its canonical form: upper-case A-Z, 0-9 and CN provinces, nothing else.
 * Characters outside that set (separators, stray punctuation, other scripts) are dropped, not transliterated.
 */
export function normalisePlate(raw: string): string {
  // NFKD splits "Č" into "C" + caron and maps full-width "Ａ" to "A"; the combining marks are then dropped.
  const folded = raw.normalize('NFKD').toUpperCase();
  let out = '';
  for (const c of folded) if (isPlateChar(c)) out += c;
  return out;
}
