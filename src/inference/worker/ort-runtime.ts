/**
 * onnxruntime-web for a worker: which build is loaded and where its wasm comes from.
 *
 * One owner for both workers that run ORT (faces and plates). Two builds because one does not fit both: the WebGPU
 * entry point (asyncify build) runs the WASM execution provider 4-5x slower than the plain SIMD build (fr_feature
 * 154 vs 32 ms; the PP-OCR recogniser likewise), so WebGPU sessions load `onnxruntime-web/webgpu` and every WASM
 * session loads `onnxruntime-web/wasm`. A worker normally loads one; the other only on a fallback. `wasmPaths` is
 * never left unset: ORT's default is a CDN, and the kiosk fetches nothing from outside its own origin.
 * `env.wasm` is read when a build creates its first session, so the thread count is fixed per worker.
 */
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;
export type OrtBuild = 'wasm' | 'webgpu';

const modules = new Map<OrtBuild, Promise<OrtModule>>();

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

/** The ORT build for `build`, configured with this worker's wasm location and thread count. */
export function ortFor(build: OrtBuild, threads: number, wasmBase: string): Promise<OrtModule> {
  let p = modules.get(build);
  if (!p) {
    p = (build === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')).then((ort) => {
      ort.env.wasm.wasmPaths = wasmBase.endsWith('/') ? wasmBase : `${wasmBase}/`;
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.proxy = false;
      ort.env.logLevel = 'error';
      return ort as unknown as OrtModule;
    });
    modules.set(build, p);
    p.catch(() => modules.delete(build));
  }
  return p;
}
