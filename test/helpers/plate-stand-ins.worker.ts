/**
 * Pieces of the stand-in models the plate pipeline's unit tests share (test/unit/plate-refine.worker.test.ts,
 * plate-word.worker.test.ts, plate-split.worker.test.ts): frames there are dark glyph blocks on grey (glyphFrame), a
 * stand-in detector sees them as bands of glyph columns (glyphBands), and a stand-in reader counts the glyphs a crop
 * shows (glyphCount). Real models cannot be made to misread on cue; these make what the pipeline does with a read
 * testable.
 */
import { makeImage, type RgbaImage } from '../../src/inference/worker/plate/plate-image';

/** Runs of true values, as [start, end) pairs. */
export function runs(mask: readonly boolean[]): [number, number][] {
  const out: [number, number][] = [];
  let s = -1;
  mask.forEach((d, i) => {
    if (d && s < 0) s = i;
    if (!d && s >= 0) {
      out.push([s, i]);
      s = -1;
    }
  });
  if (s >= 0) out.push([s, mask.length]);
  return out;
}

/** How many glyphs a crop shows: runs of columns holding a dark pixel. */
export function glyphCount(crop: RgbaImage): number {
  const cols = Array.from({ length: crop.width }, (_, x) => {
    for (let y = 0; y < crop.height; y++) if (crop.data[(y * crop.width + x) * 4]! < 100) return true;
    return false;
  });
  return runs(cols).length;
}

/**
 * What a stand-in text detector sees in its input: each band of consecutive rows holding a glyph, with the runs of
 * columns inside it that hold one. The input is PaddleOCR-normalised ((v / 255 - 0.485) / 0.229 in channel 0), so the
 * dark glyphs are below 0 and the grey around them above.
 */
export function glyphBands(
  input: Float32Array,
  w: number,
  h: number,
): { top: number; bottom: number; glyphs: [number, number][] }[] {
  const dark = (x: number, y: number) => input[y * w + x]! < 0;
  const rows = Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => dark(x, y)).some(Boolean));
  return runs(rows).map(([top, bottom]) => {
    const inBand = (x: number) => Array.from({ length: bottom - top }, (_, k) => dark(x, top + k)).some(Boolean);
    return { top, bottom, glyphs: runs(Array.from({ length: w }, (_, x) => inBand(x))) };
  });
}

/** A 640 x 480 grey frame with dark glyph blocks, each [x, y, width, height]. */
export function glyphFrame(blocks: readonly (readonly [number, number, number, number])[]): RgbaImage {
  const img = makeImage(640, 480);
  img.data.fill(200);
  for (const [x0, y0, w, h] of blocks)
    for (let y = y0; y < y0 + h; y++)
      for (let x = x0; x < x0 + w; x++) {
        const i = (y * 640 + x) * 4;
        img.data[i] = img.data[i + 1] = img.data[i + 2] = 30;
      }
  for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
  return img;
}
