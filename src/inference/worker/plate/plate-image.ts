/**
 * Pixel operations for the plate pipeline, on plain RGBA buffers.
 *
 * Owns resampling (antialiased down, bicubic up), rotated/perspective crops and contrast stretch. Everything is
 * pure TypeScript on typed arrays so the same code runs in the plate worker, in Node tooling and in tests with
 * bit-identical results (canvas smoothing differs between browsers and versions, and the recogniser is sensitive
 * to a pixel of margin). It never touches the DOM, a canvas or the network.
 */

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  readonly data: Uint8ClampedArray;
}

export interface Point {
  x: number;
  y: number;
}

export function makeImage(width: number, height: number): RgbaImage {
  return { width, height, data: new Uint8ClampedArray(width * height * 4) };
}

type Kernel = { support: number; fn: (x: number) => number };

const TRIANGLE: Kernel = { support: 1, fn: (x) => ((x < 0 ? -x : x) < 1 ? 1 - (x < 0 ? -x : x) : 0) };
// Catmull-Rom-like (a = -0.5), as Pillow's BICUBIC: sharper strokes than bilinear when upscaling small plates.
const CUBIC: Kernel = {
  support: 2,
  fn: (x) => {
    const a = -0.5;
    const t = x < 0 ? -x : x;
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  },
};

interface Coeffs {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

/** Separable resampling coefficients (Pillow's scheme: the kernel is widened by the scale when shrinking, which
 * is what keeps thin strokes from aliasing away when a 1920 px photo is shrunk for the detector). */
function coefficients(inSize: number, outSize: number, srcStart: number, srcLen: number, kernel: Kernel): Coeffs {
  const scale = srcLen / outSize;
  const filterScale = Math.max(1, scale);
  const support = kernel.support * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = srcStart + (i + 0.5) * scale;
    let lo = Math.floor(center - support);
    let hi = Math.ceil(center + support);
    if (lo < 0) lo = 0;
    if (hi > inSize) hi = inSize;
    if (hi - lo > stride) hi = lo + stride;
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = kernel.fn((j + 0.5 - center) / filterScale);
      weights[i * stride + (j - lo)] = w;
      sum += w;
    }
    if (sum !== 0) for (let j = 0; j < hi - lo; j++) weights[i * stride + j]! /= sum;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, stride };
}

/** First source row and number of rows the vertical pass reads (the horizontal pass runs over only those). */
function rowSpan(cy: Coeffs, inH: number, outH: number): [number, number] {
  let rowLo = inH;
  let rowHi = 0;
  for (let i = 0; i < outH; i++) {
    rowLo = Math.min(rowLo, cy.start[i]!);
    rowHi = Math.max(rowHi, cy.start[i]! + cy.count[i]!);
  }
  return rowHi <= rowLo ? [0, 1] : [rowLo, rowHi - rowLo];
}

/**
 * Resize a sub-rectangle of `img` (default: all of it) to outW x outH.
 * `mode` 'cubic' is used for upscaling crops for the recogniser, 'linear' for the detector's downscale.
 */
