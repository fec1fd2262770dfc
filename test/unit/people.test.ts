/**
 * A person is one record (issue 19, item 1): who already holds a plate (normalised, identical glyphs folded), which
 * enrolled person a new face would be taken for (at the accept threshold, only within one embedder), and what a merge
 * keeps — never a wider door: the deny list wins and the narrower validity period is kept.
 */
import { describe, expect, it } from 'vitest';
import { faceDuplicate, mergedRecord, plateHolder } from '../../src/app/people';
import type { Subject } from '../../src/shared/types';

function unit(cos: number, n = 8): Float32Array {
  const v = new Float32Array(n);
  v[0] = cos;
  v[1] = Math.sqrt(1 - cos * cos);
  return v;
}

/** A unit vector along axis `i`: orthogonal to every `unit(…)` above (those lie in the plane of axes 0 and 1). */
function axis(i: number, n = 8): Float32Array {
  const v = new Float32Array(n);
  v[i] = 1;
  return v;
}

function person(id: string, extra: Partial<Subject> = {}): Subject {
  return { id, label: id.toUpperCase(), list: 'allow', templates: {}, plates: [], createdAt: 1, updatedAt: 1, version: 1, ...extra };
}

const A = person('a', { templates: { fr_feature: [unit(1)] }, plates: ['4S50233'] });
const B = person('b', { templates: { fr_feature: [axis(2)], dlib_resnet: [unit(1, 4)] }, plates: ['ABC123'] });

describe('plate holder', () => {
  it.each<[string, string, string | undefined, string | undefined]>([
    ['the same plate', '4S50233', undefined, 'a'],
    ['typed with spaces and lower case', '4s5 0233', undefined, 'a'],
    ['with a letter O for the zero (identical on a plate)', '4S5O233', undefined, 'a'],
    ['another plate', '4S50234', undefined, undefined],
    ['the holder themself is not a collision', '4S50233', 'a', undefined],
    ['empty text holds nothing', '  ', undefined, undefined],
  ])('%s', (_name, plate, except, want) => {
    expect(plateHolder([A, B], plate, except)?.id).toBe(want);
  });
});

describe('face duplicate', () => {
  it.each<[string, Float32Array[], string, string | undefined, string | undefined]>([
    ['a face just over the accept threshold is that person', [unit(0.451)], 'fr_feature', undefined, 'a'],
    ['just below it is new', [unit(0.44)], 'fr_feature', undefined, undefined],
    ['the best of several photos counts', [unit(0.1), unit(0.9)], 'fr_feature', undefined, 'a'],
    ['adding to the person themself is no duplicate', [unit(0.9)], 'fr_feature', 'a', undefined],
    ['templates of another embedder are never compared', [unit(1)], 'dlib_resnet', 'b', undefined],
  ])('%s', (_name, templates, embedder, except, want) => {
    expect(faceDuplicate([A, B], templates, embedder, 0.45, except)?.subject.id).toBe(want);
  });

  it('names the best match when two people are above the threshold', () => {
    const C = person('c', { templates: { fr_feature: [unit(0.6)] } });
    const d = faceDuplicate([C, A], [unit(1)], 'fr_feature', 0.45);
    expect(d?.subject.id).toBe('a');
    expect(d?.score).toBeCloseTo(1, 5);
  });
});

describe('merge', () => {
  it('keeps every template and plate (look-alike duplicates once), the keeper\'s id and label', () => {
    const m = mergedRecord(A, { ...B, plates: ['ABC123', '4S5O233'] });
    expect(m.id).toBe('a');
    expect(m.label).toBe('A');
    expect(m.templates['fr_feature']).toHaveLength(2);
    expect(m.templates['dlib_resnet']).toHaveLength(1);
    expect(m.plates).toEqual(['4S50233', 'ABC123']);
  });

  it.each<[string, Partial<Subject>, Partial<Subject>, Partial<ReturnType<typeof mergedRecord>>]>([
    ['allow + allow stays allow', {}, {}, { list: 'allow' }],
    ['deny on either side wins', {}, { list: 'deny' }, { list: 'deny' }],
    ['deny keeper stays deny', { list: 'deny' }, {}, { list: 'deny' }],
    ['the narrower period: later start, earlier end', { validFrom: 10, validUntil: 100 }, { validFrom: 20, validUntil: 200 }, { validFrom: 20, validUntil: 100 }],
    ['an open end takes the other\'s end', {}, { validUntil: 50 }, { validUntil: 50 }],
  ])('%s', (_name, keep, other, want) => {
    expect(mergedRecord(person('k', keep), person('o', other))).toMatchObject(want);
  });
});
