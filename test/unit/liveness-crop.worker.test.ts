/**
 * The passive PAD's pre-processing, as pure functions: the 2.7× crop stays the same size and moves inside the frame
 * (never cut to a smaller, differently scaled view), shrinks only when the frame is too small for it; the tensor is
 * planar raw 0..255 in the requested channel order (BGR for fr_liveness); softmax index 0 is the live probability.
 */
import { describe, expect, it } from 'vitest';
import { livenessCrop, livenessTensor, softmax0 } from '../../src/inference/worker/face/face-liveness';

describe('liveness crop', () => {
  it('grows the box 2.7× about its centre', () => {
    const r = livenessCrop({ x: 300, y: 200, width: 40, height: 50 }, 1000, 1000, 2.7);
    expect(r.width).toBeCloseTo(108, 9);
    expect(r.height).toBeCloseTo(135, 9);
    expect(r.x + r.width / 2).toBeCloseTo(320, 9);
    expect(r.y + r.height / 2).toBeCloseTo(225, 9);
  });

  it('moves, not cuts, a crop that would leave the frame', () => {
    const r = livenessCrop({ x: 0, y: 400, width: 100, height: 100 }, 640, 480, 2.7);
    expect(r.width).toBeCloseTo(270, 9);
    expect(r.x).toBe(0);
    expect(r.y + r.height).toBeLessThanOrEqual(479);
    expect(r.y).toBeGreaterThanOrEqual(0);
  });

  it('shrinks the growth only when the frame cannot hold it', () => {
    const r = livenessCrop({ x: 200, y: 100, width: 200, height: 300 }, 640, 480, 2.7);
    expect(r.height).toBeCloseTo(479, 9);
    expect(r.width).toBeCloseTo((200 * 479) / 300, 9);
    expect(r.y).toBe(0);
  });
});

describe('liveness tensor', () => {
  // A 2×2 crop: pixels (r, g, b) = (10,20,30) (40,50,60) (70,80,90) (100,110,120).
  const rgba = new Uint8ClampedArray([10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255, 100, 110, 120, 255]);
  it('writes planar B, G, R for bgr and R, G, B for rgb, unnormalised', () => {
    const out = new Float32Array(12);
    livenessTensor(rgba, 2, 'bgr', out);
    expect(Array.from(out)).toEqual([30, 60, 90, 120, 20, 50, 80, 110, 10, 40, 70, 100]);
    livenessTensor(rgba, 2, 'rgb', out);
    expect(Array.from(out)).toEqual([10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120]);
  });

  it('softmax index 0', () => {
    expect(softmax0([0, 0, 0])).toBeCloseTo(1 / 3, 12);
    expect(softmax0([1000, 0, 0])).toBeCloseTo(1, 12);
    expect(softmax0([0, 1000, 0])).toBeCloseTo(0, 12);
  });
});
