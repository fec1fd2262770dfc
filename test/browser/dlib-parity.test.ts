/**
 * Proves scripts/convert-dlib.mjs: the ONNX model it writes computes what face-api's own FaceRecognitionNet computes,
 * on real faces. Both run here in Chromium on the same pixels: face-api 1.7.15 (its bundled tfjs, CPU backend, the
 * float32 reference) fed an HWC 150x150 RGB tensor, and our ONNX in onnxruntime-web (wasm, one thread) fed the same
 * pixels as NCHW. The ONNX is the provisioned file the app loads (/models/face/dlib_resnet.onnx, written by
 * scripts/provision.mjs through convertDlib); its SHA-256 must equal the hash test/unit/convert-dlib.test.ts pins for
 * the CLI's output, so what is verified here is byte-for-byte what the converter writes today.
 *
 * Faces: 22 crops (and their mirror images) from face-api's demo photos (node_modules/@vladmandic/face-api/demo/sample1..6.jpg). The boxes are
 * face-api's own ssdMobilenetv1 + 68-landmark `alignedRect`s for those photos, found once and written below, squared
 * around their centre. The photos show 22 different people, so "same person" is a face and its mirror image.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as faceapi from '@vladmandic/face-api';
// The build the app's face worker loads (src/inference/worker/face/face-embedder.ts), with its own wasm file.
import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import manifestUrl from '@vladmandic/face-api/model/face_recognition_model-weights_manifest.json?url';
import binUrl from '@vladmandic/face-api/model/face_recognition_model.bin?url';
import sample1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import sample2 from '@vladmandic/face-api/demo/sample2.jpg?url';
import sample3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import sample4 from '@vladmandic/face-api/demo/sample4.jpg?url';
import sample5 from '@vladmandic/face-api/demo/sample5.jpg?url';
import sample6 from '@vladmandic/face-api/demo/sample6.jpg?url';

/** Same constant as test/unit/convert-dlib.test.ts: the hash of models/face/dlib_resnet.onnx. */
const EXPECTED_SHA256 = '65b52d21adb52b87cb72517af9f6823af26c1a9e05efdefbc5bf76e148d225cf';
const MODEL_URL = '/models/face/dlib_resnet.onnx';
const S = 150; // input side, pixels
const DESCRIPTOR_LENGTH = 128;
const MAX_ABS_DIFF = 1e-3;
const MIN_COSINE = 0.9999;

/** [x, y, width, height] in photo pixels: face-api's alignedRect boxes (see header). */
const FACES: readonly (readonly [string, readonly (readonly [number, number, number, number])[]])[] = [
  [
    sample1,
    [
      [394, 410, 215, 197],
      [814, 450, 233, 215],
      [1451, 225, 219, 223],
    ],
  ],
  [
    sample2,
    [
      [1425, 184, 238, 227],
      [885, 285, 185, 147],
      [319, 193, 203, 204],
    ],
  ],
  [
    sample3,
    [
      [562, 372, 251, 245],
      [1466, 346, 247, 243],
      [1045, 255, 279, 272],
    ],
  ],
  [
    sample4,
    [
      [635, 94, 228, 224],
      [236, 227, 207, 207],
      [960, 226, 218, 191],
      [1239, 181, 210, 216],
    ],
  ],
  [
    sample5,
    [
      [758, 137, 208, 198],
      [1085, 240, 211, 210],
      [577, 462, 215, 217],
      [1385, 442, 214, 229],
      [342, 918, 243, 261],
    ],
  ],
  [
    sample6,
    [
      [645, 384, 243, 254],
      [1144, 377, 250, 212],
      [1452, 308, 268, 267],
      [222, 529, 265, 246],
    ],
  ],
];

/** The parts of face-api's bundled tfjs used here that its published typings leave out. */
type TfRuntime = typeof faceapi.tf & {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
};
const tf = faceapi.tf as TfRuntime;

type Crop = { name: string; rgba: Uint8ClampedArray };
type WeightsManifest = { paths: string[]; weights: Parameters<typeof tf.io.decodeWeights>[1] }[];

/** Square crop around the box centre, resampled to 150x150 by the canvas; optionally mirrored. */
async function crops(): Promise<Crop[]> {
  const out: Crop[] = [];
  for (const [url, boxes] of FACES) {
    const bitmap = await createImageBitmap(await (await fetch(url)).blob());
    const photo = url.slice(url.lastIndexOf('/') + 1).split('?')[0];
    for (const [i, [x, y, w, h]] of boxes.entries()) {
      const side = Math.max(w, h);
      const sx = x + w / 2 - side / 2;
      const sy = y + h / 2 - side / 2;
      for (const mirrored of [false, true]) {
        const canvas = new OffscreenCanvas(S, S);
        const ctx = canvas.getContext('2d', { willReadFrequently: true });
        if (!ctx) throw new Error('no 2d context');
        if (mirrored) ctx.setTransform(-1, 0, 0, 1, S, 0);
        ctx.drawImage(bitmap, sx, sy, side, side, 0, 0, S, S);
        out.push({ name: `${photo}#${i}${mirrored ? 'm' : ''}`, rgba: ctx.getImageData(0, 0, S, S).data });
      }
    }
    bitmap.close();
  }
  return out;
}

function toNchw(rgba: Uint8ClampedArray): Float32Array {
  const x = new Float32Array(3 * S * S);
  for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) x[c * S * S + p] = rgba[p * 4 + c] as number;
  return x;
}

function toHwc(rgba: Uint8ClampedArray): Float32Array {
  const x = new Float32Array(3 * S * S);
  for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) x[p * 3 + c] = rgba[p * 4 + c] as number;
  return x;
}