export function resize(
  img: RgbaImage,
  outW: number,
  outH: number,
  mode: 'linear' | 'cubic' = 'linear',
  src: { x: number; y: number; w: number; h: number } = { x: 0, y: 0, w: img.width, h: img.height },
): RgbaImage {
  outW = Math.max(1, Math.round(outW));
  outH = Math.max(1, Math.round(outH));
  const kernel = mode === 'cubic' ? CUBIC : TRIANGLE;
  const cx = coefficients(img.width, outW, src.x, src.w, kernel);
  const cy = coefficients(img.height, outH, src.y, src.h, kernel);
  // Horizontal pass over only the rows the vertical pass will read.
  const [rowLo, tmpRows] = rowSpan(cy, img.height, outH);
  const tmp = new Float32Array(outW * tmpRows * 4);
  const d = img.data;
  for (let y = 0; y < tmpRows; y++) {
    const rowOff = (y + rowLo) * img.width * 4;
    for (let x = 0; x < outW; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const s = cx.start[x]!;
      const n = cx.count[x]!;
      const wo = x * cx.stride;
      for (let k = 0; k < n; k++) {
        const w = cx.weights[wo + k]!;
        const p = rowOff + (s + k) * 4;
        r += d[p]! * w;
        g += d[p + 1]! * w;
        b += d[p + 2]! * w;
        a += d[p + 3]! * w;
      }
      const t = (y * outW + x) * 4;
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
      tmp[t + 3] = a;
    }
  }
  const out = makeImage(outW, outH);
  const o = out.data;
  for (let y = 0; y < outH; y++) {
    const s = cy.start[y]! - rowLo;
    const n = cy.count[y]!;
    const wo = y * cy.stride;
    for (let x = 0; x < outW; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let k = 0; k < n; k++) {
        const w = cy.weights[wo + k]!;
        const p = ((s + k) * outW + x) * 4;
        r += tmp[p]! * w;
        g += tmp[p + 1]! * w;
        b += tmp[p + 2]! * w;
        a += tmp[p + 3]! * w;
      }
      const t = (y * outW + x) * 4;
      o[t] = r;
      o[t + 1] = g;
      o[t + 2] = b;
      o[t + 3] = a;
    }
  }
  return out;
}

/**
 * Coefficient tables for `resizeToPlanes`, cached per (kernel, sizes, source window): a kiosk camera's frame size
 * never changes, so the detector's passes reuse the same few tables every frame. Taps whose weight is exactly 0
 * are trimmed (adding 0 does not change a sum, so the output stays bit-identical to `resize`).
 */
interface TrimmedCoeffs extends Coeffs {
  /** Every output sample copies one input sample with weight 1 (e.g. 1280 -> 1280). */
  identity: boolean;
}
const COEFF_CACHE_MAX = 32;
const coeffCache = new Map<string, TrimmedCoeffs>();

function cachedCoefficients(
  inSize: number,
  outSize: number,
  srcStart: number,
  srcLen: number,
  kernel: Kernel,
): TrimmedCoeffs {
  const key = `${kernel === CUBIC ? 'c' : 'l'}:${inSize}:${outSize}:${srcStart}:${srcLen}`;
  const hit = coeffCache.get(key);
  if (hit) return hit;
  const c = coefficients(inSize, outSize, srcStart, srcLen, kernel);
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * c.stride);
  let identity = inSize === outSize;
  for (let i = 0; i < outSize; i++) {
    let lo = 0;
    let hi = c.count[i]!;
    const wo = i * c.stride;
    while (lo < hi && c.weights[wo + lo] === 0) lo++;
    while (hi > lo && c.weights[wo + hi - 1] === 0) hi--;
    start[i] = c.start[i]! + lo;
    count[i] = hi - lo;
    for (let k = lo; k < hi; k++) weights[wo + k - lo] = c.weights[wo + k]!;
    if (count[i] !== 1 || start[i] !== i || weights[wo] !== 1) identity = false;
  }
  const t: TrimmedCoeffs = { start, count, weights, stride: c.stride, identity };
  // Crop refinement windows vary per plate; keep the table small (oldest out first).
  if (coeffCache.size >= COEFF_CACHE_MAX) coeffCache.delete(coeffCache.keys().next().value!);
  coeffCache.set(key, t);
  return t;
}

// Scratch buffers reused across calls (grow only): the horizontal pass's rows, the vertical accumulator and one
// output row of bytes. The worker runs one frame at a time, and nothing here is awaited.
let scratchTmp = new Float32Array(0);
let scratchAcc = new Float64Array(0);
let scratchRow = new Uint8ClampedArray(0);

/**
 * `resize` (linear or cubic, whole image) fused with a per-byte lookup into three float planes, skipping alpha:
 * `planes[planeOf[c] * outW * outH + i] = lut[c * 256 + byte]` for source channel c (0 = R, 1 = G, 2 = B), where
 * `byte` is exactly the value `resize` would have stored. Same coefficients, same float32 intermediate rows, same
 * summation order and the same Uint8ClampedArray rounding as `resize`, so the planes are bit-identical to
 * resizing and then mapping every pixel; the detector's pre-processing is a third of a frame's time without it.
 */
