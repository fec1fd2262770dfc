/**
 * Quality gates: pose from keypoints (signs and magnitudes), sharpness and exposure from pixels, and the order in
 * which failed gates become the visitor's reason.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import { ARCFACE_112, applySimilarity } from '../../src/inference/worker/face/face-align';
import { assessQuality, contextScale, estimatePose, faceRegion, imageStats, requirePadContext } from '../../src/inference/worker/face/face-quality';
import type { FaceDetection } from '../../src/shared/types';

const deg = Math.PI / 180;

/** A level, frontal face: the ArcFace points scaled by `k` and rotated by `roll`, nose moved by (dx, dy) eye units. */
function face(k: number, rollDeg = 0, dx = 0, dy = 0): FaceDetection {
  const pts = ARCFACE_112.points.map((p, i) => ({
    x: p.x + (i === 2 ? dx * 35.24 : 0),
    // 0.53 is where BlazeFace puts a level nose along eye→mouth (see FRONTAL_NOSE_RATIO).
    y: p.y + (i === 2 ? (0.53 - 0.495) * 40.7 + dy * 35.24 : 0),
  }));
  const t = { a: k * Math.cos(rollDeg * deg), b: k * Math.sin(rollDeg * deg), tx: 100, ty: 80 };
  const kp = pts.map((p) => applySimilarity(t, p));
  return { box: { x: 100, y: 80, width: 112 * k, height: 112 * k }, score: 0.9, keypoints: [...kp, kp[0]!, kp[1]!] };
}

describe('estimatePose', () => {
  it('reads a level frontal face as yaw ≈ 0, pitch ≈ 0, and reports size and roll', () => {
    const p = estimatePose(face(2, 0));
    expect(p.eyeDistancePx).toBeCloseTo(2 * 35.24, 1);
    expect(Math.abs(p.yawDeg)).toBeLessThan(1);
    expect(Math.abs(p.pitchDeg)).toBeLessThan(1);
    expect(p.rollDeg).toBeCloseTo(-0.32, 1); // the template's eyes are not exactly level
  });

  it('is unaffected by roll (alignment removes it), but not by a turned head', () => {
    const rolled = estimatePose(face(1.5, 40));
    expect(rolled.rollDeg).toBeCloseTo(39.7, 0);
    expect(Math.abs(rolled.yawDeg)).toBeLessThan(1);
    expect(Math.abs(rolled.pitchDeg)).toBeLessThan(1);
    // Nose 0.29 eye-distances to the image's right ≈ atan(0.29 / 0.5) ≈ 30°.
    expect(estimatePose(face(1.5, 0, 0.29)).yawDeg).toBeCloseTo(30, 0);
    expect(estimatePose(face(1.5, 0, -0.29)).yawDeg).toBeCloseTo(-30, 0);
    expect(estimatePose(face(1.5, 0, 0, 0.2)).pitchDeg).toBeGreaterThan(15); // looking down
    expect(estimatePose(face(1.5, 0, 0, -0.2)).pitchDeg).toBeLessThan(-15); // looking up
  });
});

function image(size: number, f: (x: number, y: number) => number): Uint8ClampedArray {
  const d = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = f(x, y);
      d.set([v, v, v, 255], (y * size + x) * 4);
    }
  }
  return d;
}

describe('imageStats', () => {
  it('measures brightness and finds no detail in a flat image', () => {
    const s = imageStats(
      image(112, () => 90),
      112,
    );
    expect(s.brightness).toBeCloseTo(90, 6);
    expect(s.contrast).toBeCloseTo(0, 6);
    expect(s.sharpness).toBeCloseTo(0, 6);
  });

  it('ranks fine detail above the same detail blurred', () => {
    const sharp = imageStats(
      image(112, (x, y) => (((x >> 1) + (y >> 1)) % 2 ? 200 : 50)),
      112,
    ).sharpness;
    const soft = imageStats(
      image(112, (x, y) => 125 + 75 * Math.sin(x / 6) * Math.sin(y / 6)),
      112,
    ).sharpness;
    expect(sharp).toBeGreaterThan(1000);
    expect(soft).toBeLessThan(20);
    expect(sharp).toBeGreaterThan(50 * soft);
  });

  it('measures only the face region (background outside it does not count)', () => {
    const r = faceRegion();
    const s = imageStats(
      image(112, (x, y) => (x >= r.x0 - 1 && x <= r.x1 && y >= r.y0 - 1 && y <= r.y1 ? 120 : (x * 37) % 255)),
      112,
    );
    expect(s.sharpness).toBeCloseTo(0, 6);
    expect(s.brightness).toBeCloseTo(120, 6);
  });
});

