/**
 * The project's own plate finder (models/trained/plate_finder.onnx, trained by train/plates/detector.py): pre- and
 * post-processing only, pure functions over pixels and tensors; the session is the plate worker's.
 *
 * Why a second detector: PP-OCR's DB detector finds text lines, not plates, so a notice, a dealer's word or a line
 * missing its first glyph can be what the line search reads (docs/plates.md, "Localisation"). The finder proposes
 * whole-plate boxes, which readFrame reads the way a known plate box is read (readPlateBox). Input: the frame
 * letterboxed top-left into FINDER_SIDE², grey padding, RGB, (x/255 − 0.5)/0.5 — exactly as in training. Output
 * [1, 5, G, G] at stride 8: centre probability, centre offset x/y in the cell, log(w/8), log(h/8).
 */
import { resize, type RgbaImage } from './plate-image';

export const FINDER_SIDE = 384;
export const FINDER_STRIDE = 8;
const GRID = FINDER_SIDE / FINDER_STRIDE;
/** Training pads with RGB 128: the same value after normalisation. */
const PAD = (128 / 255 - 0.5) / 0.5;

export interface FinderInput {
  tensor: Float32Array;
  /** Frame pixels per input pixel. */
  scale: number;
}

export interface PlateBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** The frame scaled (aspect kept) into the top-left of a FINDER_SIDE square, as NCHW planes. */
export function finderInput(img: RgbaImage): FinderInput {
  const s = FINDER_SIDE / Math.max(img.width, img.height);
  const w = Math.max(1, Math.min(FINDER_SIDE, Math.round(img.width * s)));
  const h = Math.max(1, Math.min(FINDER_SIDE, Math.round(img.height * s)));
  const small = resize(img, w, h, 'linear');
  const plane = FINDER_SIDE * FINDER_SIDE;
  const tensor = new Float32Array(3 * plane).fill(PAD);
  const d = small.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const i = y * FINDER_SIDE + x;
      tensor[i] = (d[p]! / 255 - 0.5) / 0.5;
      tensor[plane + i] = (d[p + 1]! / 255 - 0.5) / 0.5;
      tensor[2 * plane + i] = (d[p + 2]! / 255 - 0.5) / 0.5;
    }
  }
  return { tensor, scale: 1 / s };
}

/**
 * Plate boxes in frame pixels, best first: heat-map peaks (3 × 3 local maxima) scoring at least `minScore`, at most
 * `maxBoxes`, each clipped to the frame. `maps` is the model's [1, 5, G, G] output.
 */
export function decodeFinder(
  maps: Float32Array,
  input: FinderInput,
  frame: { width: number; height: number },
  minScore: number,
  maxBoxes: number,
): PlateBox[] {
  if (maps.length !== 5 * GRID * GRID) throw new RangeError(`finder output of ${maps.length} values`);
  const cells = GRID * GRID;
  const peaks: { i: number; s: number }[] = [];
  for (let iy = 0; iy < GRID; iy++) {
    for (let ix = 0; ix < GRID; ix++) {
      const s = maps[iy * GRID + ix]!;
      if (!(s >= minScore)) continue;
      let peak = true;
      for (let dy = -1; dy <= 1 && peak; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const y = iy + dy;
          const x = ix + dx;
          if ((dx || dy) && y >= 0 && y < GRID && x >= 0 && x < GRID && maps[y * GRID + x]! > s) {
            peak = false;
            break;
          }
        }
      }
      if (peak) peaks.push({ i: iy * GRID + ix, s });
    }
  }
  peaks.sort((a, b) => b.s - a.s);
  const out: PlateBox[] = [];
  for (const { i, s } of peaks.slice(0, maxBoxes)) {
    const ix = i % GRID;
    const iy = (i - ix) / GRID;
    const cx = (ix + maps[cells + i]!) * FINDER_STRIDE * input.scale;
    const cy = (iy + maps[2 * cells + i]!) * FINDER_STRIDE * input.scale;
    const w = Math.exp(maps[3 * cells + i]!) * FINDER_STRIDE * input.scale;
    const h = Math.exp(maps[4 * cells + i]!) * FINDER_STRIDE * input.scale;
    const x0 = Math.max(0, cx - w / 2);
    const y0 = Math.max(0, cy - h / 2);
    const x1 = Math.min(frame.width, cx + w / 2);
    const y1 = Math.min(frame.height, cy + h / 2);
    if (x1 - x0 >= 4 && y1 - y0 >= 2) out.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: s });
  }
  return out;
}
