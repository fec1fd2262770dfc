/** The bulk-import CSV reader: quoting, header check, per-line errors with the line number, plate normalisation. */
import { describe, expect, it } from 'vitest';
import { parseCsv, parseImportCsv } from '../../src/app/admin-ops';
import { isKioskError } from '../../src/shared/errors';

describe('bulk import CSV', () => {
  it('reads RFC 4180 quoting, CRLF and a BOM', () => {
    expect(parseCsv('a,"b ""c""",d\r\n"x,y",,z\n')).toEqual([
      ['a', 'b "c"', 'd'],
      ['x,y', '', 'z'],
    ]);
    const rows = parseImportCsv('\uFEFFfile,label,list,valid_until,plates\r\nann.jpg,"Ann, front desk",allow,2030-01-01,"ab-12 cd;XY 99"\nbob.png,Bob,DENY,,\n');
    expect(rows).toEqual([
      { file: 'ann.jpg', label: 'Ann, front desk', list: 'allow', validUntil: Date.parse('2030-01-01'), plates: ['AB12CD', 'XY99'] },
      { file: 'bob.png', label: 'Bob', list: 'deny', plates: [] },
    ]);
  });

  it.each([
    ['name,label,list\na.jpg,A,allow', 'csv-header'],
    ['file,label,list\na.jpg,A,maybe', 'csv-list'],
    ['file,label,list\na.jpg,,allow', 'csv-label'],
    ['file,label,list,valid_until\na.jpg,A,allow,someday', 'csv-valid-until'],
  ])('refuses %j with %s', (text, reason) => {
    try {
      parseImportCsv(text);
      expect.unreachable();
    } catch (e) {
      expect(isKioskError(e, 'INPUT_INVALID')).toBe(true);
      expect((e as { details: { reason: string } }).details.reason).toBe(reason);
    }
  });
});
