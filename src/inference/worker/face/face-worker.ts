/**
 * The face worker: detect → align → quality → embed → 1:N match, behind the WorkerBridge.
 *
 * Owns the face models of this worker (detector, one embedder) and the watchlist gallery (face-gallery-store.ts):
 * the one in-memory copy of the enrolled templates, set whole or changed per subject. Frames and photos arrive as
 * ImageBitmap/Blob, are processed in memory and closed before the reply; no pixel, crop or template is stored or
 * logged — a door frame's reply carries the match and numbers, a template only when the caller asks (enrolment, the
 * active challenge).
 * It never decides grant/deny: that is src/matching/face/decision-policy.ts on the main thread.
 *
 * Commands (types in src/shared/face-protocol.ts): init(config) → backend info; detect(frame); analyse(frame) → per face
 * detection + quality + template (+ best/second identity if a gallery is set); enrolFromImage(blob|bitmap) →
 * exactly one good face's template, else INPUT_NOT_IMAGE / INPUT_NO_FACE / INPUT_MULTIPLE_FACES /
 * INPUT_LOW_QUALITY; setGallery(templates); updateGallery(puts, removes). With `liveness`, analyse also scores each embedded face with passive PAD
 * (face-liveness.ts) — in memory, on the same frame, never kept.
 */
import type { FaceConfig } from '../../../config/face';
import { KioskError } from '../../../shared/errors';
import type { FaceDetection } from '../../../shared/types';
import { FaceGallery } from '../../../matching/face/gallery';
import { GalleryStore } from './face-gallery-store';
import type {
  AnalysedFace,
  FaceCommands,
  FaceWorkerInfo,
  FrameAnalysis,
  EnrolResult,
  PadScores,
} from '../../../shared/face-protocol';
import { expose } from '../expose';
import { ARCFACE_112, AlignCanvas, alignmentFor } from './face-align';
import { configureRuntime, createEmbedder, type Embedder } from './face-embedder';
import { assessQuality, estimatePose, imageStats, requirePadContext } from './face-quality';
import { createFaceDetector, FACE_DETECTOR_MODEL_IDS, type FaceDetectorHandle } from './face-detector';
import { ModelLoader } from '../../model-loader';
import { LIVENESS_MODEL_ID, LivenessModel, TRAINED_PAD, TRAINED_PAD_MODEL_ID } from './face-liveness';
import { fusePad, needsFrLiveness } from '../../../matching/face/pad-fusion';
import { EYES_MODEL_ID, EyeStateModel } from './face-eyes';
import { realmTrace as trace, traceWasmCompiles } from '../../../shared/startup-trace';
import { checkPhotoSize, MAX_PHOTO_BYTES, PHOTO_HEAD_BYTES } from '../../../shared/photo-size';
import { LazyModel } from '../lazy-model';
import { compileOrtRuntime } from '../ort-runtime';

interface State {
  config: FaceConfig;
  detector: FaceDetectorHandle;
  embedder: Embedder;
  /** fr_liveness (pad.model 'fr-liveness' and the veto of 'trained+fr-veto'); loaded on first use (lazy-model.ts). */
  liveness: LazyModel<LivenessModel>;
  /** The project's own PAD network (pad.model 'trained' and 'trained+fr-veto'); loaded on first use, prefetched after warm-up. */
  padTrained: LazyModel<LivenessModel>;
  /** Eye state for the blink challenge; loaded on the first challenge frame. */
  eyes: LazyModel<EyeStateModel>;
  /** ArcFace-geometry crop: quality is measured here, and fr_feature embeds it too. */
  qualityCanvas: AlignCanvas;
  /** The embedder's own crop when its geometry differs (dlib's 150×150 chip). */
  embedCanvas: AlignCanvas | null;
  /** Scratch canvas for keypoint refinement crops. */
  refineCanvas: OffscreenCanvas;
  info: FaceWorkerInfo;
}

