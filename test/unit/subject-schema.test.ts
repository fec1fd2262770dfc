/**
 * One subject schema on every path: the shared vectors (test/fixtures/subjects/vectors.json) are accepted or
 * refused — naming the same field — by the vault's codec, the bundle payload (writer, and reader for what the
 * writer lets through), and the CSV bulk import. A CSV whose quote never closes is refused with the line it opened on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseImportCsv } from '../../src/app/csv-import';
import { isKioskError } from '../../src/shared/errors';
import { SUBJECT_LIMITS } from '../../src/shared/subject-schema';
import type { Subject } from '../../src/shared/types';
import { LIMITS as CODEC_LIMITS, validateSubjectInput, type SubjectInput } from '../../src/store/codec';
import { decodePayload, encodeFullPayload } from '../../src/sync/payload';

interface Vector {
  name: string;
  accept: boolean;
  field?: string;
  csv: boolean;
  subject: { label: string; list: string; plates: string[]; templates: Record<string, (string | number[])[]>; validFrom?: number; validUntil?: number };
}
const vectors: Vector[] = JSON.parse(readFileSync(new URL('../fixtures/subjects/vectors.json', import.meta.url), 'utf8')).cases;

/** "X*n": n copies (labels: one string of n X; plates: n distinct plates, or one plate of n characters for Q). */
function expandLabel(l: string): string {
  const m = /^(.)\*(\d+)$/.exec(l);
  return m ? m[1]!.repeat(Number(m[2])) : l;
}
function expandPlates(ps: string[]): string[] {
  return ps.flatMap((p) => {
    const m = /^([PQ])\*(\d+)$/.exec(p);
    if (!m) return [p];
    const n = Number(m[2]);
    // P000, P001, …: four characters, the shortest plate the CSV path (an input rule) takes.
    return m[1] === 'Q' ? ['Q'.repeat(n)] : Array.from({ length: n }, (_, i) => `P${String(i).padStart(3, '0')}`);
  });
}
function templates(spec: Record<string, (string | number[])[]>): Record<string, Float32Array[]> {
  const out: Record<string, Float32Array[]> = {};
  for (const [name, list] of Object.entries(spec)) {
    out[name] = list.flatMap((t) => {
      if (Array.isArray(t)) return [Float32Array.from(t)];
      const m = /^(unit|zero|nan):(\d+)(?:\*(\d+))?$/.exec(t)!;
      const dim = Number(m[2]);
      return Array.from({ length: Number(m[3] ?? 1) }, (_, k) => {
        const v = new Float32Array(dim);
        if (m[1] === 'unit') v[k % dim] = 1;
        if (m[1] === 'nan') v.fill(Number.NaN);
        return v;
      });
    });
  }
  return out;
}
function input(v: Vector): SubjectInput {
  const s = v.subject;
  const i: SubjectInput = { label: expandLabel(s.label), list: s.list as SubjectInput['list'], plates: expandPlates(s.plates), templates: templates(s.templates) };
  if (s.validFrom !== undefined) i.validFrom = s.validFrom;
  if (s.validUntil !== undefined) i.validUntil = s.validUntil;
  return i;
}
function subject(v: Vector): Subject {
  return { ...input(v), id: 'subject-1', createdAt: 1, updatedAt: 2, version: 3 };
}

/** 'accept', or the refusal's field (every path names it as `field`, the CSV as `reason: csv-<field>`). */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'accept';
  } catch (e) {
    if (!isKioskError(e)) throw e;
    if (e.code === 'MATCH_VECTOR_INVALID' || e.code === 'MATCH_VECTOR_LENGTH') return 'templates';
    const d = e.details ?? {};
    if (typeof d['field'] === 'string') return d['field'];
    if (typeof d['reason'] === 'string') return d['reason'].replace(/^csv-/, '').replace('valid-until', 'validUntil');
    return `?${e.code}`;
  }
}

function csvLine(v: Vector): string {
  const i = input(v);
  const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
  const until = i.validUntil !== undefined ? new Date(i.validUntil).toISOString() : '';
  return `file,label,list,valid_until,plates\nphoto.jpg,${q(i.label)},${i.list},${until},${q(i.plates.join(';'))}\n`;
}

describe('one subject schema', () => {
  it('is the codec limits themselves', () => {
    expect(CODEC_LIMITS).toBe(SUBJECT_LIMITS);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: the same answer on the vault, bundle and CSV paths', (_n, v) => {
    const want = v.accept ? 'accept' : v.field!;
    expect(outcome(() => validateSubjectInput(input(v))), 'vault codec').toBe(want);
    expect(outcome(() => encodeFullPayload([subject(v)])), 'bundle writer').toBe(want);
    if (v.accept) {
      const back = decodePayload('full', encodeFullPayload([subject(v)]));
      expect(back.kind === 'full' && back.subjects[0]).toEqual(subject(v));
    }
    if (v.csv) expect(outcome(() => parseImportCsv(csvLine(v))), 'CSV import').toBe(want);
  });

  it('refuses a CSV whose quote never closes, with the line it opened on (not the rest of the file as one field)', () => {
    const text = 'file,label,list\na.jpg,Ann,allow\nb.jpg,"Bob, night desk,allow\nc.jpg,Cy,allow\nd.jpg,Di,deny\n';
    try {
      parseImportCsv(text);
      expect.unreachable();
    } catch (e) {
      expect(isKioskError(e, 'INPUT_CSV_ROW')).toBe(true);
      expect((e as { details: Record<string, unknown> }).details).toMatchObject({ field: 'csv', rule: 'quote', row: 3 });
    }
  });

  it('names the file line of a bad row even after a quoted field that spans lines', () => {
    const text = 'file,label,list\na.jpg,"Ann\nLee",allow\n\nb.jpg,,allow\n';
    try {
      parseImportCsv(text);
      expect.unreachable();
    } catch (e) {
      expect((e as { details: Record<string, unknown> }).details).toMatchObject({ field: 'label', rule: 'required', row: 5 });
    }
  });
});
