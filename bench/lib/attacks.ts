/**
 * Simulated presentation attacks for bench:liveness, drawn in a canvas from a photo of a real person.
 *
 * Owns the simulation only (no model, no scoring): the camera frame a kiosk would see when someone holds up
 *   - a print: the photo with paper's lower contrast and warm white, halftone dots, paper grain, a glare spot, a
 *     white border, held at a perspective tilt in front of a background;
 *   - a replay: the photo on a phone or monitor — moiré, sub-pixel stripes, a cool over-bright white, a reflection
 *     band, a black bezel, perspective;
 *   - a live capture of the same photo (bona fide): the face placed in a 640×480 frame with the camera's blur and
 *     noise only;
 * each recaptured by a cheap camera (blur, sensor noise, JPEG). A seeded random source makes a dev set reproducible.
 * What these simulations cannot show (a real printer's or screen's spectra, a real sensor) is in docs/liveness.md.
 */

export const FRAME_W = 640;
export const FRAME_H = 480;

export type Rng = () => number;

/** Mulberry32: small, seeded, good enough for jitter. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

type Quad = [number, number, number, number, number, number, number, number];

/** Homography mapping the unit square's corners (0,0),(1,0),(1,1),(0,1) to quad q (x0,y0,…,x3,y3). */
function squareToQuad(q: Quad): number[] {
  const [x0, y0, x1, y1, x2, y2, x3, y3] = q;
  const dx1 = x1 - x2;
  const dx2 = x3 - x2;
  const dy1 = y1 - y2;
  const dy2 = y3 - y2;
  const sx = x0 - x1 + x2 - x3;
  const sy = y0 - y1 + y2 - y3;
  const den = dx1 * dy2 - dx2 * dy1;
  const g = (sx * dy2 - dx2 * sy) / den;
  const h = (dx1 * sy - sx * dy1) / den;
  return [x1 - x0 + g * x1, x3 - x0 + h * x3, x0, y1 - y0 + g * y1, y3 - y0 + h * y3, y0, g, h, 1];
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

/** Draws `src` (its whole rectangle) onto `dst` warped to quad `q` (perspective-correct, bilinear). */
export function warpInto(dst: ImageData, src: ImageData, q: Quad): void {
  const H = invert3(squareToQuad(q));
  const [a, b, c, d, e, f, g, h, i] = H as [number, number, number, number, number, number, number, number, number];
  const xs = [q[0], q[2], q[4], q[6]];
  const ys = [q[1], q[3], q[5], q[7]];
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(dst.width - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(dst.height - 1, Math.ceil(Math.max(...ys)));
  const sw = src.width;
  const sh = src.height;
  const S = src.data;
  const D = dst.data;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const w = g * x + h * y + i;
      const u = ((a * x + b * y + c) / w) * (sw - 1);
      const v = ((d * x + e * y + f) / w) * (sh - 1);
      if (u < 0 || v < 0 || u > sw - 1 || v > sh - 1) continue;
      const ux = Math.floor(u);
      const vy = Math.floor(v);
      const fx = u - ux;
      const fy = v - vy;
      const ux1 = Math.min(sw - 1, ux + 1);
      const vy1 = Math.min(sh - 1, vy + 1);
      const p00 = (vy * sw + ux) * 4;
      const p10 = (vy * sw + ux1) * 4;
      const p01 = (vy1 * sw + ux) * 4;
      const p11 = (vy1 * sw + ux1) * 4;
      const o = (y * dst.width + x) * 4;
      for (let k = 0; k < 3; k++) {
        const top = S[p00 + k]! + (S[p10 + k]! - S[p00 + k]!) * fx;
        const bot = S[p01 + k]! + (S[p11 + k]! - S[p01 + k]!) * fx;
        D[o + k] = top + (bot - top) * fy;
      }
      D[o + 3] = 255;
    }
  }
}

