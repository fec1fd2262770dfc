/**
 * The real face pipeline in Chromium: FaceClient → face worker (MediaPipe BlazeFace full range, ArcFace alignment,
 * fr_feature on onnxruntime-web WASM, 1:N gallery) → decision policy, on photos shipped by an npm package
 * (@vladmandic/face-api demo/sample*.jpg). No dataset, no mocks.
 *
 * The photos are group shots; single-person "photos" are crops of them made here in a canvas. sample1 (right-most
 * woman) and sample3 (centre) show the same woman — different day, light, expression and a 30° head tilt — which
 * both embedders agree on (the highest cross-photo similarity among all 22 faces of the six photos).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import s1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import s2 from '@vladmandic/face-api/demo/sample2.jpg?url';
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import s6 from '@vladmandic/face-api/demo/sample6.jpg?url';
import { FaceClient } from '../../src/inference/client/face-client';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import { decideFace, observationFromAnalysis } from '../../src/matching/face/decision-policy';
import { isKioskError, type ErrorCode } from '../../src/shared/errors';
import type { FrameAnalysis } from '../../src/shared/face-protocol';

interface Crop {
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
  /** Output scale (< 1 shrinks the face). */
  scale?: number;
}

/** Same-person pair: A in sample1 (face at x≈1472) and in sample3 (x≈1039). B: another woman, sample6 (x≈1156). */
const A_ENROL: Crop = { url: s1, x: 1250, y: 0, w: 670, h: 800 };
const A_OTHER_PHOTO: Crop = { url: s3, x: 850, y: 50, w: 600, h: 750 };
const B_PHOTO: Crop = { url: s6, x: 1000, y: 250, w: 440, h: 480 };
const TWO_FACES: Crop = { url: s3, x: 500, y: 50, w: 820, h: 750 };
const NO_FACE: Crop = { url: s2, x: 0, y: 947, w: 520, h: 420 };

async function cropBlob(c: Crop, type = 'image/jpeg'): Promise<Blob> {
  const src = await createImageBitmap(await (await fetch(c.url)).blob());
  const k = c.scale ?? 1;
  const canvas = new OffscreenCanvas(Math.round(c.w * k), Math.round(c.h * k));
  canvas.getContext('2d')!.drawImage(src, c.x, c.y, c.w, c.h, 0, 0, canvas.width, canvas.height);
  src.close();
  return canvas.convertToBlob({ type, quality: 0.92 });
}

