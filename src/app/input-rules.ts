/**
 * The rules an admin's typed input must meet before anything is stored, stated once so the admin screen can show
 * them before typing and every refusal can name the field, the rule and its limit: a name's length, plates (with
 * the normalised form shown before saving), the CSV rows of a bulk import, the panic-wipe word, the passphrase rule.
 * The limits are the one subject schema's (src/shared/subject-schema.ts); these rules add the user-facing codes. It refuses; it never cuts, pads or silently rewrites a value (the one rewrite, plate normalisation, is returned
 * for the screen to show). Errors carry field names, limits, lengths and row numbers only, never the value itself.
 */
import { checkPassphrase, LONG_PASSPHRASE_LENGTH, MAX_PASSPHRASE_LENGTH, MIN_PASSPHRASE_LENGTH } from '../crypto/passphrase';
import { isPlateChar, MIN_PLATE_CHARS, normalisePlate } from '../matching/plates';
import { KioskError } from '../shared/errors';
import { SUBJECT_LIMITS as LIMITS } from '../shared/subject-schema';
import { WIPE_CONFIRMATION } from '../store';

export const LABEL_MAX_CHARS = LIMITS.labelChars;
export const PLATE_MAX_CHARS = LIMITS.plateChars;
/**
 * The shortest plate an admin may list (on either list: a deny-listed "12" would turn any grant with a "12" in view
 * into an alert). Input rule only: stored and synced subjects are not re-checked (a vault must keep loading what it
 * holds); the decision grants on no shorter read (src/matching/plates/decide.ts).
 */
export const PLATE_MIN_CHARS = MIN_PLATE_CHARS;
export const PLATES_PER_PERSON = LIMITS.plates;
export const PASSPHRASE_RULE = { min: MIN_PASSPHRASE_LENGTH, long: LONG_PASSPHRASE_LENGTH, max: MAX_PASSPHRASE_LENGTH } as const;
export { WIPE_CONFIRMATION, checkPassphrase };

/** A person's name: trimmed, not empty, at most LABEL_MAX_CHARS (counted as the store counts: UTF-16 units). */
export function checkLabel(label: string, extra: Record<string, number> = {}): string {
  const v = label.trim();
  if (v.length === 0) throw new KioskError('INPUT_REQUIRED', { field: 'label', ...extra });
  if (v.length > LABEL_MAX_CHARS) throw new KioskError('INPUT_TOO_LONG', { field: 'label', max: LABEL_MAX_CHARS, length: v.length, ...extra });
  return v;
}

/** Splits what an admin typed into plates: commas or semicolons separate plates, spaces belong to a plate. */
export function splitPlates(text: string): string[] {
  return text.split(/[,;]/).filter((p) => p.trim() !== '');
}

/** The plates as they will be stored (what the screen previews), without refusing anything. */
export function previewPlates(text: string): string[] {
  return splitPlates(text)
    .map(normalisePlate)
    .filter((p) => p !== '');
}

/**
 * Normalises and checks plates: an entry with no letter or digit, one shorter than PLATE_MIN_CHARS or longer than
 * the store keeps, or too many plates are refused with the plate's position, never dropped or cut.
 */
export function checkPlates(raw: readonly string[], extra: Record<string, number> = {}): string[] {
  const entries = raw.filter((p) => p.trim() !== '');
  if (entries.length > PLATES_PER_PERSON)
    throw new KioskError('INPUT_PLATE_INVALID', { field: 'plates', rule: 'tooManyPlates', max: PLATES_PER_PERSON, ...extra });
  return entries.map((p, i) => {
    const n = normalisePlate(p);
    if (n.length === 0) throw new KioskError('INPUT_PLATE_INVALID', { field: 'plates', rule: 'plateChars', position: i + 1, ...extra });
    // A letter or digit the plate alphabet does not have (Greek, Cyrillic, Arabic-Indic digits…) is refused, not
    // dropped: "ΙΚΥ 1234" typed on a Greek keyboard was stored as 1234, a plate any sign or covered plate reads as.
    const foreign = [...p.normalize('NFKD').toUpperCase()].find((c) => /[\p{L}\p{N}]/u.test(c) && !isPlateChar(c));
    if (foreign !== undefined)
      throw new KioskError('INPUT_PLATE_INVALID', { field: 'plates', rule: 'plateAlphabet', char: foreign, position: i + 1, ...extra });
    if (n.length < PLATE_MIN_CHARS)
      throw new KioskError('INPUT_PLATE_INVALID', { field: 'plates', rule: 'plateTooShort', min: PLATE_MIN_CHARS, position: i + 1, ...extra });
    if (n.length > PLATE_MAX_CHARS)
      throw new KioskError('INPUT_PLATE_INVALID', { field: 'plates', rule: 'plateTooLong', max: PLATE_MAX_CHARS, position: i + 1, ...extra });
    return n;
  });
}

/** The panic-wipe word, exactly (a lower-case "wipe" is refused with the word to type). */
export function checkWipeConfirmation(confirmation: string): void {
  if (confirmation !== WIPE_CONFIRMATION) throw new KioskError('INPUT_CONFIRMATION', { field: 'confirmation', word: WIPE_CONFIRMATION });
}
