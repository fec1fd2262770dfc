/**
 * The bulk-import CSV: its bytes as UTF-8 text, an RFC 4180 reader and the import rows it yields
 * (`file,label,list[,valid_until][,plates]`).
 *
 * Owns the parsing only; every row is held to the one subject schema (src/shared/subject-schema.ts) for its label,
 * list and plates (through the admin input rules in ./input-rules.ts, which apply its limits with the field, rule
 * and limit named), so a CSV row is accepted exactly when the vault would accept that person. Errors are
 * INPUT_CSV_ROW with the field, the rule and the 1-based `row`: the line of the file where the row starts, as a
 * text editor or spreadsheet shows it (a quoted field may span lines); a quote that is never closed is refused with
 * the line it opened on instead of swallowing the rest of the file. Nothing in the file is ignored: a column the
 * import does not know (a misspelt `valid_until` meant an enrolment with no end date), a column given twice, a value
 * beyond the named columns (an unquoted comma) and a file that is not UTF-8 (names stored with replacement
 * characters) are refused with the row and column. It never reads photos, never touches the vault and never shows a
 * value back (it may be a name); only a header's column, which names a column and not a person, is quoted.
 */
import { KioskError, isKioskError } from '../shared/errors';
import { checkValidity } from '../shared/subject-schema';
import { checkLabel, checkPlates, splitPlates } from './input-rules';
import type { ListKind } from '../shared/types';

const CSV_HEADER = ['file', 'label', 'list'];
const CSV_HEADER_TEXT = 'file,label,list[,valid_until][,plates]';

/**
 * The columns a bulk-import CSV may have, and the field each one's errors name. A column is matched in any upper or
 * lower case, spaces around it ignored (a spreadsheet's "File,Label,List" is the same header), but otherwise spelt
 * exactly: "Valid Until", "valid-until" and "validuntil" are refused, naming the spelling to use, rather than guessed.
 * Any folding rule has edges nobody reads in the help text ("valid until" yes, "valid_until_date" no?), and a column
 * guessed wrong or ignored is a person enrolled with no end date or without their plates; the refusal names the
 * column and the accepted ones, so the fix takes a second.
 */
const CSV_COLUMNS = new Map([
  ['file', 'file'],
  ['label', 'label'],
  ['list', 'list'],
  ['valid_until', 'validUntil'],
  ['plates', 'plates'],
]);

/** A header cell as an error may quote it: control characters dropped, at most 40 characters (display only). */
function shownColumn(h: string): string {
  const v = h.trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  return v.length > 40 ? `${v.slice(0, 39)}…` : v;
}

/**
 * The text of a CSV file's bytes, which must be UTF-8 (a byte-order mark is fine and dropped). Excel's plain "CSV
 * (comma delimited)" writes the computer's legacy code page (Windows-1252 in Western Europe, GBK in China): decoded
 * as UTF-8 with replacement characters, "Zoë Müller" was stored as "Zo\uFFFD M\uFFFDller" and reported enrolled. It is
 * refused instead (INPUT_CSV_ROW, rule `notUtf8`), naming the row and column of the first byte that is not UTF-8
 * and saying to save the file as "CSV UTF-8".
 */
export function decodeCsv(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new KioskError('INPUT_CSV_ROW', { ...notUtf8Place(bytes), rule: 'notUtf8' });
  }
}

/** Reads a chosen CSV file as UTF-8 text (see decodeCsv). */
export async function readCsvFile(file: Blob): Promise<string> {
  return decodeCsv(new Uint8Array(await file.arrayBuffer()));
}

/** The text of the first `k` bytes; null if they hold a byte that is not UTF-8 (a sequence cut off at the end is fine). */
function utf8Prefix(bytes: Uint8Array, k: number): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, k), { stream: true });
  } catch {
    return null;
  }
}

/** The row (and, under a known column, the field) where the first byte that is not UTF-8 is. */
function notUtf8Place(bytes: Uint8Array): { row: number; field?: string } {
  // The text before it: the longest prefix that decodes (binary search; a prefix of a valid prefix is valid).
  let lo = 0;
  let hi = bytes.length;
  if (utf8Prefix(bytes, hi) === null) {
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (utf8Prefix(bytes, mid) === null) hi = mid;
      else lo = mid;
    }
  } else lo = hi; // only a sequence cut off at the very end
  const at = (utf8Prefix(bytes, lo) ?? '').length;
  // The same text with replacement characters: the character at `at` is the first one replaced. A character the
  // file does not contain marks it, and the CSV reader says which row and field it fell in.
  const lossy = new TextDecoder('utf-8').decode(bytes);
  let mark = 0xe000;
  while (lossy.includes(String.fromCharCode(mark))) mark++;
  const marked = `${lossy.slice(0, at)}${String.fromCharCode(mark)}${lossy.slice(at + 1)}`;
  const lineOf = () => 1 + (lossy.slice(0, at).match(/\r\n|\r|\n/g)?.length ?? 0);
  try {
    const rows = parseCsvRows(marked.replace(/^\uFEFF/, ''));
    const header = rows[0]?.fields.map((h) => h.trim().toLowerCase()) ?? [];
    for (const [i, r] of rows.entries()) {
      const col = r.fields.findIndex((f) => f.includes(String.fromCharCode(mark)));
      if (col < 0) continue;
      const field = i > 0 ? CSV_COLUMNS.get(header[col] ?? '') : undefined;
      return { row: r.line, ...(field ? { field } : {}) };
    }
  } catch {
    // An unclosed quote as well: the line is still known.
  }
  return { row: lineOf() };
}