describe('assessQuality', () => {
  const cfg = DEFAULT_FACE_CONFIG.quality;
  const good = { brightness: 120, contrast: 40, sharpness: 200 };
  const frame = { width: 640, height: 480 };

  it.each([
    ['a good face', face(2), good, [], null],
    ['a small face', face(0.5), good, ['too-small'], 'come closer'],
    ['a turned face', face(2, 0, 0.4), good, ['turned'], 'look at the camera'],
    ['a dark face', face(2), { ...good, brightness: 20 }, ['too-dark'], 'too dark'],
    ['an overexposed face', face(2), { ...good, brightness: 250 }, ['too-bright'], 'too bright'],
    ['a blurred face', face(2), { ...good, sharpness: 5 }, ['too-blurry'], 'too blurry'],
    [
      'small, dark and blurred: size first',
      face(0.5),
      { ...good, brightness: 20, sharpness: 5 },
      ['too-small', 'too-dark', 'too-blurry'],
      'come closer',
    ],
  ] as const)('%s → %j', (_n, det, stats, issues, reason) => {
    const q = assessQuality(det, stats, frame, cfg);
    expect(q.issues).toEqual(issues);
    expect(q.reason).toBe(reason);
    expect(q.ok).toBe(issues.length === 0);
    expect(q.metrics.detectionScore).toBe(0.9);
  });

  it('a face cut off because it fills the frame is told to step back, not to step into the frame', () => {
    const det = face(2);
    const q = assessQuality({ ...det, box: { x: -0.2 * frame.width, y: 0, width: 1.3 * frame.width, height: frame.height * 0.9 } }, good, frame, cfg);
    expect(q.issues[0]).toBe('too-close');
    expect(q.reason).toBe('step back');
  });

  it('a face filling the frame without being cut off passes (it can be decided on)', () => {
    const det = face(2);
    const q = assessQuality({ ...det, box: { x: 10, y: 0, width: frame.width - 20, height: frame.height } }, good, frame, cfg);
    expect(q.issues).not.toContain('too-close');
    expect(q.issues).not.toContain('partial');
  });

  it('flags a face cut off by the frame edge', () => {
    const det = face(2);
    const q = assessQuality({ ...det, box: { ...det.box, x: -60 } }, good, frame, cfg);
    expect(q.issues[0]).toBe('partial');
    expect(q.reason).toBe('step into the frame');
  });
});

describe('requirePadContext (the PAD distance gate)', () => {
  const cfg = DEFAULT_FACE_CONFIG.quality;
  const good = { brightness: 120, contrast: 40, sharpness: 200 };
  const frame = { width: 640, height: 480 };
  const min = DEFAULT_FACE_CONFIG.pad.minContextScale;
  const withBox = (h: number) => ({ ...face(2), box: { x: 200, y: 100, width: h, height: h } });

  it('is on by default and asks for the face at most half the frame height', () => {
    expect(min).toBe(2);
    expect(contextScale({ width: 239, height: 239 }, frame)).toBeGreaterThanOrEqual(2);
    expect(contextScale({ width: 241, height: 241 }, frame)).toBeLessThan(2);
  });

  it('lets a face with room for the context crop through unchanged', () => {
    const det = withBox(200);
    const q = assessQuality(det, good, frame, cfg);
    expect(q.ok).toBe(true);
    expect(requirePadContext(q, det.box, frame, min)).toBe(q);
  });

  it('tells a face too close for the context crop to step back, first of its issues, and refuses it', () => {
    const det = withBox(300);
    const q = assessQuality(det, good, frame, cfg);
    expect(q.ok).toBe(true); // the door's own gates pass it: only PAD needs the room
    const gated = requirePadContext(q, det.box, frame, min);
    expect(gated).toMatchObject({ ok: false, issues: ['too-close'], reason: 'step back' });
    const dark = assessQuality(det, { ...good, brightness: 20 }, frame, cfg);
    expect(requirePadContext(dark, det.box, frame, min).issues).toEqual(['too-close', 'too-dark']);
    // A portrait frame: the width bounds the crop.
    expect(requirePadContext(q, det.box, { width: 480, height: 640 }, min).ok).toBe(false);
  });

  it('is off at 0 (PAD without the gate, as a kiosk may configure it)', () => {
    const det = withBox(400);
    const q = assessQuality(det, good, frame, cfg);
    expect(requirePadContext(q, det.box, frame, 0)).toBe(q);
  });
});

