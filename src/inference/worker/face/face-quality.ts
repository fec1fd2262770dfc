/**
 * Quality gates a face must pass before its frame may count towards a decision or an enrolment.
 *
 * Owns the measurements (inter-eye distance, head pose from BlazeFace keypoints, sharpness as the variance of the
 * Laplacian, exposure) and the mapping of failures to what the visitor reads ("come closer", "look at the
 * camera", "too dark", ...). Sharpness and exposure are measured on the ArcFace-geometry 112×112 crop (the same
 * crop fr_feature embeds), so the numbers mean the same at any camera distance and for either embedder.
 * Pure functions over numbers and pixel arrays; thresholds come from config (src/config/face.ts), never from here.
 *
 * Pose from 4 points is an estimate, not a measurement: with the eyes at (±½, 0, 0) and the nose tip ≈ ½ inter-eye
 * distance in front of them, yaw θ moves the projected nose sideways by ½·tan θ (in projected inter-eye units);
 * pitch moves it along the eye→mouth axis. Good enough to tell "looking at the camera" from "looking away".
 */
import type { FaceDetection } from '../../../shared/types';
import type { FaceQualityConfig } from '../../../config/face';
import {
  QUALITY_ORDER,
  QUALITY_REASONS,
  type FaceQuality,
  type FaceQualityMetrics,
  type ImageStats,
  type PoseEstimate,
  type QualityIssue,
} from '../../../shared/face-protocol';
import { ARCFACE_112, type AlignTemplate } from './face-align';

/** Nose-tip depth in front of the eyes, in inter-eye distances (anthropometric average; see header). */
const NOSE_DEPTH = 0.5;
/**
 * Nose-tip position along eye→mouth of a level face. The ArcFace template gives (71.74−51.60)/(92.28−51.60) = 0.495,
 * but BlazeFace places its nose point lower: with 0.495 the dev set's portraits read +4.4° (median); 0.53 centres them.
 */
export const FRONTAL_NOSE_RATIO = 0.53;

const deg = (r: number) => (r * 180) / Math.PI;

export function estimatePose(det: FaceDetection): PoseEstimate {
  const [re, le, nose, mouth] = det.keypoints as [
    { x: number; y: number },
    { x: number; y: number },
    { x: number; y: number },
    { x: number; y: number },
  ];
  const ex = le.x - re.x;
  const ey = le.y - re.y;
  const d = Math.hypot(ex, ey);
  if (!(d > 0)) return { eyeDistancePx: 0, rollDeg: 0, yawDeg: 90, pitchDeg: 90 };
  const ux = ex / d;
  const uy = ey / d;
  // v is perpendicular to the eye line, pointing from the eyes towards the mouth on an upright face.
  const vx = -uy;
  const vy = ux;
  const mx = (re.x + le.x) / 2;
  const my = (re.y + le.y) / 2;
  const noseU = ((nose.x - mx) * ux + (nose.y - my) * uy) / d;
  const noseV = (nose.x - mx) * vx + (nose.y - my) * vy;
  const mouthV = (mouth.x - mx) * vx + (mouth.y - my) * vy;
  const ratio = mouthV > 0 ? noseV / mouthV : 0;
  // Pitch: the nose tip (depth NOSE_DEPTH·d) moves along v by depth·tan φ while the eye→mouth span shrinks by cos φ.
  const pitch = mouthV > 0 ? Math.atan(((ratio - FRONTAL_NOSE_RATIO) * mouthV) / (NOSE_DEPTH * d)) : Math.PI / 2;
  return {
    eyeDistancePx: d,
    rollDeg: deg(Math.atan2(ey, ex)),
    yawDeg: deg(Math.atan(noseU / NOSE_DEPTH)),
    pitchDeg: deg(pitch),
  };
}

/**
 * Face region of a template crop where sharpness and exposure are measured: from a little outside the eyes to
 * just below the mouth, so background and hair do not dominate.
 */
export function faceRegion(tpl: AlignTemplate = ARCFACE_112): { x0: number; y0: number; x1: number; y1: number } {
  const [re, le, , mouth] = tpl.points;
  const d = le.x - re.x;
  return {
    x0: Math.max(1, Math.round(re.x - 0.3 * d)),
    x1: Math.min(tpl.size - 1, Math.round(le.x + 0.3 * d)),
    y0: Math.max(1, Math.round(Math.min(re.y, le.y) - 0.45 * d)),
    y1: Math.min(tpl.size - 1, Math.round(mouth.y + 0.25 * d)),
  };
}

