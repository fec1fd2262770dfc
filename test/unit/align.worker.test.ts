/**
 * Alignment maths: keypoints that are a known similarity of the template land exactly on it; the fit is the
 * least-squares optimum; mirrored faces are not "fixed" by a reflection; the documented templates are what they
 * say they are (ArcFace's five points, dlib's chip recomputed from dlib's mean face shape).
 */
import { describe, expect, it } from 'vitest';
import {
  ARCFACE_112,
  DLIB_150,
  alignmentFor,
  alignmentResidual,
  applySimilarity,
  canvasMatrix,
  fitSimilarity,
  invertSimilarity,
  similarityScale,
  type Point,
  type Similarity,
} from '../../src/inference/worker/face/face-align';
import type { FaceDetection } from '../../src/shared/types';

function similarity(scale: number, deg: number, tx: number, ty: number): Similarity {
  const r = (deg * Math.PI) / 180;
  return { a: scale * Math.cos(r), b: scale * Math.sin(r), tx, ty };
}

function detectionFrom(points: Point[]): FaceDetection {
  // Ears are not fitted; give them absurd values to prove it.
  return {
    box: { x: 0, y: 0, width: 1, height: 1 },
    score: 0.9,
    keypoints: [...points, { x: -1e6, y: 9e6 }, { x: 4e5, y: -3e7 }],
  };
}

describe('fitSimilarity', () => {
  it.each([
    ['ArcFace, photo-sized face, rotated 17°', ARCFACE_112, similarity(3.2, 17, 640, 410)],
    ['ArcFace, small camera face, rotated −35°', ARCFACE_112, similarity(0.55, -35, 120.5, 80.25)],
    ['ArcFace, upside down', ARCFACE_112, similarity(1.7, 180, 300, 300)],
    ['dlib, rotated 8°', DLIB_150, similarity(2.1, 8, 50, 900)],
  ])('%s: known points land on the template', (_name, tpl, imageFromTemplate) => {
    // The face in the image is the template moved by `imageFromTemplate`; alignment must undo it exactly.
    const keypoints = tpl.points.map((p) => applySimilarity(imageFromTemplate, p));
    const t = alignmentFor(detectionFrom(keypoints), tpl);
    keypoints.forEach((k, i) => {
      const p = applySimilarity(t, k);
      expect(p.x).toBeCloseTo(tpl.points[i]!.x, 9);
      expect(p.y).toBeCloseTo(tpl.points[i]!.y, 9);
    });
    const inv = invertSimilarity(imageFromTemplate);
    expect(t.a).toBeCloseTo(inv.a, 12);
    expect(t.b).toBeCloseTo(inv.b, 12);
    expect(t.tx).toBeCloseTo(inv.tx, 8);
    expect(t.ty).toBeCloseTo(inv.ty, 8);
    expect(similarityScale(t)).toBeCloseTo(1 / similarityScale(imageFromTemplate), 12);
    expect(alignmentResidual(t, keypoints, tpl)).toBeLessThan(1e-9);
  });

  it('is the least-squares optimum: any nudge of the parameters increases the error', () => {
    const noisy = ARCFACE_112.points.map((p, i) =>
      applySimilarity(similarity(2, 10, 100, 50), { x: p.x + [1.5, -2, 0.7, -1][i]!, y: p.y + [-1, 0.5, 2, -1.2][i]! }),
    );
    const t = fitSimilarity(noisy, ARCFACE_112.points);
    const sse = (s: Similarity) =>
      noisy.reduce((acc, k, i) => {
        const p = applySimilarity(s, k);
        return acc + (p.x - ARCFACE_112.points[i]!.x) ** 2 + (p.y - ARCFACE_112.points[i]!.y) ** 2;
      }, 0);
    const best = sse(t);
    expect(best).toBeGreaterThan(0);
    for (const d of [
      { a: 1e-3 },
      { a: -1e-3 },
      { b: 1e-3 },
      { b: -1e-3 },
      { tx: 0.05 },
      { tx: -0.05 },
      { ty: 0.05 },
      { ty: -0.05 },
    ]) {
      expect(
        sse({ ...t, ...Object.fromEntries(Object.entries(d).map(([k, v]) => [k, t[k as keyof Similarity] + v])) }),
      ).toBeGreaterThan(best);
    }
  });

  it('honours weights: a zero-weight point does not move the fit', () => {
    const pts = ARCFACE_112.points.map((p) => applySimilarity(similarity(1.3, 5, 10, 20), p));
    const moved = pts.map((p, i) => (i === 3 ? { x: p.x + 40, y: p.y - 25 } : p));
    const a = fitSimilarity(pts.slice(0, 3), ARCFACE_112.points.slice(0, 3));
    const b = fitSimilarity(moved, ARCFACE_112.points, [1, 1, 1, 0]);
    expect(b.a).toBeCloseTo(a.a, 12);
    expect(b.b).toBeCloseTo(a.b, 12);
    expect(b.tx).toBeCloseTo(a.tx, 9);
  });

  it('does not turn a mirror image into a match (no reflection): residual stays large', () => {
    const mirrored = ARCFACE_112.points.map((p) => ({ x: 500 - p.x * 2, y: p.y * 2 }));
    const t = fitSimilarity(mirrored, ARCFACE_112.points);
    expect(alignmentResidual(t, mirrored, ARCFACE_112)).toBeGreaterThan(5);
  });

  it('refuses degenerate input', () => {
    expect(() => fitSimilarity([{ x: 1, y: 1 }], [{ x: 2, y: 2 }])).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() =>
      fitSimilarity(
        [
          { x: 3, y: 3 },
          { x: 3, y: 3 },
        ],
        ARCFACE_112.points.slice(0, 2),
      ),
    ).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() =>
      alignmentFor({ box: { x: 0, y: 0, width: 1, height: 1 }, score: 1, keypoints: [] }, ARCFACE_112),
    ).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });

  it('inverts and converts to a canvas matrix consistently', () => {
    const t = similarity(0.8, 23, -4, 7);
    const p = { x: 13, y: -2 };
    const back = applySimilarity(invertSimilarity(t), applySimilarity(t, p));
    expect(back.x).toBeCloseTo(p.x, 12);
    expect(back.y).toBeCloseTo(p.y, 12);
    const [a, b, c, d, e, f] = canvasMatrix(t);
    const q = applySimilarity(t, p);
    expect(a * p.x + c * p.y + e).toBeCloseTo(q.x, 12);
    expect(b * p.x + d * p.y + f).toBeCloseTo(q.y, 12);
  });
});

