/**
 * onnxruntime-web for a worker: the one owner of ORT's thread policy, its execution-provider choice, which build
 * is loaded from where, and serialised session runs. Every ORT session in the app (face embedder, liveness, eye
 * state, the plate detector and recognisers) is created through `createSession` here; no other module sets
 * `ort.env` or probes WebGPU.
 *
 * Two builds because one does not fit both: the WebGPU entry point (asyncify build) runs the WASM execution
 * provider 4-5x slower than the plain SIMD build (fr_feature 154 vs 32 ms; the PP-OCR recogniser likewise), so
 * WebGPU sessions load `onnxruntime-web/webgpu` and every WASM session loads `onnxruntime-web/wasm`. A worker
 * normally loads one; the other only on a fallback. `wasmPaths` is never left unset: ORT's default is a CDN, and
 * the kiosk fetches nothing from outside its own origin. `env.wasm` is read when a build creates its first
 * session, so the thread count and wasm location are fixed per worker (a second, different configuration is
 * refused with CONFIG_INVALID rather than silently ignored). It never fetches model bytes: callers pass verified
 * bytes (model-loader.ts), and it never decides anything.
 */
import type * as Ort from 'onnxruntime-web';
import { KioskError } from '../../shared/errors';
import type { BackendInfo, BackendName } from '../../shared/face-protocol';
import { realmTrace } from '../../shared/startup-trace';
import type { ModelLoader } from '../model-loader';

export type OrtModule = typeof Ort;
export type OrtBuild = BackendName;

export interface OrtSetup {
  /** URL prefix the ORT wasm files are served from (the manifest's ort/ folder, our own origin). */
  wasmBase: string;
  /** WASM thread count override (tests, benchmarks); default `defaultThreads(cores, maxThreads)`. */
  threads?: number;
  /** The default thread count's ceiling for this worker's models (a measured value, see callers). */
  maxThreads: number;
  /** 'auto' lets `autoPrefers` decide; 'wasm' / 'webgpu' force one ('webgpu' without an adapter fails). */
  backend?: 'auto' | BackendName;
  /** What 'auto' picks: 'webgpu' when an adapter exists (faces), or always 'wasm' (plates: a software adapter
   * was measured slower than WASM). */
  autoPrefers: BackendName;
  /**
   * The plain build's wasm, compiled from verified bytes (ModelLoader.compileVerified, manifest id ORT_WASM_ID),
   * handed to ORT instead of letting it fetch the file by URL: the runtime is hash-checked like every model, the
   * caller can start the compile early, beside the face detector's load (cold start, issue 19), and a module
   * compiled from its cached response lets V8 reuse its optimised code after a restart. Without it ORT fetches
   * `wasmBase`.
   */
  wasmModule?: () => Promise<WebAssembly.Module>;
}

/** The manifest id of the plain (SIMD, threaded) build's wasm: what `OrtSetup.wasmModule` must compile. */
export const ORT_WASM_ID = 'ort-wasm-plain-binary';
/** Its file name (ORT's loader asks for it; the trace names its compile after it). */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.wasm';

/** The plain build's runtime, compiled from `loader`'s verified copy (what `OrtSetup.wasmModule` should return). */
export function compileOrtRuntime(loader: ModelLoader): Promise<WebAssembly.Module> {
  return realmTrace.time(`wasm:${ORT_WASM_FILE}`, () => loader.compileVerified(ORT_WASM_ID));
}

const modules = new Map<OrtBuild, Promise<OrtModule>>();
let configured: { wasmBase: string; threads: number } | null = null;
let wasmModule: (() => Promise<WebAssembly.Module>) | null = null;

/**
 * ORT takes its runtime only as bytes (`env.wasm.wasmBinary`) or a URL, and its Emscripten loader compiles what it is
 * given with `WebAssembly.instantiate(bytes, imports)`. To hand it a module we compiled and verified, it is given
 * random marker bytes instead, and this realm's `WebAssembly.instantiate` answers exactly those bytes with an
 * instance of that module (the result shape of a bytes call: `{ module, instance }`; the module also goes to ORT's
 * thread pool). Every other call is the browser's own. Fails closed: were the hook ever bypassed, the marker is not
 * wasm and ORT's start fails with MODEL_LOAD_FAILED; it never runs unverified bytes.
 */
