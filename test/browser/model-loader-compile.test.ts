/**
 * ModelLoader.compileVerified (issue 19, cold start): a wasm runtime compiled from its response, so V8 can keep its
 * optimised code beside it, and still proved against the manifest before anyone gets the module. Real Chromium, the
 * real provisioned ORT runtime (14 MB), real WebCrypto: a verified response gives a module ORT's loader can link; a
 * copy whose bytes fail the pinned hash gives MODEL_INTEGRITY, never a module; and a server that does not say
 * application/wasm (the browser refuses to stream-compile that) still gets the runtime compiled, from the verified
 * bytes — and refused the same way when they are wrong.
 */
import { describe, expect, it } from 'vitest';
import { ModelLoader, type ModelManifest } from '../../src/inference/model-loader';
/** The manifest id of ORT's plain runtime (ort-runtime.ts ORT_WASM_ID; that module is worker code). */
const ORT_WASM_ID = 'ort-wasm-plain-binary';
import { isKioskError } from '../../src/shared/errors';

async function manifest(swapped: boolean): Promise<ModelManifest> {
  const m = (await (await fetch('/models/manifest.json')).json()) as ModelManifest;
  if (!swapped) return m;
  return { ...m, files: m.files.map((f) => (f.id === ORT_WASM_ID ? { ...f, sha256: f.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) } : f)) };
}

/** The module's interface (names and kinds of its imports and exports): the same for the same wasm. */
const shape = (m: WebAssembly.Module) => JSON.stringify([WebAssembly.Module.imports(m), WebAssembly.Module.exports(m)]);

describe('ModelLoader.compileVerified (real Chromium)', () => {
  for (const base of ['/models/', '/models-octet/']) {
    it(`${base}: a verified runtime compiles; a runtime that fails its pin is refused with MODEL_INTEGRITY`, async () => {
      if (base === '/models-octet/') {
        // The premise: this server's answer cannot be stream-compiled.
        await expect(WebAssembly.compileStreaming(fetch(`${base}ort/ort-wasm-simd-threaded.wasm`))).rejects.toThrow(TypeError);
      }
      const loader = new ModelLoader({ base, manifest: await manifest(false) });
      const good = await loader.compileVerified(ORT_WASM_ID);
      expect(good).toBeInstanceOf(WebAssembly.Module);
      // It is ORT's runtime: the same interface as the verified bytes compiled by hand (~100 imports).
      expect(WebAssembly.Module.imports(good).length).toBeGreaterThan(50);
      expect(shape(good)).toBe(shape(await WebAssembly.compile(await loader.load(ORT_WASM_ID))));
      await expect(new ModelLoader({ base, manifest: await manifest(true) }).compileVerified(ORT_WASM_ID)).rejects.toSatisfy((e: unknown) =>
        isKioskError(e, 'MODEL_INTEGRITY'),
      );
    }, 60_000);
  }
});
