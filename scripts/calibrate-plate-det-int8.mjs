#!/usr/bin/env node
// @ts-check
/**
 * Calibrates the int8 version of the PP-OCRv4 text detector: the activation ranges scripts/lib-onnx-quantise.mjs
 * needs for the manifest entry `plate-det-int8` (built at provision time from the npm-shipped float weights; the
 * derived file is never committed).
 *
 *   node scripts/calibrate-plate-det-int8.mjs --data ../shared/datasets/plates --split train/plates/split.tsv
 *     [--role train,val] [--limit N]                           then: node scripts/provision.mjs --update-manifest
 *
 * Only the rows split.tsv gives the tune roles (default train,val) are used: the held-out photos stay unseen, so
 * bench:plates measures the quantised detector on photos it was not calibrated on. Chromium decodes each photo;
 * the pipeline itself (src/inference/worker/plate-pipeline.ts, loaded through Vite in Node) then reads it from the
 * whole frame and from its labelled plate box with the float detector (every Conv input/output exposed, run by
 * onnxruntime-web in Node) and the trained recogniser, so the ranges cover exactly the inputs the detector sees in
 * the product: whole frames at each scale and the refinement regions. Owns only those ranges (min/max per tensor);
 * the quantised file's hash is pinned by provision's --update-manifest, and test/browser/plate-det-int8.test.ts
 * proves its parity with the float detector.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { createServer } from 'vite';
import { benchFiles, ROOT, startBench } from '../bench/lib/browser.mjs';
import { decodeModel } from './lib-onnx-reader.mjs';
import { encodeModel } from './lib-onnx-writer.mjs';
import { convTensors, exposeTensors, widenRange } from './lib-onnx-quantise.mjs';

const ENTRY_ID = 'plate-det-int8';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    split: { type: 'string', default: 'train/plates/split.tsv' },
    role: { type: 'string', default: 'train,val' },
    limit: { type: 'string' },
  },
});
if (!values.data) {
  console.error('usage: node scripts/calibrate-plate-det-int8.mjs --data DIR [--split FILE] [--role train,val]');
  process.exit(2);
}
const dataDir = resolve(values.data);
const roles = new Set((values.role ?? '').split(','));
/** @param {string} f */
const tsv = (f) =>
  readFileSync(f, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
const [splitHead = [], ...splitRows] = tsv(resolve(values.split ?? ''));
const si = splitHead.indexOf('set');
const fi = splitHead.indexOf('file');
const ri = splitHead.indexOf('role');
const tune = new Set(splitRows.filter((r) => r[si] === 'plates' && roles.has(r[ri] ?? '')).map((r) => r[fi]));
const [head = [], ...rows] = tsv(join(dataDir, 'labels.tsv'));
const col = (/** @type {string} */ c) => head.indexOf(c);
const all = rows
  .filter((r) => tune.has(r[col('file')]))
  .map((r) => ({
    file: /** @type {string} */ (r[col('file')]),
    box: { x: Number(r[col('x')]), y: Number(r[col('y')]), width: Number(r[col('w')]), height: Number(r[col('h')]) },
    region: /** @type {string} */ (r[col('file')]).split('/')[0] ?? '',
  }));
// --limit N: N rows spread evenly over the list (every region, not the first region's rows only).
const step = values.limit ? Math.max(1, all.length / Number(values.limit)) : 1;
const labels = all.filter((_, i) => Math.floor(i / step) !== Math.floor((i - 1) / step) || i === 0);
if (labels.length < 10) throw new Error(`only ${labels.length} tune photos found`);

const manifestPath = join(ROOT, 'models/manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const entry = manifest.files.find((/** @type {{ id: string }} */ e) => e.id === ENTRY_ID);
if (!entry) throw new Error(`${ENTRY_ID} is not in models/manifest.json`);
const byId = (/** @type {string} */ id) => manifest.files.find((/** @type {{ id: string }} */ e) => e.id === id);

// The pipeline's own modules, in Node (pure TypeScript: no DOM, no worker).
const vite = await createServer({
  configFile: join(ROOT, 'vite.config.ts'),
  root: ROOT,
  logLevel: 'warn',
  server: { middlewareMode: true, hmr: false, watch: null },
  appType: 'custom',
});
const P = await vite.ssrLoadModule('/src/inference/worker/plate-pipeline.ts');
const T = await vite.ssrLoadModule('/src/inference/worker/plate-trained.ts');
const F = await vite.ssrLoadModule('/src/matching/plates/formats.ts');

const model = decodeModel(readFileSync(join(ROOT, 'models', byId('plate-det').out)));
const acts = convTensors(model, depthwiseConvs(model));
const input = model.graph.inputs[0]?.name ?? 'x';
ort.env.wasm.numThreads = 1;
const exposed = exposeTensors(model, acts);
// The exposed tensors have different spatial sizes (the FPN's levels): one symbolic dim name shared by all of them
// would make onnxruntime treat them as equal and fail; each gets its own names.
exposed.graph.outputs = exposed.graph.outputs.map((o, i) =>
  i === 0 ? o : { ...o, shape: ['n', 'c', 'h', 'w'].map((d) => `${d}${i}`) },
);
const det = await ort.InferenceSession.create(encodeModel(exposed));
const trained = await ort.InferenceSession.create(readFileSync(join(ROOT, 'models', byId('plate-rec-trained').out)));
/** @type {Record<string, [number, number]>} */
const ranges = {};
let passes = 0;
/** @type {(x: Float32Array, dims: readonly number[]) => Promise<{ data: Float32Array, dims: readonly number[] }>} */
const detRun = async (x, dims) => {
  const out = await det.run({ [input]: new ort.Tensor('float32', x, [...dims]) });
  for (const a of acts) widenRange(ranges, a, /** @type {Float32Array} */ (a === input ? x : out[a]?.data));
  passes++;
  const first = /** @type {import('onnxruntime-web').Tensor} */ (out[det.outputNames[0] ?? '']);
  return { data: /** @type {Float32Array} */ (first.data), dims: first.dims };
};
/** @type {(x: Float32Array, dims: readonly number[]) => Promise<{ data: Float32Array, dims: readonly number[] }>} */
const trainedRun = async (x, dims) => {
  const out = await trained.run({ [trained.inputNames[0] ?? '']: new ort.Tensor('float32', x, [...dims]) });
  const first = /** @type {import('onnxruntime-web').Tensor} */ (out[trained.outputNames[0] ?? '']);
  return { data: /** @type {Float32Array} */ (first.data), dims: first.dims };
};
const models = { det: detRun, trained: { run: trainedRun, charset: T.trainedCharset() } };

const files = labels.map((l) => join(dataDir, l.file));
const bench = await startBench({ plugins: [benchFiles(files)] });
try {
  await bench.page.goto(`${bench.url}/bench/plates-page.html`);
  for (const [i, l] of labels.entries()) {
    const b64 = await bench.page.evaluate(async (url) => {
      const bmp = await createImageBitmap(await (await fetch(url)).blob());
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (c.getContext('2d'));
      ctx.drawImage(bmp, 0, 0);
      const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
      let s = '';
      for (let k = 0; k < d.length; k += 0x8000) s += String.fromCharCode(...d.subarray(k, k + 0x8000));
      return { width: bmp.width, height: bmp.height, data: btoa(s) };
    }, `/__bench/file/${i}`);
    const img = {
      width: b64.width,
      height: b64.height,
      data: new Uint8ClampedArray(Buffer.from(b64.data, 'base64')),
    };
    const opts = { ...P.resolvePipelineOptions(), rules: F.REGION_RULES[l.region] };
    await P.readFrame(img, models, opts);
    await P.readPlateBox(img, l.box, models, opts);
    process.stdout.write(`\r${i + 1}/${labels.length} photos, ${passes} detector passes`);
  }
} finally {
  await bench.close();
  await vite.close();
}
process.stdout.write('\n');

/** Names of the grouped (depthwise) Convs, which stay float (lib-onnx-quantise.mjs `depthwiseFloat`). @param {any} m */
function depthwiseConvs(m) {
  return new Set(
    m.graph.nodes
      .filter(
        (/** @type {any} */ n) =>
          n.opType === 'Conv' && n.attributes?.some((/** @type {any} */ a) => a.name === 'group' && a.value > 1),
      )
      .map((/** @type {any} */ n) => n.name),
  );
}

// Six significant digits: the ranges are statistics, and short numbers keep the manifest readable.
const round = (/** @type {number} */ v) => Number(v.toPrecision(6));
entry.transform.options = {
  ...entry.transform.options,
  depthwiseFloat: true,
  calibration: `${labels.length} tune photos of ${values.data} (split ${values.split}, roles ${values.role}), each read from the whole frame and from its labelled plate box by the pipeline: ${passes} detector passes; min/max per tensor`,
  ranges: Object.fromEntries(acts.map((a) => [a, /** @type {[number, number]} */ (ranges[a]).map(round)])),
};
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`calibrated ${acts.length} tensors; now run: node scripts/provision.mjs --update-manifest`);