describe('templates', () => {
  it('ArcFace 112: the five arcface_dst points, mouth = corners midpoint', () => {
    expect(ARCFACE_112.size).toBe(112);
    expect(ARCFACE_112.points[0]).toEqual({ x: 38.2946, y: 51.6963 });
    expect(ARCFACE_112.points[1]).toEqual({ x: 73.5318, y: 51.5014 });
    expect(ARCFACE_112.points[2]).toEqual({ x: 56.0252, y: 71.7366 });
    expect(ARCFACE_112.points[3].x).toBeCloseTo(56.1396, 4);
    expect(ARCFACE_112.points[3].y).toBeCloseTo(92.2848, 4);
    // The subject's right eye is on the image's left.
    expect(ARCFACE_112.points[0].x).toBeLessThan(ARCFACE_112.points[1].x);
  });

  it("dlib 150: recomputed from dlib's mean face shape (points 17–67) with padding 0.25", () => {
    // dlib/image_transforms/interpolation.h, get_face_chip_details(): mean_face_shape_x/y, index = point − 17.
    const mx = [
      0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127,
      0.490127, 0.490127, 0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825,
      0.334606, 0.260918, 0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985,
      0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379,
      0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
    ];
    const my = [
      0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454,
      0.203352, 0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758,
      0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233,
      0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805,
      0.784792, 0.778746, 0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
    ];
    const chip = (x: number, y: number) => ({ x: ((0.25 + x) / 1.5) * 150, y: ((0.25 + y) / 1.5) * 150 });
    const mean = (ids: number[]) =>
      chip(
        ids.reduce((s, i) => s + mx[i - 17]!, 0) / ids.length,
        ids.reduce((s, i) => s + my[i - 17]!, 0) / ids.length,
      );
    const expected = [mean([36, 37, 38, 39, 40, 41]), mean([42, 43, 44, 45, 46, 47]), mean([30]), mean([48, 54])];
    expect(DLIB_150.size).toBe(150);
    expected.forEach((p, i) => {
      expect(DLIB_150.points[i]!.x).toBeCloseTo(p.x, 3);
      expect(DLIB_150.points[i]!.y).toBeCloseTo(p.y, 3);
    });
  });
});