let state: State | null = null;
let initialising: Promise<FaceWorkerInfo> | null = null;
/** The watchlist gallery: the only copy of the decrypted templates while the kiosk runs (face-gallery-store.ts). */
let gallery: GalleryStore | null = null;
/** Templates of two embedders never mix: the gallery belongs to the embedder that was loaded when it was set. */
let galleryEmbedder: string | null = null;

function ready(): State {
  if (!state) throw new KioskError('INTERNAL', { reason: 'face worker not initialised' });
  return state;
}

const now = () => performance.now();

// Cold-start trace of this worker (src/shared/startup-trace.ts): handed to the page with init's and analyse's replies.
traceWasmCompiles(trace);
let firstAnalyse = true;

async function init(req: FaceCommands['init']['req']): Promise<FaceWorkerInfo> {
  const t0 = now();
  const base = (req.modelBase ?? '/models/').replace(/\/?$/, '/');
  const cfg = req.config;
  closePass = req.closePass ?? true;
  const loader = new ModelLoader({ base });
  const bytes = (id: string) => trace.time(`bytes:${id}`, () => loader.load(id));
  // ORT's 14 MB runtime is compiled from its cached response and hash-checked (ModelLoader.compileVerified) when ORT's
  // build loads, on a loader of its own so no copy of the bytes stays: compiled from the response, V8 reads the
  // runtime's optimised code back after a restart. Not at the worker's first moment: reading that code back runs on
  // this thread and then held the detector's start back (docs/architecture.md, cold start, session 14).
  const backend = await trace.time('face:runtime', () =>
    configureRuntime({
      wasmBase: `${base}ort/`,
      backend: req.backend ?? 'auto',
      threads: req.threads,
      wasmModule: () => compileOrtRuntime(new ModelLoader({ base })),
    }),
  );
  // Cold start (issue 19): only what a first decision needs is loaded here — the detector and the embedder, each
  // warmed with one run so the first visitor does not pay the first-run cost — and both start at once: ORT's runtime
  // is read and its session built while MediaPipe compiles and builds its graph (the wasm compiles run on V8's
  // background threads; the graph set-ups take turns on this thread). Measured against one-after-the-other on the
  // quiet 2-core machine (docs/architecture.md, "Cold start"). PAD and eye-state models load on first use (LazyModel).
  const embedding = trace.time('face:embedder', () => createEmbedder(cfg.embedder, bytes, cfg.precision));
  const detecting = (async () => {
    const b = await bytes(FACE_DETECTOR_MODEL_IDS[cfg.detector]);
    const d = await trace.time('face:detector', () =>
      createFaceDetector({ range: cfg.detector, wasmBase: `${base}mediapipe`, modelBytes: b, minScore: cfg.minDetectionScore }),
    );
    try {
      const side = DETECTOR_INPUT[cfg.detector];
      await trace.time('face:detector-warm', () => d.detect(new OffscreenCanvas(side, side)));
      return d;
    } catch (e) {
      d.close();
      throw e;
    }
  })();
  const [dr, er] = await Promise.allSettled([detecting, embedding]);
  if (dr.status === 'rejected' || er.status === 'rejected') {
    // One failed: the other is released too, so a retried init starts clean; the first failure is what is reported.
    if (dr.status === 'fulfilled') dr.value.close();
    if (er.status === 'fulfilled') await er.value.release();
    throw dr.status === 'rejected' ? dr.reason : (er as PromiseRejectedResult).reason;
  }
  const detector = dr.value;
  const embedder = er.value;
  // The first run of a session compiles kernels (~0.2 s); pay it now, not on the first visitor.
  const warm = new AlignCanvas(embedder.template.size);
  try {
    await trace.time('face:embedder-warm', () => embedder.embed(warm.warp(new OffscreenCanvas(1, 1), { a: 1, b: 0, tx: 0, ty: 0 })));
  } catch (e) {
    detector.close();
    await embedder.release();
    throw e;
  }
  const liveness = new LazyModel(async () => {
    const b = await bytes(LIVENESS_MODEL_ID);
    return trace.time('face:liveness', () => LivenessModel.create(b));
  });
  const eyes = new LazyModel(async () => {
    const b = await bytes(EYES_MODEL_ID);
    return trace.time('face:eyes', () => EyeStateModel.create(b));
  });
  // Our own PAD net (~0.75 MB): its bytes are read now, so a first frame with PAD on does not wait for the read; the
  // read and its SHA-256 are asynchronous, so they hold nothing up. Its session (~20 ms on this thread) is built on
  // first use: built here it sat between the models being ready and the first frame of every cold start, PAD on or
  // off (issue 19). A failed read is not kept: the first use reads again (and fails closed if the model is bad).
  let padRead = cfg.pad.model !== 'fr-liveness' ? bytes(TRAINED_PAD_MODEL_ID) : null;
  padRead?.catch(() => undefined);
  const padTrained = new LazyModel(async () => {
    const read = padRead;
    padRead = null;
    const b = read ? await read.catch(() => bytes(TRAINED_PAD_MODEL_ID)) : await bytes(TRAINED_PAD_MODEL_ID);
    return trace.time('face:pad-trained', () => LivenessModel.create(b, TRAINED_PAD));
  });
  if (state) {
    state.detector.close();
    await state.embedder.release();
    await state.liveness.release();
    await state.padTrained.release();
    await state.eyes.release();
  }
  const info: FaceWorkerInfo = {
    backend: { ...backend, backend: embedder.backend, reason: embedder.note ?? backend.reason },
    embedder: cfg.embedder,
    precision: embedder.precision,
    dim: embedder.dim,
    detector: cfg.detector,
    matchSimd: FaceGallery.build([], {}, embedder.dim).simd,
    loadMs: now() - t0,
    trace: trace.take(),
  };
  state = {
    config: cfg,
    detector,
    embedder,
    liveness,
    padTrained,
    eyes,
    qualityCanvas: new AlignCanvas(ARCFACE_112.size),
    refineCanvas: new OffscreenCanvas(32, 32),
    embedCanvas: embedder.template === ARCFACE_112 ? null : new AlignCanvas(embedder.template.size),
    info,
  };
  if (galleryEmbedder !== cfg.embedder) gallery = null;
  return info;
}

