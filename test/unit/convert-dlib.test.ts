/**
 * scripts/convert-dlib.mjs in Node: the file it writes is byte-for-byte the pinned one (so models/manifest.json can
 * pin its hash), it loads and runs in onnxruntime-web (wasm) with the promised input/output contract, and the tfjs
 * weight decoding refuses files that do not match their manifest. Numerical equality with face-api itself is proven
 * in the browser (test/browser/dlib-parity.test.ts), where face-api's tfjs bundle runs.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { convertDlib, DEFAULT_BIN, DEFAULT_MANIFEST } from '../../scripts/convert-dlib.mjs';
import { decodeTfjsWeights } from '../../scripts/lib-dlib-onnx.mjs';
import type { TfjsWeightsManifest } from '../../scripts/lib-dlib-onnx.mjs';

/**
 * SHA-256 of models/face/dlib_resnet.onnx as converted from @vladmandic/face-api@1.7.15. Changing the converter or
 * the package changes it: update it here, in test/browser/dlib-parity.test.ts and in models/manifest.json together.
 */
const EXPECTED_SHA256 = '65b52d21adb52b87cb72517af9f6823af26c1a9e05efdefbc5bf76e148d225cf';

ort.env.wasm.numThreads = 1;

let dir: string;
let onnx: Uint8Array;
let session: ort.InferenceSession;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'convert-dlib-'));
  const outPath = join(dir, 'face', 'dlib_resnet.onnx');
  const result = await convertDlib({ outPath });
  onnx = new Uint8Array(await readFile(outPath));
  expect(result).toEqual({ sha256: createHash('sha256').update(onnx).digest('hex'), size: onnx.length });
  session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
}, 60_000);

afterAll(async () => {
  await session?.release();
  await rm(dir, { recursive: true, force: true });
});

/** A deterministic, face-sized, non-constant RGB image in the model's NCHW 0..255 layout. */
function pattern(seed: number): Float32Array {
  const x = new Float32Array(3 * 150 * 150);
  for (let i = 0; i < x.length; i++) x[i] = ((i + seed) * 7919) % 256;
  return x;
}

describe('convertDlib', () => {
  test('writes the pinned bytes, identically on every run', async () => {
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(EXPECTED_SHA256);
    const again = await convertDlib({ outPath: join(dir, 'again.onnx') });
    expect(again.sha256).toBe(EXPECTED_SHA256);
  });

  test('declares image [N,3,150,150] -> descriptor [N,128] and runs a batch row by row identically', async () => {
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['descriptor']);
    const a = pattern(0);
    const b = pattern(12345);
    const batch = new Float32Array(a.length * 2);
    batch.set(a, 0);
    batch.set(b, a.length);
    const single = await session.run({ image: new ort.Tensor('float32', a, [1, 3, 150, 150]) });
    const both = await session.run({ image: new ort.Tensor('float32', batch, [2, 3, 150, 150]) });
    expect(both.descriptor?.dims).toEqual([2, 128]);
    const d = both.descriptor?.data as Float32Array;
    const s = single.descriptor?.data as Float32Array;
    for (let i = 0; i < 128; i++) expect(d[i]).toBeCloseTo(s[i] as number, 5);
    // different images give different descriptors; nothing is NaN
    let diff = 0;
    for (let i = 0; i < 128; i++) diff += Math.abs((d[i] as number) - (d[128 + i] as number));
    expect(diff).toBeGreaterThan(0.1);
    expect(d.every(Number.isFinite)).toBe(true);
  });
});

describe('decodeTfjsWeights', () => {
  let manifest: TfjsWeightsManifest;
  let bin: Uint8Array;
  beforeAll(async () => {
    manifest = JSON.parse(await readFile(DEFAULT_MANIFEST, 'utf8'));
    bin = new Uint8Array(await readFile(DEFAULT_BIN));
  });

  test('dequantises uint8 weights as tfjs does (q * scale + min, rounded once to float32)', () => {
    const weights = decodeTfjsWeights(manifest, bin);
    const spec = manifest[0]?.weights[0];
    expect(spec?.name).toBe('conv32_down/conv/filters');
    expect(spec?.quantization?.dtype).toBe('uint8');
    const first = weights.get('conv32_down/conv/filters');
    expect(first?.shape).toEqual([7, 7, 3, 32]);
    const q = spec!.quantization!;
    for (const i of [0, 1, 100, 4703]) expect(first?.values[i]).toBe(Math.fround((bin[i] as number) * q.scale + q.min));
    // the manifest mixes quantised and plain float32 tensors; both kinds must be present and decoded
    const plain = manifest[0]!.weights.find((w) => w.quantization === undefined);
    expect(plain).toBeDefined();
    expect(weights.get(plain!.name)?.values.length).toBe(plain!.shape.reduce((a, b) => a * b, 1));
    expect(weights.size).toBe(manifest[0]!.weights.length);
  });

  test('decodes float32, uint8 and uint16 tensors laid end to end, across shards', () => {
    const bytes = new Uint8Array(4 * 2 + 3 + 2 * 2);
    const view = new DataView(bytes.buffer);
    view.setFloat32(0, 1.5, true);
    view.setFloat32(4, -2.25, true);
    bytes.set([0, 1, 255], 8);
    view.setUint16(11, 0, true);
    view.setUint16(13, 65535, true);
    const decoded = decodeTfjsWeights(
      [
        {
          paths: ['a.bin'],
          weights: [
            { name: 'f', shape: [2], dtype: 'float32' },
            { name: 'q8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
          ],
        },
        {
          paths: ['b.bin'],
          weights: [
            { name: 'q16', shape: [1, 2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.001, min: 2 } },
          ],
        },
      ],
      bytes,
    );
    expect(Array.from(decoded.get('f')!.values)).toEqual([1.5, -2.25]);
    expect(Array.from(decoded.get('q8')!.values)).toEqual([-1, -0.5, 126.5]);
    expect(Array.from(decoded.get('q16')!.values)).toEqual([2, Math.fround(65535 * 0.001 + 2)]);
    expect(decoded.get('q16')!.shape).toEqual([1, 2]);
  });

  test('refuses a weights file that does not match its manifest', () => {
    expect(() => decodeTfjsWeights(manifest, bin.subarray(0, bin.length - 1))).toThrow(/too short/);
    const longer = new Uint8Array(bin.length + 4);
    longer.set(bin);
    expect(() => decodeTfjsWeights(manifest, longer)).toThrow(/has 6444036 bytes, the manifest describes 6444032/);
  });
});
