/** The bulk-import CSV reader: quoting, header check, per-line errors with the line number, plate normalisation. */
import { describe, expect, it } from 'vitest';
import { parseCsv, parseImportCsv } from '../../src/app/admin-ops';
import { isKioskError, KioskError } from '../../src/shared/errors';
import { checkLabel, checkPlates, checkWipeConfirmation, previewPlates } from '../../src/app/input-rules';
import { describeError } from '../../src/ui/error-text';
import { t, type StringKey } from '../../src/ui/i18n';

describe('bulk import CSV', () => {
  it('reads RFC 4180 quoting, CRLF and a BOM', () => {
    expect(parseCsv('a,"b ""c""",d\r\n"x,y",,z\n')).toEqual([
      ['a', 'b "c"', 'd'],
      ['x,y', '', 'z'],
    ]);
    const rows = parseImportCsv('\uFEFFfile,label,list,valid_until,plates\r\nann.jpg,"Ann, front desk",allow,2030-01-01,"ab-12 cd;XY 99"\nbob.png,Bob,DENY,,\n');
    expect(rows).toEqual([
      { file: 'ann.jpg', label: 'Ann, front desk', list: 'allow', validUntil: new Date(2030, 0, 1, 23, 59, 59, 999).getTime(), plates: ['AB12CD', 'XY99'], row: 2 },
      { file: 'bob.png', label: 'Bob', list: 'deny', plates: [], row: 3 },
    ]);
  });

  it('reads valid_until as a local date (through its last minute), a local time, or a time with an explicit zone', () => {
    const until = (v: string) => parseImportCsv(`file,label,list,valid_until\na.jpg,A,allow,${v}`)[0]!.validUntil;
    expect(until('2030-01-12')).toBe(new Date(2030, 0, 12, 23, 59, 59, 999).getTime());
    expect(until('2030-01-12T08:30')).toBe(new Date(2030, 0, 12, 8, 30).getTime());
    expect(until('2030-01-12T08:30:15')).toBe(new Date(2030, 0, 12, 8, 30, 15).getTime());
    expect(until('2030-01-12T08:30Z')).toBe(Date.UTC(2030, 0, 12, 8, 30));
    expect(until('2030-01-12T08:30+02:00')).toBe(Date.UTC(2030, 0, 12, 6, 30));
  });

  it.each([
    ['name,label,list\na.jpg,A,allow', 1, 'csv', 'header'],
    ['file,label,list\na.jpg,A,allow\nb.jpg,B,maybe', 3, 'list', 'allowDeny'],
    ['file,label,list\na.jpg,,allow', 2, 'label', 'required'],
    [`file,label,list\na.jpg,A,allow\nb.jpg,B,deny\nc.jpg,${'x'.repeat(5000)},allow`, 4, 'label', 'tooLong'],
    ['file,label,list\n,A,allow', 2, 'file', 'required'],
    ['file,label,list,valid_until\na.jpg,A,allow,someday', 2, 'validUntil', 'date'],
    // Day and month are never guessed: a UK or German spreadsheet's 12 January was read as 1 December.
    ['file,label,list,valid_until\na.jpg,A,allow,12/01/2030', 2, 'validUntil', 'date'],
    ['file,label,list,valid_until\na.jpg,A,allow,12.01.2030', 2, 'validUntil', 'date'],
    ['file,label,list,valid_until\na.jpg,A,allow,2030-02-31', 2, 'validUntil', 'date'],
    ['file,label,list,valid_until\na.jpg,A,allow,2030-13-01', 2, 'validUntil', 'date'],
    ['file,label,list,plates\na.jpg,A,allow,AB1;<>', 2, 'plates', 'plateChars'],
    [`file,label,list,plates\na.jpg,A,allow,${'9'.repeat(40)}`, 2, 'plates', 'plateTooLong'],
  ])('refuses %j naming row %i, field %s, rule %s', (text, row, field, rule) => {
    try {
      parseImportCsv(text);
      expect.unreachable();
    } catch (e) {
      expect(isKioskError(e, 'INPUT_CSV_ROW')).toBe(true);
      expect((e as KioskError).details).toMatchObject({ row, field, rule });
      // What the admin reads names the row and the rule, in either language, and not the code.
      const en = describeError(e, 'en').text;
      const zh = describeError(e, 'zh').text;
      expect(en).toContain(`CSV row ${row}`);
      expect(zh).toContain(`CSV 第 ${row} 行`);
      expect(en).not.toContain('INPUT_CSV_ROW');
      expect(en).toContain(t(`rule_${rule}` as StringKey, 'en').split('{')[0]!.trim());
    }
  });

  it('never cuts a name or normalises a plate silently', () => {
    expect(() => checkLabel('x'.repeat(5000))).toThrow(expect.objectContaining({ code: 'INPUT_TOO_LONG', details: { field: 'label', max: 200, length: 5000 } }));
    expect(() => checkLabel('   ')).toThrow(expect.objectContaining({ code: 'INPUT_REQUIRED' }));
    expect(checkLabel('  Ann Lee ')).toBe('Ann Lee');
    // The normalised form is what the screen previews before saving.
    expect(previewPlates('ÄÖÜ-123, <b>X1</b>')).toEqual(['AOU123', 'BX1B']);
    expect(() => checkPlates(['ab-12', '---'])).toThrow(expect.objectContaining({ code: 'INPUT_PLATE_INVALID', details: { field: 'plates', rule: 'plateChars', position: 2 } }));
    // Letters and digits of other alphabets are refused with the character, never dropped (attacker review,
    // session 19: "ΙΚΥ 1234" typed on a Greek keyboard was stored as 1234; Cyrillic А/В/К look Latin too).
    expect(() => checkPlates(['ΙΚΥ 1234'])).toThrow(expect.objectContaining({ code: 'INPUT_PLATE_INVALID', details: expect.objectContaining({ rule: 'plateAlphabet', char: 'Ι', position: 1 }) }));
    expect(() => checkPlates(['AB-12', 'АА 1234 ВК'])).toThrow(expect.objectContaining({ details: expect.objectContaining({ rule: 'plateAlphabet', position: 2 }) }));
    expect(() => checkPlates(['AB١٢٣'])).toThrow(expect.objectContaining({ details: expect.objectContaining({ rule: 'plateAlphabet' }) }));
    // Accents, full-width forms, separators and CN provinces stay what they were: folded or kept.
    expect(checkPlates(['Čž-55 ao', 'ＲＫ５５０', '京A·12345'])).toEqual(['CZ55AO', 'RK550', '京A12345']);
    expect(() => checkPlates(['A'.repeat(100)])).toThrow(expect.objectContaining({ code: 'INPUT_PLATE_INVALID', details: expect.objectContaining({ rule: 'plateTooLong', max: 32 }) }));
    expect(() => checkWipeConfirmation('wipe')).toThrow(expect.objectContaining({ code: 'INPUT_CONFIRMATION', details: { field: 'confirmation', word: 'WIPE' } }));
    expect(describeError(new KioskError('INPUT_CONFIRMATION', { field: 'confirmation', word: 'WIPE' }), 'en').text).toContain('type WIPE in capital letters');
  });
});
