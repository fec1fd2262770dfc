/**
 * Face embedders: an aligned face crop in, an L2-normalised template out, run by onnxruntime-web.
 *
 * Owns the embedders' models and their fallback (WebGPU session fails → WASM; int8 only on WASM). The runtime
 * itself — threads, WebGPU probe, ORT build, serialised runs — is ort-runtime.ts's; faces ask it for WebGPU when
 * the browser gives an adapter, else WASM SIMD (multi-threaded only when the page is crossOriginIsolated). Both
 * embedders sit behind one `Embedder` interface; they differ only in crop geometry, input scaling and output size:
 *   fr_feature  — faceplugin's model: ArcFace 112×112 crop, RGB (x − 127) / 128, NCHW → 512-D;
 *   dlib_resnet — dlib's ResNet descriptor (public-domain weights) converted to ONNX: dlib's 150×150 chip,
 *                 RGB 0..255 as is (the graph normalises), NCHW → 128-D.
 * It never sees identities and never keeps a crop or a template after returning it.
 */
import { KioskError } from '../../../shared/errors';
import type { EmbedderName, EmbedderPrecision } from '../../../config/face';
import type { BackendInfo, BackendName } from '../../../shared/face-protocol';
import { ARCFACE_112, DLIB_150, type AlignTemplate } from './face-align';
import { configureOrt, OrtSession } from '../ort-runtime';

export type { EmbedderName };

export interface EmbedderSpec {
  name: EmbedderName;
  /** models/manifest.json id of the ONNX file. */
  modelId: string;
  /** Its int8 (QDQ) twin for the WASM backend, when one is calibrated (scripts/calibrate-face-int8.mjs). */
  int8ModelId?: string;
  template: AlignTemplate;
  dim: number;
  /** Writes the crop's RGBA pixels into a planar NCHW float tensor. */
  toTensor(rgba: Uint8ClampedArray, size: number, out: Float32Array): void;
}

function planarRgb(rgba: Uint8ClampedArray, size: number, out: Float32Array, scale: number, offset: number): void {
  const plane = size * size;
  for (let i = 0, p = 0; i < plane; i++, p += 4) {
    out[i] = (rgba[p]! + offset) * scale;
    out[plane + i] = (rgba[p + 1]! + offset) * scale;
    out[2 * plane + i] = (rgba[p + 2]! + offset) * scale;
  }
}

export const EMBEDDERS: Record<EmbedderName, EmbedderSpec> = {
  fr_feature: {
    name: 'fr_feature',
    modelId: 'face-embed-fr-feature',
    int8ModelId: 'face-embed-fr-feature-int8',
    template: ARCFACE_112,
    dim: 512,
    // The package's own preprocessing (lib/fr_feature.js): (x − 127) / 128 per RGB channel.
    toTensor: (rgba, size, out) => planarRgb(rgba, size, out, 1 / 128, -127),
  },
  dlib_resnet: {
    name: 'dlib_resnet',
    modelId: 'face-embed-dlib',
    template: DLIB_150,
    dim: 128,
    // scripts/convert-dlib.mjs put face-api's normalisation inside the graph: feed raw 0..255 RGB.
    toTensor: (rgba, size, out) => planarRgb(rgba, size, out, 1, 0),
  },
};

export interface Embedder {
  readonly name: EmbedderName;
  readonly dim: number;
  readonly template: AlignTemplate;
  readonly backend: BackendName;
  /** Which model runs: the float one, or its int8 twin (WASM only). */
  readonly precision: EmbedderPrecision;
  /** Set when a fallback build runs (shown instead of the backend's usual reason). */
  readonly note: string | null;
  /** Template of one aligned crop (RGBA, template.size²): L2-normalised Float32Array of length `dim`. */
  embed(crop: ImageData): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface RuntimeOptions {
  /** URL prefix the ORT wasm files are served from (the manifest's ort/ folder). */
  wasmBase: string;
  /** 'auto' = WebGPU when an adapter exists, else WASM. Tests force one to compare them. */
  backend?: 'auto' | BackendName;
  /** Override the WASM thread count (default: ort-runtime.ts's policy, up to FACE_MAX_THREADS). */
  threads?: number;
  /** ORT's plain wasm compiled from verified bytes (OrtSetup.wasmModule); without it ORT fetches the file itself. */
  wasmModule?: () => Promise<WebAssembly.Module>;
}

/** Ceiling of the default thread count for faces: half the cores up to 4 (ORT's own default). */
export const FACE_MAX_THREADS = 4;

let runtime: Promise<BackendInfo> | null = null;

/** Choose this worker's face backend (ort-runtime.ts owns the policy): WebGPU when an adapter exists, else WASM. */
export function configureRuntime(opts: RuntimeOptions): Promise<BackendInfo> {
  runtime = configureOrt({ ...opts, maxThreads: FACE_MAX_THREADS, autoPrefers: 'webgpu' });
  return runtime;
}

class OrtEmbedder implements Embedder {
  readonly name: EmbedderName;
  readonly dim: number;
  readonly template: AlignTemplate;
  private readonly input: Float32Array;

