/**
 * Pieces of the stand-in models the plate pipeline's unit tests share (test/unit/plate-refine.worker.test.ts,
 * plate-word.worker.test.ts): frames there are dark glyph blocks on grey, and a stand-in reader counts the glyphs a
 * crop shows. Real models cannot be made to misread on cue; these make what the pipeline does with a read testable.
 */
import type { RgbaImage } from '../../src/inference/worker/plate/plate-image';

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
