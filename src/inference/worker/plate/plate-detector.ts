/**
 * PP-OCRv4 text detector (DB, "differentiable binarisation"): tensor preparation and box post-processing.
 *
 * Owns the maths between an RGBA image and rotated text boxes in that image's pixels: resize to a multiple of 32,
 * PaddleOCR's ImageNet normalisation (applied to BGR channel order, as PaddleOCR reads images with OpenCV),
 * thresholding the probability map, connected components, minimum-area rectangles and DB's "unclip" expansion.
 * Running the model is the caller's job (an `OnnxRun`), so this module is pure and testable in Node. It never
 * decides what is a plate; it finds text.
 */
import { resizeToPlanes, type Point, type RgbaImage } from './plate-image';

export interface TextBox {
  /** Corners tl, tr, br, bl in source-image pixels; the tl→tr edge is the one nearest horizontal. */
  quad: [Point, Point, Point, Point];
  /** Centre, size along/across the text direction and angle (radians, within ±π/4) in source pixels. */
  cx: number;
  cy: number;
  w: number;
  h: number;
  angle: number;
  /** Mean text probability inside the component (0..1). */
  score: number;
}

export interface DetOptions {
  /** Longest side the image is resized to before detection (rounded to a multiple of 32). */
  maxSide: number;
  /** Probability above which a pixel is text. PaddleOCR default 0.3. */
  thresh: number;
  /** Mean probability a component needs to be kept. PaddleOCR default 0.6. */
  boxThresh: number;
  /** DB expansion ratio (PaddleOCR 1.5; larger gives more margin). */
  unclipRatio: number;
  /** Components shorter than this (det-input pixels) are dropped. */
  minSize: number;
}

export const DEFAULT_DET_OPTIONS: DetOptions = {
  maxSide: 960,
  thresh: 0.3,
  boxThresh: 0.5,
  unclipRatio: 1.5,
  minSize: 3,
};

export interface DetInput {
  tensor: Float32Array;
  /** Tensor width and height (multiples of 32). */
  width: number;
  height: number;
  /** Multiply tensor coordinates by these to get source pixels. */
  scaleX: number;
  scaleY: number;
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Resize so the longest side is at most maxSide (and both sides multiples of 32), normalise to NCHW BGR. */
export function detPreprocess(img: RgbaImage, maxSide: number): DetInput {
  const ratio = Math.min(1, maxSide / Math.max(img.width, img.height));
  // Small inputs are upscaled to the ratio-1 size but never below 32 px per side.
  const w = Math.max(32, Math.round((img.width * ratio) / 32) * 32);
  const h = Math.max(32, Math.round((img.height * ratio) / 32) * 32);
  return detPreprocessTo(img, w, h);
}

/**
 * Byte value -> normalised float per source channel (R, G, B), computed once with the same double-precision
 * expression the per-pixel loop used, so the tensor is unchanged: (v / 255 - mean) / std with PaddleOCR's
 * (B,G,R) <- (0.485,0.456,0.406) pairing.
 */
const DET_LUT = (() => {
  const lut = new Float32Array(3 * 256);
  for (let v = 0; v < 256; v++) {
    lut[v] = (v / 255 - MEAN[2]!) / STD[2]!; // R -> plane 2
    lut[256 + v] = (v / 255 - MEAN[1]!) / STD[1]!; // G -> plane 1
    lut[512 + v] = (v / 255 - MEAN[0]!) / STD[0]!; // B -> plane 0
  }
  return lut;
})();
/** Plane of source channel R, G, B: the tensor is NCHW in BGR order. */
const DET_PLANES = [2, 1, 0] as const;

/** As detPreprocess, to an exact tensor size (multiples of 32). */
export function detPreprocessTo(img: RgbaImage, w: number, h: number): DetInput {
  const t = new Float32Array(3 * w * h);
  // Resize straight into the BGR planes (no alpha, no intermediate RGBA image, no per-pixel division).
  resizeToPlanes(img, w, h, w > img.width ? 'cubic' : 'linear', DET_LUT, DET_PLANES, t);
  return { tensor: t, width: w, height: h, scaleX: img.width / w, scaleY: img.height / h };
}

/** Andrew's monotone chain; points as flat [x0,y0,x1,y1,...]. */
function convexHull(pts: Point[]): Point[] {
  if (pts.length < 3) return pts.slice();
  const p = pts.slice().sort((a, b) => a.x - b.x || a.y - b.y);
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: Point[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  upper.pop();
  lower.pop();
  return lower.concat(upper);
}

interface MinRect {
  cx: number;
  cy: number;
  w: number;
  h: number;
  angle: number;
}

/** Minimum-area enclosing rectangle by rotating calipers; w runs along the direction nearest horizontal. */
export function minAreaRect(points: Point[]): MinRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { cx: 0, cy: 0, w: 0, h: 0, angle: 0 };
  let best: MinRect & { area: number } = { cx: hull[0]!.x, cy: hull[0]!.y, w: 0, h: 0, angle: 0, area: Infinity };
  const n = hull.length;
  const edges =
    n < 2
      ? [{ x: 1, y: 0 }]
      : hull.map((a, i) => {
          const b = hull[(i + 1) % n]!;
          return { x: b.x - a.x, y: b.y - a.y };
        });
  edges.push({ x: 1, y: 0 });
  for (const e of edges) {
    const len = Math.hypot(e.x, e.y);
    if (len < 1e-9) continue;
    const ux = e.x / len;
    const uy = e.y / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const q of hull) {
      const u = q.x * ux + q.y * uy;
      const v = -q.x * uy + q.y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < best.area - 1e-9) {
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = {
        cx: cu * ux - cv * uy,
        cy: cu * uy + cv * ux,
        w: maxU - minU,
        h: maxV - minV,
        angle: Math.atan2(uy, ux),
        area,
      };
    }
  }
  // Normalise so the angle is within ±45° and w is the extent along that direction.
  let { w, h, angle } = best;
  while (angle > Math.PI / 4) {
    angle -= Math.PI / 2;
    [w, h] = [h, w];
  }
  while (angle < -Math.PI / 4) {
    angle += Math.PI / 2;
    [w, h] = [h, w];
  }
  return { cx: best.cx, cy: best.cy, w, h, angle };
}

