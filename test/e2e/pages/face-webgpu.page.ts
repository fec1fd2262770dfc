/**
 * Page for test/e2e/face-webgpu.test.ts: enrols one npm-shipped photo through the real face worker twice per
 * embedder — once on ORT's WebGPU execution provider, once on WASM — and hands both templates back for comparison.
 * Detection and alignment run identically in both (MediaPipe on CPU), so any difference is the embedding backend.
 */
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import { FaceClient } from '../../../src/inference/client/face-client';
import type { EmbedderName } from '../../../src/config/face';

export interface BackendRun {
  backend: string;
  reason: string;
  template: number[];
  ms: number;
}

async function photo(): Promise<Blob> {
  // The centre woman of sample3, alone in the crop.
  const src = await createImageBitmap(await (await fetch(s3)).blob());
  const canvas = new OffscreenCanvas(600, 750);
  canvas.getContext('2d')!.drawImage(src, 850, 50, 600, 750, 0, 0, 600, 750);
  return canvas.convertToBlob({ type: 'image/png' });
}

async function enrolOn(embedder: EmbedderName, backend: 'wasm' | 'webgpu', image: Blob): Promise<BackendRun> {
  // Float on both: this compares execution providers (WASM's default int8 twin is checked in face-int8-parity).
  const client = new FaceClient({ config: { embedder, precision: 'fp32' }, backend, timeoutMs: 170_000 });
  try {
    const info = await client.init();
    const t0 = performance.now();
    const r = await client.enrolFromImage(undefined, image);
    return {
      backend: info.backend.backend,
      reason: info.backend.reason,
      template: Array.from(r.template),
      ms: performance.now() - t0,
    };
  } finally {
    client.terminate();
  }
}

async function run(embedders: EmbedderName[]) {
  const gpu = (
    navigator as unknown as {
      gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> };
    }
  ).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  const image = await photo();
  const out: Record<string, { wasm: BackendRun; webgpu: BackendRun }> = {};
  for (const e of embedders)
    out[e] = { wasm: await enrolOn(e, 'wasm', image), webgpu: await enrolOn(e, 'webgpu', image) };
  return {
    adapter: adapter ? `${adapter.info?.vendor ?? '?'} ${adapter.info?.architecture ?? ''}`.trim() : null,
    runs: out,
  };
}

(globalThis as unknown as { faceWebgpu: { run: typeof run } }).faceWebgpu = { run };
document.body.dataset['ready'] = '1';
