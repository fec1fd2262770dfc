/**
 * Face alignment: the similarity transform (rotation, uniform scale, translation) that carries a detected face's
 * keypoints onto an embedder's canonical template, and the warp of the image into that crop.
 *
 * Owns the reference geometry of both embedders (documented below and in docs/faces.md) and the least-squares
 * fit. It never decides anything about identity or quality, and never keeps a pixel after returning.
 *
 * Keypoints come from BlazeFace in this order: right eye, left eye, nose tip, mouth centre, right ear, left ear
 * ("right" is the subject's right, on the image's left). Ears are unreliable on turned faces and absent from the
 * templates, so only the first four points are fitted.
 *
 * Fit: Umeyama (1991) least squares restricted to 2-D similarities without reflection. In 2-D the rotation+scale
 * is one complex number, so the optimum has a closed form: with centred source points p and target points q,
 *   a = Σ w(px·qx + py·qy) / Σ w|p|²,  b = Σ w(px·qy − py·qx) / Σ w|p|²,  t = q̄ − [a −b; b a]·p̄
 * which equals Umeyama's c·R for the 2-D case (its SVD reflection test cannot trigger when det(R) is forced to +1).
 */
import { KioskError } from '../../../shared/errors';
import type { FaceDetection } from '../../../shared/types';

export interface Point {
  x: number;
  y: number;
}

/** x' = a·x − b·y + tx,  y' = b·x + a·y + ty  (scale = √(a²+b²), angle = atan2(b, a)). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export interface AlignTemplate {
  /** Output crop side in pixels. */
  size: number;
  /** Target positions of right eye, left eye, nose tip, mouth centre, in crop pixels. */
  points: readonly [Point, Point, Point, Point];
  /** Per-point weight in the fit (eyes are BlazeFace's most stable points). */
  weights: readonly [number, number, number, number];
}

/**
 * ArcFace/InsightFace 112×112 reference (the `arcface_dst` five points used to train ArcFace-style models,
 * fr_feature.onnx included): right eye (38.2946, 51.6963), left eye (73.5318, 51.5014), nose tip (56.0252,
 * 71.7366), mouth corners (41.5493, 92.3655) and (70.7299, 92.2041).
 * BlazeFace gives the mouth centre, not its corners, so the fourth point here is the corners' midpoint
 * (56.1396, 92.2848). Fitting 4 points instead of 5 loses one constraint on mouth width, which a similarity
 * transform does not use anyway (it cannot change aspect ratio).
 */
export const ARCFACE_112: AlignTemplate = {
  size: 112,
  points: [
    { x: 38.2946, y: 51.6963 },
    { x: 73.5318, y: 51.5014 },
    { x: 56.0252, y: 71.7366 },
    { x: (41.5493 + 70.7299) / 2, y: (92.3655 + 92.2041) / 2 },
  ],
  weights: [1, 1, 1, 1],
};

/**
 * dlib's face chip, 150×150 with padding 0.25 — what `get_face_chip_details(shape, 150, 0.25)` produces and the
 * dlib ResNet descriptor was trained on. dlib maps its mean face shape (unit square, 68-point layout) to chip
 * pixels by p' = (0.25 + p) / 1.5 · 150 = (0.25 + p) · 100. From that mean shape:
 *   right eye = mean of points 36–41 = (0.225492, 0.215990) → (47.549, 46.599)
 *   left eye  = mean of points 42–47 = (0.754761, 0.215990) → (100.476, 46.599)
 *   nose tip  = point 30             = (0.490127, 0.515625) → (74.013, 76.563)
 *   mouth     = midpoint of corners 48, 54 = (0.490127, 0.780233) → (74.013, 103.023)
 * (corners' midpoint, as for ArcFace, so both templates treat BlazeFace's mouth point the same way).
 */
