/**
 * The blink challenge's eye pre-processing, as pure functions: each eye square is centred on its BlazeFace keypoint,
 * sized from the distance between the eyes (so it scales with the face, not the frame) and turned with the eye line;
 * no crop without two eye points far enough apart to read; grey is OpenCV's BGR2GRAY weighting in 0..1, as fr_eye was fed.
 */
import { describe, expect, it } from 'vitest';
import { EYE_CROP, MIN_EYE_DISTANCE, eyeCrops, greyTensor } from '../../src/inference/worker/face/face-eyes';

const det = (pts: [number, number][]) => ({ keypoints: pts.map(([x, y]) => ({ x, y })) });

describe('eye crops', () => {
  it('centres a square on each eye, sized from the eye distance', () => {
    const c = eyeCrops(det([[100, 200], [160, 200], [130, 230], [130, 260]]))!;
    expect(c[0]).toEqual({ cx: 100, cy: 200, side: 60 * EYE_CROP, angle: 0 });
    expect(c[1]).toMatchObject({ cx: 160, cy: 200, side: 60 * EYE_CROP });
  });

  it('scales with the face and follows a tilted eye line', () => {
    const c = eyeCrops(det([[100, 100], [100 + 120 * Math.cos(0.3), 100 + 120 * Math.sin(0.3)]]))!;
    expect(c[0].side).toBeCloseTo(120 * EYE_CROP, 9);
    expect(c[0].angle).toBeCloseTo(0.3, 9);
    expect(c[1].angle).toBeCloseTo(0.3, 9);
  });

  it('gives no crop without two distinct eye points', () => {
    expect(eyeCrops(det([[100, 100]]))).toBeNull();
    expect(eyeCrops(det([[100, 100], [101, 100]]))).toBeNull();
    // Too small a face to read eyes without upsampling the crop.
    expect(eyeCrops(det([[100, 100], [100 + MIN_EYE_DISTANCE - 1, 100]]))).toBeNull();
    expect(eyeCrops(det([[100, 100], [100 + MIN_EYE_DISTANCE, 100]]))).not.toBeNull();
    expect(eyeCrops(det([]))).toBeNull();
  });

  it('weighs grey as OpenCV BGR2GRAY, in 0..1', () => {
    const out = new Float32Array(3);
    greyTensor(new Uint8ClampedArray([255, 0, 0, 255, 0, 255, 0, 255, 255, 255, 255, 255]), out);
    expect(out[0]).toBeCloseTo(0.299, 6);
    expect(out[1]).toBeCloseTo(0.587, 6);
    expect(out[2]).toBeCloseTo(1, 6);
  });
});
