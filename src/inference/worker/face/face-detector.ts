/**
 * Face detection with @mediapipe/tasks-vision's FaceDetector (BlazeFace), inside a module worker.
 *
 * Owns the MediaPipe detector's lifecycle: wasm fileset from our own origin (/models/mediapipe, module build so it
 * loads in a module worker), model bytes verified by the model loader (models/manifest.json pins the BlazeFace
 * .tflite with the TFLite metadata provisioning adds), IMAGE and VIDEO running modes, and conversion of its result
 * to FaceDetection (source pixels, BlazeFace's 6 keypoints). It must never fetch from another origin or a model
 * hub, never take unverified bytes from a URL, and never touch the DOM (it runs where there is none).
 *
 * tasks-vision is pinned at 0.10.35 on purpose: the 1.x bundle posts usage logs to a Google endpoint; 0.10.35
 * makes no such request (see shared/docs/browser-testing.md).
 */
import { FaceDetector, FilesetResolver, type Detection } from '@mediapipe/tasks-vision';
import { KioskError } from '../../../shared/errors';
import type { FaceDetection } from '../../../shared/types';
import { loadModel } from '../../model-loader';

/** short: BlazeFace 128x128, faces within ~2 m (a visitor at the kiosk). full: 192x192, ~5 m, small faces in groups. */
export type FaceDetectorRange = 'short' | 'full';

/** Manifest ids of the two detector models (models/manifest.json). */
export const FACE_DETECTOR_MODEL_IDS: Readonly<Record<FaceDetectorRange, string>> = {
  short: 'face-detect-short',
  full: 'face-detect-full',
};

/** Where provisioning puts the MediaPipe wasm fileset (same origin). */
export const DEFAULT_MEDIAPIPE_WASM_BASE = '/models/mediapipe';

export interface FaceDetectorOptions {
  /** Which BlazeFace model. Default 'short'. */
  range?: FaceDetectorRange;
  /** Verified model bytes; default: loaded and hash-checked via the model loader by `range`'s manifest id. */
  modelBytes?: Uint8Array;
  /** Base URL of vision_wasm_module_internal.{js,wasm}; must be on this origin. Default '/models/mediapipe'. */
  wasmBase?: string;
  /** Detections scoring below this are dropped (0..1). Default 0.5 (MediaPipe's default). */
  minScore?: number;
  /** Non-maximum-suppression overlap threshold (0..1). Default 0.3 (MediaPipe's default). */
  minSuppressionThreshold?: number;
  /** 'CPU' (default: measured faster than SwiftShader WebGL and needs no GPU) or 'GPU'. */
  delegate?: 'CPU' | 'GPU';
}

/** Images larger than this (long side) are shrunk before detection (see `shrink` in createFaceDetector). */
export const DETECT_MAX_SIDE = 640;

/** What a worker can hand the detector: decoded frames, never elements. */
export type FaceDetectorInput = ImageBitmap | ImageData | OffscreenCanvas | VideoFrame;

export interface FaceDetectorHandle {
  readonly range: FaceDetectorRange;
  /**
   * Faces in `image`, in its pixel coordinates. With `timestampMs` the frame is processed in VIDEO mode (the
   * stream's frames must come with increasing timestamps); without, in IMAGE mode.
   */
  detect(image: FaceDetectorInput, timestampMs?: number): Promise<FaceDetection[]>;
  close(): void;
}

function checkUnit(name: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new KioskError('CONFIG_INVALID', { option: name, value: v });
}

function sameOrigin(base: string): string {
  const u = new URL(base, self.location.origin);
  if (u.origin !== self.location.origin) {
    throw new KioskError('CONFIG_INVALID', { option: 'wasmBase', reason: 'must be on the app origin' });
  }
  // FilesetResolver appends "/vision_wasm_module_internal.js" itself.
  return u.href.replace(/\/$/, '');
}

function sizeOf(image: FaceDetectorInput): { width: number; height: number } {
  if ('displayWidth' in image) return { width: image.displayWidth, height: image.displayHeight };
  return { width: image.width, height: image.height };
}

/** MediaPipe gives the box in pixels and keypoints normalised to [0, 1]: bring both to source pixels. */
export function toFaceDetection(d: Detection, width: number, height: number): FaceDetection {
  const b = d.boundingBox;
  return {
    box: { x: b?.originX ?? 0, y: b?.originY ?? 0, width: b?.width ?? 0, height: b?.height ?? 0 },
    score: d.categories[0]?.score ?? 0,
    keypoints: d.keypoints.map((k) => ({ x: k.x * width, y: k.y * height })),
  };
}

/**
 * tasks-vision loads the module build with `import()` and clears `self.ModuleFactory` after creating a task. An
 * ES module evaluates once per realm, so a second task in the same worker (another range, or a re-create after an
 * error) would fail with "ModuleFactory not set.". Re-publishing the module's default export before each creation
 * fixes that; the import is a cache hit after the first time.
 */
