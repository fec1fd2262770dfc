/**
 * The one onnxruntime owner (src/inference/worker/ort-runtime.ts), in real Chromium with real onnxruntime-web and
 * a real provisioned model (faceplugin's fr_liveness.onnx, the app's own copy under /models/). This browser runs
 * without --enable-unsafe-webgpu, so navigator.gpu gives no adapter: the owner must then pick WASM for 'auto'
 * (faces' preference included) and refuse a forced WebGPU. Runs of one session must never overlap, whatever the
 * callers do, and each caller must get its own input's output. (The WebGPU path itself is proven in
 * test/e2e/face-webgpu.test.ts, which starts Chromium with the flag.)
 * Typed as worker code (tsconfig.worker.json: *.worker.test.ts), the context the owner serves; it runs in the page.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  configureOrt,
  defaultThreads,
  OrtSession,
  threadsFor,
  webgpuAdapterAvailable,
} from '../../src/inference/worker/ort-runtime';

const MODEL = '/models/face/fr_liveness.onnx';
const N = 128; // the liveness network's input side

function input(seed: number): Float32Array {
  const a = new Float32Array(3 * N * N);
  for (let i = 0; i < a.length; i++) a[i] = (i * 7 + seed * 131) % 256;
  return a;
}

describe('ort-runtime: thread policy', () => {
  it('uses half the cores up to the ceiling, 2 on 2 cores, 1 without cross-origin isolation', () => {
    expect([1, 2, 3, 4, 8, 16].map((c) => defaultThreads(c, 4))).toEqual([1, 2, 2, 2, 4, 4]);
    // Plates cap at 2 (what plate-ort.ts computed as min(2, cores)).
    expect([1, 2, 8, 16].map((c) => defaultThreads(c, 2))).toEqual([1, 2, 2, 2]);
    expect(threadsFor(false, 16, 4, 8)).toBe(1);
    expect(threadsFor(true, 16, 4, 3)).toBe(3);
    expect(() => threadsFor(true, 2, 2, 0)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'threads' } }));
  });
});

describe('ort-runtime in Chromium without a WebGPU adapter', () => {
  let bytes: Uint8Array;
  beforeAll(async () => {
    bytes = new Uint8Array(await (await fetch(MODEL)).arrayBuffer());
  });

  it('finds no adapter and picks WASM for auto, even where WebGPU is preferred; refuses forced WebGPU', async () => {
    expect(crossOriginIsolated).toBe(true);
    expect(await webgpuAdapterAvailable()).toBe(false);
    const faces = await configureOrt({ wasmBase: '/models/ort/', maxThreads: 4, autoPrefers: 'webgpu', threads: 1 });
    expect(faces).toMatchObject({ backend: 'wasm', threads: 1 });
    expect(faces.reason).toMatch(/no WebGPU adapter/);
    const plates = await configureOrt({ wasmBase: '/models/ort/', maxThreads: 2, autoPrefers: 'wasm', threads: 1 });
    expect(plates.backend).toBe('wasm');
    await expect(
      configureOrt({ wasmBase: '/models/ort/', maxThreads: 4, autoPrefers: 'webgpu', threads: 1, backend: 'webgpu' }),
    ).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  });

  it('refuses a second, different thread count or wasm location in the same context (ORT would ignore it)', async () => {
    await expect(configureOrt({ wasmBase: '/models/ort/', maxThreads: 4, autoPrefers: 'wasm', threads: 2 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: { field: 'threads' },
    });
    await expect(configureOrt({ wasmBase: '/elsewhere/', maxThreads: 4, autoPrefers: 'wasm', threads: 1 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: { field: 'wasmBase' },
    });
  });

  it('serialises runs of one session: no two overlap, and each caller gets the output of its own input', async () => {
    const session = await OrtSession.create('face-liveness', bytes, 'wasm');
    expect(session.backend).toBe('wasm');
    // Reference outputs, one run at a time.
    const expected: number[][] = [];
    for (let k = 0; k < 6; k++) expected.push([...((await session.runTensor(input(k), [1, 3, N, N])).data as Float32Array)]);
    expect(new Set(expected.map((e) => e.join())).size).toBe(6);

    // Six callers at once, through the owner: each run is timed by the owner's queue, on the real session.
    const spans: [number, number][] = [];
    const got = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((k) =>
        session.run(async (s, ort) => {
          const t0 = performance.now();
          const out = await s.run({ [session.inputName]: new ort.Tensor('float32', input(k), [1, 3, N, N]) });
          // Yield to the event loop inside the run: an unserialised caller would start its own run now.
          await new Promise((r) => setTimeout(r, 5));
          spans.push([t0, performance.now()]);
          return [...(out[session.outputName]!.data as Float32Array)];
        }),
      ),
    );
    expect(got).toEqual(expected);
    const sorted = [...spans].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0]).toBeGreaterThanOrEqual(sorted[i - 1]![1]);

    // A failed run does not stop the queue.
    await expect(session.runTensor(new Float32Array(3), [1, 3, 1, 1])).rejects.toBeDefined();
    expect([...((await session.runTensor(input(2), [1, 3, N, N])).data as Float32Array)]).toEqual(expected[2]);
    await session.release();
  });

  it('names the model when ORT refuses the bytes', async () => {
    await expect(OrtSession.create('face-liveness', new Uint8Array([1, 2, 3, 4]), 'wasm')).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      details: { model: 'face-liveness' },
    });
  });
});