const handedOver: { marker: Uint8Array; module: WebAssembly.Module }[] = [];

function isMarker(src: unknown, marker: Uint8Array): boolean {
  const view = src instanceof ArrayBuffer ? new Uint8Array(src) : ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : null;
  return view !== null && view.byteLength === marker.byteLength && view.every((b, i) => b === marker[i]);
}

function handOver(module: WebAssembly.Module): Uint8Array {
  const wasm = WebAssembly as typeof WebAssembly & { __handOver?: true };
  if (!wasm.__handOver) {
    wasm.__handOver = true;
    const instantiate = wasm.instantiate.bind(wasm) as (src: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
    (wasm as { instantiate: unknown }).instantiate = async (src: unknown, imports?: WebAssembly.Imports) => {
      const handed = src instanceof WebAssembly.Module ? undefined : handedOver.find((h) => isMarker(src, h.marker));
      if (!handed) return instantiate(src, imports);
      return { module: handed.module, instance: await instantiate(handed.module, imports) };
    };
  }
  const marker = crypto.getRandomValues(new Uint8Array(32));
  handedOver.push({ marker, module });
  return marker;
}

/**
 * Default WASM threads: half the cores up to `maxThreads` (ORT's own default uses 4), but never fewer than 2 when
 * there are 2. On the idle 2-core target fr_feature embeds in 16.8 ms with 2 threads against 39.0 ms with 1
 * (bench:faces --degrade) and the plate detector runs ~1.5x faster; the camera loop awaits each frame, so the pool
 * never competes with a second inference of the same worker.
 */
export function defaultThreads(cores: number, maxThreads: number): number {
  const c = Math.max(1, Math.floor(cores) || 1);
  return Math.max(1, Math.min(maxThreads, Math.max(Math.min(2, c), Math.floor(c / 2))));
}

/** Threads ORT will use: without crossOriginIsolated there is no SharedArrayBuffer and only 1 thread works. */
export function threadsFor(isolated: boolean, cores: number, maxThreads: number, requested?: number): number {
  if (!isolated) return 1;
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1 && requested <= 64))
    throw new KioskError('CONFIG_INVALID', { field: 'threads' });
  return requested ?? defaultThreads(cores, maxThreads);
}

/** True when the browser gives a WebGPU adapter (headless Chromium without --enable-unsafe-webgpu gives none). */
export async function webgpuAdapterAvailable(): Promise<boolean> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/**
 * Fix this worker's thread count and wasm location, and choose its execution provider. Callable again with the
 * same threads and location (a re-init with another backend); anything else is refused: ORT would ignore it.
 */
export async function configureOrt(setup: OrtSetup): Promise<BackendInfo> {
  const wasmBase = setup.wasmBase.endsWith('/') ? setup.wasmBase : `${setup.wasmBase}/`;
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = threadsFor(isolated, navigator.hardwareConcurrency || 1, setup.maxThreads, setup.threads);
  if (configured && configured.wasmBase !== wasmBase) throw new KioskError('CONFIG_INVALID', { field: 'wasmBase' });
  if (configured && configured.threads !== threads) throw new KioskError('CONFIG_INVALID', { field: 'threads' });
  configured = { wasmBase, threads };
  wasmModule = setup.wasmModule ?? null;
  const want = setup.backend ?? 'auto';
  if (want === 'wasm') return { backend: 'wasm', threads, reason: 'WASM forced by configuration' };
  if (want === 'webgpu' || setup.autoPrefers === 'webgpu') {
    if (await webgpuAdapterAvailable()) return { backend: 'webgpu', threads, reason: 'navigator.gpu gave an adapter' };
    if (want === 'webgpu') throw new KioskError('MODEL_LOAD_FAILED', { reason: 'WebGPU requested but no adapter' });
    return {
      backend: 'wasm',
      threads,
      reason: isolated
        ? `no WebGPU adapter; WASM SIMD, ${threads} thread(s) (crossOriginIsolated)`
        : 'no WebGPU adapter; WASM SIMD, 1 thread (page not crossOriginIsolated)',
    };
  }
  return { backend: 'wasm', threads, reason: `WASM SIMD, ${threads} thread(s) (faster here than a software WebGPU adapter)` };
}