/** Exposure and sharpness of an RGBA crop of `tpl`'s geometry. */
export function imageStats(rgba: Uint8ClampedArray, size: number, tpl: AlignTemplate = ARCFACE_112): ImageStats {
  const luma = new Float32Array(size * size);
  for (let i = 0, p = 0; i < luma.length; i++, p += 4) {
    luma[i] = 0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!;
  }
  const { x0, y0, x1, y1 } = faceRegion(tpl);
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let lap = 0;
  let lapSq = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * size + x;
      const c = luma[i]!;
      const l = 4 * c - luma[i - 1]! - luma[i + 1]! - luma[i - size]! - luma[i + size]!;
      n++;
      sum += c;
      sumSq += c * c;
      lap += l;
      lapSq += l * l;
    }
  }
  const mean = sum / n;
  const lapMean = lap / n;
  return {
    brightness: mean,
    contrast: Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    sharpness: Math.max(0, lapSq / n - lapMean * lapMean),
  };
}

/** True when the face box reaches outside the frame by more than `margin` of its size. */
function isPartial(det: FaceDetection, frame: { width: number; height: number }, margin = 0.1): boolean {
  const { x, y, width, height } = det.box;
  const mx = width * margin;
  const my = height * margin;
  return x < -mx || y < -my || x + width > frame.width + mx || y + height > frame.height + my;
}

/**
 * A face cut off by the frame because it is too large for it (its box spans most of the frame), not because it is
 * off to one side: the visitor is told to step back, not to step into the frame.
 */
const TOO_CLOSE_SPAN = 0.8;

/** All checks for one face; `issues` in the order the visitor should fix them. */
export function assessQuality(
  det: FaceDetection,
  stats: ImageStats,
  frame: { width: number; height: number },
  cfg: FaceQualityConfig,
): FaceQuality {
  const pose = estimatePose(det);
  const metrics: FaceQualityMetrics = { ...pose, ...stats, detectionScore: det.score };
  const found = new Set<QualityIssue>();
  if (isPartial(det, frame)) {
    const big = det.box.width >= TOO_CLOSE_SPAN * frame.width || det.box.height >= TOO_CLOSE_SPAN * frame.height;
    found.add(big ? 'too-close' : 'partial');
  }
  if (pose.eyeDistancePx < cfg.minEyeDistancePx) found.add('too-small');
  if (Math.abs(pose.yawDeg) > cfg.maxYawDeg || Math.abs(pose.pitchDeg) > cfg.maxPitchDeg) found.add('turned');
  if (stats.brightness < cfg.minBrightness) found.add('too-dark');
  if (stats.brightness > cfg.maxBrightness) found.add('too-bright');
  if (stats.sharpness < cfg.minSharpness) found.add('too-blurry');
  const issues = QUALITY_ORDER.filter((i) => found.has(i));
  return { ok: issues.length === 0, issues, reason: issues.length ? QUALITY_REASONS[issues[0]!] : null, metrics };
}

/** How much the liveness crop can grow about the face box and still lie inside the frame (livenessCrop's bound). */
export function contextScale(box: { width: number; height: number }, frame: { width: number; height: number }): number {
  return Math.min((frame.height - 1) / box.height, (frame.width - 1) / box.width);
}

/**
 * The PAD distance gate: with PAD on, a face too close for its context crop (`contextScale` below `minScale`) is
 * "too close" — passive PAD would judge it on the face alone, where a photo held close passes (docs/liveness.md).
 * Returns `q` itself when the face is far enough or the gate is off (minScale 0).
 */
export function requirePadContext(
  q: FaceQuality,
  box: { width: number; height: number },
  frame: { width: number; height: number },
  minScale: number,
): FaceQuality {
  if (minScale <= 0 || contextScale(box, frame) >= minScale || q.issues.includes('too-close')) return q;
  const issues = QUALITY_ORDER.filter((i) => i === 'too-close' || q.issues.includes(i));
  return { ...q, ok: false, issues, reason: QUALITY_REASONS[issues[0]!] };
}
