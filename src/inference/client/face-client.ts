/**
 * FaceClient: the main thread's typed handle on the face worker (detect → align → embed → match).
 *
 * Owns one WorkerBridge to src/inference/worker/face/face-worker.ts and the state a restarted worker must get back
 * (its init options and the current gallery), so callers never see a restart. Every method takes an AbortSignal
 * first; calls are serialised; a stuck call is terminated by the bridge's timeout. Errors are KioskErrors.
 * It never decides grant/deny (src/matching/face/decision-policy.ts does) and never stores anything.
 *
 * Usage:
 *   const faces = new FaceClient();                        // settings: resolveFaceConfig(overrides)
 *   const info = await faces.init(signal);                 // optional: loads models now (else on first call);
 *                                                          //   info.backend = { backend: 'webgpu'|'wasm', ... }
 *   await faces.setGallery(signal, subjects);              // Subject[] from the vault (templates of this embedder)
 *   await faces.updateGallery(signal, { puts, removes });  // one person changed: no rebuild of the whole gallery
 *   const a = await faces.analyse(signal, bitmap);         // bitmap is transferred: do not use it afterwards
 *   observations.push(observationFromAnalysis(a, performance.now()));
 *   const d = decideFace(observations, { thresholds, policy, quality, subject, now });
 *                                                          // grant / deny-* / no-face / low-quality / uncertain
 *   const e = await faces.enrolFromImage(signal, file);    // { template, quality, detection } or throws
 *                                                          //   INPUT_NOT_IMAGE / INPUT_NO_FACE /
 *                                                          //   INPUT_MULTIPLE_FACES / INPUT_LOW_QUALITY
 *   const boxes = await faces.detect(signal, bitmap);      // FaceDetection[] only (cheap preview)
 * Templates from enrolFromImage are for the embedder named in the result; store them under that name
 * (Subject.templates[embedder]).
 */
import { resolveFaceConfig, type FaceConfig, type FaceConfigOverrides } from '../../config/face';
import type {
  AnalyseRequest,
  EnrolResult,
  FaceCommands,
  FaceWorkerInfo,
  FrameAnalysis,
  GalleryInfo,
  GalleryTemplate,
  GalleryUpdate,
} from '../../shared/face-protocol';
import type { FaceDetection, Subject } from '../../shared/types';
import { WorkerBridge, type BridgeOptions } from './bridge';
import { recordSpans, traced } from '../../shared/startup-trace';

export interface FaceClientOptions extends BridgeOptions {
  /** Face settings (validated); default resolveFaceConfig(). */
  config?: FaceConfig | FaceConfigOverrides;
  /** URL prefix of the provisioned models. Default '/models/'. */
  modelBase?: string;
  /** Force a backend (tests comparing WebGPU with WASM); default 'auto'. */
  backend?: 'auto' | 'webgpu' | 'wasm';
  threads?: number;
  /** The padded second detection pass for faces filling the frame (default on; see face-worker.ts). */
  closePass?: boolean;
  /** For tests: how to start the worker. */
  workerFactory?: () => Worker;
  /**
   * Where a restarted worker gets its gallery back. With it (the app's watchlist service re-reads the vault) the
   * client keeps no templates at all; without it (tests, benchmarks) the client keeps a reference to the last
   * setGallery entries.
   */
  gallerySource?: () => Promise<GalleryTemplate[]>;
}