/** The ORT build for `build`, set up with this worker's wasm location and thread count (configureOrt first). */
export function ortBuild(build: OrtBuild): Promise<OrtModule> {
  if (!configured) return Promise.reject(new KioskError('INTERNAL', { reason: 'configureOrt() first' }));
  const { wasmBase, threads } = configured;
  let p = modules.get(build);
  if (!p) {
    const precompiled = build === 'wasm' ? wasmModule : null;
    p = (build === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')).then(async (ort) => {
      ort.env.wasm.wasmPaths = wasmBase;
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.proxy = false;
      ort.env.logLevel = 'error';
      // ORT reads env.wasm.wasmBinary when this build creates its first session (its loader .mjs still comes from
      // wasmBase); the marker there is answered with our verified module (handOver).
      if (precompiled) ort.env.wasm.wasmBinary = handOver(await precompiled());
      return ort as unknown as OrtModule;
    });
    modules.set(build, p);
    p.catch(() => modules.delete(build));
  }
  return p;
}

/** Runs tasks one after another: a session must not run twice at once (a failed task does not stop the queue). */
export class SessionQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const p = this.tail.then(task, task);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Resolves once every queued task has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}

/**
 * One ORT session whose runs are serialised. `run` hands the callback the session and the ORT module (to build
 * tensors) while no other run of this session is in flight; `release` waits for queued runs first.
 */
export class OrtSession {
  private readonly queue = new SessionQueue();

  private constructor(
    readonly model: string,
    readonly ort: OrtModule,
    readonly session: Ort.InferenceSession,
    readonly backend: BackendName,
  ) {}

  get inputName(): string {
    return this.session.inputNames[0]!;
  }

  get outputName(): string {
    return this.session.outputNames[0]!;
  }

  run<T>(task: (session: Ort.InferenceSession, ort: OrtModule) => Promise<T>): Promise<T> {
    return this.queue.run(() => task(this.session, this.ort));
  }

  /** One float32 input → the first output, serialised. */
  runTensor(data: Float32Array, dims: readonly number[]): Promise<Ort.Tensor> {
    return this.run(async (s, ort) => {
      const out = await s.run({ [this.inputName]: new ort.Tensor('float32', data, dims as number[]) });
      const t = out[this.outputName];
      if (!t) throw new KioskError('MODEL_LOAD_FAILED', { model: this.model, reason: 'no output' });
      return t;
    });
  }

  async release(): Promise<void> {
    await this.queue.idle();
    await this.session.release();
  }

  /**
   * A session of `model` (its manifest id) from verified bytes on execution provider `ep`, loaded from ORT build
   * `build` (normally the same; the WebGPU build's WASM provider is the slow fallback when the plain WASM build
   * is missing). Failures are MODEL_LOAD_FAILED naming the model.
   */
  static async create(model: string, bytes: Uint8Array, ep: BackendName, build: OrtBuild = ep): Promise<OrtSession> {
    try {
      const ort = await realmTrace.time(`ort:import-${build}`, () => ortBuild(build));
      // The first session of a build also instantiates ORT's wasm and its threads (wasm:* in the cold-start trace).
      const session = await realmTrace.time(`ort:session:${model}`, () =>
        ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' }),
      );
      // The build is initialised once per worker: its marker need not stay referenced.
      ort.env.wasm.wasmBinary = undefined;
      return new OrtSession(model, ort, session, ep);
    } catch (e) {
      if (e instanceof KioskError) throw e;
      // ORT's own text stays in `cause` (expose.ts logs it in the worker, never posts it).
      throw new KioskError('MODEL_LOAD_FAILED', { model }, { cause: e });
    }
  }
}
