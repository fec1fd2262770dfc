import { describe, expect, it } from 'vitest';
import {
  decodeEntry,
  decodePage,
  decodeSubject,
  encodePage,
  encodeSubject,
  validateSubjectInput,
  MalformedRecordError,
} from '../../src/store/codec';
import { isKioskError } from '../../src/shared/errors';

function tpl(dim: number, seed: number): Float32Array {
  const t = new Float32Array(dim);
  for (let i = 0; i < dim; i++) t[i] = Math.sin(seed * 31 + i) / Math.sqrt(dim);
  return t;
}

describe('subject codec', () => {
  it('round-trips bit-exactly, templates as float32 views (no quantisation)', () => {
    const s = {
      label: 'Ada Lovelace — Reception',
      list: 'allow' as const,
      validFrom: 1,
      validUntil: 2,
      templates: { fr: [tpl(512, 1), tpl(512, 2), tpl(512, 3)], dlib: [tpl(128, 4)] },
      plates: ['AB-123-CD'],
      createdAt: 10,
      updatedAt: 20,
    };
    const bytes = encodeSubject(s);
    expect(bytes.byteLength).toBeLessThan(4 + 300 + (512 * 3 + 128) * 4 + 4);
    const back = decodeSubject(bytes.buffer, 'id1', 7);
    expect(back).toMatchObject({
      id: 'id1',
      version: 7,
      label: s.label,
      list: 'allow',
      validFrom: 1,
      validUntil: 2,
      plates: s.plates,
    });
    for (const name of ['fr', 'dlib'] as const) {
      const a = s.templates[name];
      const b = back.templates[name];
      expect(b?.length).toBe(a.length);
      a.forEach((t, i) => expect(Array.from(b?.[i] ?? [])).toEqual(Array.from(t)));
      // zero-copy: views into the one decrypted buffer
      expect(b?.[0]?.buffer).toBe(bytes.buffer);
    }
  });

  it('rejects a truncated payload as malformed', () => {
    const bytes = encodeSubject({
      label: 'x',
      list: 'deny',
      templates: { fr: [tpl(8, 1)] },
      plates: [],
      createdAt: 0,
      updatedAt: 0,
    });
    expect(() => decodeSubject(bytes.slice(0, bytes.byteLength - 4).buffer, 'id', 1)).toThrow(MalformedRecordError);
  });

  it('validates input at the boundary with the failing field, never the value', () => {
    const ok = { label: 'A', list: 'allow' as const, templates: { fr: [tpl(4, 1)] }, plates: [] };
    expect(() => validateSubjectInput(ok)).not.toThrow();
    const cases: [unknown, string][] = [
      [{ ...ok, label: ' ' }, 'INPUT_INVALID'],
      [{ ...ok, list: 'maybe' }, 'INPUT_INVALID'],
      [{ ...ok, validFrom: 5, validUntil: 4 }, 'INPUT_INVALID'],
      [{ ...ok, plates: [''] }, 'INPUT_INVALID'],
      [{ ...ok, templates: { fr: [new Float32Array([NaN, 1])] } }, 'MATCH_VECTOR_INVALID'],
      [{ ...ok, templates: { fr: [new Float32Array(4)] } }, 'MATCH_VECTOR_INVALID'],
      [{ ...ok, templates: { fr: [tpl(4, 1), tpl(5, 1)] } }, 'MATCH_VECTOR_LENGTH'],
    ];
    for (const [input, code] of cases) {
      let err: unknown;
      try {
        validateSubjectInput(input as never);
      } catch (e) {
        err = e;
      }
      expect(
        isKioskError(err),
        JSON.stringify(input, (_k, v) => (v instanceof Float32Array ? [...v] : v)),
      ).toBe(true);
      expect((err as { code: string }).code).toBe(code);
    }
  });

  it('packs subjects into a page whose templates decode as aligned views of the one page buffer', () => {
    const mk = (i: number, dim: number) => ({
      label: `P${i}${'x'.repeat(i)}`, // odd header lengths: alignment must still hold
      list: 'allow' as const,
      templates: { fr: [tpl(dim, i), tpl(dim, i + 1)] },
      plates: [],
      createdAt: i,
      updatedAt: i,
    });
    const subjects = [mk(1, 512), mk(2, 128), mk(3, 7)];
    const page = encodePage(subjects.map((s, i) => ({ id: `id-${i}-é`, v: 10 + i, payload: encodeSubject(s) })));
    const entries = decodePage(page.buffer);
    expect(entries.map((e) => [e.id, e.v])).toEqual([
      ['id-0-é', 10],
      ['id-1-é', 11],
      ['id-2-é', 12],
    ]);
    entries.forEach((e, i) => {
      const s = decodeEntry(e);
      expect(s.label).toBe(subjects[i]!.label);
      expect(s.version).toBe(10 + i);
      const t = s.templates.fr!;
      expect(t[0]!.buffer).toBe(page.buffer);
      expect(t[0]!.byteOffset % 4).toBe(0);
      expect(Array.from(t[1]!)).toEqual(Array.from(subjects[i]!.templates.fr[1]!));
    });
    expect(() => decodePage(page.slice(0, page.byteLength - 8).buffer)).toThrow(MalformedRecordError);
  });
});
