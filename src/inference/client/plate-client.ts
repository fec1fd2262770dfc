/**
 * PlateClient: the main thread's typed handle on the plate worker (detect → crop → read).
 *
 * Owns one WorkerBridge to src/inference/worker/plate/plate-worker.ts and the init options a restarted worker must get
 * back, so callers never see a restart. Every method takes an AbortSignal first; calls are serialised; a stuck
 * call is ended by the bridge's timeout. Errors are KioskErrors. It never decides access (decidePlate in
 * src/matching/plates does, on the consensus of several reads) and never stores a frame, crop or read.
 *
 * Usage:
 *   const plates = new PlateClient({ region: 'eu' });
 *   await plates.init(signal);                          // optional: loads models now (else on the first read)
 *   const r = await plates.read(signal, bitmap);        // bitmap is transferred: do not use it afterwards
 *   reads.push({ text: r.text, confidence: r.confidence });
 *   const d = decidePlate(voteConsensus(reads), subjects, { region: 'eu' });
 */
import type {
  PlateBox,
  PlateCommands,
  PlateReadResult,
  PlateReaderName,
  PlateTuning,
  PlateWorkerInfo,
  PlateWorkerInit,
} from '../../shared/plate-protocol';
import { WorkerBridge, type BridgeOptions } from './bridge';
import { traced } from '../../shared/startup-trace';

export interface PlateClientOptions extends BridgeOptions {
  /** Format rules for ranking reads: 'us' | 'eu' | 'br' | 'cn'. Default 'us'. */
  region?: string;
  /** Recogniser: 'ensemble' (default: the trained recogniser and PP-OCR, combined), 'trained', 'ppocr', 'tesseract', 'combined'. */
  reader?: PlateReaderName;
  /** URL prefix of the provisioned models. Default '/models/'. */
  modelBase?: string;
  backend?: 'auto' | 'wasm' | 'webgpu';
  threads?: number;
  tuning?: PlateTuning;
  /** For tests and benchmarks: how to start the worker. */
  workerFactory?: () => Worker;
}

export class PlateClient {
  private readonly bridge: WorkerBridge<PlateCommands>;
  private readonly initReq: PlateWorkerInit;
  private infoValue: PlateWorkerInfo | null = null;

  constructor(opts: PlateClientOptions = {}) {
    this.initReq = {
      reader: opts.reader ?? 'ensemble',
      region: opts.region ?? 'us',
      modelBase: opts.modelBase ?? '/models/',
      backend: opts.backend ?? 'auto',
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.tuning ? { tuning: opts.tuning } : {}),
    };
    const factory =
      opts.workerFactory ??
      (() => new Worker(new URL('../worker/plate/plate-worker.ts', import.meta.url), { type: 'module', name: 'plates' }));
    // Loading two models and (optionally) tesseract takes seconds; a frame's budget is far less.
    this.bridge = new WorkerBridge<PlateCommands>(factory, {
      timeoutMs: opts.timeoutMs ?? 60_000,
      idleMs: opts.idleMs ?? 0,
    });
    this.bridge.onStart = async (bridge, worker) => {
      // A fresh worker (first call, or after an abort, timeout or crash) is initialised before the call itself.
      try {
        this.infoValue = await traced('plates:init', () => bridge.send(worker, undefined, 'init', this.initReq));
      } catch (e) {
        // Leave no half-initialised worker behind: the next call starts over.
        bridge.terminate();
        throw e;
      }
    };
  }

  /** Backend and load time of the running worker (null before the first call). */
  get info(): PlateWorkerInfo | null {
    return this.infoValue;
  }

  /** Load the models now (otherwise the first read does). */
  async init(signal?: AbortSignal): Promise<PlateWorkerInfo> {
    // On a fresh worker onStart initialises first; the worker answers a repeated identical init from memory.
    this.infoValue = await this.bridge.call(signal, 'init', this.initReq);
    return this.infoValue;
  }

  /**
   * Read the plate in a frame. `frame` is transferred to the worker and closed there.
   * With `plateBox`, reads inside that box only (the caller already localised the plate).
   */
  read(
    signal: AbortSignal | undefined,
    frame: ImageBitmap,
    opts: { plateBox?: PlateBox; debug?: boolean; region?: string } = {},
  ): Promise<PlateReadResult> {
    return this.bridge.call(signal, 'read', { frame, ...opts }, [frame]);
  }

  /** Stop the worker now (frees the models); the next call starts and initialises a new one. */
  terminate(): void {
    this.bridge.terminate();
  }
}
