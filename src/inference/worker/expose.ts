/**
 * Worker side of the bridge: dispatches typed commands to handlers and turns every failure into a
 * serialisable KioskError, so the main thread never sees a raw wasm exception text.
 */
import { KioskError } from '../../shared/errors';
import type { CommandMap, Transferable_, WorkerReply, WorkerRequest } from '../../shared/worker-protocol';

export type Handlers<M extends CommandMap> = {
  [K in keyof M]: (payload: M[K]['req']) => Promise<M[K]['res'] | Transferable_<M[K]['res']>>;
};

function isTransferable<T>(v: unknown): v is Transferable_<T> {
  return typeof v === 'object' && v !== null && 'transfer' in v && 'value' in v && Array.isArray((v as { transfer: unknown }).transfer);
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
      (err: unknown) => {
        const e =
          err instanceof KioskError
            ? err
            : new KioskError('INTERNAL', { reason: err instanceof Error ? err.message : String(err) });
        reply({ id, ok: false, error: e.toJSON() });
      },
    );
  });
}
