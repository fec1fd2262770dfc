/**
 * Passive presentation-attack detection (PAD): one face of one frame in, a "live" probability out, per PAD network.
 *
 * Two networks share the crop and the run: the project's own (models/trained/pad.onnx, train/pad/: a small
 * depthwise-separable CNN, [N,3,64,64] RGB 0..1 → 2 logits, softmax index 0 = live; TRAINED_PAD) and faceplugin's
 * fr_liveness.onnx (FR_LIVENESS; below). Which run and how their scores combine is the config's pad.model
 * (src/matching/face/pad-fusion.ts). Owns faceplugin's fr_liveness.onnx (a MiniFASNet-style network in the manner of Silent-Face-Anti-Spoofing:
 * 55 convolutions with squeeze-and-excitation blocks, [1,3,128,128] raw 0..255 pixels → 3 logits, softmax index 0 =
 * live) and its crop: the detector's box grown 2.7× around its centre, shifted (not cut) to stay inside the frame,
 * resized to 128×128. Channel order is BGR — the package feeds RGB, but the network behaves as trained on OpenCV's
 * BGR (measured in docs/liveness.md). It never decides anything (src/matching/face/decision-policy.ts does) and never
 * keeps the crop: the canvas is reused and overwritten by the next face.
 */
import { KioskError } from '../../../shared/errors';
import type { FaceDetection } from '../../../shared/types';
import { OrtSession } from '../ort-runtime';

export const LIVENESS_MODEL_ID = 'face-liveness';
export const LIVENESS_INPUT = 128;
export const TRAINED_PAD_MODEL_ID = 'face-pad-trained';

/** What differs between the PAD networks: the file, the input side and the pixel scale the network expects. */
export interface PadNetSpec {
  modelId: string;
  input: number;
  /** Multiplies raw 0..255 pixels: fr_liveness normalises inside the graph, ours takes 0..1. */
  pixelScale: number;
}
export const FR_LIVENESS: PadNetSpec = { modelId: LIVENESS_MODEL_ID, input: LIVENESS_INPUT, pixelScale: 1 };
export const TRAINED_PAD: PadNetSpec = { modelId: TRAINED_PAD_MODEL_ID, input: 64, pixelScale: 1 / 255 };

export type ChannelOrder = 'bgr' | 'rgb';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The package's crop (lib/fr_liveness.js alignLivenessImage) without its parseInt truncation: the box scaled by
 * `scale` about its centre (less when the frame is too small for it), then moved — not clipped — to lie inside the
 * frame, so the network always sees the face's surroundings (a print's border, a screen's bezel) at the same scale.
 */
export function livenessCrop(box: Rect, frameW: number, frameH: number, scale: number): Rect {
  const s = Math.max(0, Math.min((frameH - 1) / box.height, (frameW - 1) / box.width, scale));
  const w = box.width * s;
  const h = box.height * s;
  let x = box.x + box.width / 2 - w / 2;
  let y = box.y + box.height / 2 - h / 2;
  x = Math.min(Math.max(0, x), Math.max(0, frameW - 1 - w));
  y = Math.min(Math.max(0, y), Math.max(0, frameH - 1 - h));
  return { x, y, width: w, height: h };
}

/** Planar float tensor of an RGBA crop in the requested channel order, pixels × `scale` (default raw 0..255). */
export function livenessTensor(rgba: Uint8ClampedArray, size: number, order: ChannelOrder, out: Float32Array, scale = 1): void {
  const plane = size * size;
  const [c0, c2] = order === 'bgr' ? [2, 0] : [0, 2];
  for (let i = 0, p = 0; i < plane; i++, p += 4) {
    out[i] = rgba[p + c0]! * scale;
    out[plane + i] = rgba[p + 1]! * scale;
    out[2 * plane + i] = rgba[p + c2]! * scale;
  }
}

export function softmax0(logits: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - m);
  return Math.exp(logits[0]! - m) / sum;
}

export interface LivenessOptions {
  /** Box growth about its centre (the package's 2.7; BlazeFace boxes are tighter than its own detector's). */
  scale: number;
  order: ChannelOrder;
}

export class LivenessModel {
  private readonly canvas: OffscreenCanvas;
  private readonly ctx: OffscreenCanvasRenderingContext2D;
  private readonly input: Float32Array;

  private constructor(
    private readonly session: OrtSession,
    private readonly spec: PadNetSpec,
  ) {
    this.canvas = new OffscreenCanvas(spec.input, spec.input);
    this.input = new Float32Array(3 * spec.input * spec.input);
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new KioskError('INTERNAL', { reason: 'no 2d context for the liveness crop' });
    this.ctx = ctx;
  }

  static async create(bytes: Uint8Array, spec: PadNetSpec = FR_LIVENESS): Promise<LivenessModel> {
    // WASM always: the models are small and a second WebGPU session would contend with the embedder.
    return new LivenessModel(await OrtSession.create(spec.modelId, bytes, 'wasm'), spec);
  }


  /** Probability that `det` in `frame` is a live face (0..1). */
  score(frame: CanvasImageSource & { width: number; height: number }, det: FaceDetection, opts: LivenessOptions): Promise<number> {
    return this.session.run(async (session, ort) => {
      const r = livenessCrop(det.box, frame.width, frame.height, opts.scale);
      const n = this.spec.input;
      this.ctx.imageSmoothingEnabled = true;
      // 'medium' matches the package's cv.resize (bilinear) more closely than 'high' (which pre-blurs on shrink).
      this.ctx.imageSmoothingQuality = 'medium';
      this.ctx.drawImage(frame, r.x, r.y, r.width, r.height, 0, 0, n, n);
      livenessTensor(this.ctx.getImageData(0, 0, n, n).data, n, opts.order, this.input, this.spec.pixelScale);
      const out = await session.run({ [this.session.inputName]: new ort.Tensor('float32', this.input, [1, 3, n, n]) });
      const t = out[this.session.outputName];
      if (!t || t.data.length < 2) throw new KioskError('MODEL_LOAD_FAILED', { reason: 'unexpected liveness output' });
      const p = softmax0(t.data as Float32Array);
      t.dispose();
      return p;
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