/** Largest faces first: the person nearest the kiosk is the one being served. */
function bySize(faces: FaceDetection[]): FaceDetection[] {
  return faces
    .filter((f) => f.keypoints.length >= 4)
    .map((f) => ({ f, d: estimatePose(f).eyeDistancePx }))
    .sort((a, b) => b.d - a.d)
    .map((x) => x.f);
}

/**
 * Full-range BlazeFace sees the frame at 192×192: a face 160 px wide in a 1920-px photo is 16 px there, and its
 * keypoints are off by several source pixels — enough to cost a genuine pair 0.13 of similarity on the npm samples
 * (0.48 → 0.60). When the detector saw the face smaller than this, it is detected again in a crop around it.
 */
const REFINE_BELOW_INPUT_PX = 40;
const DETECTOR_INPUT: Record<'short' | 'full', number> = { short: 128, full: 192 };

function iou(a: FaceDetection['box'], b: FaceDetection['box']): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Re-detect `det` in a square crop twice its size (≤ 384 px) for precise keypoints; the original if not found. */
async function refine(s: State, frame: ImageBitmap, det: FaceDetection): Promise<FaceDetection> {
  const seenAt =
    (Math.max(det.box.width, det.box.height) * DETECTOR_INPUT[s.config.detector]) / Math.max(frame.width, frame.height);
  if (seenAt >= REFINE_BELOW_INPUT_PX) return det;
  const side = 2 * Math.max(det.box.width, det.box.height);
  const x0 = det.box.x + det.box.width / 2 - side / 2;
  const y0 = det.box.y + det.box.height / 2 - side / 2;
  const size = Math.max(32, Math.min(384, Math.round(side)));
  const k = size / side;
  s.refineCanvas.width = size;
  s.refineCanvas.height = size;
  const ctx = s.refineCanvas.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, size, size);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(frame, x0, y0, side, side, 0, 0, size, size);
  const back = (d: FaceDetection): FaceDetection => ({
    box: { x: d.box.x / k + x0, y: d.box.y / k + y0, width: d.box.width / k, height: d.box.height / k },
    score: d.score,
    keypoints: d.keypoints.map((p) => ({ x: p.x / k + x0, y: p.y / k + y0 })),
  });
  const found = (await s.detector.detect(s.refineCanvas)).map(back);
  let best: FaceDetection | null = null;
  let bestIou = 0.3;
  for (const d of found) {
    const o = iou(d.box, det.box);
    if (o > bestIou && d.keypoints.length >= 4) {
      best = d;
      bestIou = o;
    }
  }
  return best ?? det;
}

