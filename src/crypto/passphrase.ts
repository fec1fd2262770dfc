/**
 * The admin passphrase rule (also used for export passphrases). A pure function so the admin screen can show live
 * feedback and the store can refuse with STORE_WEAK_PASSPHRASE and the same reasons. Owns only the rule; it never
 * stores, logs or echoes the passphrase (reasons are fixed words, never fragments of the input).
 *
 * The rule is deliberately simple and explainable to a building manager: long enough, varied enough, not a
 * well-known password with decorations. The store's lock-out makes online guessing slow; this rule is what keeps
 * an offline guesser (a copied profile holds the PBKDF2 salt and wrapped key) from winning quickly.
 */

export const MIN_PASSPHRASE_LENGTH = 12;
/** Above this length a passphrase made of words (letters and spaces) is accepted with only two kinds. */
export const LONG_PASSPHRASE_LENGTH = 20;
export const MAX_PASSPHRASE_LENGTH = 1024;

export type WeakReason = 'too-short' | 'too-long' | 'too-few-kinds' | 'too-repetitive' | 'sequence' | 'common';

export interface PassphraseCheck {
  ok: boolean;
  reasons: WeakReason[];
}

/**
 * A small list of the most used passwords and obvious site words, compared after lower-casing, undoing common
 * character swaps (p@ssw0rd) and dropping digits and symbols, so "Password123!" counts as "password".
 */
// prettier-ignore
const COMMON = [
  'password', 'passwort', 'motdepasse', 'contrasena', 'qwerty', 'qwertz', 'azerty', 'asdfgh', 'zxcvbn', 'letmein',
  'welcome', 'admin', 'administrator', 'root', 'login', 'master', 'iloveyou', 'dragon', 'monkey', 'football',
  'baseball', 'soccer', 'hockey', 'sunshine', 'princess', 'shadow', 'superman', 'batman', 'trustno', 'starwars',
  'whatever', 'freedom', 'secret', 'changeme', 'default', 'guest', 'test', 'tester', 'testing', 'abc', 'abcdef',
  'abcdefgh', 'qwertyuiop', 'asdfghjkl', 'zaq', 'qaz', 'michael', 'jennifer', 'jordan', 'hunter', 'ranger', 'buster',
  'soccer', 'harley', 'summer', 'winter', 'spring', 'autumn', 'flower', 'cookie', 'chocolate', 'pepper', 'ginger',
  'killer', 'pokemon', 'charlie', 'thomas', 'andrew', 'daniel', 'matrix', 'mustang', 'access', 'passpass', 'loveme',
  'lovely', 'hello', 'helloworld', 'computer', 'internet', 'samsung', 'google', 'apple', 'correcthorsebatterystaple',
  'kiosk', 'entrance', 'entrancekiosk', 'building', 'security', 'door', 'doorkeeper', 'gate', 'reception',
  'concierge', 'facility', 'office', 'company', 'unlock', 'opensesame', 'passphrase',
];

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
};

function lettersOnly(s: string, undoLeet: boolean): string {
  let out = '';
  for (const ch of s.toLowerCase()) {
    const c = undoLeet ? (LEET[ch] ?? ch) : ch;
    if (c >= 'a' && c <= 'z') out += c;
  }
  return out;
}

const COMMON_SET = new Set(COMMON.map((w) => lettersOnly(w, false)));
/** Longest first, so "doorkeeper" goes before "door" and leaves nothing of itself behind. */
const COMMON_BY_LENGTH = [...COMMON_SET].sort((a, b) => b.length - a.length);

/**
 * Fewer different characters than this left once the listed words and a year are taken out: the passphrase is made
 * of them. "Kioskdoor2024!x" and "Adminadmin2024!" passed the whole-word check (hand check, stop 29); what is left of
 * them is "!x" and "!".
 */
const MIN_OWN_CHARACTERS = 5;

function ownCharacters(p: string): number {
  const base = p.toLowerCase().replace(/(?:19|20)[0-9]{2}/g, ' ');
  const undone = [...base].map((c) => LEET[c] ?? c).join('');
  let fewest = Infinity;
  for (const form of [base, undone]) {
    let rest = form;
    for (const w of COMMON_BY_LENGTH) rest = rest.split(w).join(' ');
    fewest = Math.min(fewest, new Set(rest.replace(/\s/g, '')).size);
  }
  return fewest;
}

function kinds(s: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (const ch of s) {
    if (ch >= 'a' && ch <= 'z') lower = 1;
    else if (ch >= 'A' && ch <= 'Z') upper = 1;
    else if (ch >= '0' && ch <= '9') digit = 1;
    else if (ch.toLowerCase() !== ch.toUpperCase()) {
      // a non-ASCII letter: counts by its case, like an ASCII one
      if (ch === ch.toLowerCase()) lower = 1;
      else upper = 1;
    } else other = 1;
  }
  return lower + upper + digit + other;
}

/** Share of neighbouring characters that repeat or step by one ("aaaa", "abcd", "4321"). */
function sequenceShare(s: string): number {
  const cps = [...s.toLowerCase()].map((c) => c.codePointAt(0) ?? 0);
  if (cps.length < 2) return 1;
  let seq = 0;
  for (let i = 1; i < cps.length; i++) {
    const d = (cps[i] ?? 0) - (cps[i - 1] ?? 0);
    if (d >= -1 && d <= 1) seq++;
  }
  return seq / (cps.length - 1);
}

export function checkPassphrase(passphrase: string): PassphraseCheck {
  const p = passphrase.normalize('NFKC');
  const length = [...p].length;
  const reasons: WeakReason[] = [];
  if (length < MIN_PASSPHRASE_LENGTH) reasons.push('too-short');
  if (length > MAX_PASSPHRASE_LENGTH) reasons.push('too-long');
  const needKinds = length >= LONG_PASSPHRASE_LENGTH ? 2 : 3;
  if (kinds(p) < needKinds) reasons.push('too-few-kinds');
  const distinct = new Set(p.toLowerCase()).size;
  if (distinct < Math.max(6, Math.ceil(length / 4))) reasons.push('too-repetitive');
  if (length >= 2 && sequenceShare(p) > 0.6) reasons.push('sequence');
  // Decorations go first ("!!Dragon99" -> "Dragon"), then swaps are undone inside what remains ("P@ssw0rd").
  const core = p.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  const forms = [lettersOnly(core, true), lettersOnly(core, false), lettersOnly(p, false)];
  if (forms.some((f) => COMMON_SET.has(f)) || ownCharacters(p) < MIN_OWN_CHARACTERS) reasons.push('common');
  return { ok: reasons.length === 0, reasons };
}