export const DLIB_150: AlignTemplate = {
  size: 150,
  points: [
    { x: 47.5492, y: 46.599 },
    { x: 100.4761, y: 46.599 },
    { x: 74.0127, y: 76.5625 },
    { x: 74.0127, y: 103.0233 },
  ],
  weights: [1, 1, 1, 1],
};

/** Least-squares similarity transform carrying `src[i]` onto `dst[i]` (≥ 2 distinct points). */
export function fitSimilarity(src: readonly Point[], dst: readonly Point[], weights?: readonly number[]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new KioskError('INPUT_INVALID', { reason: 'fitSimilarity needs ≥2 point pairs', src: n, dst: dst.length });
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    const w = weights?.[i] ?? 1;
    sw += w;
    sx += w * src[i]!.x;
    sy += w * src[i]!.y;
    dx += w * dst[i]!.x;
    dy += w * dst[i]!.y;
  }
  sx /= sw;
  sy /= sw;
  dx /= sw;
  dy /= sw;
  let num1 = 0;
  let num2 = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const w = weights?.[i] ?? 1;
    const px = src[i]!.x - sx;
    const py = src[i]!.y - sy;
    const qx = dst[i]!.x - dx;
    const qy = dst[i]!.y - dy;
    num1 += w * (px * qx + py * qy);
    num2 += w * (px * qy - py * qx);
    den += w * (px * px + py * py);
  }
  if (!(den > 0)) throw new KioskError('INPUT_INVALID', { reason: 'fitSimilarity: source points coincide' });
  const a = num1 / den;
  const b = num2 / den;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

export function invertSimilarity(t: Similarity): Similarity {
  const s2 = t.a * t.a + t.b * t.b;
  const a = t.a / s2;
  const b = -t.b / s2;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}

/** Root-mean-square distance (crop pixels) between the mapped keypoints and the template: a fit-quality signal. */
export function alignmentResidual(t: Similarity, src: readonly Point[], tpl: AlignTemplate): number {
  let s = 0;
  for (let i = 0; i < tpl.points.length; i++) {
    const p = applySimilarity(t, src[i]!);
    s += (p.x - tpl.points[i]!.x) ** 2 + (p.y - tpl.points[i]!.y) ** 2;
  }
  return Math.sqrt(s / tpl.points.length);
}

/** Transform from source-image pixels to template crop pixels for one detection. */
export function alignmentFor(det: FaceDetection, tpl: AlignTemplate): Similarity {
  if (det.keypoints.length < 4) throw new KioskError('INPUT_INVALID', { reason: 'alignment needs 4 keypoints', keypoints: det.keypoints.length });
  return fitSimilarity(det.keypoints.slice(0, 4), tpl.points, tpl.weights);
}

/** Canvas 2D matrix (a, b, c, d, e, f) of a similarity, for setTransform(). */
export function canvasMatrix(t: Similarity): [number, number, number, number, number, number] {
  return [t.a, t.b, -t.b, t.a, t.tx, t.ty];
}

type Ctx2D = OffscreenCanvasRenderingContext2D;

/**
 * Reusable warp target: draws `source` through `t` into a size×size canvas and returns its RGBA pixels.
 * The canvas's own resampler does the warp: Chromium's 'high' smoothing uses mipmaps when shrinking, which keeps
 * a 1920-px photo's face from aliasing on its way down to 112 px; outside the source is transparent black,
 * which reads as black (as a zero-padded warpAffine would).
 */
export class AlignCanvas {
  private readonly canvas: OffscreenCanvas;
  private readonly ctx: Ctx2D;

  constructor(readonly size: number) {
    this.canvas = new OffscreenCanvas(size, size);
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true, alpha: false });
    if (!ctx) throw new KioskError('INTERNAL', { reason: '2D canvas unavailable' });
    this.ctx = ctx;
  }

  warp(source: CanvasImageSource, t: Similarity): ImageData {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.size, this.size);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.setTransform(...canvasMatrix(t));
    ctx.drawImage(source, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    return ctx.getImageData(0, 0, this.size, this.size);
  }
}
