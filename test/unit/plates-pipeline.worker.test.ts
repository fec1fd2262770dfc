/**
 * The pure parts of the plate pipeline in Node: pixel operations, DB box post-processing, line grouping and the
 * plate-restricted CTC decoding, on hand-built inputs whose right answer is known. The real models run in
 * test/browser/plate-reader.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  detPostprocess,
  minAreaRect,
  rectQuad,
  makeBox,
  DEFAULT_DET_OPTIONS,
  detPreprocess,
  detPreprocessTo,
} from '../../src/inference/worker/plate/plate-detector';
import {
  cropQuad,
  makeImage,
  resize,
  stretchContrast,
  warpQuad,
  type RgbaImage,
} from '../../src/inference/worker/plate/plate-image';
import { groupLines } from '../../src/inference/worker/plate/plate-lines';
import {
  buildCharset,
  constrainedDecode,
  foldProbs,
  greedyDecode,
  pathLogProb,
  recPreprocess,
  REC_HEIGHT,
  LATIN_AND_PROVINCES,
} from '../../src/inference/worker/plate/plate-recogniser';
import { encodeBmp, prepareForTesseract } from '../../src/inference/worker/plate/plate-tesseract';

/** A tiny stand-in for ppocr_keys_v1.txt: CJK, look-alike forms, separators and Latin characters. */
const DICT = ['品', '〇', 'o', 'O', 'Ｏ', '0', '1', 'l', 'I', 'A', 'B', '8', '-', '·', '京', 'X', '7'].join('\n');

function gradient(w: number, h: number) {
  const img = makeImage(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      img.data[i] = x;
      img.data[i + 1] = y;
      img.data[i + 2] = 100;
      img.data[i + 3] = 255;
    }
  return img;
}

describe('pixel operations', () => {
  it('resizes with the right size and keeps a flat colour flat', () => {
    const flat = makeImage(40, 20);
    flat.data.fill(200);
    for (const [w, h, mode] of [
      [10, 5, 'linear'],
      [120, 60, 'cubic'],
      [33, 17, 'linear'],
    ] as const) {
      const r = resize(flat, w, h, mode);
      expect([r.width, r.height]).toEqual([w, h]);
      expect(Math.min(...r.data)).toBeGreaterThanOrEqual(199);
      expect(Math.max(...r.data)).toBeLessThanOrEqual(201);
    }
  });
  it('warps an axis-aligned quad to the same pixels as a plain crop', () => {
    const img = gradient(200, 100);
    const c = warpQuad(
      img,
      [
        { x: 10, y: 20 },
        { x: 90, y: 20 },
        { x: 90, y: 50 },
        { x: 10, y: 50 },
      ],
      80,
      30,
    );
    expect(c.data[0]).toBe(10); // x of the first pixel
    expect(c.data[1]).toBe(20); // y of the first pixel
    expect(c.data[(29 * 80 + 79) * 4]).toBe(89);
    expect(c.data[(29 * 80 + 79) * 4 + 1]).toBe(49);
  });
  it('crops a rotated quad upright at the requested height and aspect', () => {
    const img = gradient(300, 300);
    const q = rectQuad({ cx: 150, cy: 150, w: 120, h: 30, angle: 0.3 });
    const c = cropQuad(img, q, 48);
    expect(c.height).toBe(48);
    expect(c.width).toBe(192);
  });
  it('stretches contrast and leaves a flat image alone', () => {
    const img = makeImage(10, 1);
    for (let x = 0; x < 10; x++) img.data.set([100 + x * 5, 100 + x * 5, 100 + x * 5, 255], x * 4);
    const s = stretchContrast(img, 0, 1);
    expect(s.data[0]).toBe(0);
    expect(s.data[9 * 4]).toBe(255);
    const flat = makeImage(4, 4).data.fill(90);
    expect(stretchContrast({ width: 4, height: 4, data: flat }).data).toBe(flat);
  });
  it('prepares dark-on-light crops for tesseract and encodes a valid BMP', () => {
    const dark = makeImage(50, 20).data.fill(30);
    const p = prepareForTesseract({ width: 50, height: 20, data: dark });
    expect(p.height).toBe(100);
    const bmp = encodeBmp(p);
    expect(String.fromCharCode(bmp[0]!, bmp[1]!)).toBe('BM');
    expect(new DataView(bmp.buffer).getUint32(2, true)).toBe(bmp.length);
    expect(new DataView(bmp.buffer).getInt32(18, true)).toBe(p.width);
  });
});