/**
 * BlazeFace misses a face that fills the frame (measured in docs/faces.md: most tight 150 px face photos were missed;
 * the same photos centred on a grey canvas were all found). A frame or photo where nothing was found is looked at
 * once more, shrunk onto a neutral canvas CLOSE_PASS_PAD times its size, and the boxes mapped back. It costs one
 * more detection only on frames without a face.
 */
const CLOSE_PASS_PAD = 2.5;
/** The padded canvas's side is capped: the detector sees 128–192 px anyway. */
const CLOSE_PASS_MAX_SIDE = 768;
let closeCanvas: OffscreenCanvas | null = null;
let closePass = true;
/**
 * On camera frames, after a second pass that found nobody, the next one waits this long: an empty doorway then costs
 * about one detection per frame instead of two. While the pass keeps finding a close face it runs on every frame
 * (the decision needs consecutive frames); photos (enrolment) always get it.
 */
const CLOSE_PASS_EVERY_MS = 400;
let lastEmptyClosePass = -Infinity;

async function detectFaces(s: State, image: ImageBitmap, source: 'frame' | 'photo'): Promise<FaceDetection[]> {
  const found = await s.detector.detect(image);
  if (found.length > 0 || !closePass) return found;
  if (source === 'frame' && now() - lastEmptyClosePass < CLOSE_PASS_EVERY_MS) return found;
  const side = CLOSE_PASS_PAD * Math.max(image.width, image.height);
  const k = Math.min(1, CLOSE_PASS_MAX_SIDE / side);
  const size = Math.round(side * k);
  closeCanvas ??= new OffscreenCanvas(size, size);
  closeCanvas.width = size;
  closeCanvas.height = size;
  const ctx = closeCanvas.getContext('2d')!;
  ctx.fillStyle = '#808080';
  ctx.fillRect(0, 0, size, size);
  const w = image.width * k;
  const hgt = image.height * k;
  const ox = (size - w) / 2;
  const oy = (size - hgt) / 2;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(image, ox, oy, w, hgt);
  const close = await s.detector.detect(closeCanvas);
  if (close.length === 0 && source === 'frame') lastEmptyClosePass = now();
  return close.map((d) => ({
    box: { x: (d.box.x - ox) / k, y: (d.box.y - oy) / k, width: d.box.width / k, height: d.box.height / k },
    score: d.score,
    keypoints: d.keypoints.map((p) => ({ x: (p.x - ox) / k, y: (p.y - oy) / k })),
  }));
}

