/**
 * Page side of bench/faces.mjs: runs the kiosk's real face pipeline (FaceClient → face worker: MediaPipe
 * detection, alignment, ORT embedding) on the benchmark's images, and 1:N search with the real FaceGallery.
 *
 * Owns only the measurement loop and the kiosk-like degradation, done here in a canvas as a camera would deliver
 * it: a 640×480 frame, face shrunk to ~60 px between the eyes, blur, darkening, JPEG at quality 40. Images come
 * from the loopback bench server; templates and numbers go back to Node for scoring. Nothing is stored.
 */
import { FaceClient } from '../src/inference/client/face-client';
import { FaceGallery } from '../src/matching/face/gallery';
import { DEFAULT_FACE_CONFIG, type EmbedderName, type FaceConfig } from '../src/config/face';
import type { FaceWorkerInfo } from '../src/shared/face-protocol';
import { assessOpenSet, expectedFpir, fitImpostorModel } from '../src/matching/face/open-set';
import { cosineSimilarity } from '../src/matching/face/similarity';
import type { FaceDetection } from '../src/shared/types';

export interface BenchImage {
  /** URL on the bench server. */
  url: string;
  /** Identity label (folder name), or '' in pairs mode. */
  label: string;
}

export interface BenchOptions {
  images: BenchImage[];
  embedders: EmbedderName[];
  degrade: boolean;
  detector: 'short' | 'full';
  backend: 'auto' | 'wasm' | 'webgpu';
  /** ORT WASM threads; undefined = the kiosk's own choice. */
  threads?: number;
  /** Embedder precision; undefined = the kiosk's default (src/config/face.ts). */
  precision?: 'int8' | 'fp32';
  /** Target inter-eye distance of degraded images (px). */
  degradeEyePx: number;
  /** Run on the photos cropped tight to the face (a visitor filling the frame), CLOSE_SIDE px square. */
  close: boolean;
  /** The worker's padded second detection pass (default on); `--close-pass off` measures what it adds. */
  closePass: boolean;
}

export interface ImageResult {
  faces: number;
  template: number[] | null;
  eyeDistancePx: number | null;
  qualityOk: boolean | null;
  issues: string[];
  sharpness: number | null;
  brightness: number | null;
  yawDeg: number | null;
  pitchDeg: number | null;
  detectMs: number;
  alignMs: number | null;
  embedMs: number | null;
  matchMs: number | null;
  /** Size of the image the pipeline saw. */
  width: number;
  height: number;
  error?: string;
}

export interface EmbedderRun {
  info: FaceWorkerInfo;
  images: ImageResult[];
  /** Open set per gallery size (identity-folder data only): src/matching/face/open-set.ts on this run's impostor pool. */
  fpir: FpirReport | null;
}

export interface FpirReport {
  impostorPairs: number;
  genuinePairs: number;
  /** Normal fit to the impostor pool (what the kiosk's openSet.impostor holds). */
  model: { mean: number; sd: number };
  maxImpostor: number;
  bySize: Record<
    string,
    {
      /** Threshold the FPIR target needs; the kiosk uses max(configured accept, this). */
      required: number;
      threshold: number;
      reachable: boolean;
      /** Expected FPIR at the effective threshold, and at the configured accept alone. */
      expectedFpir: number;
      expectedFpirAtConfiguredAccept: number;
      /** Genuine pairs at or above the effective threshold. */
      tar: number;
    }
  >;
}

/** FPIR per gallery size from the run's own impostor pool (pairs of different identity folders). */
function fpirReport(templates: (Float32Array | null)[], labels: string[], cfg: FaceConfig): FpirReport | null {
  if (labels.some((l) => !l)) return null;
  const impostor: number[] = [];
  const genuine: number[] = [];
  for (let a = 0; a < templates.length; a++) {
    for (let b = a + 1; b < templates.length; b++) {
      const ta = templates[a];
      const tb = templates[b];
      if (!ta || !tb) continue;
      (labels[a] === labels[b] ? genuine : impostor).push(cosineSimilarity(ta, tb));
    }
  }
  if (impostor.length < 2) return null;
  const model = fitImpostorModel(impostor);
  const accept = cfg.thresholds[cfg.embedder].accept;
  const bySize: FpirReport['bySize'] = {};
  for (const n of [100, 1000, 10_000]) {
    const o = assessOpenSet(model, n, cfg.openSet, accept);
    bySize[String(n)] = {
      required: o.required,
      threshold: o.threshold,
      reachable: o.reachable,
      expectedFpir: o.expectedFpir,
      expectedFpirAtConfiguredAccept: expectedFpir(model, n, accept),
      tar: genuine.length ? genuine.filter((s) => s >= o.threshold).length / genuine.length : NaN,
    };
  }
  return { impostorPairs: impostor.length, genuinePairs: genuine.length, model, maxImpostor: Math.max(...impostor), bySize };
}