/** The detector's pre-processing as it was before the fused resize: RGBA resize, then a per-pixel normalise loop. */
function referenceDetTensor(img: RgbaImage, w: number, h: number): Float32Array {
  const r = w === img.width && h === img.height ? img : resize(img, w, h, w > img.width ? 'cubic' : 'linear');
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const plane = w * h;
  const t = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    t[i] = (r.data[i * 4 + 2]! / 255 - mean[0]!) / std[0]!;
    t[plane + i] = (r.data[i * 4 + 1]! / 255 - mean[1]!) / std[1]!;
    t[2 * plane + i] = (r.data[i * 4]! / 255 - mean[2]!) / std[2]!;
  }
  return t;
}

/** Seeded noise with some structure (edges and flat runs), alpha random so a leak of alpha would show. */
function noiseImage(w: number, h: number, seed: number): RgbaImage {
  const img = makeImage(w, h);
  let s = seed >>> 0;
  for (let i = 0; i < img.data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const x = (i >> 2) % w;
    img.data[i] = x % 17 < 3 ? 255 : x % 29 < 4 ? 0 : s >>> 24;
  }
  return img;
}

function countDiff(a: Float32Array, b: Float32Array): number {
  let n = Math.abs(a.length - b.length);
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) n++;
  return n;
}