  constructor(
    private readonly spec: EmbedderSpec,
    private readonly session: OrtSession,
    readonly backend: BackendName,
    readonly precision: EmbedderPrecision,
    readonly note: string | null = null,
  ) {
    this.name = spec.name;
    this.dim = spec.dim;
    this.template = spec.template;
    this.input = new Float32Array(3 * spec.template.size * spec.template.size);
  }

  embed(crop: ImageData): Promise<Float32Array> {
    const size = this.template.size;
    if (crop.width !== size || crop.height !== size) {
      return Promise.reject(new KioskError('INPUT_INVALID', { reason: `crop must be ${size}x${size}` }));
    }
    return this.session.run(async (session, ort) => {
      this.spec.toTensor(crop.data, size, this.input);
      const out = await session.run({ [this.session.inputName]: new ort.Tensor('float32', this.input, [1, 3, size, size]) });
      const t = out[this.session.outputName];
      if (!t || t.type !== 'float32' || t.data.length !== this.dim) {
        throw new KioskError('MODEL_LOAD_FAILED', { reason: `unexpected output from ${this.name}` });
      }
      const v = t.data as Float32Array;
      let n = 0;
      for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
      n = Math.sqrt(n);
      if (!Number.isFinite(n) || n === 0) throw new KioskError('MATCH_VECTOR_INVALID', { reason: 'embedder output' });
      const out2 = new Float32Array(this.dim);
      for (let i = 0; i < v.length; i++) out2[i] = v[i]! / n;
      t.dispose();
      return out2;
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Create an embedder on the configured backend (WebGPU falls back to WASM). `load` returns a model's verified
 * bytes by manifest id; the int8 twin is asked for only when it will run on the WASM provider, where onnxruntime
 * fuses its QDQ pairs into integer kernels (WebGPU has no such kernels and would run it slower than float).
 */
export async function createEmbedder(
  name: EmbedderName,
  load: (modelId: string) => Promise<Uint8Array>,
  precision: EmbedderPrecision = 'fp32',
): Promise<Embedder> {
  if (!runtime) throw new KioskError('INTERNAL', { reason: 'configureRuntime() first' });
  const info = await runtime;
  const spec = EMBEDDERS[name];
  const precisionOn = (ep: BackendName): EmbedderPrecision =>
    ep === 'wasm' && precision === 'int8' && spec.int8ModelId ? 'int8' : 'fp32';
  const modelOf = (p: EmbedderPrecision) => (p === 'int8' && spec.int8ModelId ? spec.int8ModelId : spec.modelId);
  // The primary model is loaded outside the fallback logic: an integrity failure must surface as itself.
  const primary = precisionOn(info.backend);
  const primaryBytes = await load(modelOf(primary));
  const make = async (ep: BackendName, build: BackendName = ep, note: string | null = null) => {
    const p = precisionOn(ep);
    const modelBytes = p === primary ? primaryBytes : await load(modelOf(p));
    const session = await OrtSession.create(modelOf(p), modelBytes, ep, build);
    return new OrtEmbedder(spec, session, ep, p, note);
  };
  try {
    return await make(info.backend);
  } catch (e) {
    // A runtime or model that fails its hash is not worked around with another build: it surfaces as itself.
    if (e instanceof KioskError && e.code === 'MODEL_INTEGRITY') throw e;
    // WebGPU adapter that cannot run the graph (old driver, lost device): WASM. Plain WASM build not provisioned
    // (an older models/ folder): the WebGPU build's WASM provider — slower, but the kiosk keeps working.
    const why = e instanceof KioskError ? String(e.cause ?? e.code) : String(e);
    const [ep, build, note] =
      info.backend === 'webgpu'
        ? (['wasm', 'wasm', 'WebGPU session failed; WASM SIMD'] as const)
        : (['wasm', 'webgpu', 'plain WASM build unavailable; WASM via the WebGPU build (slower)'] as const);
    try {
      const emb = await make(ep, build, note);
      console.warn(`face embedder: ${note} (${why})`);
      return emb;
    } catch {
      throw e;
    }
  }
}
