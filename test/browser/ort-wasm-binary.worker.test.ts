/**
 * onnxruntime-web's own wasm handed over as a module compiled from verified bytes (issue 19, cold start): the face
 * worker compiles the 14 MB runtime from its response through model-loader.ts (SHA-256 of the same response against
 * models/manifest.json) from its first moment, beside the detector's load, and ORT instantiates that module instead
 * of fetching the file itself. Shown here with the real loader, the real ORT build and the real fr_feature int8 model
 * in Chromium: the runtime's wasm is fetched once (by the loader, never again by ORT), the embedder then gives a
 * normalised 512-D template, and a runtime whose bytes fail the pinned hash stops the embedder with MODEL_INTEGRITY —
 * it is neither run nor worked around with the other ORT build.
 * Typed as worker code (tsconfig.worker.json: *.worker.test.ts), the context the owner serves; it runs in the page.
 */
import { describe, expect, it } from 'vitest';
import { ModelLoader, type ModelManifest } from '../../src/inference/model-loader';
import { configureRuntime, createEmbedder } from '../../src/inference/worker/face/face-embedder';
import { compileOrtRuntime, ORT_WASM_FILE, ORT_WASM_ID } from '../../src/inference/worker/ort-runtime';
import { realmTrace, traceWasmCompiles } from '../../src/shared/startup-trace';

/** Requests this page made for files named `file` (Resource Timing: real fetches, by anyone in this realm). */
const fetchesOf = (file: string) =>
  performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.endsWith(`/${file}`)).length;

describe('ORT runtime compiled from verified bytes', () => {
  it('refuses a runtime that fails its pinned hash, then runs the embedder from the verified bytes alone', async () => {
    traceWasmCompiles(realmTrace);
    const manifest = (await (await fetch('/models/manifest.json')).json()) as ModelManifest;
    const entry = manifest.files.find((f) => f.id === ORT_WASM_ID)!;
    expect(entry.out).toBe(`ort/${ORT_WASM_FILE}`);

    // This build's manifest pins other bytes for the runtime: the origin's file is then not what the kiosk trusts.
    const other = entry.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const tampered = new ModelLoader({ manifest: { schemaVersion: 1, files: manifest.files.map((f) => (f.id === ORT_WASM_ID ? { ...f, sha256: other } : f)) } });
    configureRuntime({ wasmBase: '/models/ort/', backend: 'wasm', threads: 1, wasmModule: () => compileOrtRuntime(tampered) });
    await expect(createEmbedder('fr_feature', (id) => tampered.load(id), 'int8')).rejects.toMatchObject({ code: 'MODEL_INTEGRITY' });
    // No fallback to the WebGPU build's WASM provider (it would have fetched its own, unchecked wasm).
    expect(fetchesOf('ort-wasm-simd-threaded.asyncify.wasm')).toBe(0);

    const loader = new ModelLoader();
    const before = fetchesOf(ORT_WASM_FILE);
    configureRuntime({ wasmBase: '/models/ort/', backend: 'wasm', threads: 1, wasmModule: () => compileOrtRuntime(loader) });
    const embedder = await createEmbedder('fr_feature', (id) => loader.load(id), 'int8');
    expect(embedder).toMatchObject({ backend: 'wasm', precision: 'int8', dim: 512 });
    // Read once, by the loader (the tampered loader's read was refused above); ORT fetched nothing of its own.
    expect(fetchesOf(ORT_WASM_FILE) - before).toBe(1);
    // The compile is in the cold-start trace under the file's name.
    expect(realmTrace.take().map((s) => s.name)).toContain(`wasm:${ORT_WASM_FILE}`);

    const crop = new ImageData(112, 112);
    for (let i = 0; i < crop.data.length; i++) crop.data[i] = (i * 37) % 251;
    const t = await embedder.embed(crop);
    expect(t).toHaveLength(512);
    expect(Math.hypot(...t)).toBeCloseTo(1, 4);
    await embedder.release();
  }, 120_000);
});