export interface BenchResult {
  defaults: FaceConfig;
  crossOriginIsolated: boolean;
  userAgent: string;
  runs: Record<string, EmbedderRun>;
}

async function fetchBlob(url: string): Promise<Blob> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.blob();
}

/** The kiosk camera's frame size (src/config/kiosk.ts CAMERA_CAPTURE). */
const FRAME = { width: 640, height: 480 };

/**
 * Kiosk-like version of a photo, as the door camera would deliver it: a 640×480 frame with the largest face
 * centred and shrunk to ~eyePx between the eyes, Gaussian blur σ = 1 px (focus, motion), 55% brightness (a dim
 * entrance), JPEG at quality 40 (a cheap camera's stream).
 */
async function degrade(client: FaceClient, blob: Blob, eyePx: number): Promise<Blob> {
  const bitmap = await createImageBitmap(blob);
  const probe = await createImageBitmap(bitmap);
  const faces = await client.detect(undefined, probe);
  const main = faces
    .map((f) => ({ f, eye: Math.hypot(f.keypoints[1]!.x - f.keypoints[0]!.x, f.keypoints[1]!.y - f.keypoints[0]!.y) }))
    .sort((a, b) => b.eye - a.eye)[0];
  // No face found: the whole photo shrunk into the frame, degraded all the same.
  const scale = main ? eyePx / main.eye : Math.min(FRAME.width / bitmap.width, FRAME.height / bitmap.height);
  const cx = main ? main.f.box.x + main.f.box.width / 2 : bitmap.width / 2;
  const cy = main ? main.f.box.y + main.f.box.height / 2 : bitmap.height / 2;
  const canvas = new OffscreenCanvas(FRAME.width, FRAME.height);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, FRAME.width, FRAME.height);
  ctx.imageSmoothingQuality = 'high';
  ctx.filter = 'blur(1px) brightness(0.55)';
  ctx.drawImage(
    bitmap,
    FRAME.width / 2 - cx * scale,
    FRAME.height / 2 - cy * scale,
    bitmap.width * scale,
    bitmap.height * scale,
  );
  bitmap.close();
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.4 });
}

/** Side of the tight face crops (px): the size of the issue's 40 test photos. */
const CLOSE_SIDE = 150;

/**
 * A photo cropped tight to its largest face (the detector's box, square, nothing around it) at CLOSE_SIDE px: a
 * visitor who stepped up to the tablet. Null when the original shows no face to crop around.
 */
async function closeCrop(client: FaceClient, blob: Blob): Promise<Blob | null> {
  const bitmap = await createImageBitmap(blob);
  const faces = await client.detect(undefined, await createImageBitmap(bitmap));
  const main = faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
  if (!main) {
    bitmap.close();
    return null;
  }
  const side = Math.max(main.box.width, main.box.height);
  const x = main.box.x + main.box.width / 2 - side / 2;
  const y = main.box.y + main.box.height / 2 - side / 2;
  const canvas = new OffscreenCanvas(CLOSE_SIDE, CLOSE_SIDE);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, x, y, side, side, 0, 0, CLOSE_SIDE, CLOSE_SIDE);
  bitmap.close();
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
}