async function refusal(p: Promise<unknown>): Promise<ErrorCode | 'none'> {
  try {
    await p;
    return 'none';
  } catch (e) {
    if (isKioskError(e)) return e.code;
    throw e;
  }
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cfg = DEFAULT_FACE_CONFIG;

/** The policy's verdict on `frames` consecutive camera frames that all look like `a` (200 ms apart). */
function decideOver(a: FrameAnalysis, frames: number, subjects: Record<string, 'allow' | 'deny'>) {
  const now = 10_000;
  const obs = Array.from({ length: frames }, (_, i) => observationFromAnalysis(a, now - 200 * (frames - 1 - i)));
  return decideFace(obs, {
    thresholds: cfg.thresholds[cfg.embedder],
    policy: cfg.policy,
    quality: cfg.quality,
    subject: (id) => (subjects[id] ? { list: subjects[id]! } : undefined),
    clock: { monotonic: () => now, wall: () => Date.now() },
  });
}

describe('face pipeline (real worker, WASM)', () => {
  const client = new FaceClient({ backend: 'wasm' });
  let a: Float32Array;
  let b: Float32Array;

  beforeAll(async () => {
    const info = await client.init();
    expect(info.backend.backend).toBe('wasm');
    expect(info.embedder).toBe(cfg.embedder);
    expect(info.dim).toBe(512);
    expect(info.matchSimd).toBe(true);
  }, 120_000);

  afterAll(() => client.terminate());

  it('enrols from a one-face photo: an L2-normalised template, the face located, quality passed', async () => {
    const r = await client.enrolFromImage(undefined, await cropBlob(A_ENROL));
    expect(r.embedder).toBe('fr_feature');
    expect(r.template).toBeInstanceOf(Float32Array);
    expect(r.template.length).toBe(512);
    expect(norm(r.template)).toBeCloseTo(1, 5);
    expect(r.quality.ok).toBe(true);
    // The face is where it is in sample1 (box x≈1472 there, minus the crop's 1250).
    expect(r.detection.box.x).toBeGreaterThan(150);
    expect(r.detection.box.x).toBeLessThan(300);
    a = r.template;
    b = (await client.enrolFromImage(undefined, await cropBlob(B_PHOTO))).template;
  });

  it("recognises A's other photo as A, and the policy grants after k frames", async () => {
    await client.setGallery(undefined, [
      { subjectId: 'A', template: a },
      { subjectId: 'B', template: b },
    ]);
    const bitmap = await createImageBitmap(await cropBlob(A_OTHER_PHOTO));
    const r = await client.analyse(undefined, bitmap);
    expect(r.faces).toHaveLength(1);
    const f = r.faces[0]!;
    expect(f.quality.ok).toBe(true);
    expect(f.match?.best?.subjectId).toBe('A');
    expect(f.match?.second?.subjectId).toBe('B');
    expect(f.match!.best!.score).toBeGreaterThanOrEqual(cfg.thresholds.fr_feature.accept);
    expect(f.match!.best!.score - f.match!.second!.score).toBeGreaterThanOrEqual(cfg.thresholds.fr_feature.margin);
    expect(r.timings.embed).toBeGreaterThan(0);
    expect(r.timings.match).toBeGreaterThan(0);
    const d = decideOver(r, cfg.policy.k, { A: 'allow', B: 'allow' });
    expect(d).toMatchObject({ outcome: 'grant', subjectId: 'A', final: true });
    // Two frames are not enough.
    expect(decideOver(r, cfg.policy.k - 1, { A: 'allow', B: 'allow' }).final).toBe(false);
    // The same person on the deny list is refused as such.
    expect(decideOver(r, cfg.policy.k, { A: 'deny', B: 'allow' }).outcome).toBe('deny-listed');
  });

  it('does not match a different person: B against a gallery of A only is deny-unknown', async () => {
    await client.setGallery(undefined, [{ subjectId: 'A', template: a }]);
    const r = await client.analyse(undefined, await createImageBitmap(await cropBlob(B_PHOTO)));
    const f = r.faces[0]!;
    expect(f.match?.best?.subjectId).toBe('A');
    expect(f.match!.best!.score).toBeLessThan(cfg.thresholds.fr_feature.reject);
    expect(decideOver(r, cfg.policy.k, { A: 'allow' })).toMatchObject({ outcome: 'deny-unknown', final: true });
  });

  it.each([
    ['a photo with two faces', () => cropBlob(TWO_FACES), 'INPUT_MULTIPLE_FACES'],
    ['a photo with no face', () => cropBlob(NO_FACE), 'INPUT_NO_FACE'],
    [
      'a text file named .jpg',
      async () => new Blob(['not an image at all'], { type: 'image/jpeg' }),
      'INPUT_NOT_IMAGE',
    ],
    ['an empty file', async () => new Blob([], { type: 'image/png' }), 'INPUT_NOT_IMAGE'],
    ['a face too small to enrol', () => cropBlob({ ...A_ENROL, scale: 0.25 }), 'INPUT_LOW_QUALITY'],
  ] as const)('refuses %s with %s', async (_name, make, code) => {
    expect(await refusal(client.enrolFromImage(undefined, await make()))).toBe(code);
  });

  it('says why a frame does not count: a tiny face gets "come closer"', async () => {
    const r = await client.analyse(
      undefined,
      await createImageBitmap(await cropBlob({ ...A_OTHER_PHOTO, scale: 0.12 })),
    );
    const f = r.faces[0];
    // A face this small may not even be detected; if it is, it must fail the size gate and get no template.
    if (f) {
      expect(f.quality.ok).toBe(false);
      expect(f.quality.issues).toContain('too-small');
      expect(f.quality.reason).toBe('come closer');
      expect(f.template).toBeUndefined();
    }
    const d = decideOver(r, cfg.policy.k, {});
    expect(['low-quality', 'no-face']).toContain(d.outcome);
    expect(d.final).toBe(false);
  });

  it('reports every face found but analyses only the largest at the door', async () => {
    const r = await client.analyse(undefined, await createImageBitmap(await cropBlob(TWO_FACES)));
    expect(r.detections).toHaveLength(2);
    expect(r.faces).toHaveLength(1);
    const eye = (d: (typeof r.detections)[number]) =>
      Math.hypot(d.keypoints[1]!.x - d.keypoints[0]!.x, d.keypoints[1]!.y - d.keypoints[0]!.y);
    expect(eye(r.detections[0]!)).toBeGreaterThanOrEqual(eye(r.detections[1]!));
    // Enrolment gates are stricter than the door's: the same face may pass at the door and not for enrolment.
    const strict = await client.analyse(
      undefined,
      await createImageBitmap(await cropBlob({ ...A_OTHER_PHOTO, scale: 0.42 })),
      {
        gates: 'enrol',
      },
    );
    const door = await client.analyse(
      undefined,
      await createImageBitmap(await cropBlob({ ...A_OTHER_PHOTO, scale: 0.42 })),
    );
    expect(door.faces[0]?.quality.ok).toBe(true);
    expect(strict.faces[0]?.quality.issues).toContain('too-small');
  });

  it('keeps working after the worker is killed: models and gallery come back', async () => {
    await client.setGallery(undefined, [{ subjectId: 'A', template: a }]);
    client.terminate();
    const r = await client.analyse(undefined, await createImageBitmap(await cropBlob(A_OTHER_PHOTO)));
    expect(r.faces[0]?.match?.best?.subjectId).toBe('A');
  }, 120_000);
});
