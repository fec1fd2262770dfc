/**
 * readFrame's splitLong (src/inference/worker/plate/plate-pipeline.ts): a line read longer than every series of the
 * region, merged from several detector boxes, is read again one run of those boxes at a time (dev photo `5VCF203`: a
 * Californian plate mounted over a German one, found as the one line "M | 5VCF203 | 77" and read M5VCF20377, which
 * fits no series, so a banner misread won). Real models cannot be made to fail on cue: the detector here is a
 * stand-in that marks each group of dark glyph blocks as its own text box (groupLines merges them into one line, as
 * it did on the photo), and the reader reads a crop by how many glyphs it shows. What is under test is which crops
 * the pipeline reads, when, and which of their reads may compete. The real models run in test/browser/plate-reader.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../src/inference/worker/plate/plate-image';
import {
  readFrame,
  resolvePipelineOptions,
  type LineReader,
  type OnnxRun,
  type PipelineOptions,
} from '../../src/inference/worker/plate/plate-pipeline';
import { REGION_RULES } from '../../src/matching/plates/formats';
import { glyphBands, glyphCount, glyphFrame } from '../helpers/plate-stand-ins.worker';

const GLYPH = 12;
/**
 * A grey frame with a row of glyph groups at `top` (and more rows, each 30 px high): each group given by its number of
 * glyphs, 6 px between a group's glyphs, 16 px between groups.
 */
function frame(groups: readonly number[], ...more: { groups: readonly number[]; top: number }[]): RgbaImage {
  const blocks: [number, number, number, number][] = [];
  for (const row of [{ groups, top: 220 }, ...more]) {
    let x0 = 200;
    for (const n of row.groups) {
      for (let g = 0; g < n; g++, x0 += GLYPH + 6) blocks.push([x0, row.top, GLYPH, 30]);
      x0 += 10;
    }
  }
  return glyphFrame(blocks);
}

/**
 * A stand-in text detector: DB's probability map marks each group of glyphs of each row (a gap wider than a glyph
 * ends a group) as its own blob, shrunk as DB's own map is, at every scale.
 */
const detector: OnnxRun = async (input, dims) => {
  const [, , h, w] = dims as [number, number, number, number];
  const map = new Float32Array(w * h);
  for (const { top, bottom, glyphs } of glyphBands(input, w, h)) {
    const glyphW = glyphs[0]![1] - glyphs[0]![0];
    const groups: [number, number][] = [];
    for (const g of glyphs) {
      const last = groups[groups.length - 1];
      if (last && g[0] - last[1] <= glyphW) last[1] = g[1];
      else groups.push([g[0], g[1]]);
    }
    // DB marks text shrunk on every side (its post-processing grows the box back); a lone glyph keeps some width.
    const k = Math.round((bottom - top) * 0.25);
    for (const [s, e] of groups) {
      const kx = Math.min(k, Math.floor((e - s) / 4));
      for (let y = top + k; y < bottom - k; y++) for (let x = s + kx; x < e - kx; x++) map[y * w + x] = 0.95;
    }
  }
  return { data: map, dims: [1, 1, h, w] };
};

/** A stand-in reader: the text `texts` gives for the number of glyphs a crop shows ('' for any other count). */
const readerOf =
  (texts: Record<number, string>): LineReader =>
  async (crop) => ({ text: texts[glyphCount(crop)] ?? '', confidence: 0.95 });

/** "KM | 5VCF203 | 177": the plate behind shows either side of the Californian plate's seven glyphs. */
const STACKED = [2, 7, 3];
const stackedReads = { 2: 'KM', 3: '177', 7: '5VCF203', 9: 'KM5VCF203', 10: '5VCF203177', 12: 'KM5VCF203177' };

const opts = (tuning = {}, rules = REGION_RULES.us!): PipelineOptions => ({
  // Only the line search and the split: no retry inside a grown box, no finder (their own tests cover them).
  ...resolvePipelineOptions({ boxRetry: null, finder: null, extendShort: null, ...tuning }),
  debugCrops: true,
  rules,
});

const splitSources = (r: Awaited<ReturnType<typeof readFrame>>) =>
  (r.crops ?? []).map((c) => c.source).filter((s) => s.includes('/split'));

