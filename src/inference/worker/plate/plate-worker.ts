/**
 * The plate worker: frame → PP-OCRv4 detector → tight crops → PP-OCRv4 and/or tesseract.js reads (and the project's
 * own recogniser; its plate finder checks a read that fits no format), behind the WorkerBridge.
 *
 * Owns the plate models of this worker (verified by the ModelLoader against models/manifest.json before use) and
 * the chosen reader. Frames arrive as ImageBitmaps, are copied to RGBA once, closed, and dropped after the reply;
 * nothing is stored, logged or sent. Replies carry text, numbers and boxes; crops only when `debug` is set (for
 * the admin view, which keeps them in memory). It never decides access: src/matching/plates/decide.ts does.
 *
 * Commands (types in src/shared/plate-protocol.ts): init(reader, region, …) → backend info; read(frame[, plate
 * box]) → best read, ranked candidates and per-stage times.
 */
import { KioskError } from '../../../shared/errors';
import type {
  PlateCommands,
  PlateReadCandidate,
  PlateReadRequest,
  PlateReadResult,
  PlateWorkerInfo,
  PlateWorkerInit,
} from '../../../shared/plate-protocol';
import { REGION_RULES, type RegionRules } from '../../../matching/plates/formats';
import { LATIN_AND_PROVINCES, buildCharset } from './plate-recogniser';
import { trainedCharset } from './plate-trained';
import { ModelLoader } from '../../model-loader';
import { expose } from '../expose';
import type { RgbaImage } from './plate-image';
import { compileOrtRuntime, configureOrt, OrtSession } from '../ort-runtime';
import {
  readFrame,
  readPlateBox,
  resolvePipelineOptions,
  type OnnxRun,
  type PipelineOptions,
  type PlateCandidate,
  type PlateModels,
} from './plate-pipeline';
import { createTesseractRecogniser, type TesseractRecogniser } from './plate-tesseract';
import { LATIN_LETTERS, DIGITS } from '../../../matching/plates/normalise';

interface State {
  init: PlateWorkerInit;
  models: PlateModels;
  /** Models with a CN-aware charset, built on first use of region 'cn'. */
  cnModels: PlateModels | null;
  dictText: string;
  tesseract: TesseractRecogniser | null;
  info: PlateWorkerInfo;
  options: Omit<PipelineOptions, 'rules'>;
}

let state: State | null = null;

/**
 * Ceiling of the default WASM thread count for plates: 2 (the detector ran ~1.5x faster with 2 threads than 1;
 * the recogniser about the same; more did not help the small PP-OCR graphs).
 */
const PLATE_MAX_THREADS = 2;

/** A session as the pipeline's `OnnxRun`: one float32 tensor in, the first output's data and dims out. */
function onnxRun(session: OrtSession): OnnxRun {
  return async (data, dims) => {
    const t = await session.runTensor(data, dims);
    return { data: t.data as Float32Array, dims: t.dims };
  };
}

const now = () => performance.now();

function rulesFor(region: string): RegionRules {
  const r = REGION_RULES[region];
  if (!r) throw new KioskError('CONFIG_INVALID', { field: 'region' });
  return r;
}

