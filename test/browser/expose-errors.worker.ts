/**
 * Test-only module worker: fails in the ways a real worker fails, through the real expose(): a raw runtime error
 * (the text a wasm abort carries), a KioskError whose cause holds raw text, and real onnxruntime-web refusing
 * bytes that are not a model. A thin shell: no error handling of its own.
 */
import { expose } from '../../src/inference/worker/expose';
import { configureOrt, OrtSession } from '../../src/inference/worker/ort-runtime';
import { KioskError } from '../../src/shared/errors';

/** Mirrored (by hand) in expose-errors.test.ts: a type import from here would pull worker code into the app project. */
type Commands = {
  raw: { req: { text: string }; res: null };
  wrapped: { req: { text: string }; res: null };
  ort: { req: null; res: null };
};

expose<Commands>({
  async raw({ text }) {
    throw new Error(text);
  },
  async wrapped({ text }) {
    throw new KioskError('MODEL_LOAD_FAILED', { model: 'face-eyes' }, { cause: new Error(text) });
  },
  async ort() {
    await configureOrt({ wasmBase: '/models/ort/', threads: 1, maxThreads: 1, backend: 'wasm', autoPrefers: 'wasm' });
    await OrtSession.create('face-eyes', new TextEncoder().encode('not an onnx model: RAW-ORT-BYTES'), 'wasm');
    return null;
  },
});