export function rectQuad(r: MinRect): [Point, Point, Point, Point] {
  const ux = Math.cos(r.angle);
  const uy = Math.sin(r.angle);
  const vx = -uy;
  const vy = ux;
  const hw = r.w / 2;
  const hh = r.h / 2;
  const at = (a: number, b: number): Point => ({
    x: r.cx + a * hw * ux + b * hh * vx,
    y: r.cy + a * hw * uy + b * hh * vy,
  });
  return [at(-1, -1), at(1, -1), at(1, 1), at(-1, 1)];
}

/** Build a TextBox from a rectangle in source pixels. */
export function makeBox(r: MinRect, score: number): TextBox {
  return { quad: rectQuad(r), cx: r.cx, cy: r.cy, w: r.w, h: r.h, angle: r.angle, score };
}

/** No column seen yet in a row (larger than any tensor width). */
const NO_MIN = 0x7fffffff;
let buffers: { seen: Uint8Array; stack: Int32Array; rowMin: Int32Array; rowMax: Int32Array } | null = null;

/**
 * detPostprocess's working buffers, kept between calls (it runs on every frame and every refinement; allocating
 * a label map per call was garbage for the collector at frame rate). Grown when a larger map comes; `seen` cleared.
 */
function scratch(W: number, H: number): NonNullable<typeof buffers> {
  const n = W * H;
  if (!buffers || buffers.seen.length < n || buffers.rowMin.length < H) {
    const size = Math.max(n, buffers?.seen.length ?? 0);
    const rows = Math.max(H, buffers?.rowMin.length ?? 0);
    buffers = {
      seen: new Uint8Array(size),
      stack: new Int32Array(size),
      rowMin: new Int32Array(rows).fill(NO_MIN),
      rowMax: new Int32Array(rows).fill(-1),
    };
  } else buffers.seen.fill(0, 0, n);
  return buffers;
}

/**
 * Turn the detector's probability map (height x width, det-input pixels) into text boxes in source pixels.
 * Components are 8-connected; the box score is the mean probability over the component's pixels.
 */
export function detPostprocess(prob: Float32Array, input: DetInput, opts: DetOptions, maxBoxes = 200): TextBox[] {
  const { width: W, height: H } = input;
  const { seen, stack, rowMin, rowMax } = scratch(W, H);
  const boxes: TextBox[] = [];
  for (let start = 0; start < W * H; start++) {
    if (seen[start] !== 0 || prob[start]! <= opts.thresh) continue;
    seen[start] = 1;
    let top = 0;
    stack[top++] = start;
    let sum = 0;
    let count = 0;
    // Per-row extremes are all the hull needs.
    let yLo = H;
    let yHi = -1;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % W;
      const y = (i - x) / W;
      sum += prob[i]!;
      count++;
      if (x < rowMin[y]!) rowMin[y] = x;
      if (x > rowMax[y]!) rowMax[y] = x;
      if (y < yLo) yLo = y;
      if (y > yHi) yHi = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= W || (dx === 0 && dy === 0)) continue;
          const j = yy * W + xx;
          if (seen[j] === 0 && prob[j]! > opts.thresh) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
      }
    }
    const pts: Point[] = [];
    for (let y = yLo; y <= yHi; y++) {
      if (rowMax[y]! < 0) continue;
      pts.push({ x: rowMin[y]! + 0.5, y: y + 0.5 });
      pts.push({ x: rowMax[y]! + 0.5, y: y + 0.5 });
      rowMin[y] = NO_MIN;
      rowMax[y] = -1;
    }
    if (count < 4) continue;
    const score = sum / count;
    if (score < opts.boxThresh) continue;
    const r = minAreaRect(pts);
    if (Math.min(r.w, r.h) < opts.minSize) continue;
    // DB's unclip: offset the polygon outward by area * ratio / perimeter (the text kernel is shrunk in training).
    const d = (r.w * r.h * opts.unclipRatio) / (2 * (r.w + r.h));
    const u = { ...r, w: r.w + 2 * d, h: r.h + 2 * d };
    if (Math.min(u.w, u.h) < opts.minSize + 2) continue;
    // To source pixels (an anisotropic scale of a rotated rect is not a rect, so map the corners and refit).
    const q = rectQuad(u).map((p) => ({ x: p.x * input.scaleX, y: p.y * input.scaleY }));
    boxes.push(makeBox(minAreaRect(q), score));
    if (boxes.length >= maxBoxes) break;
  }
  return boxes;
}
