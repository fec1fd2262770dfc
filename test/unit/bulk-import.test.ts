/**
 * The bulk import's own reports (src/app/enrolment.ts bulkImport), with a stand-in app: no face worker or vault, a
 * template per photo and the people stored recorded. Review of bad input: finding 8 (a photo the CSV names but not
 * chosen said "Nothing was imported." while the other rows were, and its rule showed a raw `{file}`), finding 12 (a
 * person who could not be stored marked every line with the same name failed, a namesake on the other list too,
 * though stored) and finding 3 (the chosen CSV file is read as UTF-8 only).
 */
import { describe, expect, it } from 'vitest';
import type { KioskController } from '../../src/app/controller';
import { EnrolmentService } from '../../src/app/enrolment';
import { KioskError } from '../../src/shared/errors';
import type { SubjectInput } from '../../src/store';
import { describeError } from '../../src/ui/error-text';

/** An app whose face worker gives every photo the same template, with one person holding plate XY99. */
function standIn(): { enrolment: EnrolmentService; stored: SubjectInput[]; held: unknown[] } {
  const stored: SubjectInput[] = [];
  const held: unknown[] = [];
  const app = {
    authority: { require: () => undefined },
    snapshot: { settings: { kioskId: 'kiosk-test' } },
    clock: { wall: () => Date.UTC(2026, 0, 1) },
    faces: { enrolFromImage: async () => ({ template: new Float32Array([1, 0, 0, 0]) }) },
    listSubjects: () => [{ id: 'holder', label: 'Holder', list: 'allow', plates: ['XY99'] }],
    vault: {
      loadWatchlist: async () => ({ subjects: [] }),
      enrol: async (input: SubjectInput) => {
        stored.push(input);
        return { ...input, id: `s${stored.length}` };
      },
      audit: { append: async () => undefined },
      // The sealed local-revocations record (a deny-list enrolment is held there): none yet, nothing quarantined.
      keys: { get: async () => held.at(-1), put: async (_name: string, v: unknown) => void held.push(v) },
      listQuarantine: async () => [],
      subjects: { delete: async () => undefined },
      asOneChange: <T>(fn: () => Promise<T>) => fn(),
    },
    watchlistSettled: async () => undefined,
  };
  return { enrolment: new EnrolmentService(app as unknown as KioskController), stored, held };
}

const photo = (name: string) => new File([new Uint8Array([1])], name, { type: 'image/jpeg' });

describe('bulk import reports', () => {
  it('holds each person enrolled on the deny list here over the next bundle, and no one on the allow list', async () => {
    // Attacker review (session 33): a desk's full bundle, which cannot list them, deleted them (src/sync/plan.ts).
    const { enrolment, held } = standIn();
    const r = await enrolment.bulkImport(
      [photo('a.jpg'), photo('b.jpg'), photo('c.jpg')],
      'file,label,list\na.jpg,Ann,allow\nb.jpg,Bob,deny\nc.jpg,Cy,deny\n',
    );
    expect(r.map((x) => x.ok)).toEqual([true, true, true]);
    expect(held.at(-1)).toEqual({ s2: { deny: true, keep: true }, s3: { deny: true, keep: true } });
  });

  it('a photo the CSV names but that was not chosen: that row only, named, in words that are true', async () => {
    const { enrolment, stored } = standIn();
    const r = await enrolment.bulkImport([photo('a.jpg')], 'file,label,list\na.jpg,Ann,allow\nb.jpg,Bob,deny\n');
    expect(stored.map((s) => s.label)).toEqual(['Ann']);
    const missing = r.find((x) => x.file === 'b.jpg')!;
    expect(missing).toMatchObject({
      ok: false,
      code: 'INPUT_CSV_PHOTO_MISSING',
      details: { row: 3, field: 'file', rule: 'photoMissing' },
    });
    const err = KioskError.fromJSON({ code: missing.code!, message: missing.message!, details: missing.details! });
    const en = describeError(err, 'en').text;
    const zh = describeError(err, 'zh').text;
    expect(en).toContain('This row was not imported');
    expect(en).toContain('CSV row 3, column Photo file: choose it together with the other photos');
    expect(en).not.toContain('Nothing was imported');
    expect(zh).toContain('CSV 第 3 行');
    expect(zh).not.toContain('未导入任何内容');
    for (const t of [en, zh]) expect(t).not.toMatch(/\{\w+\}/);
  });

  it('a person who cannot be stored marks their own lines failed, not a namesake on the other list', async () => {
    const { enrolment, stored } = standIn();
    // Sam (allow) brings plate XY99, which another person holds: refused. Sam (deny) is someone else, and stored.
    const csv = 'file,label,list,plates\na.jpg,Sam,allow,XY 99\nb.jpg,Sam,deny,\nc.jpg,Sam,allow,\n';
    const r = await enrolment.bulkImport([photo('a.jpg'), photo('b.jpg'), photo('c.jpg')], csv);
    expect(stored.map((s) => [s.label, s.list])).toEqual([['Sam', 'deny']]);
    expect(r.map((x) => [x.file, x.ok, x.code ?? ''])).toEqual([
      ['a.jpg', false, 'ENROL_PLATE_TAKEN'],
      ['b.jpg', true, ''],
      ['c.jpg', false, 'ENROL_PLATE_TAKEN'],
    ]);
    expect(r[0]).toMatchObject({ holderId: 'holder' });
  });

  it('reads the chosen CSV file as UTF-8 and refuses a Windows-1252 one before anything is stored', async () => {
    const { enrolment, stored } = standIn();
    const ok = new Blob([new Uint8Array([0xef, 0xbb, 0xbf]), 'file,label,list\nz.jpg,Zoë Müller,allow\n']);
    await expect(enrolment.bulkImport([photo('z.jpg')], ok)).resolves.toMatchObject([
      { ok: true, label: 'Zoë Müller' },
    ]);
    expect(stored.map((s) => s.label)).toEqual(['Zoë Müller']);
    const cp1252 = new Blob([
      Uint8Array.from('file,label,list\nz.jpg,Zo\u00eb M\u00fcller,allow\n', (c) => c.charCodeAt(0)),
    ]);
    await expect(enrolment.bulkImport([photo('z.jpg')], cp1252)).rejects.toMatchObject({
      code: 'INPUT_CSV_ROW',
      details: { row: 2, field: 'label', rule: 'notUtf8' },
    });
    expect(stored).toHaveLength(1);
  });
});
