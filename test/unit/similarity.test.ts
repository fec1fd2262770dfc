/**
 * Similarity guards and 1:N search: every refusal has its MATCH_* code, and the SIMD gallery (f32 and int8 with
 * exact re-scoring) returns exactly what a brute-force float64 scan returns.
 */
import { describe, expect, it } from 'vitest';
import { isKioskError, type ErrorCode } from '../../src/shared/errors';
import {
  cosineFromL2,
  cosineSimilarity,
  isUnitTemplate,
  l2Distance,
  l2Normalise,
} from '../../src/matching/face/similarity';
import { FaceGallery, type GalleryEntry } from '../../src/matching/face/gallery';
import { createDotKernel, kernelModuleBytes, wasmSimdAvailable } from '../../src/matching/face/dot-kernel';

function code(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (isKioskError(e)) return e.code;
    throw e;
  }
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussianUnit(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const u = Math.max(rand(), 1e-12);
    v[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return l2Normalise(v);
}

describe('similarity guards', () => {
  const a = l2Normalise([1, 2, 3]);
  it.each([
    ['length mismatch', () => cosineSimilarity([1, 2, 3], [1, 2]), 'MATCH_VECTOR_LENGTH'],
    ['zero norm a', () => cosineSimilarity([0, 0, 0], [1, 2, 3]), 'MATCH_VECTOR_INVALID'],
    ['zero norm b', () => cosineSimilarity([1, 2, 3], [0, 0, 0]), 'MATCH_VECTOR_INVALID'],
    ['NaN', () => cosineSimilarity([1, NaN, 3], [1, 2, 3]), 'MATCH_VECTOR_INVALID'],
    ['Infinity', () => cosineSimilarity([1, 2, 3], [1, Infinity, 3]), 'MATCH_VECTOR_INVALID'],
    ['empty', () => cosineSimilarity([], []), 'MATCH_VECTOR_INVALID'],
    ['l2 length mismatch', () => l2Distance([1], [1, 2]), 'MATCH_VECTOR_LENGTH'],
    ['l2 NaN', () => l2Distance([NaN, 1], [1, 2]), 'MATCH_VECTOR_INVALID'],
    ['l2 zero', () => l2Distance([0, 0], [1, 2]), 'MATCH_VECTOR_INVALID'],
    ['normalise zero', () => l2Normalise([0, 0]), 'MATCH_VECTOR_INVALID'],
    ['normalise NaN', () => l2Normalise([NaN, 0]), 'MATCH_VECTOR_INVALID'],
    ['fine', () => cosineSimilarity(a, a), 'none'],
  ] as const)('%s → %s', (_name, fn, expected) => {
    expect(code(fn)).toBe(expected);
  });

  it('computes cosine, L2 and their relation on unit vectors', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([2, 0], [5, 0])).toBe(1);
    expect(cosineSimilarity([1, 0], [-3, 0])).toBe(-1);
    expect(cosineSimilarity([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 12);
    const x = l2Normalise([3, 4, 0]);
    const y = l2Normalise([0, 4, 3]);
    expect(cosineFromL2(l2Distance(x, y))).toBeCloseTo(cosineSimilarity(x, y), 6);
    expect(isUnitTemplate(x)).toBe(true);
    expect(isUnitTemplate([1, 1])).toBe(false);
    expect(isUnitTemplate([NaN])).toBe(false);
  });

  it('does not modify its inputs', () => {
    const v = [3, 4];
    l2Normalise(v);
    cosineSimilarity(v, [1, 1]);
    expect(v).toEqual([3, 4]);
  });
});

describe('dot kernel', () => {
  it('assembles a valid WebAssembly SIMD module', () => {
    expect(WebAssembly.validate(kernelModuleBytes())).toBe(true);
    expect(wasmSimdAvailable()).toBe(true);
  });

  it.each(['f32', 'int8'] as const)('%s SIMD kernel equals the scalar kernel (dims not multiple of 32 padded)', (p) => {
    const rand = rng(7);
    const rows = 37;
    const dim = 100;
    const wasm = createDotKernel(p, rows, dim, true);
    const js = createDotKernel(p, rows, dim, false);
    expect(wasm.simd).toBe(true);
    expect(js.simd).toBe(false);
    const gen = () =>
      Array.from({ length: dim }, () => (p === 'f32' ? rand() * 2 - 1 : Math.round(rand() * 254 - 127)));
    for (let r = 0; r < rows; r++) {
      const row = gen();
      wasm.setRow(r, row);
      js.setRow(r, row);
    }
    const q = gen();
    const a = Array.from(wasm.scores(q));
    const b = Array.from(js.scores(q));
    for (let r = 0; r < rows; r++) {
      if (p === 'int8') expect(a[r]).toBe(b[r]);
      else expect(a[r]).toBeCloseTo(b[r]!, 4);
    }
  });
});

describe('FaceGallery 1:N', () => {
  function bruteForce(entries: GalleryEntry[], probe: Float32Array) {
    const best = new Map<string, number>();
    for (const e of entries) {
      let d = 0;
      for (let j = 0; j < probe.length; j++) d += e.template[j]! * probe[j]!;
      best.set(e.subjectId, Math.max(best.get(e.subjectId) ?? -Infinity, d));
    }
    const sorted = [...best].sort((x, y) => y[1] - x[1]);
    return sorted;
  }

  function makeGallery(seed: number, identities: number, perId: number, dim: number) {
    const rand = rng(seed);
    const entries: GalleryEntry[] = [];
    const centres: Float32Array[] = [];
    for (let k = 0; k < identities; k++) {
      const c = gaussianUnit(dim, rand);
      centres.push(c);
      for (let t = 0; t < perId; t++) {
        const noise = gaussianUnit(dim, rand);
        entries.push({ subjectId: `id${k}`, template: l2Normalise(c.map((x, j) => x + 0.5 * noise[j]!)) });
      }
    }
    return { entries, centres, rand };
  }

  it.each([
    ['f32', true],
    ['int8', true],
    ['f32', false],
    ['int8', false],
  ] as const)(
    '%s (wasm=%s) returns the brute-force best and runner-up identity with exact scores',
    (precision, useWasm) => {
      const dim = 128;
      const { entries, centres, rand } = makeGallery(11, 300, 3, dim);
      const g = FaceGallery.build(entries, { precision, useWasm });
      expect(g.size).toBe(900);
      expect(g.identities).toBe(300);
      expect(g.precision).toBe(precision);
      for (let i = 0; i < 40; i++) {
        // Probes near an enrolled identity, and pure strangers.
        const stranger = i % 4 === 0;
        const noise = gaussianUnit(dim, rand);
        const probe = stranger ? noise : l2Normalise(centres[i]!.map((x, j) => x + 0.6 * noise[j]!));
        const truth = bruteForce(entries, probe);
        const r = g.search(probe);
        expect(r.best?.subjectId).toBe(truth[0]![0]);
        expect(r.best?.score).toBeCloseTo(truth[0]![1], 5);
        expect(r.second?.subjectId).toBe(truth[1]![0]);
        expect(r.second?.score).toBeCloseTo(truth[1]![1], 5);
        if (precision === 'int8') expect(r.rescored).toBeGreaterThan(0);
      }
    },
  );

  it.each(['f32', 'int8'] as const)(
    '%s: a removed identity is never reported again and the rest answer as a gallery built without it',
    (precision) => {
      const dim = 64;
      const { entries, centres, rand } = makeGallery(5, 60, 2, dim);
      const g = FaceGallery.build(entries, { precision });
      const gone = new Set(['id3', 'id7', 'id8']);
      for (const id of gone) expect(g.remove(id)).toBe(true);
      expect(g.remove('id3')).toBe(false);
      expect(g.remove('nobody')).toBe(false);
      expect(g.identities).toBe(57);
      expect(g.liveRows).toBe(114);
      const kept = entries.filter((e) => !gone.has(e.subjectId));
      for (const i of [3, 7, 8, 10, 20]) {
        // Probes at a removed person's own face: the best answer must now be somebody else.
        const noise = gaussianUnit(dim, rand);
        const probe = l2Normalise(centres[i]!.map((x, j) => x + 0.3 * noise[j]!));
        const truth = bruteForce(kept, probe);
        const r = g.search(probe);
        expect(gone.has(r.best!.subjectId)).toBe(false);
        expect(gone.has(r.second!.subjectId)).toBe(false);
        expect(r.best?.subjectId).toBe(truth[0]![0]);
        expect(r.best?.score).toBeCloseTo(truth[0]![1], 5);
        expect(r.second?.subjectId).toBe(truth[1]![0]);
      }
      // Everyone removed: nobody is reported.
      for (let k = 0; k < 60; k++) g.remove(`id${k}`);
      expect(g.search(centres[0]!)).toMatchObject({ best: null, second: null });
    },
  );

  it('int8 stays exact when identities are closer together than the quantisation error', () => {
    // 400 identities all within a hair of one direction: approximate int8 scores reorder them, so only the exact
    // re-scoring of every candidate inside the error bound can return the true best and runner-up.
    const dim = 512;
    const rand = rng(99);
    const base = gaussianUnit(dim, rand);
    const entries: GalleryEntry[] = [];
    for (let k = 0; k < 400; k++) {
      const n = gaussianUnit(dim, rand);
      entries.push({ subjectId: `id${k}`, template: l2Normalise(base.map((x, j) => x + 0.02 * n[j]!)) });
    }
    const g = FaceGallery.build(entries, { precision: 'int8' });
    for (let i = 0; i < 30; i++) {
      const n = gaussianUnit(dim, rand);
      const probe = l2Normalise(base.map((x, j) => x + 0.03 * n[j]!));
      const truth = bruteForce(entries, probe);
      const r = g.search(probe);
      expect([r.best?.subjectId, r.second?.subjectId]).toEqual([truth[0]![0], truth[1]![0]]);
      expect(r.best!.score).toBeCloseTo(truth[0]![1], 6);
    }
  });

  it('int8 layout holds 4× less matrix memory than f32', () => {
    const { entries } = makeGallery(3, 50, 2, 512);
    const f = FaceGallery.build(entries, { precision: 'f32' });
    const q = FaceGallery.build(entries, { precision: 'int8' });
    expect(f.matrixBytes).toBe(100 * 512 * 4);
    expect(q.matrixBytes).toBe(100 * 512);
  });

  it('picks int8 automatically for large galleries only', () => {
    expect(FaceGallery.build(makeGallery(1, 10, 1, 512).entries).precision).toBe('f32');
    expect(FaceGallery.build(makeGallery(1, 2000, 1, 512).entries).precision).toBe('int8');
  });

  it('answers null/null for an empty gallery and one identity with no runner-up', () => {
    const empty = FaceGallery.build([], {}, 4);
    expect(empty.search([1, 0, 0, 0])).toEqual({ best: null, second: null, rescored: 0 });
    const one = FaceGallery.build([{ subjectId: 'a', template: l2Normalise([1, 0, 0, 0]) }]);
    const r = one.search([1, 0, 0, 0]);
    expect(r.best).toEqual({ subjectId: 'a', score: 1 });
    expect(r.second).toBeNull();
  });

  it.each([
    [
      'probe length',
      () => FaceGallery.build([{ subjectId: 'a', template: l2Normalise([1, 0]) }]).search([1, 0, 0]),
      'MATCH_VECTOR_LENGTH',
    ],
    [
      'probe NaN',
      () => FaceGallery.build([{ subjectId: 'a', template: l2Normalise([1, 0]) }]).search([NaN, 0]),
      'MATCH_VECTOR_INVALID',
    ],
    [
      'probe zero',
      () => FaceGallery.build([{ subjectId: 'a', template: l2Normalise([1, 0]) }]).search([0, 0]),
      'MATCH_VECTOR_INVALID',
    ],
    [
      'mixed template lengths',
      () =>
        FaceGallery.build([
          { subjectId: 'a', template: l2Normalise([1, 0]) },
          { subjectId: 'b', template: l2Normalise([1, 0, 0]) },
        ]),
      'MATCH_VECTOR_LENGTH',
    ],
    [
      'unnormalised template',
      () => FaceGallery.build([{ subjectId: 'a', template: new Float32Array([3, 4]) }]),
      'MATCH_VECTOR_INVALID',
    ],
    [
      'NaN template',
      () => FaceGallery.build([{ subjectId: 'a', template: new Float32Array([NaN, 1]) }]),
      'MATCH_VECTOR_INVALID',
    ],
    ['no dimension', () => FaceGallery.build([]), 'MATCH_VECTOR_INVALID'],
  ] as const)('refuses %s', (_n, fn, expected) => {
    expect(code(fn)).toBe(expected);
  });
});