function ctx2d(c: OffscreenCanvas): OffscreenCanvasRenderingContext2D {
  return c.getContext('2d', { willReadFrequently: true })!;
}

/** A plain indoor background: a two-tone gradient with mild noise. */
function background(rng: Rng): ImageData {
  const c = new OffscreenCanvas(FRAME_W, FRAME_H);
  const x = ctx2d(c);
  const tone = () => `hsl(${Math.floor(rng() * 360)}, ${10 + Math.floor(rng() * 25)}%, ${25 + Math.floor(rng() * 45)}%)`;
  const g = x.createLinearGradient(0, 0, FRAME_W * rng(), FRAME_H);
  g.addColorStop(0, tone());
  g.addColorStop(1, tone());
  x.fillStyle = g;
  x.fillRect(0, 0, FRAME_W, FRAME_H);
  return x.getImageData(0, 0, FRAME_W, FRAME_H);
}

/** The cheap camera: blur, sensor noise, JPEG. */
export async function recapture(img: ImageData, rng: Rng, quality = 0.75): Promise<Blob> {
  const c = new OffscreenCanvas(img.width, img.height);
  const x = ctx2d(c);
  const d = img.data;
  const amp = 4 + rng() * 6;
  for (let p = 0; p < d.length; p += 4) {
    const n = (rng() - 0.5) * amp;
    d[p] = d[p]! + n;
    d[p + 1] = d[p + 1]! + n;
    d[p + 2] = d[p + 2]! + n;
  }
  const tmp = new OffscreenCanvas(img.width, img.height);
  ctx2d(tmp).putImageData(img, 0, 0);
  x.filter = `blur(${(0.4 + rng() * 0.6).toFixed(2)}px)`;
  x.drawImage(tmp, 0, 0);
  return c.convertToBlob({ type: 'image/jpeg', quality });
}

/** The photo region around the face that a print or a screen shows (about a passport photo's framing). */
function portrait(photo: ImageBitmap, face: Box, rng: Rng, side = 360): ImageData {
  // Tight enough that a print held at arm's length shows the face at a kiosk-like size.
  const grow = 1.7 + rng() * 0.6;
  const w = face.width * grow;
  const h = w * 1.3;
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height * 0.55;
  const c = new OffscreenCanvas(side, Math.round(side * 1.3));
  const x = ctx2d(c);
  x.fillStyle = '#808080';
  x.fillRect(0, 0, c.width, c.height);
  x.imageSmoothingQuality = 'high';
  x.drawImage(photo, cx - w / 2, cy - h / 2, w, h, 0, 0, c.width, c.height);
  return x.getImageData(0, 0, c.width, c.height);
}

export type PrintVariant = 'halftone' | 'texture' | 'glare';

/** The photo as printed: paper white and ink black, halftone or grain, optional glare, a white border. */
export function printed(photo: ImageBitmap, face: Box, rng: Rng, variant: PrintVariant): ImageData {
  const p = portrait(photo, face, rng);
  const d = p.data;
  const W = p.width;
  const paper = [242 - rng() * 12, 236 - rng() * 12, 222 - rng() * 16];
  const ink = 18 + rng() * 20;
  const pitch = 3 + rng() * 2.5;
  const angle = (15 + rng() * 30) * (Math.PI / 180);
  const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
  const gx = W * (0.2 + rng() * 0.6);
  const gy = p.height * (0.2 + rng() * 0.5);
  const gr = W * (0.15 + rng() * 0.2);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      let grain = 1;
      if (variant === 'halftone') {
        // Rotated dot screen: coverage follows darkness, as a laser printer's does.
        const u = (x * ca + y * sa) / pitch;
        const v = (-x * sa + y * ca) / pitch;
        const r = Math.hypot(u - Math.round(u), v - Math.round(v));
        grain = 0.75 + 0.5 * Math.min(1, r * 1.6);
      } else {
        grain = 0.9 + 0.2 * rng();
      }
      for (let k = 0; k < 3; k++) {
        const t = (d[o + k]! / 255) * grain;
        d[o + k] = ink + (paper[k]! - ink) * Math.min(1, t);
      }
      if (variant === 'glare') {
        const g = Math.max(0, 1 - Math.hypot(x - gx, y - gy) / gr);
        for (let k = 0; k < 3; k++) d[o + k] = d[o + k]! + (255 - d[o + k]!) * g * 0.85;
      }
    }
  }
  // The print's white margin.
  const m = Math.round(W * (0.04 + rng() * 0.05));
  const c = new OffscreenCanvas(W + 2 * m, p.height + 2 * m);
  const x = ctx2d(c);
  x.fillStyle = `rgb(${paper[0]}, ${paper[1]}, ${paper[2]})`;
  x.fillRect(0, 0, c.width, c.height);
  x.putImageData(p, m, m);
  return x.getImageData(0, 0, c.width, c.height);
}