export function resizeToPlanes(
  img: RgbaImage,
  outW: number,
  outH: number,
  mode: 'linear' | 'cubic',
  lut: Float32Array,
  planeOf: readonly [number, number, number],
  planes: Float32Array,
): void {
  const plane = outW * outH;
  const o0 = planeOf[0] * plane;
  const o1 = planeOf[1] * plane;
  const o2 = planeOf[2] * plane;
  const d = img.data;
  const W = img.width;
  if (outW === W && outH === img.height) {
    for (let i = 0, p = 0; i < plane; i++, p += 4) {
      planes[o0 + i] = lut[d[p]!]!;
      planes[o1 + i] = lut[256 + d[p + 1]!]!;
      planes[o2 + i] = lut[512 + d[p + 2]!]!;
    }
    return;
  }
  const kernel = mode === 'cubic' ? CUBIC : TRIANGLE;
  const cx = cachedCoefficients(W, outW, 0, W, kernel);
  const cy = cachedCoefficients(img.height, outH, 0, img.height, kernel);
  const [rowLo, tmpRows] = rowSpan(cy, img.height, outH);
  const rowLen = outW * 3;
  if (scratchTmp.length < rowLen * tmpRows) scratchTmp = new Float32Array(rowLen * tmpRows);
  if (scratchAcc.length < rowLen) scratchAcc = new Float64Array(rowLen);
  if (scratchRow.length < rowLen) scratchRow = new Uint8ClampedArray(rowLen);
  const tmp = scratchTmp;
  const acc = scratchAcc;
  const row = scratchRow;
  const cxs = cx.start;
  const cxn = cx.count;
  const cxw = cx.weights;
  const sx = cx.stride;
  // Horizontal pass, RGB only, over the rows the vertical pass reads.
  for (let y = 0; y < tmpRows; y++) {
    const rowOff = (y + rowLo) * W * 4;
    let t = y * rowLen;
    if (cx.identity) {
      for (let x = 0, p = rowOff; x < outW; x++, p += 4, t += 3) {
        tmp[t] = d[p]!;
        tmp[t + 1] = d[p + 1]!;
        tmp[t + 2] = d[p + 2]!;
      }
      continue;
    }
    for (let x = 0; x < outW; x++, t += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      const n = cxn[x]!;
      const wo = x * sx;
      let p = rowOff + cxs[x]! * 4;
      for (let k = 0; k < n; k++, p += 4) {
        const w = cxw[wo + k]!;
        r += d[p]! * w;
        g += d[p + 1]! * w;
        b += d[p + 2]! * w;
      }
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
    }
  }
  // Vertical pass a row at a time (the same per-pixel summation order as `resize`, but streaming whole rows).
  for (let y = 0; y < outH; y++) {
    const s = cy.start[y]! - rowLo;
    const n = cy.count[y]!;
    const wo = y * cy.stride;
    let base = s * rowLen;
    // n is 0 only when every weight was 0, and `resize` then stores 0.
    const w0 = n > 0 ? cy.weights[wo]! : 0;
    for (let i = 0; i < rowLen; i++) acc[i] = tmp[base + i]! * w0;
    for (let k = 1; k < n; k++) {
      base += rowLen;
      const w = cy.weights[wo + k]!;
      for (let i = 0; i < rowLen; i++) acc[i]! += tmp[base + i]! * w;
    }
    for (let i = 0; i < rowLen; i++) row[i] = acc[i]!;
    const oy = y * outW;
    for (let x = 0, q = 0; x < outW; x++, q += 3) {
      planes[o0 + oy + x] = lut[row[q]!]!;
      planes[o1 + oy + x] = lut[256 + row[q + 1]!]!;
      planes[o2 + oy + x] = lut[512 + row[q + 2]!]!;
    }
  }
}