async function primeModuleFactory(loaderUrl: string): Promise<void> {
  const scope = self as unknown as { ModuleFactory?: unknown };
  if (scope.ModuleFactory) return;
  const mod = (await import(/* @vite-ignore */ loaderUrl)) as { default?: unknown };
  if (typeof mod.default === 'function') scope.ModuleFactory = mod.default;
}

/** Creates a FaceDetector; rejects with MODEL_* codes for model problems and MODEL_LOAD_FAILED for wasm/graph ones. */
export async function createFaceDetector(opts: FaceDetectorOptions = {}): Promise<FaceDetectorHandle> {
  const range = opts.range ?? 'short';
  if (range !== 'short' && range !== 'full') throw new KioskError('CONFIG_INVALID', { option: 'range' });
  checkUnit('minScore', opts.minScore);
  checkUnit('minSuppressionThreshold', opts.minSuppressionThreshold);
  const wasmBase = sameOrigin(opts.wasmBase ?? DEFAULT_MEDIAPIPE_WASM_BASE);
  const modelBytes = opts.modelBytes ?? (await loadModel(FACE_DETECTOR_MODEL_IDS[range]));

  let detector: FaceDetector;
  try {
    const fileset = await FilesetResolver.forVisionTasks(wasmBase, true);
    await primeModuleFactory(fileset.wasmLoaderPath);
    detector = await FaceDetector.createFromOptions(fileset, {
      baseOptions: { modelAssetBuffer: modelBytes, delegate: opts.delegate ?? 'CPU' },
      runningMode: 'IMAGE',
      minDetectionConfidence: opts.minScore ?? 0.5,
      minSuppressionThreshold: opts.minSuppressionThreshold ?? 0.3,
    });
  } catch (e) {
    // MediaPipe's own text stays in `cause` (never posted: expose.ts); the one failure we know is named in our words.
    const noMetadata = /NormalizationOptions/.test(e instanceof Error ? e.message : String(e));
    throw new KioskError(
      'MODEL_LOAD_FAILED',
      { model: FACE_DETECTOR_MODEL_IDS[range], ...(noMetadata ? { reason: 'tflite-metadata-missing' } : {}) },
      { cause: e },
    );
  }

  let mode: 'IMAGE' | 'VIDEO' = 'IMAGE';
  let closed = false;
  let scratch: OffscreenCanvas | null = null;
  /**
   * A copy no larger than DETECT_MAX_SIDE, or null when the image is small enough. BlazeFace sees a 128 or 192 px
   * letterbox whatever it is given, so a 640 px copy loses nothing it could use, while MediaPipe's own upload and
   * resize of a 1-2 MP photo cost ~13 ms more per call (bench:faces on the dev set's photos; docs/faces.md).
   * ImageData cannot be drawn synchronously and is passed as is.
   */
  const shrink = (image: FaceDetectorInput, width: number, height: number) => {
    const side = Math.max(width, height);
    if (side <= DETECT_MAX_SIDE || image instanceof ImageData) return null;
    const k = DETECT_MAX_SIDE / side;
    const w = Math.max(1, Math.round(width * k));
    const h = Math.max(1, Math.round(height * k));
    scratch ??= new OffscreenCanvas(w, h);
    if (scratch.width !== w || scratch.height !== h) {
      scratch.width = w;
      scratch.height = h;
    }
    const ctx = scratch.getContext('2d')!;
    ctx.imageSmoothingQuality = 'low';
    ctx.drawImage(image, 0, 0, w, h);
    // Exact ratios per axis after rounding: keypoints are normalised, so only the box needs these.
    return { canvas: scratch, kx: w / width, ky: h / height };
  };
  return {
    range,
    async detect(image, timestampMs) {
      if (closed) throw new KioskError('INTERNAL', { reason: 'face detector closed' });
      const { width, height } = sizeOf(image);
      if (!(width > 0 && height > 0)) throw new KioskError('INPUT_NOT_IMAGE', { width, height });
      const wanted = timestampMs === undefined ? 'IMAGE' : 'VIDEO';
      // Switching modes rebuilds MediaPipe's graph (tens of ms): callers keep to one mode per stream.
      if (wanted !== mode) {
        await detector.setOptions({ runningMode: wanted });
        mode = wanted;
      }
      const small = shrink(image, width, height);
      const input = small?.canvas ?? image;
      const result = timestampMs === undefined ? detector.detect(input) : detector.detectForVideo(input, timestampMs);
      return result.detections.map((d) => {
        const f = toFaceDetection(d, width, height);
        // The box comes in the detector input's pixels; keypoints are normalised and already scaled back.
        if (small) {
          const { kx, ky } = small;
          f.box = { x: f.box.x / kx, y: f.box.y / ky, width: f.box.width / kx, height: f.box.height / ky };
        }
        return f;
      });
    },
    close() {
      if (closed) return;
      closed = true;
      detector.close();
    },
  };
}