/** The photo on a screen: over-bright cool white, sub-pixel stripes, moiré, a reflection band, a black bezel. */
export function onScreen(photo: ImageBitmap, face: Box, rng: Rng): ImageData {
  const p = portrait(photo, face, rng);
  const d = p.data;
  const W = p.width;
  const f1 = 0.35 + rng() * 0.5;
  const f2 = f1 * (1.03 + rng() * 0.05);
  const th = rng() * Math.PI;
  const gain = 1.05 + rng() * 0.15;
  const band = rng() * W;
  const bandW = W * (0.08 + rng() * 0.1);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      // Two close spatial frequencies beat into the coarse moiré a camera sees on a screen.
      const s = x * Math.cos(th) + y * Math.sin(th);
      const moire = 0.88 + 0.12 * Math.cos(s * f1) * Math.cos(s * f2);
      const sub = x % 3;
      const refl = Math.max(0, 1 - Math.abs(x + 0.6 * y - band) / bandW) * 0.35;
      for (let k = 0; k < 3; k++) {
        const stripe = k === sub ? 1 : 0.9;
        const cool = k === 2 ? 1.08 : k === 0 ? 0.95 : 1;
        const v = d[o + k]! * gain * moire * stripe * cool;
        d[o + k] = v + (255 - v) * refl;
      }
    }
  }
  const m = Math.round(W * (0.05 + rng() * 0.04));
  const c = new OffscreenCanvas(W + 2 * m, p.height + 2 * m);
  const x = ctx2d(c);
  x.fillStyle = '#0b0b0d';
  x.fillRect(0, 0, c.width, c.height);
  x.putImageData(p, m, m);
  return x.getImageData(0, 0, c.width, c.height);
}

export interface Pose {
  /** Rotation of the held print about its vertical axis, degrees (perspective). */
  yawDeg: number;
  /** About its horizontal axis. */
  pitchDeg: number;
  /** Apparent size: height of the held object as a fraction of the frame height. */
  size: number;
  /** Centre offset in frame pixels. */
  dx: number;
  dy: number;
}

/** Corners of a flat rectangle of aspect `aspect` (w/h) rotated in 3-D and projected by a pinhole camera. */
export function projectedQuad(aspect: number, pose: Pose): Quad {
  const f = 600; // focal length in pixels (~56° horizontal field of view at 640 px)
  const h = pose.size * FRAME_H;
  const w = h * aspect;
  const z0 = f; // the object's distance: its apparent size at zero tilt is w×h
  const yaw = (pose.yawDeg * Math.PI) / 180;
  const pitch = (pose.pitchDeg * Math.PI) / 180;
  const pts: [number, number][] = [
    [-w / 2, -h / 2],
    [w / 2, -h / 2],
    [w / 2, h / 2],
    [-w / 2, h / 2],
  ];
  const out: number[] = [];
  for (const [X, Y] of pts) {
    // yaw about Y, then pitch about X
    const x1 = X * Math.cos(yaw);
    const z1 = -X * Math.sin(yaw);
    const y2 = Y * Math.cos(pitch) - z1 * Math.sin(pitch);
    const z2 = Y * Math.sin(pitch) + z1 * Math.cos(pitch);
    const z = z0 + z2;
    out.push(FRAME_W / 2 + pose.dx + (f * x1) / z, FRAME_H / 2 + pose.dy + (f * y2) / z);
  }
  return out as Quad;
}

