/**
 * AbortSignal-first bridge to one dedicated worker (the squoosh pattern).
 *
 * Owns the worker's lifecycle: lazily started, calls serialised (one ORT session must not run twice at once),
 * every call bounded by a reply timeout, abort or timeout terminates the worker so a stuck wasm call cannot hold
 * the kiosk, and the next call starts a fresh one. Errors cross the boundary as KioskError codes.
 * It never interprets payloads: feature clients (face, plate) wrap it with typed methods.
 */
import { KioskError, type SerializedKioskError } from '../../shared/errors';
import type { CommandMap, WorkerReply, WorkerRequest } from '../../shared/worker-protocol';

export interface BridgeOptions {
  /** Longest a single call may take before the worker is terminated (ms). Default 30 000. */
  timeoutMs?: number;
  /** Terminate the worker after this long without calls (ms); 0 keeps it forever. Default 0. */
  idleMs?: number;
}

export class WorkerBridge<M extends CommandMap> {
  private worker: Worker | null = null;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  /** Called after the worker was (re)started; lets a client re-send its init state (via `send(worker, …)`). */
  onStart: ((bridge: this, worker: Worker) => Promise<void>) | null = null;

  constructor(
    private readonly factory: () => Worker,
    opts: BridgeOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.idleMs = opts.idleMs ?? 0;
  }

  /** Queue a call; resolves with the worker's result or rejects with a KioskError. */
  call<K extends keyof M & string>(
    signal: AbortSignal | undefined,
    cmd: K,
    payload: M[K]['req'],
    transfer: Transferable[] = [],
  ): Promise<M[K]['res']> {
    const run = async (): Promise<M[K]['res']> => {
      if (signal?.aborted) throw new KioskError('WORKER_ABORTED');
      const fresh = this.worker === null;
      const worker = this.ensureWorker();
      if (fresh && this.onStart) await this.onStart(this, worker);
      return this.send(worker, signal, cmd, payload, transfer);
    };
    const p = this.queue.then(run, run);
    // The queue must survive a rejected call.
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Send without queueing: used by onStart (which already runs inside a queued call). */
  send<K extends keyof M & string>(
    worker: Worker,
    signal: AbortSignal | undefined,
    cmd: K,
    payload: M[K]['req'],
    transfer: Transferable[] = [],
  ): Promise<M[K]['res']> {
    const id = this.nextId++;
    return new Promise<M[K]['res']>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        worker.removeEventListener('message', onMessage);
        worker.removeEventListener('error', onError);
        signal?.removeEventListener('abort', onAbort);
        this.armIdle();
      };
      const onMessage = (ev: MessageEvent<WorkerReply<M, K>>) => {
        if (ev.data?.id !== id) return;
        cleanup();
        if (ev.data.ok) resolve(ev.data.result);
        else reject(KioskError.fromJSON(ev.data.error));
      };
      const onError = (ev: ErrorEvent) => {
        cleanup();
        this.terminate();
        // The worker's own error text is not shown or passed on (it may be a runtime's): only logged here.
        console.warn('worker crashed:', ev.message);
        reject(new KioskError('WORKER_CRASHED'));
      };
      const onAbort = () => {
        cleanup();
        this.terminate();
        reject(new KioskError('WORKER_ABORTED'));
      };
      const timer = setTimeout(() => {
        cleanup();
        this.terminate();
        reject(new KioskError('WORKER_TIMEOUT', { cmd, ms: this.timeoutMs }));
      }, this.timeoutMs);
      worker.addEventListener('message', onMessage);
      worker.addEventListener('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      clearTimeout(this.idleTimer);
      const msg: WorkerRequest<M, K> = { id, cmd, payload };
      worker.postMessage(msg, transfer);
    });
  }

  /** Stop the worker now; the next call starts a new one. */
  terminate(): void {
    clearTimeout(this.idleTimer);
    this.worker?.terminate();
    this.worker = null;
  }

  private ensureWorker(): Worker {
    if (!this.worker) this.worker = this.factory();
    return this.worker;
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.idleMs > 0) this.idleTimer = setTimeout(() => this.terminate(), this.idleMs);
  }
}

export type { SerializedKioskError };