describe('a line read longer than every series (splitLong)', () => {
  it('the stand-ins reproduce the miss: one line of three boxes, read whole, fits no series', async () => {
    const r = await readFrame(
      frame(STACKED),
      { det: detector, other: readerOf(stackedReads) },
      opts({ splitLong: false }),
    );
    expect(r.crops?.map((c) => c.source)).toEqual(['s640line0/refined56']);
    expect(r.text).toBe('KM5VCF203177');
  });

  it('is read one run of its boxes at a time, and the run that fits a series wins', async () => {
    const r = await readFrame(frame(STACKED), { det: detector, other: readerOf(stackedReads) }, opts());
    expect(r.text).toBe('5VCF203');
    // Every run of consecutive boxes but the whole line: KM, 5VCF203, 177, KM5VCF203, 5VCF203177.
    expect(splitSources(r)).toHaveLength(5);
    // Of those reads only the one that fits a series competes: KM, 177 and the nine- and ten-glyph runs do not.
    const fromSplits = r.raw?.filter((c) => c.source.includes('/split')).map((c) => c.text);
    expect(new Set(fromSplits)).toEqual(new Set(['5VCF203']));
  });

  it('keeps a run’s read only when it is part of the line’s own read', async () => {
    // The run of seven glyphs read as another plate: two readings of the same glyphs that disagree are no
    // completion, and the frame keeps its unfit read (the decision refuses it) rather than a guess.
    const reads = { ...stackedReads, 7: '5VCF208' };
    const r = await readFrame(frame(STACKED), { det: detector, other: readerOf(reads) }, opts());
    expect(splitSources(r)).toHaveLength(5);
    expect(r.raw?.some((c) => c.text === '5VCF208')).toBe(false);
    expect(r.text).toBe('KM5VCF203177');
  });

  it('counts a run as part of the line up to the look-alikes position rules rewrite', async () => {
    // Brazil rewrites a read to fit its series: the plate's run read ABCI234 is spelled ABC1234 (LLLDDDD, I→1); the
    // line's read, fitting nothing, keeps the I. The same glyphs read the same way: a part of the line.
    const reads = { 2: 'KM', 3: '177', 7: 'ABCI234', 12: 'KMABCI234177' };
    const r = await readFrame(frame(STACKED), { det: detector, other: readerOf(reads) }, opts({}, REGION_RULES.br!));
    expect(r.text).toBe('ABC1234');
  });

  it('leaves a line that fits a series alone, even when merged from several boxes', async () => {
    // ABC 1234 with a sticker's gap: two boxes, one line, read whole and fitting LLLDDDD.
    const reads = { 3: 'ABC', 4: '1234', 7: 'ABC1234' };
    const r = await readFrame(frame([3, 4]), { det: detector, other: readerOf(reads) }, opts());
    expect(r.text).toBe('ABC1234');
    expect(splitSources(r)).toEqual([]);
  });

  it('leaves a long line alone when another line’s read already fits a series', async () => {
    // The stacked line as above, and a plate ABC123 (LLLDDD) of six glyphs below it: the frame is read.
    const reads = { ...stackedReads, 6: 'ABC123' };
    const img = frame(STACKED, { groups: [6], top: 300 });
    const r = await readFrame(img, { det: detector, other: readerOf(reads) }, opts());
    expect(r.text).toBe('ABC123');
    expect(r.raw?.some((c) => c.text === 'KM5VCF203177')).toBe(true);
    expect(splitSources(r)).toEqual([]);
  });

  it('splits only a line longer than every series: a read of series length that fits none is a plate misread', async () => {
    // Two boxes read KM | AB12; the whole KMAB12 fits neither series below, and AB12 fits LLDD.
    const reads = { 2: 'KM', 4: 'AB12', 6: 'KMAB12' };
    const rules = (...patterns: string[]) => ({
      ...REGION_RULES.us!,
      formats: patterns.map((pattern, i) => ({ id: `t${i}`, pattern })),
    });
    const short = await readFrame(
      frame([2, 4]),
      { det: detector, other: readerOf(reads) },
      opts({}, rules('LLDD', 'LLLLDDDDD')),
    );
    expect(splitSources(short)).toEqual([]);
    expect(short.text).toBe('KMAB12');
    // The same line where every series is shorter than six: split, and AB12 is found.
    const long = await readFrame(
      frame([2, 4]),
      { det: detector, other: readerOf(reads) },
      opts({}, rules('LLDD', 'LLDDD')),
    );
    expect(splitSources(long)).toHaveLength(2);
    expect(long.text).toBe('AB12');
  });

  it('leaves a long line of a single box alone: there is no run to read', async () => {
    const reads = { 10: 'M5VCF20377' };
    const r = await readFrame(frame([10]), { det: detector, other: readerOf(reads) }, opts());
    expect(r.text).toBe('M5VCF20377');
    expect(splitSources(r)).toEqual([]);
  });

  it('splits a line of up to four boxes, and leaves one of five alone: prose, not a plate beside its neighbours', async () => {
    const reads = { 7: '5VCF203', 14: 'KM5VCF20317718', 16: 'KMKM5VCF20317718' };
    const four = await readFrame(frame([2, 7, 3, 2]), { det: detector, other: readerOf(reads) }, opts());
    expect(four.text).toBe('5VCF203');
    const five = await readFrame(frame([2, 2, 7, 3, 2]), { det: detector, other: readerOf(reads) }, opts());
    expect(splitSources(five)).toEqual([]);
    expect(five.text).toBe('KMKM5VCF20317718');
  });
});