/** Solve the 3x3 homography mapping the output rectangle's corners to `quad` (tl, tr, br, bl). */
function homography(quad: readonly Point[], w: number, h: number): number[] {
  const src: [number, number][] = [
    [0, 0],
    [w, 0],
    [w, h],
    [0, h],
  ];
  // 8x8 linear system A h = b for h = [a b c d e f g h], H = [[a b c][d e f][g h 1]].
  const A: number[][] = [];
  const B: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = src[i]!;
    const { x: u, y: v } = quad[i]!;
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    B.push(u);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    B.push(v);
  }
  // Gaussian elimination with partial pivoting.
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    [B[c], B[p]] = [B[p]!, B[c]!];
    const piv = A[c]![c]!;
    if (Math.abs(piv) < 1e-12) return [1, 0, quad[0]!.x, 0, 1, quad[0]!.y, 0, 0, 1];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / piv;
      if (f === 0) continue;
      for (let k = c; k < 8; k++) A[r]![k]! -= f * A[c]![k]!;
      B[r]! -= f * B[c]!;
    }
  }
  const hv = B.map((b, i) => b / A[i]![i]!);
  return [...hv, 1];
}

/**
 * Sample the quadrilateral `quad` (tl, tr, br, bl in source pixels) into an outW x outH image: one step that crops,
 * deskews and rescales. Heavy shrinking would alias, so callers shrink with `resize` first when the quad is much
 * larger than the output (the plate crops here are almost always upscaled).
 */
export function warpQuad(img: RgbaImage, quad: readonly Point[], outW: number, outH: number): RgbaImage {
  outW = Math.max(1, Math.round(outW));
  outH = Math.max(1, Math.round(outH));
  const H = homography(quad, outW, outH);
  const out = makeImage(outW, outH);
  const o = out.data;
  const d = img.data;
  const W = img.width;
  const Hh = img.height;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const den = H[6]! * px + H[7]! * py + H[8]!;
      const sx = (H[0]! * px + H[1]! * py + H[2]!) / den - 0.5;
      const sy = (H[3]! * px + H[4]! * py + H[5]!) / den - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      // Replicate edge pixels: a crop that touches the frame border must not gain a black margin.
      const xa = x0 < 0 ? 0 : x0 >= W ? W - 1 : x0;
      const xb = x0 + 1 < 0 ? 0 : x0 + 1 >= W ? W - 1 : x0 + 1;
      const ya = y0 < 0 ? 0 : y0 >= Hh ? Hh - 1 : y0;
      const yb = y0 + 1 < 0 ? 0 : y0 + 1 >= Hh ? Hh - 1 : y0 + 1;
      const p00 = (ya * W + xa) * 4;
      const p01 = (ya * W + xb) * 4;
      const p10 = (yb * W + xa) * 4;
      const p11 = (yb * W + xb) * 4;
      const t = (y * outW + x) * 4;
      for (let c = 0; c < 4; c++) {
        const top = d[p00 + c]! * (1 - fx) + d[p01 + c]! * fx;
        const bot = d[p10 + c]! * (1 - fx) + d[p11 + c]! * fx;
        o[t + c] = top * (1 - fy) + bot * fy;
      }
    }
  }
  return out;
}

/**
 * Crop a (possibly rotated) quad to an upright image `outH` pixels high, keeping the quad's aspect ratio.
 * Large quads are first shrunk with the antialiased resize so the bilinear warp never skips pixels.
 */
