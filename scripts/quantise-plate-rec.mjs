#!/usr/bin/env node
// @ts-check
/**
 * Builds the int8 twin of the trained plate recogniser with the project's own quantiser, and (for a real run)
 * installs both files under models/trained/ and pins them in models/manifest.json.
 *
 *   node scripts/quantise-plate-rec.mjs --run DIR [--out DIR] [--install]
 *
 * DIR is a train/plates/train.py output folder: plate_rec.onnx (float, opset 13) and calib.f32 (float32 model
 * inputs [n, 1, 32, 128] from the training split). Every Conv input/output is exposed and run over the calibration
 * inputs in onnxruntime-web (Node) to get its min/max, then scripts/lib-onnx-quantise.mjs writes the QDQ model
 * (deterministic: same inputs, same bytes). The ranges are written next to the int8 file so that
 * test/unit/plate-trained-model.test.ts can rebuild it byte for byte. `--install` copies both models into
 * models/trained/ and re-pins their size and SHA-256 in the manifest (entries plate-rec-trained*). It owns nothing
 * else: it never trains and never touches other manifest entries.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeModel } from './lib-onnx-reader.mjs';
import { encodeModel } from './lib-onnx-writer.mjs';
import { convTensors, exposeTensors, quantiseConvs, widenRange } from './lib-onnx-quantise.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TRAINED_DIR = join(ROOT, 'models/trained');
const IN = 1 * 32 * 128;

/**
 * Per-tensor min/max of every Conv input and output over the calibration inputs.
 * @param {Uint8Array} fp32 @param {Float32Array} calib
 * @returns {Promise<Record<string, [number, number]>>}
 */
export async function calibrate(fp32, calib) {
  const ort = await import('onnxruntime-web');
  const model = decodeModel(fp32);
  const acts = convTensors(model);
  const input = model.graph.inputs[0]?.name ?? 'image';
  const exposed = exposeTensors(model, acts);
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(encodeModel(exposed));
  /** @type {Record<string, [number, number]>} */
  const ranges = {};
  const n = calib.length / IN;
  const B = 16;
  for (let i = 0; i < n; i += B) {
    const m = Math.min(B, n - i);
    const x = calib.subarray(i * IN, (i + m) * IN);
    const out = await session.run({ [input]: new ort.Tensor('float32', x, [m, 1, 32, 128]) });
    for (const a of acts) widenRange(ranges, a, /** @type {Float32Array} */ (a === input ? x : out[a]?.data));
  }
  await session.release();
  // Six significant digits: statistics, and short numbers keep the ranges file readable.
  const round = (/** @type {number} */ v) => Number(v.toPrecision(6));
  return Object.fromEntries(
    acts.map((a) => {
      const [lo, hi] = /** @type {[number, number]} */ (ranges[a]);
      return [a, /** @type {[number, number]} */ ([round(lo), round(hi)])];
    }),
  );
}

/** @param {Uint8Array} fp32 @param {Record<string, [number, number]>} ranges */
export function buildInt8(fp32, ranges) {
  return encodeModel(quantiseConvs(decodeModel(fp32), ranges));
}

/** @param {Uint8Array} b */
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { run: { type: 'string' }, out: { type: 'string' }, install: { type: 'boolean', default: false } },
  });
  if (!values.run) {
    console.error('usage: node scripts/quantise-plate-rec.mjs --run DIR [--out DIR] [--install]');
    process.exit(2);
  }
  const run = resolve(values.run);
  const out = resolve(values.out ?? (values.install ? TRAINED_DIR : run));
  const fp32 = new Uint8Array(readFileSync(join(run, 'plate_rec.onnx')));
  const raw = readFileSync(join(run, 'calib.f32'));
  const calib = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const ranges = await calibrate(fp32, calib);
  const int8 = buildInt8(fp32, ranges);
  mkdirSync(out, { recursive: true });
  if (resolve(join(out, 'plate_rec.onnx')) !== resolve(join(run, 'plate_rec.onnx')))
    copyFileSync(join(run, 'plate_rec.onnx'), join(out, 'plate_rec.onnx'));
  writeFileSync(join(out, 'plate_rec_int8.onnx'), int8);
  writeFileSync(
    join(out, 'plate_rec_int8.ranges.json'),
    `${JSON.stringify({ calibration: `${calib.length / IN} inputs from ${values.run}/calib.f32 (train.py: training split and synthetic)`, ranges }, null, 1)}\n`,
  );
  console.log(`fp32 ${fp32.length} bytes ${sha256(fp32)}\nint8 ${int8.length} bytes ${sha256(int8)}`);
  if (values.install) {
    const manifestPath = join(ROOT, 'models/manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    /** @type {Record<string, Uint8Array>} */
    const bytes = { 'trained/plate_rec.onnx': fp32, 'trained/plate_rec_int8.onnx': int8 };
    let pinned = 0;
    for (const e of [...manifest.files, ...(manifest.verificationOnly ?? [])]) {
      const b = bytes[e.out];
      if (!b) continue;
      e.sha256 = sha256(b);
      e.size = b.length;
      pinned++;
    }
    if (pinned !== 2) throw new Error(`expected 2 manifest entries for models/trained/, found ${pinned}`);
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    console.log('pinned both in models/manifest.json');
  }
}
