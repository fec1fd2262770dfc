/**
 * readFrame's refinement losing a glyph group (readDetBelowCover in src/inference/worker/plate/plate-pipeline.ts): when
 * the re-detection inside a line's region finds only part of the line the frame's detector found (dev photos
 * `AJK7551` → JK7551: the refined box began at J), the detector's own box is read too and competes. Real models
 * cannot be made to fail on cue, so the detector here is a stand-in that marks dark strokes as text and, in
 * refinement passes, misses everything left of the widest gap between glyphs — the failure seen on the dev photo;
 * the reader reads the glyphs a crop holds. What is under test is which crops the pipeline reads and what wins.
 * The real models run in test/browser/plate-reader.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FINDER_SIDE, FINDER_STRIDE } from '../../src/inference/worker/plate/plate-finder';
import type { RgbaImage } from '../../src/inference/worker/plate/plate-image';
import {
  readFrame,
  resolvePipelineOptions,
  type LineReader,
  type OnnxRun,
  type PipelineOptions,
} from '../../src/inference/worker/plate/plate-pipeline';
import { REGION_RULES } from '../../src/matching/plates/formats';
import { glyphCount, glyphFrame, runs } from '../helpers/plate-stand-ins.worker';

const PLATE = '1AMW240';

/** A grey frame holding the plate as seven dark glyph blocks, "1A" set apart from "MW240" by a wider gap (or the
 * glyphs at `xs`). */
function frame(xs = [250, 268, 296, 314, 332, 350, 368]): RgbaImage {
  return glyphFrame(xs.map((x) => [x, 220, 12, 30] as const));
}

/**
 * A stand-in text detector: DB's probability map marks the dark glyphs' row as one blob, shrunk as DB's own map is.
 * The frame pass (640 × 480 input) sees every glyph (unless `missInFrameToo`); a refinement pass (any other input
 * size) misses what lies left of a gap more than twice as wide as the narrowest. Returns the input sizes it was run
 * at.
 */
function detector(missInFrameToo = false): { run: OnnxRun; sizes: string[] } {
  const sizes: string[] = [];
  const run: OnnxRun = async (input, dims) => {
    const [, , h, w] = dims as [number, number, number, number];
    sizes.push(`${w}x${h}`);
    // Channel 0 of PaddleOCR's normalisation: (v / 255 - 0.485) / 0.229; the glyphs are far below 0, the grey above.
    const dark = (x: number, y: number) => input[y * w + x]! < 0;
    const rows = Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => dark(x, y)).some(Boolean));
    const glyphH = rows.filter(Boolean).length;
    const cols = Array.from({ length: w }, (_, x) => rows.some((r, y) => r && dark(x, y)));
    const glyphs = runs(cols);
    let from = 0;
    const gaps = glyphs.slice(1).map((g, i) => g[0] - glyphs[i]![1]);
    const frame = w === 640 && h === 480;
    if ((missInFrameToo || !frame) && gaps.length > 0 && Math.max(...gaps) > 2 * Math.min(...gaps))
      from = glyphs[gaps.indexOf(Math.max(...gaps)) + 1]![0];
    // DB marks text shrunk by ~0.4 of its height on every side (its post-processing grows the box back).
    const k = Math.round(glyphH * 0.4);
    const top = rows.indexOf(true);
    const kept = glyphs.filter(([s0]) => s0 >= from);
    const map = new Float32Array(w * h);
    if (kept.length > 0)
      for (let y = top + k; y < top + glyphH - k; y++)
        for (let x = kept[0]![0] + k; x < kept[kept.length - 1]![1] - k; x++) map[y * w + x] = 0.95;
    return { data: map, dims: [1, 1, h, w] };
  };
  return { run, sizes };
}

/** A stand-in reader: the plate's last n characters for a crop showing n glyphs. */
const readerOf =
  (plate: string): LineReader =>
  async (crop) => {
    const n = glyphCount(crop);
    return { text: n > 0 && n <= plate.length ? plate.slice(plate.length - n) : '', confidence: 0.95 };
  };
const reader = readerOf(PLATE);

const opts = (tuning = {}): PipelineOptions => ({
  // Only the line search: no retry inside a grown box, no finder (their own tests cover them).
  ...resolvePipelineOptions({ boxRetry: null, finder: null, extendShort: null, ...tuning }),
  debugCrops: true,
  rules: REGION_RULES.us!,
});