async function analyseOne(
  s: State,
  frame: ImageBitmap,
  det: FaceDetection,
  gates: 'door' | 'enrol',
  embed: 'good' | 'all' | 'none',
  timings: FrameAnalysis['timings'],
  liveness = false,
  eyeState = liveness,
): Promise<AnalysedFace> {
  let t = now();
  det = await refine(s, frame, det);
  timings.detect += now() - t;
  t = now();
  const qCrop = s.qualityCanvas.warp(frame, alignmentFor(det, ARCFACE_112));
  const stats = imageStats(qCrop.data, ARCFACE_112.size);
  let q = assessQuality(det, stats, frame, gates === 'enrol' ? s.config.enrolQuality : s.config.quality);
  // At the door with PAD on, a face too close for the liveness crop's context is not embedded (told to step back).
  if (liveness && gates === 'door') q = requirePadContext(q, det.box, frame, s.config.pad.minContextScale);
  const wantTemplate = embed === 'all' || (embed === 'good' && q.ok);
  let crop = qCrop;
  if (wantTemplate && s.embedCanvas) crop = s.embedCanvas.warp(frame, alignmentFor(det, s.embedder.template));
  timings.align += now() - t;
  const out: AnalysedFace = { detection: det, quality: q };
  if (!wantTemplate) return out;
  t = now();
  out.template = await s.embedder.embed(crop);
  timings.embed += now() - t;
  if (liveness) {
    t = now();
    const pad = s.config.pad;
    const scores: PadScores = {};
    if (pad.model !== 'fr-liveness') {
      scores.trained = await (await s.padTrained.get()).score(frame, det, { scale: pad.trainedCropScale, order: 'rgb' });
      timings.padTrained = (timings.padTrained ?? 0) + now() - t;
    }
    if (needsFrLiveness(pad.model, scores.trained, pad.liveThreshold)) {
      const t1 = now();
      scores.frLiveness = await (await s.liveness.get()).score(frame, det, { scale: pad.cropScale, order: pad.channelOrder });
      timings.padFrLiveness = (timings.padFrLiveness ?? 0) + now() - t1;
    }
    const live = fusePad(pad.model, scores, pad.frVeto);
    if (live !== undefined) out.liveness = live;
    out.padScores = scores;
    timings.liveness = (timings.liveness ?? 0) + now() - t;
  }
  if (eyeState) {
    const model = await s.eyes.get();
    t = now();
    const eyes = await model.eyes(frame, det);
    if (eyes) out.eyes = eyes;
    timings.eyes = (timings.eyes ?? 0) + now() - t;
  }
  if (gallery && gallery.size > 0) {
    t = now();
    const m = gallery.search(out.template);
    if (m) out.match = m;
    timings.match += now() - t;
  }
  out.embedded = true;
  return out;
}

async function analyse(req: FaceCommands['analyse']['req']): Promise<FrameAnalysis> {
  const s = ready();
  const frame = req.frame;
  try {
    const timings = { detect: 0, align: 0, embed: 0, match: 0, liveness: 0, eyes: 0 };
    const t = now();
    const all = bySize(await detectFaces(s, frame, 'frame'));
    timings.detect = now() - t;
    const faces: AnalysedFace[] = [];
    for (const det of all.slice(0, Math.max(0, req.maxFaces ?? 1))) {
      const f = await analyseOne(s, frame, det, req.gates ?? 'door', req.embed ?? 'good', timings, req.liveness, req.eyes ?? req.liveness);
      if (!req.returnTemplate) delete f.template;
      faces.push(f);
    }
    if (firstAnalyse) {
      // The first frame pays one-off costs (the detector's graph, kernels not warmed): in the cold-start trace.
      firstAnalyse = false;
      trace.add({ name: 'face:first-analyse', start: performance.timeOrigin + t, end: performance.timeOrigin + now() });
    }
    const spans = trace.take();
    return { width: frame.width, height: frame.height, detections: all, faces, timings, ...(spans.length ? { trace: spans } : {}) };
  } finally {
    frame.close();
  }
}

/** The file's first bytes, for its header; FILE_UNREADABLE when the file changed or went after it was chosen. */
async function readHead(image: Blob): Promise<Uint8Array> {
  try {
    return new Uint8Array(await image.slice(0, PHOTO_HEAD_BYTES).arrayBuffer());
  } catch (e) {
    throw new KioskError('FILE_UNREADABLE', { reason: e instanceof Error ? e.name : 'read' }, { cause: e });
  }
}

