/**
 * onnxruntime-web for the plate worker: runtime settings and the two PP-OCRv4 sessions as `OnnxRun` functions.
 *
 * Owns this worker's thread count and backend choice, and serialises runs per session (one ORT session must not
 * run twice at once). The ORT build itself comes from ort-runtime.ts, shared with the face worker: same builds and
 * wasm files (the manifest's ort/ folder, our own origin only), so the precache holds one copy. It never fetches
 * model bytes itself: the caller passes verified bytes.
 */
import type * as Ort from 'onnxruntime-web';
import { KioskError } from '../../shared/errors';
import type { PlateBackendName } from '../../shared/plate-protocol';
import type { OnnxRun } from './plate-pipeline';
import { ortFor } from './ort-runtime';

export interface PlateRuntime {
  backend: PlateBackendName;
  threads: number;
}

let configured: { wasmBase: string; threads: number } | null = null;

/**
 * Configure ORT once per worker. Threads: 2 when crossOriginIsolated on a machine with at least 2 cores (the
 * detector ran ~1.5x faster with 2 threads than 1 here; the recogniser about the same), else 1.
 */
export function configurePlateRuntime(wasmBase: string, threads?: number): number {
  const base = wasmBase.endsWith('/') ? wasmBase : `${wasmBase}/`;
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = navigator.hardwareConcurrency || 1;
  const n = isolated ? Math.max(1, threads ?? Math.min(2, cores)) : 1;
  if (configured) {
    if (configured.wasmBase !== base || configured.threads !== n)
      throw new KioskError('CONFIG_INVALID', { reason: 'ORT already configured differently in this worker' });
    return n;
  }
  configured = { wasmBase: base, threads: n };
  return n;
}

async function webgpuAvailable(): Promise<boolean> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/** Pick the backend: 'auto' is WASM (measured faster than a software WebGPU adapter), 'webgpu' only on request. */
export async function pickBackend(want: 'auto' | PlateBackendName): Promise<PlateBackendName> {
  if (want === 'webgpu') {
    if (await webgpuAvailable()) return 'webgpu';
    throw new KioskError('MODEL_LOAD_FAILED', { reason: 'WebGPU requested but no adapter' });
  }
  return 'wasm';
}

/** Create a session from verified bytes and wrap it as a serialised OnnxRun. */
export async function createRun(
  id: string,
  bytes: Uint8Array,
  backend: PlateBackendName,
): Promise<{ run: OnnxRun; release: () => Promise<void> }> {
  if (!configured) throw new KioskError('INTERNAL', { reason: 'configurePlateRuntime() first' });
  let ort: typeof Ort;
  let session: Ort.InferenceSession;
  try {
    // The plain SIMD build for WASM: the WebGPU build's WASM provider is several times slower (ort-runtime.ts).
    ort = await ortFor(backend, configured.threads, configured.wasmBase);
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new KioskError('MODEL_LOAD_FAILED', { model: id, reason: String(e) }, { cause: e });
  }
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  let queue: Promise<unknown> = Promise.resolve();
  const run: OnnxRun = (data, dims) => {
    const p = queue.then(async () => {
      const out = await session.run({ [input]: new ort.Tensor('float32', data, dims as number[]) });
      const t = out[output]!;
      const result = { data: t.data as Float32Array, dims: t.dims };
      return result;
    });
    queue = p.catch(() => undefined);
    return p;
  };
  return { run, release: () => session.release() };
}