async function init(req: PlateWorkerInit): Promise<PlateWorkerInfo> {
  // The client's explicit init after its own start-up init must not load the models twice.
  if (state && JSON.stringify(state.init) === JSON.stringify(req)) return state.info;
  const t0 = now();
  rulesFor(req.region);
  // Checked before any model loads: a bad override is refused, not run on half-loaded models.
  const options = resolvePipelineOptions(req.tuning);
  const base = (req.modelBase ?? '/models/').replace(/\/?$/, '/');
  const { backend, threads } = await configureOrt({
    wasmBase: `${base}ort/`,
    threads: req.threads,
    backend: req.backend ?? 'auto',
    maxThreads: PLATE_MAX_THREADS,
    autoPrefers: 'wasm',
    // ORT's own runtime is hash-checked like every model (ORT's own fetch never was); read on a loader of its own so
    // the 14 MB are not kept for the worker's life once ORT has compiled them (ort-runtime.ts).
    wasmModule: () => compileOrtRuntime(new ModelLoader({ base })),
  });
  const loader = new ModelLoader({ base });
  const createRun = async (id: string): Promise<OnnxRun> =>
    onnxRun(await OrtSession.create(id, await loader.load(id), backend));
  const models: PlateModels = { det: await createRun('plate-det') };
  const dictText = new TextDecoder().decode(await loader.load('plate-rec-keys'));
  const usesPpocr = req.reader === 'ppocr' || req.reader === 'combined' || req.reader === 'ensemble';
  const usesTesseract = req.reader === 'tesseract' || req.reader === 'combined';
  if (usesPpocr) {
    models.rec = { run: await createRun('plate-rec'), charset: buildCharset(dictText, LATIN_LETTERS + DIGITS) };
  }
  let tesseract: TesseractRecogniser | null = null;
  if (usesTesseract) {
    tesseract = await createTesseractRecogniser({
      workerPath: await loader.url('tesseract-worker'),
      corePath: await loader.url('tesseract-core'),
      langPath: new URL('.', await loader.url('tesseract-eng')).href.replace(/\/$/, ''),
    });
    models.other = (crop) => tesseract!.read(crop);
  }
  if (models.rec && options.rec2Weight > 0) {
    const keys = new TextDecoder().decode(await loader.load('plate-rec-en-keys'));
    models.rec2 = { run: await createRun('plate-rec-en'), charset: buildCharset(keys, LATIN_LETTERS + DIGITS) };
  }
  if (req.reader === 'trained' || req.reader === 'ensemble') {
    models.trained = { run: await createRun('plate-rec-trained'), charset: trainedCharset() };
  }
  if (options.finder) models.finder = await createRun('plate-finder');
  // The first runs compile kernels; pay that now rather than on the first car.
  const warm: RgbaImage = { width: 64, height: 32, data: new Uint8ClampedArray(64 * 32 * 4).fill(255) };
  await readFrame(warm, models, { ...options, rules: rulesFor(req.region) });
  await state?.tesseract?.terminate();
  const recognisers = [
    ...(models.rec ? ['ppocr-v4'] : []),
    ...(models.rec2 ? ['ppocr-v3-en'] : []),
    ...(tesseract ? ['tesseract'] : []),
    ...(models.trained ? ['trained'] : []),
  ];
  const info: PlateWorkerInfo = {
    reader: req.reader,
    region: req.region,
    backend,
    threads,
    recognisers,
    finder: models.finder !== undefined,
    loadMs: now() - t0,
  };
  state = { init: req, models, cnModels: null, dictText, tesseract, info, options };
  return info;
}

function modelsFor(s: State, region: string): PlateModels {
  if (region !== 'cn' || !(s.models.rec || s.models.trained)) return s.models;
  // CN plates open with a province character: keep those classes instead of folding them away.
  // The English recogniser has no province classes, so CN plates are read by PP-OCRv4 (and the trained one).
  const { rec, trained } = s.models;
  s.cnModels ??= {
    ...s.models,
    rec2: undefined,
    rec: rec ? { run: rec.run, charset: buildCharset(s.dictText, LATIN_AND_PROVINCES) } : undefined,
    trained: trained ? { run: trained.run, charset: trainedCharset(LATIN_AND_PROVINCES) } : undefined,
  };
  return s.cnModels;
}

/** Copy an ImageBitmap's pixels once and close it (the frame must not outlive the call). */
function pixels(frame: ImageBitmap): RgbaImage {
  try {
    if (!(frame.width > 0 && frame.height > 0)) throw new KioskError('INPUT_NOT_IMAGE', { reason: 'empty frame' });
    const canvas = new OffscreenCanvas(frame.width, frame.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new KioskError('INTERNAL', { reason: 'no 2d context' });
    ctx.drawImage(frame, 0, 0);
    const data = ctx.getImageData(0, 0, frame.width, frame.height).data;
    return { width: frame.width, height: frame.height, data };
  } finally {
    frame.close();
  }
}

/** A candidate as the protocol carries it (no per-character debug fields). */
function wireCandidate(c: PlateCandidate): PlateReadCandidate {
  return {
    text: c.text,
    confidence: c.confidence,
    likeness: c.likeness,
    score: c.score,
    source: c.source,
    quad: c.quad,
  };
}

async function read(
  req: PlateReadRequest,
): Promise<PlateReadResult | { value: PlateReadResult; transfer: Transferable[] }> {
  const s = state;
  if (!s) {
    req.frame.close();
    throw new KioskError('INTERNAL', { reason: 'plate worker not initialised' });
  }
  const region = req.region ?? s.init.region;
  const opts: PipelineOptions = { ...s.options, rules: rulesFor(region), debugCrops: req.debug === true };
  const img = pixels(req.frame);
  const models = modelsFor(s, region);
  const r = req.plateBox ? await readPlateBox(img, req.plateBox, models, opts) : await readFrame(img, models, opts);
  const result: PlateReadResult = {
    text: r.text,
    confidence: r.confidence,
    box: r.box,
    candidates: r.candidates.slice(0, 8).map(wireCandidate),
    times: r.times,
    reader: s.info.reader,
  };
  if (!r.crops) return result;
  result.raw = (r.raw ?? []).map(wireCandidate);
  result.crops = r.crops.map((c) => ({
    source: c.source,
    width: c.image.width,
    height: c.image.height,
    data: new Uint8ClampedArray(c.image.data),
  }));
  return { value: result, transfer: result.crops.map((c) => c.data.buffer) };
}

expose<PlateCommands>({ init, read });