/** Same resolved settings: a configure() with these is a no-op (no model reload). */
function sameConfig(a: FaceConfig, b: FaceConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Gallery entries of one embedder from vault subjects (subjects without templates of it are skipped). */
export function galleryEntries(subjects: readonly Subject[], embedder: string): GalleryTemplate[] {
  return subjects.flatMap((s) => (s.templates[embedder] ?? []).map((template) => ({ subjectId: s.id, template })));
}

export class FaceClient {
  private readonly bridge: WorkerBridge<FaceCommands>;
  private readonly opts: FaceClientOptions;
  private config: FaceConfig;
  private gallery: GalleryTemplate[] | null = null;
  private infoValue: FaceWorkerInfo | null = null;
  private loads = 0;
  /** See FaceClientOptions.gallerySource; the app's watchlist service sets it after construction. */
  gallerySource: (() => Promise<GalleryTemplate[]>) | null;
  /** Bumped by configure(); the worker is (re)initialised whenever it runs an older version. */
  private configVersion = 0;
  /** Config version the running worker was initialised with; -1 = a fresh worker not initialised yet. */
  private workerVersion = -1;

  constructor(opts: FaceClientOptions = {}) {
    this.opts = opts;
    this.gallerySource = opts.gallerySource ?? null;
    // A full FaceConfig is also a valid set of overrides: either way it is validated here, at construction.
    this.config = resolveFaceConfig(opts.config ?? {});
    const factory =
      opts.workerFactory ??
      (() => new Worker(new URL('../worker/face/face-worker.ts', import.meta.url), { type: 'module', name: 'face' }));
    // Model loading (tens of MB, session creation) needs far more than a frame's budget on the first call.
    this.bridge = new WorkerBridge<FaceCommands>(
      () => {
        this.workerVersion = -1;
        return factory();
      },
      { timeoutMs: opts.timeoutMs ?? 60_000, idleMs: opts.idleMs ?? 0 },
    );
    this.bridge.onStart = async (bridge, worker) => {
      // A fresh worker (first call, or after a timeout/abort/crash): models and gallery before the call itself.
      try {
        await this.initOn(bridge, worker);
      } catch (e) {
        // Leave no half-initialised worker behind: the next call starts over.
        bridge.terminate();
        throw e;
      }
    };
  }

  /** Backend, embedder and load time of the running worker (null before it first started). */
  get info(): FaceWorkerInfo | null {
    return this.infoValue;
  }

  get settings(): FaceConfig {
    return this.config;
  }

  private initPayload(): FaceCommands['init']['req'] {
    return {
      config: this.config,
      modelBase: this.opts.modelBase ?? '/models/',
      backend: this.opts.backend ?? 'auto',
      ...(this.opts.threads !== undefined ? { threads: this.opts.threads } : {}),
      ...(this.opts.closePass !== undefined ? { closePass: this.opts.closePass } : {}),
    };
  }

  /** How many times models were loaded into a worker (first start, restarts, real settings changes). */
  get modelLoads(): number {
    return this.loads;
  }

  private async initOn(bridge: WorkerBridge<FaceCommands>, worker: Worker): Promise<void> {
    const version = this.configVersion;
    this.infoValue = await traced('face:init', () => bridge.send(worker, undefined, 'init', this.initPayload()));
    recordSpans(this.infoValue.trace);
    this.loads++;
    const entries = this.gallerySource ? await this.gallerySource() : this.gallery;
    if (entries) await bridge.send(worker, undefined, 'setGallery', { entries });
    this.workerVersion = version;
  }

  /** Runs `fn` after making sure a running worker has the current settings (a fresh one gets them in onStart). */
  private async current<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.workerVersion >= 0 && this.workerVersion !== this.configVersion) {
      const version = this.configVersion;
      this.infoValue = await this.bridge.call(signal, 'init', this.initPayload());
      this.loads++;
      // A restart inside that call already re-initialised with the current settings; either way they hold now.
      this.workerVersion = version;
    }
    return fn();
  }

  /** Load the models now (otherwise the first call does). Returns the backend in use. */
  async init(signal?: AbortSignal): Promise<FaceWorkerInfo> {
    return this.current(signal, async () => {
      this.infoValue = await this.bridge.call(signal, 'info', null);
      return this.infoValue;
    });
  }

  /**
   * Apply new face settings (models reload; a different embedder also drops the gallery: set it again). Settings
   * that resolve to the ones in force change nothing: no reload, the gallery stays.
   */
  async configure(signal: AbortSignal | undefined, overrides: FaceConfigOverrides): Promise<FaceWorkerInfo> {
    const next = resolveFaceConfig(overrides, this.config);
    // Same settings: nothing to reload. While the first load is still running (cold start: the app starts it before
    // the vault has opened) this waits for it instead of queueing a second, identical load (measured: +3.6 s before
    // the first decision with bench:coldstart).
    if (sameConfig(next, this.config)) return this.infoValue ?? this.init(signal);
    if (next.embedder !== this.config.embedder) this.gallery = null;
    this.config = next;
    this.configVersion++;
    return this.init(signal);
  }

  /** Faces in a frame (transferred). */
  detect(signal: AbortSignal | undefined, frame: ImageBitmap): Promise<FaceDetection[]> {
    return this.current(signal, async () => (await this.bridge.call(signal, 'detect', { frame }, [frame])).faces);
  }

  /** Detection, quality and (for good faces) template + 1:N match of the largest face(s) of a frame (transferred). */
  analyse(
    signal: AbortSignal | undefined,
    frame: ImageBitmap,
    opts: Omit<AnalyseRequest, 'frame'> = {},
  ): Promise<FrameAnalysis> {
    return this.current(signal, async () => {
      const a = await this.bridge.call(signal, 'analyse', { frame, ...opts }, [frame]);
      recordSpans(a.trace);
      return a;
    });
  }

  /** One template from a photo with exactly one good face. A bitmap is transferred; a Blob is copied. */
  enrolFromImage(signal: AbortSignal | undefined, image: Blob | ImageBitmap): Promise<EnrolResult> {
    return this.current(signal, () =>
      this.bridge.call(signal, 'enrolFromImage', { image }, image instanceof ImageBitmap ? [image] : []),
    );
  }

  /**
   * Replace the worker's search gallery: vault subjects (their templates of the current embedder) or raw entries.
   * The client keeps a reference (no copy) to restore it after a worker restart.
   */
  setGallery(
    signal: AbortSignal | undefined,
    from: readonly Subject[] | readonly GalleryTemplate[],
  ): Promise<GalleryInfo> {
    const entries: GalleryTemplate[] =
      from.length > 0 && 'templates' in from[0]!
        ? galleryEntries(from as readonly Subject[], this.config.embedder)
        : [...(from as readonly GalleryTemplate[])];
    return this.current(signal, async () => {
      const info = await this.bridge.call(signal, 'setGallery', { entries });
      this.gallery = this.gallerySource ? null : entries;
      return info;
    });
  }

  /** Change some subjects of the worker's gallery (see GalleryUpdate); unchanged templates cost no rebuild. */
  updateGallery(signal: AbortSignal | undefined, update: GalleryUpdate): Promise<GalleryInfo & { changed: number }> {
    return this.current(signal, () => this.bridge.call(signal, 'updateGallery', update));
  }

  /** Stop the worker now (it restarts, with models and gallery restored, on the next call). */
  terminate(): void {
    this.bridge.terminate();
  }
}
