/**
 * The plate finder's pre- and post-processing (src/inference/worker/plate/plate-finder.ts): the letterbox must be the
 * training's (train/plates/detector.py: top-left, grey 128 padding, (x/255 − 0.5)/0.5), and the decoder must turn
 * heat-map peaks into frame boxes (offsets, log sizes, scale, clipping, threshold, count). The trained model itself
 * runs in test/unit/plate-finder-model.test.ts and in the browser plate tests.
 */
import { describe, expect, it } from 'vitest';
import { decodeFinder, finderInput, FINDER_SIDE, FINDER_STRIDE } from '../../src/inference/worker/plate/plate-finder';
import { makeImage } from '../../src/inference/worker/plate/plate-image';

const G = FINDER_SIDE / FINDER_STRIDE;

function maps(peaks: { ix: number; iy: number; s: number; ox?: number; oy?: number; w?: number; h?: number }[]) {
  const m = new Float32Array(5 * G * G).fill(0);
  for (const p of peaks) {
    const i = p.iy * G + p.ix;
    m[i] = p.s;
    m[G * G + i] = p.ox ?? 0.5;
    m[2 * G * G + i] = p.oy ?? 0.5;
    m[3 * G * G + i] = Math.log((p.w ?? 80) / FINDER_STRIDE);
    m[4 * G * G + i] = Math.log((p.h ?? 40) / FINDER_STRIDE);
  }
  return m;
}

describe('finderInput', () => {
  it('scales the frame into the top-left corner and pads with the training grey', () => {
    const img = makeImage(768, 384);
    for (let i = 0; i < img.data.length; i += 4) {
      img.data[i] = 255;
      img.data[i + 1] = 0;
      img.data[i + 2] = 51;
      img.data[i + 3] = 255;
    }
    const input = finderInput(img);
    expect(input.scale).toBe(2);
    const plane = FINDER_SIDE * FINDER_SIDE;
    expect(input.tensor.length).toBe(3 * plane);
    const at = (c: number, x: number, y: number) => input.tensor[c * plane + y * FINDER_SIDE + x]!;
    // Inside the image (rows < 192): the colour, normalised per channel in RGB order.
    expect(at(0, 10, 10)).toBeCloseTo(1, 5);
    expect(at(1, 300, 100)).toBeCloseTo(-1, 5);
    expect(at(2, 383, 191)).toBeCloseTo((51 / 255 - 0.5) / 0.5, 5);
    // Below it: grey 128 after the same normalisation, in every channel.
    for (const c of [0, 1, 2]) expect(at(c, 5, 200)).toBeCloseTo((128 / 255 - 0.5) / 0.5, 6);
  });
});

describe('decodeFinder', () => {
  const input = { tensor: new Float32Array(0), scale: 2 };
  const frame = { width: 768, height: 768 };

  it('turns a peak into a frame box from its cell, offsets and log sizes', () => {
    const [b, ...rest] = decodeFinder(maps([{ ix: 10, iy: 20, s: 0.9, ox: 0.25, oy: 0.75 }]), input, frame, 0.5, 3);
    expect(rest).toEqual([]);
    // Centre ((10.25, 20.75) cells × 8 px × scale 2) = (164, 332); 80 × 40 input px = 160 × 80 frame px.
    expect(b!.x).toBeCloseTo(164 - 80, 4);
    expect(b!.y).toBeCloseTo(332 - 40, 4);
    expect(b!.width).toBeCloseTo(160, 4);
    expect(b!.height).toBeCloseTo(80, 4);
    expect(b!.score).toBeCloseTo(0.9, 6);
  });

  it('keeps local maxima above the threshold, best first, at most maxBoxes', () => {
    const m = maps([
      { ix: 10, iy: 20, s: 0.7 },
      { ix: 11, iy: 20, s: 0.65 }, // next to a higher cell: not a peak
      { ix: 30, iy: 5, s: 0.95 },
      { ix: 40, iy: 40, s: 0.55 },
      { ix: 2, iy: 44, s: 0.3 }, // under the threshold
    ]);
    const all = decodeFinder(m, input, frame, 0.5, 5);
    expect(all.map((b) => Number(b.score.toFixed(2)))).toEqual([0.95, 0.7, 0.55]);
    expect(decodeFinder(m, input, frame, 0.5, 2).map((b) => Number(b.score.toFixed(2)))).toEqual([0.95, 0.7]);
    expect(decodeFinder(m, input, frame, 0.99, 5)).toEqual([]);
  });

  it('clips boxes to the frame and refuses an output of the wrong size', () => {
    const [b] = decodeFinder(maps([{ ix: 0, iy: 0, s: 0.9, ox: 0, oy: 0, w: 100, h: 50 }]), input, frame, 0.5, 1);
    // Centre (0, 0): 200 × 100 frame px around it, of which the frame holds the quarter from (0, 0).
    expect(b!.x).toBe(0);
    expect(b!.y).toBe(0);
    expect(b!.width).toBeCloseTo(100, 4);
    expect(b!.height).toBeCloseTo(50, 4);
    expect(() => decodeFinder(new Float32Array(10), input, frame, 0.5, 1)).toThrow(RangeError);
  });
});
