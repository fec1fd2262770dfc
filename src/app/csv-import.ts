/**
 * The bulk-import CSV: an RFC 4180 reader and the import rows it yields (`file,label,list[,valid_until][,plates]`).
 *
 * Owns the parsing only; every row is held to the one subject schema (src/shared/subject-schema.ts) for its label,
 * list and plates (through the admin input rules in ./input-rules.ts, which apply its limits with the field, rule
 * and limit named), so a CSV row is accepted exactly when the vault would accept that person. Errors are
 * INPUT_CSV_ROW with the field, the rule and the 1-based `row`: the line of the file where the row starts, as a
 * text editor or spreadsheet shows it (a quoted field may span lines); a quote that is never closed is refused with
 * the line it opened on instead of swallowing the rest of the file. It never reads photos, never touches the vault and never shows a value back (it may be a name).
 */
import { KioskError, isKioskError } from '../shared/errors';
import { checkValidity } from '../shared/subject-schema';
import { checkLabel, checkPlates } from './input-rules';
import type { ListKind } from '../shared/types';

const CSV_HEADER = ['file', 'label', 'list'];

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

/** Reads the bulk-import CSV: header `file,label,list[,valid_until][,plates]`; plates separated by `;` (a plate may
 * contain spaces and dashes, which normalisation removes). */
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

export function parseImportCsv(text: string): CsvEntry[] {
  const rows = parseCsvRows(text.replace(/^\uFEFF/, ''));
  const header = rows.shift()?.fields.map((h) => h.trim().toLowerCase());
  if (!header || CSV_HEADER.some((h, i) => header[i] !== h)) {
    throw new KioskError('INPUT_CSV_ROW', { row: 1, field: 'csv', rule: 'header', expected: 'file,label,list[,valid_until][,plates]' });
  }
  const vu = header.indexOf('valid_until');
  const pl = header.indexOf('plates');
  return rows.map(({ line: row, fields: r }) => {
    const bad = (field: string, rule: string) => new KioskError('INPUT_CSV_ROW', { row, field, rule });
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
    if (pl >= 0 && r[pl]?.trim()) e.plates = rowRule(row, () => checkPlates(r[pl]!.split(';')));
    return e;
  });
}
