/**
 * Camera access: getUserMedia, the failure modes a kiosk meets (denied, absent, busy, unplugged mid-run), and
 * frame pacing.
 *
 * Owns the MediaStream and nothing else: frames leave this module as ImageBitmaps that the caller transfers to a
 * worker, and nothing here keeps, encodes or sends a frame. Pacing is pull-based (the next frame is grabbed only
 * after the consumer finished the previous one), so a slow detector drops frames instead of queueing them; a frame
 * presented meanwhile is grabbed at once rather than waiting for the next one.
 */
import { KioskError } from '../shared/errors';

export interface CameraOptions {
  deviceId?: string;
  /** 'user' for the visitor-facing camera, 'environment' for a rear/gate camera. */
  facingMode?: 'user' | 'environment';
  width: number;
  height: number;
  frameRate: number;
}

export interface CameraInfo {
  deviceId: string;
  label: string;
}

/** Maps getUserMedia's DOMException names to the kiosk's stable codes. */
export function cameraErrorFrom(e: unknown): KioskError {
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return new KioskError('CAMERA_DENIED', {}, { cause: e });
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new KioskError('CAMERA_ABSENT', {}, { cause: e });
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new KioskError('CAMERA_BUSY', {}, { cause: e });
    default:
      return new KioskError('CAMERA_ABSENT', { reason: name || 'unknown' }, { cause: e });
  }
}

export class Camera {
  readonly video: HTMLVideoElement;
  private stream: MediaStream | null = null;
  private lostListeners = new Set<(e: KioskError) => void>();
  /** Frames presented so far, and the frameAfter calls waiting for the next one. */
  private presented = 0;
  private frameWaiters: (() => void)[] = [];
  private counting = false;

  constructor(video?: HTMLVideoElement) {
    this.video = video ?? document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.autoplay = true;
  }

  static async list(): Promise<CameraInfo[]> {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices
      .filter((d) => d.kind === 'videoinput')
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
  }

  /** Opens the camera and starts the preview; throws a KioskError with a CAMERA_* code. */
  async start(opts: CameraOptions): Promise<void> {
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) throw new KioskError('CAMERA_UNSUPPORTED');
    this.stop();
    const video: MediaTrackConstraints = {
      width: { ideal: opts.width },
      height: { ideal: opts.height },
      frameRate: { ideal: opts.frameRate },
    };
    if (opts.deviceId) video.deviceId = { exact: opts.deviceId };
    else if (opts.facingMode) video.facingMode = { ideal: opts.facingMode };
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (e) {
      throw cameraErrorFrom(e);
    }
    this.stream = stream;
    for (const track of stream.getVideoTracks()) {
      // 'ended' fires when the device is unplugged or the permission is revoked mid-run.
      track.addEventListener('ended', () => {
        if (this.stream !== stream) return;
        this.stream = null;
        const err = new KioskError('CAMERA_LOST');
        for (const l of this.lostListeners) l(err);
      });
    }
    this.video.srcObject = stream;
    await this.video.play().catch(() => undefined);
    if (this.video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      await new Promise<void>((resolve) => this.video.addEventListener('loadeddata', () => resolve(), { once: true }));
    }
  }

  get running(): boolean {
    return this.stream !== null;
  }

  onLost(listener: (e: KioskError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** The current frame as an ImageBitmap (the caller transfers or closes it), or null if there is none yet. */
  async grab(): Promise<ImageBitmap | null> {
    if (!this.stream || this.video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || this.video.videoWidth === 0) {
      return null;
    }
    return createImageBitmap(this.video);
  }

  /** How many frames the video has presented so far (a requestVideoFrameCallback chain; animation frames without it). */
  get presentedFrames(): number {
    return this.presented;
  }

  /**
   * Resolves with `presentedFrames` once it is past `seen`: at once when a frame was presented since (while the
   * consumer analysed the last one, say), else at the next presented frame. Waiting for the next presentation
   * every time cost a consumer slower than the camera half a frame interval per frame on average (~33 ms at
   * 15 fps), three times before a first decision (issue 19).
   */
  async frameAfter(seen: number): Promise<number> {
    if (!('requestVideoFrameCallback' in this.video)) {
      await new Promise((resolve) => requestAnimationFrame(resolve));
      return ++this.presented;
    }
    this.countFrames();
    while (this.presented <= seen) await new Promise<void>((resolve) => this.frameWaiters.push(resolve));
    return this.presented;
  }

  /** One callback per presented frame for this element's lifetime (it re-arms itself; no frames, no callbacks). */
  private countFrames(): void {
    if (this.counting) return;
    this.counting = true;
    const tick = (): void => {
      this.presented++;
      const waiters = this.frameWaiters;
      this.frameWaiters = [];
      for (const w of waiters) w();
      this.video.requestVideoFrameCallback(tick);
    };
    this.video.requestVideoFrameCallback(tick);
  }

  stop(): void {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}

/**
 * Who decides whether frames are grabbed. `wanted()` is asked for each presented frame; `changed()` (optional)
 * resolves when the answer may have turned to yes, so the loop grabs the frame it just skipped at once instead of
 * waiting for the camera's next presentation (half a frame interval on average: ~33 ms at 15 fps, once per start).
 */
export interface FrameDemand {
  wanted(): boolean;
  changed?(): Promise<void>;
}

/**
 * Runs `consume` on successive frames until the signal aborts. One frame in flight at a time; errors from
 * `consume` go to `onError` and the loop keeps going (a worker restart must not stop the kiosk). A presented frame
 * is grabbed only when the demand wants it: a grab copies the whole image on the page's thread (~1/3 of a core at
 * 30 fps on a 2-core tablet without GPU), which the cold start needs for loading the models.
 */
export async function runFrameLoop(
  signal: AbortSignal,
  camera: Camera,
  consume: (frame: ImageBitmap, at: number) => Promise<void>,
  onError: (e: unknown) => void,
  /** The frame time: the kiosk's monotonic clock. */
  now: () => number = () => performance.now(),
  demand: FrameDemand = { wanted: () => true },
): Promise<void> {
  // The latest presented frame the loop has looked at or skipped: each analysed frame comes after it, so no
  // frame is analysed twice (a copy may hold any frame presented until it returned, hence the count after it).
  let seen = camera.presentedFrames;
  // Whether `seen` was skipped rather than grabbed: then it may still be grabbed when the demand turns to yes.
  let skipped = false;
  while (!signal.aborted) {
    seen = skipped && demand.changed
      ? await Promise.race([camera.frameAfter(seen), demand.changed().then(() => camera.presentedFrames)])
      : await camera.frameAfter(seen);
    if (signal.aborted || !camera.running) break;
    skipped = !demand.wanted();
    if (skipped) continue;
    const frame = await camera.grab().catch(() => null);
    seen = camera.presentedFrames;
    if (!frame) continue;
    try {
      await consume(frame, now());
    } catch (e) {
      onError(e);
      // Back off briefly so a persistently failing worker does not spin the CPU.
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      frame.close();
    }
  }
}
