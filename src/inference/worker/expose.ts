/**
 * Worker side of the bridge: dispatches typed commands to handlers and turns every failure into a
 * serialisable KioskError, so the main thread never sees a raw wasm exception text.
 *
 * What crosses is the code, the code's own message from ERROR_MESSAGES and the details our modules wrote (field,
 * model, sizes, our own reason strings). Text from a runtime (ORT, MediaPipe, tesseract, the browser) travels only
 * as a KioskError's `cause`, which is never posted: it is logged to this worker's console, on the device, for
 * support. A thrown non-KioskError becomes INTERNAL with no details at all.
 */
import { ERROR_MESSAGES, KioskError, type SerializedKioskError } from '../../shared/errors';
import type { CommandMap, Transferable_, WorkerReply, WorkerRequest } from '../../shared/worker-protocol';

export type Handlers<M extends CommandMap> = {
  [K in keyof M]: (payload: M[K]['req']) => Promise<M[K]['res'] | Transferable_<M[K]['res']>>;
};

function isTransferable<T>(v: unknown): v is Transferable_<T> {
  return typeof v === 'object' && v !== null && 'transfer' in v && 'value' in v && Array.isArray((v as { transfer: unknown }).transfer);
}

/** The reply form of a failure: code, fixed message, our own details; raw runtime text only to the worker console. */
export function replyError(err: unknown): SerializedKioskError {
  const raw = err instanceof KioskError ? err.cause : err;
  if (raw !== undefined) console.warn('worker error (kept on this device):', raw);
  if (!(err instanceof KioskError)) return { code: 'INTERNAL', message: ERROR_MESSAGES.INTERNAL, details: {} };
  return { code: err.code, message: ERROR_MESSAGES[err.code], details: { ...err.details } };
}

export function expose<M extends CommandMap>(handlers: Handlers<M>): void {
  const scope = self as unknown as DedicatedWorkerGlobalScope;
  scope.addEventListener('message', (ev: MessageEvent<WorkerRequest<M>>) => {
    const { id, cmd, payload } = ev.data;
    const handler = handlers[cmd];
    const reply = (r: WorkerReply<M>, transfer: Transferable[] = []) => scope.postMessage(r, transfer);
    if (!handler) {
      reply({ id, ok: false, error: new KioskError('INPUT_INVALID', { cmd: String(cmd) }).toJSON() });
      return;
    }
    handler(payload).then(
      (out) => {
        if (isTransferable<M[typeof cmd]['res']>(out)) reply({ id, ok: true, result: out.value }, out.transfer);
        else reply({ id, ok: true, result: out });
      },
      (err: unknown) => reply({ id, ok: false, error: replyError(err) }),
    );
  });
}
