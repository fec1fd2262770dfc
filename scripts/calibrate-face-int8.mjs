#!/usr/bin/env node
// @ts-check
/**
 * Calibrates the int8 version of fr_feature: the activation ranges that scripts/lib-onnx-quantise.mjs needs.
 *
 *   node scripts/calibrate-face-int8.mjs [--data DIR ...]      then: node scripts/provision.mjs --update-manifest
 *
 * Runs the kiosk's own detector and alignment (bench/faces.page.ts `crops`) in headless Chromium on the npm
 * sample photos (@vladmandic/face-api/demo/sample*.jpg, the same the tests use: not the benchmark's dev set, so
 * the benchmark measures the quantised model on faces it was not calibrated on), each also in its kiosk-like
 * version (dim, blurred, JPEG 40). `--data` adds identity folders or image folders. Every face's 112×112 input is
 * run through fr_feature with every Conv input/output exposed (onnxruntime-web in Node) and the min/max of each is
 * written into the manifest entry's transform options. Owns only those ranges: the quantised file's hash is pinned
 * afterwards by provision's --update-manifest, and test/browser/face-int8-parity.test.ts proves its parity.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { benchFiles, ROOT, startBench } from '../bench/lib/browser.mjs';
import { decodeModel } from './lib-onnx-reader.mjs';
import { encodeModel } from './lib-onnx-writer.mjs';
import { convTensors, exposeTensors, widenRange } from './lib-onnx-quantise.mjs';

const ENTRY_ID = 'face-embed-fr-feature-int8';

const { values } = parseArgs({ options: { data: { type: 'string', multiple: true, default: [] } } });

/** @param {string} dir @returns {string[]} */
function imagesIn(dir) {
  /** @type {string[]} */
  const out = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f.startsWith('.')) continue;
    if (statSync(p).isDirectory()) out.push(...imagesIn(p));
    else if (['.jpg', '.jpeg', '.png'].includes(extname(f).toLowerCase())) out.push(p);
  }
  return out;
}

const sampleDir = join(ROOT, 'node_modules/@vladmandic/face-api/demo');
const files = [
  ...readdirSync(sampleDir)
    .filter((f) => /^sample\d+\.jpg$/.test(f))
    .sort()
    .map((f) => join(sampleDir, f)),
  ...values.data.flatMap((d) => imagesIn(resolve(d))),
];

const manifestPath = join(ROOT, 'models/manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const entry = manifest.files.find((/** @type {{ id: string }} */ e) => e.id === ENTRY_ID);
if (!entry) throw new Error(`${ENTRY_ID} is not in models/manifest.json`);

const bench = await startBench({ plugins: [benchFiles(files)] });
/** @type {{ faces: number, tensors: string[] }} */
let got;
try {
  await bench.page.goto(`${bench.url}/bench/faces.html`);
  await bench.page.waitForFunction(() => document.body.dataset['ready'] === '1', null, { timeout: 120_000 });
  got = await bench.page.evaluate(
    (opts) =>
      /** @type {{ faceBench: { crops: (o: typeof opts) => Promise<{ faces: number, tensors: string[] }> } }} */ (
        /** @type {unknown} */ (globalThis)
      ).faceBench.crops(opts),
    { images: files.map((_, i) => ({ url: `/__bench/file/${i}`, label: '' })), eyePx: 60 },
  );
} finally {
  await bench.close();
}
if (got.faces < 10) throw new Error(`only ${got.faces} faces found for calibration`);

const model = decodeModel(readFileSync(join(ROOT, 'models/face/fr_feature.onnx')));
const acts = convTensors(model);
const input = model.graph.inputs[0]?.name ?? 'input';
const exposed = exposeTensors(model, acts);
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(encodeModel(exposed));
/** @type {Record<string, [number, number]>} */
const ranges = {};
for (const b64 of got.tensors) {
  const x = new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);
  const out = await session.run({ [input]: new ort.Tensor('float32', x, [1, 3, 112, 112]) });
  for (const a of acts) widenRange(ranges, a, /** @type {Float32Array} */ (a === input ? x : out[a]?.data));
}
// Six significant digits: the ranges are statistics, and short numbers keep the manifest readable.
const round = (/** @type {number} */ v) => Number(v.toPrecision(6));
entry.transform.options = {
  depthwiseFloat: true,
  ...entry.transform.options,
  calibration: `${got.faces} faces: ${files.length} photos (npm @vladmandic/face-api demo samples${values.data.length ? ' + ' + values.data.join(', ') : ''}), each also kiosk-like; min/max per tensor`,
  ranges: Object.fromEntries(acts.map((a) => [a, /** @type {[number, number]} */ (ranges[a]).map(round)])),
};
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  `calibrated ${acts.length} tensors on ${got.faces} faces; now run: node scripts/provision.mjs --update-manifest`,
);
