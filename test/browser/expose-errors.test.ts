/**
 * expose.ts promises that no raw runtime text reaches the main thread: across a real worker boundary, a failure
 * arrives as its code, the code's own message and the details our modules wrote — never the text of a wasm abort
 * (which may quote memory, paths or, in a bad day, data), a wrapped cause, or onnxruntime-web's own message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerBridge } from '../../src/inference/client/bridge';
import { ERROR_MESSAGES, type KioskError } from '../../src/shared/errors';

type Commands = {
  raw: { req: { text: string }; res: null };
  wrapped: { req: { text: string }; res: null };
  ort: { req: null; res: null };
};

const SECRET = 'RuntimeError: abort(OOM) at wasm://wasm/0x1f2e3d label=ALICE-EXAMPLE';

describe('worker errors crossing to the main thread', () => {
  const bridge = new WorkerBridge<Commands>(
    () => new Worker(new URL('./expose-errors.worker.ts', import.meta.url), { type: 'module' }),
    { timeoutMs: 60_000 },
  );
  afterAll(() => bridge.terminate());

  const failure = async (p: Promise<unknown>): Promise<KioskError> => {
    try {
      await p;
    } catch (e) {
      return e as KioskError;
    }
    throw new Error('expected a failure');
  };
  const everything = (e: KioskError) => JSON.stringify({ message: e.message, details: e.details, json: e.toJSON() });

  it('a raw Error becomes INTERNAL with no details and none of its text', async () => {
    const e = await failure(bridge.call(undefined, 'raw', { text: SECRET }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe(ERROR_MESSAGES.INTERNAL);
    expect(e.details).toEqual({});
    expect(everything(e)).not.toMatch(/ALICE|abort|wasm/);
  });

  it("a KioskError keeps its code and our details; its cause's text stays in the worker", async () => {
    const e = await failure(bridge.call(undefined, 'wrapped', { text: SECRET }));
    expect(e.code).toBe('MODEL_LOAD_FAILED');
    expect(e.details).toEqual({ model: 'face-eyes' });
    expect(everything(e)).not.toMatch(/ALICE|abort|wasm/);
  });

  it("real onnxruntime-web refusing a model arrives as MODEL_LOAD_FAILED naming the model, without ORT's text", async () => {
    const e = await failure(bridge.call(undefined, 'ort', null));
    expect(e.code).toBe('MODEL_LOAD_FAILED');
    expect(e.details).toEqual({ model: 'face-eyes' });
    expect(everything(e)).not.toMatch(/RAW-ORT-BYTES|protobuf|onnx|session/i);
  });
});