export function cropQuad(img: RgbaImage, quad: readonly Point[], outH: number, maxW = 2048): RgbaImage {
  const w = (dist(quad[0]!, quad[1]!) + dist(quad[3]!, quad[2]!)) / 2;
  const h = (dist(quad[0]!, quad[3]!) + dist(quad[1]!, quad[2]!)) / 2;
  const outW = Math.min(maxW, Math.max(1, Math.round((w / Math.max(h, 1)) * outH)));
  const shrink = h / outH;
  if (shrink > 2) {
    // Shrink the bounding region first, then warp the mapped quad.
    const xs = quad.map((p) => p.x);
    const ys = quad.map((p) => p.y);
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 2);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)) - 2);
    const x1 = Math.min(img.width, Math.ceil(Math.max(...xs)) + 2);
    const y1 = Math.min(img.height, Math.ceil(Math.max(...ys)) + 2);
    const f = 1 / shrink;
    const small = resize(img, (x1 - x0) * f, (y1 - y0) * f, 'linear', { x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
    const sx = small.width / (x1 - x0);
    const sy = small.height / (y1 - y0);
    return warpQuad(
      small,
      quad.map((p) => ({ x: (p.x - x0) * sx, y: (p.y - y0) * sy })),
      outW,
      outH,
    );
  }
  return warpQuad(img, quad, outW, outH);
}

/** Axis-aligned crop (clamped to the image), no resampling. */
export function cropRect(img: RgbaImage, x: number, y: number, w: number, h: number): RgbaImage {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(img.width, Math.ceil(x + w));
  const y1 = Math.min(img.height, Math.ceil(y + h));
  const out = makeImage(Math.max(1, x1 - x0), Math.max(1, y1 - y0));
  for (let yy = y0; yy < y1; yy++) {
    out.data.set(img.data.subarray((yy * img.width + x0) * 4, (yy * img.width + x1) * 4), (yy - y0) * out.width * 4);
  }
  return out;
}

/**
 * Stretch luminance so the 1st..99th percentile spans 0..255 (colour kept by scaling all channels alike).
 * Dim or hazy plates are common at gates at dusk; the recogniser was trained on well-exposed text.
 */
export function stretchContrast(img: RgbaImage, lowPct = 0.01, highPct = 0.99): RgbaImage {
  const n = img.width * img.height;
  const hist = new Uint32Array(256);
  const d = img.data;
  for (let i = 0; i < n; i++) hist[(d[i * 4]! * 77 + d[i * 4 + 1]! * 150 + d[i * 4 + 2]! * 29) >> 8]!++;
  let lo = 0;
  let hi = 255;
  let acc = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[v]!;
    if (acc > n * lowPct) {
      lo = v;
      break;
    }
  }
  acc = 0;
  for (let v = 255; v >= 0; v--) {
    acc += hist[v]!;
    if (acc > n * (1 - highPct)) {
      hi = v;
      break;
    }
  }
  if (hi - lo < 8) return img;
  const out = makeImage(img.width, img.height);
  const o = out.data;
  const k = 255 / (hi - lo);
  for (let i = 0; i < n * 4; i += 4) {
    o[i] = (d[i]! - lo) * k;
    o[i + 1] = (d[i + 1]! - lo) * k;
    o[i + 2] = (d[i + 2]! - lo) * k;
    o[i + 3] = 255;
  }
  return out;
}

export function dist(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** Luminance copied into all three channels (BT.601 weights). */
export function toGray(img: RgbaImage): RgbaImage {
  const out = makeImage(img.width, img.height);
  const d = img.data;
  const o = out.data;
  for (let i = 0; i < d.length; i += 4) {
    const y = (d[i]! * 77 + d[i + 1]! * 150 + d[i + 2]! * 29) >> 8;
    o[i] = y;
    o[i + 1] = y;
    o[i + 2] = y;
    o[i + 3] = 255;
  }
  return out;
}

/** Unsharp mask with a 3x3 box blur: out = img + amount * (img - blur). */
export function sharpen(img: RgbaImage, amount = 0.6): RgbaImage {
  const { width: W, height: H, data: d } = img;
  const out = makeImage(W, H);
  const o = out.data;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      for (let c = 0; c < 3; c++) {
        let s = 0;
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= H) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= W) continue;
            s += d[(yy * W + xx) * 4 + c]!;
            n++;
          }
        }
        o[i + c] = d[i + c]! + amount * (d[i + c]! - s / n);
      }
      o[i + 3] = 255;
    }
  }
  return out;
}
