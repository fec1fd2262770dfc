/**
 * The int8 twin of fr_feature (scripts/lib-onnx-quantise.mjs, provisioned from the pinned float model) against the
 * float model, both in the real face worker on onnxruntime-web WASM, on every face of the six npm sample photos
 * (@vladmandic/face-api demo/sample*.jpg: 22 faces, group shots; the int8 ranges were calibrated on these photos,
 * the benchmark measures it on the dev set it never saw). What must hold for int8 to be the default: each
 * template stays within cosine 0.97 of its float twin, the same person across two photos is still the nearest
 * identity and still above the accept threshold, and no stranger climbs above it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import s1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import s2 from '@vladmandic/face-api/demo/sample2.jpg?url';
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import s4 from '@vladmandic/face-api/demo/sample4.jpg?url';
import s5 from '@vladmandic/face-api/demo/sample5.jpg?url';
import s6 from '@vladmandic/face-api/demo/sample6.jpg?url';
import { FaceClient } from '../../src/inference/client/face-client';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';

const PHOTOS = [s1, s2, s3, s4, s5, s6];
const accept = DEFAULT_FACE_CONFIG.thresholds.fr_feature.accept;

interface Face {
  photo: number;
  x: number;
  template: Float32Array;
}

async function facesOf(client: FaceClient): Promise<Face[]> {
  const out: Face[] = [];
  for (const [photo, url] of PHOTOS.entries()) {
    const bitmap = await createImageBitmap(await (await fetch(url)).blob());
    const r = await client.analyse(undefined, bitmap, { embed: 'all', maxFaces: 20, returnTemplate: true });
    for (const f of r.faces) if (f.template) out.push({ photo, x: f.detection.box.x, template: f.template });
  }
  // Same order for both runs: detection is identical (same detector), so sort by photo then position.
  return out.sort((a, b) => a.photo - b.photo || a.x - b.x);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

describe('fr_feature int8 vs float (real worker, WASM)', () => {
  const int8 = new FaceClient({ backend: 'wasm', config: { precision: 'int8' }, timeoutMs: 120_000 });
  const fp32 = new FaceClient({ backend: 'wasm', config: { precision: 'fp32' }, timeoutMs: 120_000 });
  let q: Face[];
  let f: Face[];

  beforeAll(async () => {
    expect((await int8.init()).precision).toBe('int8');
    expect((await fp32.init()).precision).toBe('fp32');
    q = await facesOf(int8);
    f = await facesOf(fp32);
  }, 180_000);

  afterAll(() => {
    int8.terminate();
    fp32.terminate();
  });

  it('finds the same faces and keeps every template within cosine 0.97 of the float one', () => {
    expect(q.length).toBeGreaterThanOrEqual(20);
    expect(q.map((x) => [x.photo, Math.round(x.x)])).toEqual(f.map((x) => [x.photo, Math.round(x.x)]));
    const cos = q.map((x, i) => dot(x.template, f[i]!.template));
    const mean = cos.reduce((a, b) => a + b, 0) / cos.length;
    expect(Math.min(...cos)).toBeGreaterThan(0.97);
    expect(mean).toBeGreaterThan(0.985);
  });

  it('keeps who is nearest to whom: the woman in sample1 and sample3 still matches, strangers stay below accept', () => {
    // For each face, its nearest other-photo face by the float model; int8 must agree whenever float was sure.
    const pairs = (faces: Face[]) =>
      faces.map((a) => {
        let best = -1;
        let score = -2;
        faces.forEach((b, j) => {
          if (b.photo === a.photo) return;
          const s = dot(a.template, b.template);
          if (s > score) [best, score] = [j, s];
        });
        return { best, score };
      });
    const pf = pairs(f);
    const pq = pairs(q);
    const genuine = pf.flatMap((p, i) => (p.score >= accept ? [i] : []));
    // The one person shown in two photos (sample1 right, sample3 centre): both directions.
    expect(genuine.length).toBe(2);
    for (const i of genuine) {
      expect(pq[i]!.best).toBe(pf[i]!.best);
      expect(pq[i]!.score).toBeGreaterThanOrEqual(accept);
    }
    for (const [i, p] of pq.entries()) if (!genuine.includes(i)) expect(p.score).toBeLessThan(accept);
  });
});