/** A held print or screen at `pose` in front of a background, as the camera sees it (before recapture). */
export function held(object: ImageData, pose: Pose, bg: ImageData): ImageData {
  const frame = new ImageData(new Uint8ClampedArray(bg.data), FRAME_W, FRAME_H);
  warpInto(frame, object, projectedQuad(object.width / object.height, pose));
  return frame;
}

export function randomBackground(rng: Rng): ImageData {
  return background(rng);
}

/** A random hand-held pose: modest tilt, the face filling a kiosk-like part of the frame. */
export function randomPose(rng: Rng): Pose {
  return {
    yawDeg: (rng() - 0.5) * 40,
    pitchDeg: (rng() - 0.5) * 30,
    size: 0.75 + rng() * 0.3,
    dx: (rng() - 0.5) * 60,
    dy: (rng() - 0.5) * 40,
  };
}

/**
 * The attacker who holds the print or phone close, so the face is as large as a visitor's standing at the tablet and
 * the sheet's margin or the phone's bezel is partly or wholly outside the frame: the liveness crop then has little
 * context and only the surface itself can give the attack away.
 */
export function closePose(rng: Rng): Pose {
  return {
    yawDeg: (rng() - 0.5) * 20,
    pitchDeg: (rng() - 0.5) * 16,
    size: 1.5 + rng() * 0.9,
    dx: (rng() - 0.5) * 80,
    dy: (rng() - 0.5) * 60,
  };
}

/**
 * Face height as a fraction of the frame for a visitor at kiosk distance, far enough for the PAD distance gate
 * (pad.minContextScale 2.0 = at most half the frame height), with a margin for the detector's box.
 */
export const AT_DISTANCE: readonly [number, number] = [0.22, 0.42];

/** True when the photo can show its face at most `maxFrac` of the frame height and still cover the whole frame. */
export function fitsAtDistance(photo: { width: number; height: number }, face: Box, maxFrac = AT_DISTANCE[1]): boolean {
  return face.height * Math.max(FRAME_W / photo.width, FRAME_H / photo.height) <= maxFrac * FRAME_H;
}

/**
 * The live person in front of the kiosk camera (bona fide): the face at a door-like size (`size`: fraction of the
 * frame height, drawn uniformly), nothing else.
 */
export function live(photo: ImageBitmap, face: Box, rng: Rng, size: readonly [number, number] = [0.3, 0.55]): ImageData {
  const c = new OffscreenCanvas(FRAME_W, FRAME_H);
  const x = ctx2d(c);
  // The photo always covers the whole frame (a camera has no black margins, which would look like a screen's bezel
  // to the 2.7× liveness crop): a face that would be smaller is shown larger instead.
  const target = FRAME_H * (size[0] + rng() * (size[1] - size[0]));
  const k = Math.max(target / face.height, FRAME_W / photo.width, FRAME_H / photo.height);
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height / 2;
  x.fillStyle = '#000';
  x.fillRect(0, 0, FRAME_W, FRAME_H);
  x.imageSmoothingQuality = 'high';
  const clamp = (v: number, lo: number) => Math.min(0, Math.max(lo, v));
  const ox = clamp(FRAME_W / 2 - cx * k + (rng() - 0.5) * 60, FRAME_W - photo.width * k);
  const oy = clamp(FRAME_H / 2 - cy * k + (rng() - 0.5) * 40, FRAME_H - photo.height * k);
  x.drawImage(photo, ox, oy, photo.width * k, photo.height * k);
  return x.getImageData(0, 0, FRAME_W, FRAME_H);
}
