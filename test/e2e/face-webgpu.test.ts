/**
 * The WebGPU path of the face embedders, for correctness: with --enable-unsafe-webgpu Chromium gives a SwiftShader
 * adapter (CPU-emulated, ~1.6 s per embedding — useless for speed, fine for numbers), and onnxruntime-web's WebGPU
 * execution provider must produce the same templates as its WASM one on a real photo, for both embedders.
 *
 * This needs a browser launched with different flags from the vitest browser project, so it runs here with
 * playwright-core against the kiosk's own Vite dev server (bench/lib/browser.mjs: same config, headers, /models/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBench } from '../../bench/lib/browser.mjs';

type Run = { backend: string; reason: string; template: number[]; ms: number };
type Result = { adapter: string | null; runs: Record<string, { wasm: Run; webgpu: Run }> };

describe('face embedders on WebGPU', () => {
  let bench: Awaited<ReturnType<typeof startBench>>;
  let result: Result;

  beforeAll(async () => {
    bench = await startBench({ webgpu: true, entries: ['test/e2e/pages/face-webgpu.html'] });
    await bench.page.goto(`${bench.url}/test/e2e/pages/face-webgpu.html`);
    await bench.page.waitForFunction(() => document.body.dataset['ready'] === '1', null, { timeout: 120_000 });
    result = await bench.page.evaluate(() =>
      (globalThis as unknown as { faceWebgpu: { run: (e: string[]) => Promise<Result> } }).faceWebgpu.run([
        'fr_feature',
        'dlib_resnet',
      ]),
    );
  }, 600_000);

  afterAll(async () => {
    await bench?.close();
  });

  it('gets a WebGPU adapter and really runs the WebGPU execution provider', () => {
    expect(result.adapter).not.toBeNull();
    for (const r of Object.values(result.runs)) {
      expect(r.webgpu.backend).toBe('webgpu');
      expect(r.webgpu.reason).toContain('adapter');
      expect(r.wasm.backend).toBe('wasm');
    }
    expect(bench.errors).toEqual([]);
  });

  it.each(['fr_feature', 'dlib_resnet'])('%s: WebGPU templates equal WASM templates within float tolerance', (name) => {
    const { wasm, webgpu } = result.runs[name]!;
    expect(webgpu.template.length).toBe(wasm.template.length);
    let dot = 0;
    let maxDiff = 0;
    for (let i = 0; i < wasm.template.length; i++) {
      dot += wasm.template[i]! * webgpu.template[i]!;
      maxDiff = Math.max(maxDiff, Math.abs(wasm.template[i]! - webgpu.template[i]!));
    }
    console.log(
      `${name}: cos ${dot.toFixed(6)}, max |diff| ${maxDiff.toExponential(2)}, wasm ${wasm.ms.toFixed(0)} ms, webgpu ${webgpu.ms.toFixed(0)} ms`,
    );
    // Same photo, same crop: only float summation order differs between the two providers.
    expect(dot).toBeGreaterThan(0.9999);
    expect(maxDiff).toBeLessThan(2e-3);
  });
});