describe('a refined line that lost a glyph group', () => {
  it('the stand-ins behave: the frame pass sees the whole line, a refinement pass only MW240', async () => {
    const det = detector();
    const r = await readFrame(frame(), { det: det.run, other: reader }, opts({ readDetBelowCover: 0 }));
    expect(det.sizes[0]).toBe('640x480');
    expect(det.sizes.length).toBeGreaterThan(1);
    expect(r.crops?.map((c) => c.source)).toEqual(['s640line0/refined56']);
    expect(r.text).toBe('MW240');
  });

  it('is read from the detector’s own box too, and the whole registration wins (default)', async () => {
    const det = detector();
    const r = await readFrame(frame(), { det: det.run, other: reader }, opts());
    expect(r.crops?.map((c) => c.source)).toEqual(['s640line0/refined56', 's640line0/det']);
    expect(r.text).toBe(PLATE);
    expect(r.candidates.map((c) => c.text)).toContain('MW240');
    // Both crops' reads are ranked at the refined box's height, not at the detector's looser box.
    expect(new Set(r.candidates.map((c) => c.lineHeight)).size).toBe(1);
  });

  it('a refined box that keeps the whole line costs no second read', async () => {
    const det = detector();
    // Every glyph evenly spaced: no gap stands out, so the stand-in's refinement keeps the line whole.
    const img = frame();
    for (let y = 220; y < 250; y++)
      for (let x = 250; x < 400; x++) {
        const i = (y * 640 + x) * 4;
        const k = (x - 250) % 18;
        img.data[i] = img.data[i + 1] = img.data[i + 2] = x < 376 && k < 12 ? 30 : 200;
      }
    const r = await readFrame(img, { det: det.run, other: reader }, opts());
    expect(r.crops?.map((c) => c.source)).toEqual(['s640line0/refined56']);
  });
});

describe('a line the detector found without its first glyph (extendShort)', () => {
  // A Missouri-style plate (LLDLDL) whose C stands apart: the detector finds J8P4V, which fits no series.
  const MO = 'CJ8P4V';
  const apart = () => frame([280, 302, 318, 334, 350, 366]);
  const moReader = readerOf(MO);
  // The default extension box; the rest of the pipeline as above.
  const extend = { extendShort: resolvePipelineOptions().extendShort };

  it('is read again in a wider box, and the whole registration, fitting a series, wins', async () => {
    const r = await readFrame(apart(), { det: detector(true).run, other: moReader }, opts(extend));
    expect(r.text).toBe(MO);
    expect(r.crops?.some((c) => c.source.startsWith('ext/'))).toBe(true);
  });

  it('was read short without it (the stand-ins reproduce the miss)', async () => {
    const r = await readFrame(apart(), { det: detector(true).run, other: moReader }, opts());
    expect(r.text).toBe('J8P4V');
  });

  it('keeps from the wider box only reads that fit a series and hold the whole read: the rest stays out', async () => {
    const r = await readFrame(apart(), { det: detector(true).run, other: moReader }, opts(extend));
    // The wider box's refined line read J8P4V again (the detector misses the C there too): not added a second time.
    expect(r.crops?.map((c) => c.source)).toContain('ext/56/line0');
    expect(new Set(r.raw?.filter((c) => c.source.startsWith('ext/')).map((c) => c.text))).toEqual(new Set([MO]));
    expect(r.raw?.filter((c) => c.text === 'J8P4V').map((c) => c.source)).toEqual(['s640line0/refined56/tesseract']);
  });

  it('completes the short line before the finder is asked: the completed read fits, so the finder does not run', async () => {
    // A stand-in finder that finds nothing and counts its runs (the finder runs only for a best read that fits no
    // series). Before the order changed, the finder ran on J8P4V first, and a finder box read could pre-empt the
    // completion (a fold model's box read a phone number on the plate frame: docs/plates.md).
    let finderRuns = 0;
    const finder: OnnxRun = async () => {
      finderRuns++;
      return { data: new Float32Array(5 * (FINDER_SIDE / FINDER_STRIDE) ** 2), dims: [1, 5, 1, 1] };
    };
    const withFinder = { ...extend, finder: resolvePipelineOptions().finder };
    const r = await readFrame(apart(), { det: detector(true).run, other: moReader, finder }, opts(withFinder));
    expect(r.text).toBe(MO);
    expect(finderRuns).toBe(0);
    // Without the completion the short read fits nothing and the finder is asked (so this test can fail).
    await readFrame(
      apart(),
      { det: detector(true).run, other: moReader, finder },
      opts({ ...withFinder, extendShort: null }),
    );
    expect(finderRuns).toBe(1);
  });

  it('judges a completion in the region’s spelling: a digit read as the letter O still completes the plate', async () => {
    // The reader reads the 0 of CJ0P4V as the letter O; US plates print both alike, so CJOP4V is CJ0P4V (LLDLDL) and
    // joins the ranking (where its look-alike still costs it, as any read's does).
    const r = await readFrame(apart(), { det: detector(true).run, other: readerOf('CJOP4V') }, opts(extend));
    expect(r.raw?.filter((c) => c.source.startsWith('ext/')).map((c) => c.text)).toContain('CJ0P4V');
  });

  it('leaves a read that fits a series alone: no second read', async () => {
    // Six glyphs evenly spaced: the detector sees them all and the reader reads CJ8P4V whole.
    const r = await readFrame(
      frame([280, 298, 316, 334, 352, 370]),
      { det: detector(true).run, other: moReader },
      opts(extend),
    );
    expect(r.text).toBe(MO);
    expect(r.crops?.some((c) => c.source.startsWith('ext/'))).toBe(false);
  });
});