describe('detector pre-processing', () => {
  it('writes the same tensor, bit for bit, as resizing RGBA and normalising each pixel', () => {
    // Frame passes (1280x720 -> 640x352 and -> 1280x736, BR 1280x1280 -> 640x640 and identity), refine crops
    // scaled up (cubic) and down, odd sizes, and a repeat (cached coefficient tables and reused buffers).
    const cases: [number, number, number, number][] = [
      [1280, 720, 640, 352],
      [1280, 720, 1280, 736],
      [1280, 1280, 640, 640],
      [1280, 1280, 1280, 1280],
      [97, 41, 384, 160],
      [301, 77, 288, 64],
      [50, 200, 32, 96],
      [33, 17, 32, 32],
      [1280, 720, 640, 352],
    ];
    for (const [i, [iw, ih, w, h]] of cases.entries()) {
      const img = noiseImage(iw, ih, i + 1);
      const got = detPreprocessTo(img, w, h);
      const want = referenceDetTensor(img, w, h);
      expect([got.width, got.height, got.tensor.length]).toEqual([w, h, want.length]);
      expect(countDiff(got.tensor, want), `${iw}x${ih} -> ${w}x${h}`).toBe(0);
    }
    const img = noiseImage(1280, 720, 99);
    expect(countDiff(detPreprocess(img, 640).tensor, referenceDetTensor(img, 640, 352))).toBe(0);
  }, 60_000);
  it('ignores alpha and keeps the BGR plane order', () => {
    const img = makeImage(64, 32);
    for (let i = 0; i < img.data.length; i += 4) img.data.set([255, 128, 0, (i * 7) & 255], i);
    const t = detPreprocessTo(img, 32, 32).tensor;
    const plane = 32 * 32;
    // Red 255 lands in plane 2, blue 0 in plane 0, regardless of alpha.
    expect(t[2 * plane + 5]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    expect(t[plane + 5]).toBeCloseTo((128 / 255 - 0.456) / 0.224, 5);
    expect(t[5]).toBeCloseTo((0 - 0.485) / 0.229, 5);
  });
});

describe('DB post-processing', () => {
  it('finds the minimum-area rectangle of rotated points', () => {
    const r = minAreaRect(rectQuad({ cx: 50, cy: 40, w: 60, h: 20, angle: 0.2 }));
    expect(r.cx).toBeCloseTo(50, 6);
    expect(r.cy).toBeCloseTo(40, 6);
    expect(r.w).toBeCloseTo(60, 6);
    expect(r.h).toBeCloseTo(20, 6);
    expect(r.angle).toBeCloseTo(0.2, 6);
    // A tall rectangle is reported along its near-horizontal side.
    const t = minAreaRect(rectQuad({ cx: 0, cy: 0, w: 20, h: 60, angle: 0 }));
    expect([t.w, t.h].map((v) => Math.round(v))).toEqual([20, 60]);
  });
  it('turns probability blobs into unclipped boxes in source pixels, dropping weak ones', () => {
    const W = 64;
    const H = 32;
    const prob = new Float32Array(W * H);
    for (let y = 10; y < 20; y++) for (let x = 5; x < 40; x++) prob[y * W + x] = 0.9;
    for (let y = 25; y < 28; y++) for (let x = 50; x < 60; x++) prob[y * W + x] = 0.4; // above thresh, weak mean
    const boxes = detPostprocess(
      prob,
      { tensor: new Float32Array(), width: W, height: H, scaleX: 2, scaleY: 2 },
      DEFAULT_DET_OPTIONS,
    );
    expect(boxes).toHaveLength(1);
    const b = boxes[0]!;
    expect(b.cx).toBeCloseTo(45, 6);
    expect(b.cy).toBeCloseTo(30, 6);
    // 34 x 9 px of centres, unclipped by area*1.5/perimeter on each side, then doubled.
    const d = (34 * 9 * 1.5) / (2 * (34 + 9));
    expect(b.w).toBeCloseTo((34 + 2 * d) * 2, 6);
    expect(b.h).toBeCloseTo((9 + 2 * d) * 2, 6);
    expect(b.score).toBeCloseTo(0.9, 5);
  });
  it('merges word boxes on one baseline into a line, but not a line above it', () => {
    const left = makeBox({ cx: 100, cy: 100, w: 60, h: 30, angle: 0 }, 0.9);
    const right = makeBox({ cx: 190, cy: 102, w: 70, h: 30, angle: 0.02 }, 0.9);
    const above = makeBox({ cx: 145, cy: 60, w: 120, h: 14, angle: 0 }, 0.9);
    const dot = makeBox({ cx: 230, cy: 101, w: 5, h: 6, angle: 0.7 }, 0.9);
    const lines = groupLines([left, right, above]);
    expect(lines).toHaveLength(2);
    const merged = lines.find((l) => l.parts.length === 2)!;
    expect(merged.box.cx).toBeCloseTo(147.5, 0);
    expect(merged.box.w).toBeGreaterThan(150);
    // A squarish single-character box joins the line whatever angle its own rectangle got.
    const withChar = groupLines([left, right, makeBox({ cx: 245, cy: 101, w: 22, h: 28, angle: 0.6 }, 0.9)]);
    expect(withChar).toHaveLength(1);
    expect(groupLines([left, dot]).length).toBe(2); // far smaller than the line: not a character of it
  });
});

describe('recogniser decoding', () => {
  const cs = buildCharset(DICT, 'ABOX0178');
  /** Probability rows over the dictionary's classes (blank, 17 keys, space) for a sequence of class names. */
  function probs(steps: (string | [string, number][])[]): Float32Array {
    const keys = DICT.split('\n');
    const C = keys.length + 2;
    const out = new Float32Array(steps.length * C);
    steps.forEach((s, t) => {
      const dist: [string, number][] = typeof s === 'string' ? [[s, 1]] : s;
      for (const [k, p] of dist) out[t * C + (k === '_' ? 0 : keys.indexOf(k) + 1)] = p;
    });
    return out;
  }

  it('folds look-alike forms onto plate characters and separators onto blank', () => {
    expect(cs.classes).toBe(19);
    const idx = (c: string) => cs.groups[cs.chars.indexOf(c)]!;
    expect(idx('O')).toEqual([3, 4, 5]); // o, O, full-width Ｏ
    expect(idx('0')).toEqual([6]); // 〇 is not folded: it is CJK, not a digit
    expect(cs.skip).toEqual(expect.arrayContaining([13, 14, 18]));
    expect(buildCharset(DICT, LATIN_AND_PROVINCES).groups[LATIN_AND_PROVINCES.indexOf('京')]).toEqual([15]);
  });
  it('decodes greedily over plate characters only, collapsing repeats', () => {
    const p = probs([
      'A',
      'A',
      '_',
      'A',
      '-',
      'B',
      'B',
      '_',
      [
        ['品', 0.7],
        ['8', 0.3],
      ],
      '_',
    ]);
    const g = greedyDecode(foldProbs(p, 0, 10, cs), cs);
    // The CJK-dominated frame still yields its best plate character.
    expect(g.text).toBe('AAB8');
    expect(g.spans).toEqual([
      [0, 1],
      [3, 3],
      [5, 6],
      [8, 8],
    ]);
    expect(g.charProbs[3]).toBeCloseTo(0.3, 6);
    // …unless frames mostly on non-plate classes count as blank.
    expect(greedyDecode(foldProbs(p, 0, 10, cs), cs, 1).text).toBe('AAB');
  });
  it('decodes under a letter/digit pattern and reports what the pattern cost', () => {
    const p = probs([
      'A',
      '_',
      [
        ['O', 0.6],
        ['0', 0.4],
      ],
      '_',
      '7',
      '_',
    ]);
    const f = foldProbs(p, 0, 6, cs);
    expect(greedyDecode(f, cs).text).toBe('AO7');
    const d = constrainedDecode(f, cs, 'LDD')!;
    expect(d.text).toBe('A07');
    expect(d.logScore - pathLogProb(f)).toBeCloseTo(Math.log(0.4 / 0.6), 5);
    // A pattern the frames cannot fit (a letter where only "7" was seen) costs dearly.
    const forced = constrainedDecode(f, cs, 'LLL')!;
    expect(forced.text.slice(0, 2)).toBe('AO');
    expect(forced.logScore - pathLogProb(f)).toBeLessThan(-20);
    expect(constrainedDecode(foldProbs(p, 0, 2, cs), cs, 'LDD')).toBeNull();
  });
  it('never splits the frames of one character into a doubled character to fit a longer pattern', () => {
    const p = probs(['A', '8', '8', '_', '7', '_']);
    const f = foldProbs(p, 0, 6, cs);
    expect(constrainedDecode(f, cs, 'LDD')!.text).toBe('A87');
    const longer = constrainedDecode(f, cs, 'LDDD')!;
    expect(longer.logScore - pathLogProb(f)).toBeLessThan(-20);
  });
  it('skips a leading band (EU country code, crest) only when the region allows it, at its price', () => {
    const p = probs(['B', '_', 'A', '8', '_', '7', '_', '_', '_', '_']);
    const f = foldProbs(p, 0, 10, cs);
    expect(greedyDecode(f, cs).text).toBe('BA87');
    expect(constrainedDecode(f, cs, 'LDD')!.logScore - pathLogProb(f)).toBeLessThan(-20);
    const skipped = constrainedDecode(f, cs, 'LDD', 0.5)!;
    expect(skipped.text).toBe('A87');
    expect(skipped.logScore - pathLogProb(f)).toBeCloseTo(Math.log(0.5), 5);
    // The lead state covers only the first fifth of the frames: a character further in cannot be skipped.
    const late = foldProbs(probs(['_', '_', '_', 'B', 'A', '8', '7', '_', '_', '_']), 0, 10, cs);
    expect(constrainedDecode(late, cs, 'LDD', 0.5)!.logScore - pathLogProb(late)).toBeLessThan(-20);
  });
  it('never lets one character swallow its neighbour to fit a shorter pattern', () => {
    // "ABX7" with no blank between the letters: "LLD" would have to drop a letter, which the frames forbid.
    const p = probs(['A', 'B', 'X', '7', '_']);
    const f = foldProbs(p, 0, 5, cs);
    expect(constrainedDecode(f, cs, 'LLLD')!.text).toBe('ABX7');
    expect(constrainedDecode(f, cs, 'LLLD')!.logScore - pathLogProb(f)).toBeCloseTo(0, 5);
    expect(constrainedDecode(f, cs, 'LLD')!.logScore - pathLogProb(f)).toBeLessThan(-20);
  });
  it('batches crops at height 48, BGR, normalised to [-1, 1], zero-padded to 320', () => {
    const red = makeImage(20, 10);
    for (let i = 0; i < red.data.length; i += 4) red.data.set([255, 0, 0, 255], i);
    const b = recPreprocess([red, makeImage(50, 5)]);
    expect(b.widths).toEqual([96, 480]);
    expect(b.width).toBe(480); // the widest crop, at least 320
    expect(recPreprocess([red]).width).toBe(320);
    const plane = REC_HEIGHT * b.width;
    expect(b.tensor[0]).toBe(-1); // B
    expect(b.tensor[2 * plane]).toBe(1); // R
    expect(b.tensor[100]).toBe(0); // padding
  });
});