async function run(opts: BenchOptions): Promise<BenchResult> {
  const runs: Record<string, EmbedderRun> = {};
  let degraded: Blob[] | null = null;
  for (const embedder of opts.embedders) {
    const client = new FaceClient({
      config: { embedder, detector: opts.detector, ...(opts.precision ? { precision: opts.precision } : {}) },
      backend: opts.backend,
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      closePass: opts.closePass,
      timeoutMs: 120_000,
    });
    const info = await client.init();
    console.log(
      `[bench] ${embedder}: ${info.backend.backend} (${info.backend.reason}), load ${info.loadMs.toFixed(0)} ms`,
    );
    if (opts.degrade && !degraded) {
      degraded = [];
      for (const im of opts.images) degraded.push(await degrade(client, await fetchBlob(im.url), opts.degradeEyePx));
    }
    if (opts.close && !degraded) {
      degraded = [];
      let uncropped = 0;
      for (const im of opts.images) {
        const original = await fetchBlob(im.url);
        const crop = await closeCrop(client, original);
        // No face in the original to crop around: the original is scored as is (its own noFace, not the close pass's).
        if (!crop) uncropped++;
        degraded.push(crop ?? original);
      }
      console.log(`[bench] close: ${opts.images.length - uncropped} photos cropped tight to the face (${CLOSE_SIDE} px), ${uncropped} had no face to crop around`);
    }
    const images: ImageResult[] = [];
    for (let i = 0; i < opts.images.length; i++) {
      const blob = degraded ? degraded[i]! : await fetchBlob(opts.images[i]!.url);
      let bitmap: ImageBitmap;
      try {
        bitmap = await createImageBitmap(blob);
      } catch (e) {
        images.push({
          faces: 0,
          template: null,
          eyeDistancePx: null,
          qualityOk: null,
          issues: [],
          sharpness: null,
          brightness: null,
          yawDeg: null,
          pitchDeg: null,
          detectMs: 0,
          alignMs: null,
          embedMs: null,
          matchMs: null,
          width: 0,
          height: 0,
          error: `not an image: ${String(e)}`,
        });
        continue;
      }
      const a = await client.analyse(undefined, bitmap, { embed: 'all', maxFaces: 1 });
      const f = a.faces[0];
      images.push({
        faces: a.faces.length,
        template: f?.template ? Array.from(f.template) : null,
        eyeDistancePx: f?.quality.metrics.eyeDistancePx ?? null,
        qualityOk: f?.quality.ok ?? null,
        issues: f?.quality.issues ?? [],
        sharpness: f?.quality.metrics.sharpness ?? null,
        brightness: f?.quality.metrics.brightness ?? null,
        yawDeg: f?.quality.metrics.yawDeg ?? null,
        pitchDeg: f?.quality.metrics.pitchDeg ?? null,
        detectMs: a.timings.detect,
        alignMs: f ? a.timings.align : null,
        embedMs: f ? a.timings.embed : null,
        matchMs: null,
        width: a.width,
        height: a.height,
      });
      if ((i + 1) % 25 === 0) console.log(`[bench] ${embedder}: ${i + 1}/${opts.images.length}`);
    }
    // 1:N search timing with the kiosk's gallery code over this run's templates (identities = labels or images).
    const entries = images.flatMap((r, i) =>
      r.template ? [{ subjectId: opts.images[i]!.label || String(i), template: new Float32Array(r.template) }] : [],
    );
    if (entries.length > 0) {
      const gallery = FaceGallery.build(entries);
      for (const r of images) {
        if (!r.template) continue;
        const t0 = performance.now();
        gallery.search(r.template);
        r.matchMs = performance.now() - t0;
      }
    }
    const fpir = fpirReport(
      images.map((r) => (r.template ? new Float32Array(r.template) : null)),
      opts.images.map((im) => im.label),
      client.settings,
    );
    client.terminate();
    runs[embedder] = { info, images, fpir };
  }
  return {
    defaults: DEFAULT_FACE_CONFIG,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    userAgent: navigator.userAgent,
    runs,
  };
}

/**
 * Calibration inputs for scripts/calibrate-face-int8.mjs: every detected face of every image, as it reaches
 * fr_feature (ArcFace 112×112 crop, the embedder's own normalisation), from the photo and from its kiosk-like
 * version, so the int8 ranges cover dim, blurred door frames too. Returned as base64 float32 NCHW tensors.
 */
async function crops(opts: { images: BenchImage[]; eyePx: number }): Promise<{ faces: number; tensors: string[] }> {
  const client = new FaceClient({ config: { embedder: 'fr_feature', detector: 'full' }, timeoutMs: 120_000 });
  await client.init();
  const worker = new Worker(new URL('./face-crops.worker.ts', import.meta.url), { type: 'module' });
  const cropsOf = (bitmap: ImageBitmap, faces: FaceDetection[]) =>
    new Promise<Float32Array[]>((res, rej) => {
      worker.onmessage = (e: MessageEvent<Float32Array[]>) => res(e.data);
      worker.onerror = (e) => rej(new Error(e.message));
      worker.postMessage({ bitmap, faces }, [bitmap]);
    });
  const tensors: string[] = [];
  for (const im of opts.images) {
    const blob = await fetchBlob(im.url);
    for (const b of [blob, await degrade(client, blob, opts.eyePx)]) {
      const bitmap = await createImageBitmap(b);
      const faces = await client.detect(undefined, await createImageBitmap(bitmap));
      for (const t of await cropsOf(bitmap, faces)) {
        const bytes = new Uint8Array(t.buffer);
        let bin = '';
        for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        tensors.push(btoa(bin));
      }
    }
  }
  worker.terminate();
  client.terminate();
  return { faces: tensors.length, tensors };
}

(globalThis as unknown as { faceBench: { run: typeof run; crops: typeof crops } }).faceBench = { run, crops };
document.body.dataset['ready'] = '1';
