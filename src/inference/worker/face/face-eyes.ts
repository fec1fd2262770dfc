/**
 * Eye state for the blink challenge: one face of one frame in, "how open are the eyes" (0..1) out.
 *
 * Owns faceplugin's fr_eye.onnx (a small CNN: one eye as a [1,1,24,24] grey patch, 0..1, → 2 logits) and the eye
 * crops it is fed. The package cuts each eye from 68-point landmarks (a square 1.6× the eye's corner-to-corner
 * width, axis-aligned, OpenCV's BGR→grey); the kiosk has BlazeFace's eye keypoints (the eye centres) instead, so the
 * square is sized from the distance between the eyes (`EYE_CROP` of it, the same size for a typical eye) and turned
 * with the eye line, so a tilted head gives the network the upright eye it was trained on. Which output means
 * "open" was measured, not taken from the package (docs/liveness.md, "Blink"). Eyes closer together than
 * MIN_EYE_DISTANCE are not read at all: the crop would be upsampled and half-closed eyes then read open on one frame
 * and closed on the next (measured on still photos). It reports both eyes; the challenge wants both to agree. It
 * never decides anything (src/matching/face/challenge.ts does) and never keeps a crop.
 */
import { KioskError } from '../../../shared/errors';
import type { FaceDetection } from '../../../shared/types';
import { OrtSession } from '../ort-runtime';

export const EYES_MODEL_ID = 'face-eyes';
export const EYE_INPUT = 24;
/**
 * Side of an eye crop as a fraction of the distance between the eye centres: the package's 1.6 × eye width, with an
 * eye about 0.47 of the inter-eye distance wide (a typical adult: ~30 mm eye, ~63 mm between the pupils).
 */
export const EYE_CROP = 0.75;
/** Eye centres at least this far apart (frame px), so each crop holds ≥ 24 px of the frame: no upsampling. */
export const MIN_EYE_DISTANCE = 32;
/** Softmax index that means "open" (measured: docs/liveness.md, "Blink"). */
export const OPEN_INDEX = 1;

export interface EyeCrop {
  /** Centre in frame pixels. */
  cx: number;
  cy: number;
  /** Side of the square in frame pixels. */
  side: number;
  /** Rotation of the eye line (radians, image coordinates). */
  angle: number;
}

/** The two eye squares (right eye, left eye as BlazeFace orders them), or null when the eyes are too close to read. */
export function eyeCrops(det: Pick<FaceDetection, 'keypoints'>): [EyeCrop, EyeCrop] | null {
  const [re, le] = det.keypoints;
  if (!re || !le) return null;
  const d = Math.hypot(le.x - re.x, le.y - re.y);
  if (!(d >= MIN_EYE_DISTANCE)) return null;
  const angle = Math.atan2(le.y - re.y, le.x - re.x);
  const side = EYE_CROP * d;
  return [
    { cx: re.x, cy: re.y, side, angle },
    { cx: le.x, cy: le.y, side, angle },
  ];
}

/** Grey 0..1 as OpenCV's BGR2GRAY weighs it, from an RGBA patch, into `out`. */
export function greyTensor(rgba: Uint8ClampedArray, out: Float32Array): void {
  for (let i = 0, p = 0; i < out.length; i++, p += 4) {
    out[i] = (0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!) / 255;
  }
}

function softmaxAt(logits: ArrayLike<number>, k: number): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - m);
  return Math.exp(logits[k]! - m) / sum;
}

export class EyeStateModel {
  private readonly canvas = new OffscreenCanvas(EYE_INPUT, EYE_INPUT);
  private readonly ctx: OffscreenCanvasRenderingContext2D;
  private readonly input = new Float32Array(EYE_INPUT * EYE_INPUT);

  private constructor(private readonly session: OrtSession) {
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new KioskError('INTERNAL', { reason: 'no 2d context for the eye crop' });
    this.ctx = ctx;
  }

  static async create(bytes: Uint8Array): Promise<EyeStateModel> {
    // WASM: 0.2 MB and 24×24 inputs, far below what a GPU dispatch costs.
    return new EyeStateModel(await OrtSession.create(EYES_MODEL_ID, bytes, 'wasm'));
  }


  /** Open probability of each eye ([right, left]); null when the face has no usable eye keypoints. */
  eyes(frame: CanvasImageSource, det: FaceDetection): Promise<[number, number] | null> {
    const crops = eyeCrops(det);
    if (!crops) return Promise.resolve(null);
    return this.session.run(async (session, ort): Promise<[number, number]> => {
      const out: number[] = [];
      for (const c of crops) {
        const k = EYE_INPUT / c.side;
        const ctx = this.ctx;
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.fillStyle = '#808080';
        ctx.fillRect(0, 0, EYE_INPUT, EYE_INPUT);
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = 'medium';
        // Centre of the patch ← eye centre, the eye line horizontal, `side` frame pixels → EYE_INPUT.
        ctx.translate(EYE_INPUT / 2, EYE_INPUT / 2);
        ctx.scale(k, k);
        ctx.rotate(-c.angle);
        ctx.translate(-c.cx, -c.cy);
        ctx.drawImage(frame, 0, 0);
        greyTensor(ctx.getImageData(0, 0, EYE_INPUT, EYE_INPUT).data, this.input);
        const feeds = { [this.session.inputName]: new ort.Tensor('float32', this.input, [1, 1, EYE_INPUT, EYE_INPUT]) };
        const t = (await session.run(feeds))[this.session.outputName];
        if (!t || t.data.length < 2) throw new KioskError('MODEL_LOAD_FAILED', { model: EYES_MODEL_ID, reason: 'unexpected eye output' });
        out.push(softmaxAt(t.data as Float32Array, OPEN_INDEX));
        t.dispose();
      }
      return [out[0]!, out[1]!];
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
