/**
 * A word does not outrank the plate (rankLikeness in src/inference/worker/plate/plate-pipeline.ts). A US notice
 * read NOTICE or N0TICE fits the LDDLLL series through look-alikes (O→0, T→7) and used to rank as a misread plate;
 * taller than the plate, it won the frame. The detector and reader are stand-ins (real models cannot be made to
 * misread on cue): the detector marks each band of dark glyph rows as one text line, the reader reads six glyphs
 * as the notice and seven as the plate. What is under test is how the pipeline ranks the two reads; the real
 * models run in test/browser/plate-reader.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../src/inference/worker/plate/plate-image';
import {
  rankLikeness,
  readFrame,
  resolvePipelineOptions,
  type LineReader,
  type OnnxRun,
  type PipelineOptions,
} from '../../src/inference/worker/plate/plate-pipeline';
import { LIKENESS, REGION_RULES } from '../../src/matching/plates/formats';
import { glyphBands, glyphCount, glyphFrame } from '../helpers/plate-stand-ins.worker';

const PLATE = 'CWM3083';

/** Dark glyph blocks on grey: a notice of 6 glyphs 40 px tall above a plate of 7 glyphs 22 px tall. */
function frame(): RgbaImage {
  return glyphFrame([
    ...Array.from({ length: 6 }, (_, k) => [200 + k * 36, 90, 24, 40] as const),
    ...Array.from({ length: 7 }, (_, k) => [250 + k * 20, 320, 13, 22] as const),
  ]);
}

/** A stand-in text detector: each band of rows holding dark pixels is one line, marked from its first to its last
 * dark column and shrunk by ~0.4 of its height on every side, as DB's probability map is. */
const detector: OnnxRun = async (input, dims) => {
  const [, , h, w] = dims as [number, number, number, number];
  const map = new Float32Array(w * h);
  for (const { top, bottom, glyphs } of glyphBands(input, w, h)) {
    const k = Math.round((bottom - top) * 0.4);
    for (let y = top + k; y < bottom - k; y++)
      for (let x = glyphs[0]![0] + k; x < glyphs[glyphs.length - 1]![1] - k; x++) map[y * w + x] = 0.95;
  }
  return { data: map, dims: [1, 1, h, w] };
};

/** A stand-in reader: six glyphs are the notice (spelled `notice`), seven are the plate. */
const reader =
  (notice: string): LineReader =>
  async (crop) => {
    const n = glyphCount(crop);
    return { text: n === 6 ? notice : n === 7 ? PLATE : '', confidence: 0.95 };
  };

const opts = (tuning = {}): PipelineOptions => ({
  // Only the line search: no retry inside a grown box, no finder (their own tests cover them).
  ...resolvePipelineOptions({ boxRetry: null, finder: null, ...tuning }),
  rules: REGION_RULES.us!,
});

describe('a word read near the plate', () => {
  it('does not outrank the plate, spelled with a letter O or with a 0 (default)', async () => {
    for (const notice of ['NOTICE', 'N0TICE']) {
      const r = await readFrame(frame(), { det: detector, other: reader(notice) }, opts());
      expect(r.text).toBe(PLATE);
      expect(r.candidates.map((c) => c.text)).toContain(notice === 'NOTICE' ? 'N0TICE' : notice);
    }
  });

  it('won the frame as a look-alike plate before (the stand-ins reproduce the miss)', async () => {
    const r = await readFrame(frame(), { det: detector, other: reader('N0TICE') }, opts({ wordsRankAsWords: false }));
    expect(r.text).toBe('N0TICE');
  });

  it('ranks as a word only what holds no digit: plates, zeros in listed series and regions without unlisted series keep their likeness', () => {
    const us = opts();
    expect(rankLikeness('NOTICE', us)).toBe(LIKENESS.lettersOnly);
    expect(rankLikeness('STPARA', us)).toBe(LIKENESS.lettersOnly);
    expect(rankLikeness(PLATE, us)).toBe(1);
    // All-zero digits that fit a listed series are a plate (US 3l3d), not a word, read with 0s or with Os.
    expect(rankLikeness('ABC000', us)).toBe(1);
    expect(rankLikeness('ABCOOO', us)).toBe(rankLikeness('ABCOOO', { ...us, wordsRankAsWords: false }));
    expect(rankLikeness('ABCOOO', us)).toBeGreaterThan(LIKENESS.lettersOnly);
    // A mixed read keeps its likeness.
    expect(rankLikeness('N0T1CE', us)).toBeGreaterThan(LIKENESS.lettersOnly);
    // EU does not fold O into 0: a zero there is a digit, so AB0CDE is a mixed read in the EU and a word in the US.
    const eu = { ...us, rules: REGION_RULES.eu! };
    expect(rankLikeness('AB0CDE', us)).toBe(LIKENESS.lettersOnly);
    expect(rankLikeness('AB0CDE', eu)).toBe(rankLikeness('AB0CDE', { ...eu, wordsRankAsWords: false }));
    expect(rankLikeness('AB0CDE', eu)).toBeGreaterThan(LIKENESS.lettersOnly);
    // BR lists every series: its own likeness judges a letters-only read (0.3 here, a costly look-alike fit).
    const br = { ...us, rules: REGION_RULES.br! };
    expect(rankLikeness('ABCOOOO', br)).toBeGreaterThan(LIKENESS.lettersOnly);
    expect(rankLikeness('ABCOOOO', br)).toBe(rankLikeness('ABCOOOO', { ...br, wordsRankAsWords: false }));
  });
});