export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  line: number;
  fields: string[];
}

/** RFC 4180 rows (quotes, escaped quotes, CRLF, quoted newlines) with the line each starts on; blank rows skipped. */
export function parseCsvRows(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 0;
  const endRow = () => {
    row.push(field);
    field = '';
    if (row.some((f) => f.trim() !== '')) rows.push({ line: rowLine, fields: row });
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += c;
  }
  if (quoted) throw new KioskError('INPUT_CSV_ROW', { row: quoteLine, field: 'csv', rule: 'quote' });
  endRow();
  return rows;
}

/** The rows' fields only (see parseCsvRows). */
export function parseCsv(text: string): string[][] {
  return parseCsvRows(text).map((r) => r.fields);
}

export interface CsvEntry {
  file: string;
  label: string;
  list: ListKind;
  validUntil?: number;
  plates: string[];
  /** The line this entry starts on (1 = the header), for reports that name the row. */
  row: number;
}

/** A field rule's refusal, re-raised as the CSV row it came from (same field and rule, plus the row). */
function rowRule<T>(row: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isKioskError(e)) throw e;
    const rule = e.code === 'INPUT_REQUIRED' ? 'required' : e.code === 'INPUT_TOO_LONG' ? 'tooLong' : e.code === 'INPUT_INVALID' ? 'invalid' : undefined;
    throw new KioskError('INPUT_CSV_ROW', { ...e.details, ...(rule ? { rule } : {}), row });
  }
}

/**
 * A CSV end date, in one spelling only: `YYYY-MM-DD` (valid through the end of that day) or `YYYY-MM-DDTHH:MM[:SS[.mmm]]`,
 * both in the tablet's local time (as the people card's picker), or with an explicit `Z` / `±HH:MM`. Anything else is
 * refused: `Date.parse` read "12/01/2030" and "12.01.2030" as 1 December (a UK or German spreadsheet's 12 January,
 * so ~11 months more access) and a bare date as midnight UTC (attacker review, session 19). null when refused.
 */
export function parseValidUntil(v: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(v);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hh, mi, ss] = [m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x)));
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const zone = m[8];
  if (mo < 1 || mo > 12 || (hh ?? 0) > 23 || (mi ?? 0) > 59 || (ss ?? 0) > 59) return null;
  // 2030-02-31 would roll over into March: refused, not moved.
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return null;
  if (zone) return Date.parse(v);
  if (hh === undefined) return new Date(y, mo - 1, d, 23, 59, 59, 999).getTime();
  return new Date(y, mo - 1, d, hh, mi ?? 0, ss ?? 0, ms).getTime();
}

/**
 * Reads the bulk-import CSV: header `file,label,list[,valid_until][,plates]` (see CSV_COLUMNS); several plates in
 * one cell separated by commas or semicolons, as the typed plates field splits them (a plate may contain spaces and
 * dashes, which normalisation removes). A row with a value beyond the header's named columns is refused (an
 * unquoted comma in a name or in plates moved the values after it); empty fields there (a spreadsheet's trailing
 * commas) carry nothing and are let through.
 */
export function parseImportCsv(text: string): CsvEntry[] {
  const rows = parseCsvRows(text.replace(/^\uFEFF/, ''));
  const head = rows.shift();
  const header = head?.fields.map((h) => h.trim().toLowerCase());
  if (!head || !header || CSV_HEADER.some((h, i) => header[i] !== h)) {
    throw new KioskError('INPUT_CSV_ROW', { row: 1, field: 'csv', rule: 'header', expected: CSV_HEADER_TEXT });
  }
  const seen = new Set<string>();
  header.forEach((h, i) => {
    // An empty header cell (trailing commas) names no column: a value under it is refused per row below.
    if (h === '') return;
    const where = { row: head.line, column: shownColumn(head.fields[i]!), position: i + 1 };
    if (!CSV_COLUMNS.has(h)) throw new KioskError('INPUT_CSV_ROW', { ...where, rule: 'unknownColumn', expected: CSV_HEADER_TEXT });
    if (seen.has(h)) throw new KioskError('INPUT_CSV_ROW', { ...where, rule: 'duplicateColumn' });
    seen.add(h);
  });
  const vu = header.indexOf('valid_until');
  const pl = header.indexOf('plates');
  return rows.map(({ line: row, fields: r }) => {
    const bad = (field: string, rule: string) => new KioskError('INPUT_CSV_ROW', { row, field, rule });
    // First, so an unquoted comma is named as such rather than as the bad list or date it shifted into place.
    const extra = r.findIndex((f, i) => (header[i] ?? '') === '' && f.trim() !== '');
    if (extra >= 0) throw new KioskError('INPUT_CSV_ROW', { row, rule: 'extraField', position: extra + 1, columns: header.filter((h) => h !== '').length });
    const list = r[2]?.trim().toLowerCase();
    if (list !== 'allow' && list !== 'deny') throw bad('list', 'allowDeny');
    const file = (r[0] ?? '').trim();
    if (!file) throw bad('file', 'required');
    const label = rowRule(row, () => checkLabel(r[1] ?? ''));
    const e: CsvEntry = { file, label, list, plates: [], row };
    if (vu >= 0 && r[vu]?.trim()) {
      const t = parseValidUntil(r[vu]!.trim());
      if (t === null) throw bad('validUntil', 'date');
      rowRule(row, () => checkValidity(undefined, t));
      e.validUntil = t;
    }
    if (pl >= 0 && r[pl]?.trim()) e.plates = rowRule(row, () => checkPlates(splitPlates(r[pl]!)));
    return e;
  });
}