const dist = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - (b[i] as number)));
const cosine = (a: Float32Array, b: Float32Array) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;

let faces: Crop[];
let onnx: Uint8Array;
const reference = new Map<string, Float32Array>();
const converted = new Map<string, Float32Array>();
const timings = { tfjsMs: [] as number[], ortMs: [] as number[], ortCreateMs: 0 };

beforeAll(async () => {
  faces = await crops();
  const manifest = (await (await fetch(manifestUrl)).json()) as WeightsManifest;
  const bin = new Uint8Array(await (await fetch(binUrl)).arrayBuffer());

  // Reference: face-api's network with weights decoded by tfjs itself (not by our decoder).
  expect(await tf.setBackend('cpu')).toBe(true);
  await tf.ready();
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(
    tf.io.decodeWeights(
      bin.buffer,
      manifest.flatMap((g) => g.weights),
    ),
  );
  for (const f of faces) {
    const input = tf.tensor3d(toHwc(f.rgba), [S, S, 3], 'float32');
    const t0 = performance.now();
    const d = (await net.computeFaceDescriptor(input)) as Float32Array;
    timings.tfjsMs.push(performance.now() - t0);
    input.dispose();
    reference.set(f.name, d);
  }
  net.dispose();

  // Converted: the provisioned model in onnxruntime-web, wasm with one thread, served from our own origin (never a CDN).
  const res = await fetch(MODEL_URL);
  if (!res.ok) throw new Error(`${MODEL_URL}: HTTP ${res.status}. Run \`npm run provision\` (npm test does) first.`);
  onnx = new Uint8Array(await res.arrayBuffer());
  ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
  ort.env.wasm.numThreads = 1;
  let t0 = performance.now();
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  timings.ortCreateMs = performance.now() - t0;
  for (const f of faces) {
    const feeds = { image: new ort.Tensor('float32', toNchw(f.rgba), [1, 3, S, S]) };
    t0 = performance.now();
    const out = await session.run(feeds);
    timings.ortMs.push(performance.now() - t0);
    expect(out.descriptor?.dims).toEqual([1, DESCRIPTOR_LENGTH]);
    converted.set(f.name, out.descriptor?.data as Float32Array);
  }
  await session.release();
}, 300_000);

describe('dlib ResNet: converted ONNX vs face-api (tfjs)', () => {
  test('the provisioned model is byte-identical to what convert-dlib writes', async () => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', onnx as Uint8Array<ArrayBuffer>));
    expect([...digest].map((b) => b.toString(16).padStart(2, '0')).join('')).toBe(EXPECTED_SHA256);
  });

  test(`every face: max |Δ| < ${MAX_ABS_DIFF} and cosine > ${MIN_COSINE}`, () => {
    expect(faces.length).toBe(44);
    const rows = faces.map((f) => {
      const a = reference.get(f.name) as Float32Array;
      const b = converted.get(f.name) as Float32Array;
      let maxAbs = 0;
      for (let i = 0; i < DESCRIPTOR_LENGTH; i++)
        maxAbs = Math.max(maxAbs, Math.abs((a[i] as number) - (b[i] as number)));
      return { face: f.name, maxAbs, cosine: cosine(a, b), norm: Math.hypot(...a) };
    });
    console.log(
      ['face            max|Δ|    1-cosine  |descriptor|']
        .concat(
          rows.map(
            (r) =>
              `${r.face.padEnd(15)} ${r.maxAbs.toExponential(2)}  ${(1 - r.cosine).toExponential(1).padStart(8)}  ${r.norm.toFixed(4)}`,
          ),
        )
        .join('\n'),
    );
    console.log(
      `worst max|Δ| ${Math.max(...rows.map((r) => r.maxAbs)).toExponential(2)}, worst cosine ${Math.min(...rows.map((r) => r.cosine)).toFixed(9)}; ` +
        `tfjs-cpu ${median(timings.tfjsMs).toFixed(0)} ms/face, ort-wasm(1 thread) ${median(timings.ortMs).toFixed(1)} ms/face ` +
        `(first ${timings.ortMs[0]?.toFixed(0)} ms, session create ${timings.ortCreateMs.toFixed(0)} ms) — median over ${faces.length}, shared noisy CPU`,
    );
    for (const r of rows) {
      expect(r.maxAbs, r.face).toBeLessThan(MAX_ABS_DIFF);
      expect(r.cosine, r.face).toBeGreaterThan(MIN_COSINE);
    }
  });

  test('a face is closer to its own mirror image than to any other person, in both models', () => {
    const originals = faces.filter((f) => !f.name.endsWith('m'));
    for (const descriptors of [reference, converted]) {
      const d = (name: string) => descriptors.get(name) as Float32Array;
      let worstSame = 0;
      let closest = { d: Infinity, pair: '' };
      for (const f of originals) {
        const same = dist(d(f.name), d(`${f.name}m`));
        const others = originals
          .filter((g) => g !== f)
          .map((g) => ({ d: dist(d(f.name), d(g.name)), pair: `${f.name}/${g.name}` }));
        const nearest = others.reduce((a, b) => (b.d < a.d ? b : a));
        expect(same, f.name).toBeLessThan(nearest.d);
        worstSame = Math.max(worstSame, same);
        if (nearest.d < closest.d) closest = nearest;
      }
      console.log(
        `${descriptors === reference ? 'tfjs' : 'onnx'}: largest face-to-mirror distance ${worstSame.toFixed(3)}, ` +
          `smallest distance between two people ${closest.d.toFixed(3)} (${closest.pair})`,
      );
    }
  });
});