/** Photos larger than this (long side) are decoded downscaled: detection needs no more, memory does. */
const MAX_PHOTO_SIDE = 4096;

async function decode(image: Blob | ImageBitmap): Promise<ImageBitmap> {
  if (image instanceof ImageBitmap) return image;
  // Bytes and the header's pixel count before anything is decoded (src/shared/photo-size.ts: a decompression bomb).
  checkPhotoSize(image.size, image.size > MAX_PHOTO_BYTES ? null : await readHead(image));
  let probe: ImageBitmap;
  try {
    probe = await createImageBitmap(image);
  } catch (e) {
    throw new KioskError('INPUT_NOT_IMAGE', { type: image.type || 'unknown', bytes: image.size }, { cause: e });
  }
  const side = Math.max(probe.width, probe.height);
  if (side <= MAX_PHOTO_SIDE) return probe;
  const k = MAX_PHOTO_SIDE / side;
  probe.close();
  return createImageBitmap(image, {
    resizeWidth: Math.round(probe.width * k) || 1,
    resizeHeight: Math.round(probe.height * k) || 1,
    resizeQuality: 'high',
  });
}

async function enrolFromImage(req: FaceCommands['enrolFromImage']['req']): Promise<EnrolResult> {
  const s = ready();
  const bitmap = await decode(req.image);
  try {
    const faces = bySize(await detectFaces(s, bitmap, 'photo'));
    if (faces.length === 0) throw new KioskError('INPUT_NO_FACE');
    // A face far smaller than the main one (a passer-by in the background) does not make the photo ambiguous;
    // a second face of comparable size does, and then we refuse rather than guess who is meant.
    const main = estimatePose(faces[0]!).eyeDistancePx;
    const significant = faces.filter(
      (f) => estimatePose(f).eyeDistancePx >= Math.max(0.4 * main, 0.5 * s.config.enrolQuality.minEyeDistancePx),
    );
    if (significant.length > 1) throw new KioskError('INPUT_MULTIPLE_FACES', { faces: significant.length });
    const timings = { detect: 0, align: 0, embed: 0, match: 0, liveness: 0, eyes: 0 };
    const face = await analyseOne(s, bitmap, faces[0]!, 'enrol', 'good', timings);
    if (!face.template) {
      throw new KioskError('INPUT_LOW_QUALITY', {
        reason: face.quality.reason ?? 'quality',
        issues: face.quality.issues.join(','),
      });
    }
    return { template: face.template, embedder: s.embedder.name, quality: face.quality, detection: face.detection };
  } finally {
    bitmap.close();
  }
}

expose<FaceCommands>({
  init: (req) => {
    // Concurrent inits (a restart racing a settings change) share one load.
    const p = (initialising ?? Promise.resolve()).catch(() => undefined).then(() => init(req));
    initialising = p;
    return p;
  },
  info: async () => ready().info,
  detect: async ({ frame }) => {
    const s = ready();
    try {
      const t = now();
      const faces = await s.detector.detect(frame);
      return { width: frame.width, height: frame.height, faces, ms: now() - t };
    } finally {
      frame.close();
    }
  },
  analyse: async (req) => {
    const r = await analyse(req);
    const transfer = r.faces.flatMap((f) => (f.template ? [f.template.buffer as ArrayBuffer] : []));
    return { value: r, transfer };
  },
  enrolFromImage: async (req) => {
    const r = await enrolFromImage(req);
    return { value: r, transfer: [r.template.buffer as ArrayBuffer] };
  },
  setGallery: async ({ entries }) => {
    const s = ready();
    const g = new GalleryStore(s.embedder.dim);
    const info = g.replace(entries);
    gallery = g;
    galleryEmbedder = s.embedder.name;
    return info;
  },
  updateGallery: async (u) => {
    const s = ready();
    if (!gallery || galleryEmbedder !== s.embedder.name) {
      gallery = new GalleryStore(s.embedder.dim);
      galleryEmbedder = s.embedder.name;
    }
    return gallery.update(u);
  },
});
