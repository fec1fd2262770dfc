/**
 * Page side of bench/liveness.mjs and bench/liveness-set.mjs: the kiosk's real face pipeline (FaceClient → face
 * worker: MediaPipe detection, alignment, ORT embedding, passive PAD: our model and/or fr_liveness) and the real challenge state machine
 * (src/matching/face/challenge.ts) over images, videos and simulated attacks.
 *
 * Owns the measurement loops only. `build` draws the simulated dev set (bench/lib/attacks.ts) from real photos and
 * returns it as JPEG bytes for the Node side to write into a temporary folder; `run` scores a dev set. Images come
 * from the loopback bench server; numbers (and, for `build`, the simulated images) go back to Node. Nothing is
 * stored by the page.
 */
import { FaceClient } from '../src/inference/client/face-client';
import { DEFAULT_FACE_CONFIG, type FaceConfig, type PadConfig } from '../src/config/face';
import {
  BLINK_CLOSED,
  chooseActions,
  startChallenge,
  stepChallenge,
  type ChallengeAction,
  type ChallengeFrame,
  type ChallengeSettings,
} from '../src/matching/face/challenge';
import { cosineSimilarity } from '../src/matching/face/similarity';
import { frameVote, observationFromAnalysis, type FaceObservation } from '../src/matching/face/decision-policy';
import type { FrameAnalysis } from '../src/shared/face-protocol';
import {
  held,
  live,
  onScreen,
  printed,
  randomBackground,
  randomPose,
  closePose,
  AT_DISTANCE,
  fitsAtDistance,
  recapture,
  seeded,
  type Box,
  type Pose,
  type PrintVariant,
  type Rng,
} from './lib/attacks';

async function fetchBlob(url: string): Promise<Blob> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.blob();
}

async function bytesB64(b: Blob): Promise<string> {
  const bytes = new Uint8Array(await b.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function largestFace(client: FaceClient, bitmap: ImageBitmap): Promise<Box | null> {
  const faces = await client.detect(undefined, await createImageBitmap(bitmap));
  const f = faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
  return f ? f.box : null;
}

// ---------------------------------------------------------------------------------------------------------------
// build: the simulated dev set

export interface BuildOptions {
  sources: { url: string; name: string }[];
  /** Video frames to turn into a screen replay: frames of one clip, in order. */
  clips: { name: string; frames: string[] }[];
  seed: number;
  prints: number;
  replays: number;
  /** Close-up attacks per photo (print and replay alternately), the face as large as a visitor's at the tablet. */
  close: number;
  /** Also render each photo's person at kiosk distance (face ≤ 0.42 of the frame height) where the photo allows. */
  far: boolean;
}

export interface BuiltFile {
  path: string;
  kind: 'bona-fide' | 'print' | 'replay';
  data: string;
}

async function build(opts: BuildOptions): Promise<{ files: BuiltFile[]; clips: { name: string; frames: string[] }[]; skipped: string[] }> {
  const client = new FaceClient({ timeoutMs: 120_000 });
  await client.init();
  const rng = seeded(opts.seed);
  const closeRng = seeded(opts.seed + 1000);
  const farRng = seeded(opts.seed + 2000);
  const files: BuiltFile[] = [];
  const skipped: string[] = [];
  const variants: PrintVariant[] = ['halftone', 'texture', 'glare'];
  for (const src of opts.sources) {
    const photo = await createImageBitmap(await fetchBlob(src.url));
    const face = await largestFace(client, photo);
    if (!face) {
      skipped.push(src.name);
      continue;
    }
    files.push({ path: `bona-fide/${src.name}.jpg`, kind: 'bona-fide', data: await bytesB64(await recapture(live(photo, face, rng), rng)) });
    // The same person standing at kiosk distance, where the photo has room around the face for it (own stream).
    if (opts.far && fitsAtDistance(photo, face)) {
      const img = live(photo, face, farRng, AT_DISTANCE);
      files.push({ path: `bona-fide/${src.name}-far.jpg`, kind: 'bona-fide', data: await bytesB64(await recapture(img, farRng)) });
    }
    for (let i = 0; i < opts.prints; i++) {
      const v = variants[i % variants.length]!;
      const img = held(printed(photo, face, rng, v), randomPose(rng), randomBackground(rng));
      files.push({ path: `attack/print/${src.name}-${v}-${i}.jpg`, kind: 'print', data: await bytesB64(await recapture(img, rng)) });
    }
    for (let i = 0; i < opts.replays; i++) {
      const img = held(onScreen(photo, face, rng), randomPose(rng), randomBackground(rng));
      files.push({ path: `attack/replay/${src.name}-screen-${i}.jpg`, kind: 'replay', data: await bytesB64(await recapture(img, rng)) });
    }
    // Close-up attacks draw from their own stream so the rest of the set stays the same whatever their number.
    for (let i = 0; i < opts.close; i++) {
      if (i % 2 === 0) {
        const v = variants[(i / 2) % variants.length]!;
        const img = held(printed(photo, face, closeRng, v), closePose(closeRng), randomBackground(closeRng));
        files.push({ path: `attack/print/${src.name}-close-${v}-${i}.jpg`, kind: 'print', data: await bytesB64(await recapture(img, closeRng)) });
      } else {
        const img = held(onScreen(photo, face, closeRng), closePose(closeRng), randomBackground(closeRng));
        files.push({ path: `attack/replay/${src.name}-close-screen-${i}.jpg`, kind: 'replay', data: await bytesB64(await recapture(img, closeRng)) });
      }
    }
    photo.close();
  }
  // A replayed video: every frame of the clip shown on one simulated screen held still-ish in front of the camera.
  const clips: { name: string; frames: string[] }[] = [];
  for (const clip of opts.clips) {
    const pose = randomPose(rng);
    const bg = randomBackground(rng);
    const frames: string[] = [];
    let lastFace: Box | null = null;
    for (const url of clip.frames) {
      const photo = await createImageBitmap(await fetchBlob(url));
      const face: Box | null = (await largestFace(client, photo)) ?? lastFace;
      lastFace = face;
      if (!face) continue;
      const jitter: Pose = { ...pose, dx: pose.dx + (rng() - 0.5) * 4, dy: pose.dy + (rng() - 0.5) * 4 };
      // The screen shows the whole video frame, not a face crop.
      const whole = { x: 0, y: 0, width: photo.width / 2.6, height: photo.height / 2.6 };
      whole.x = photo.width / 2 - whole.width / 2;
      whole.y = photo.height / 2 - whole.height / 2;
      frames.push(await bytesB64(await recapture(held(onScreen(photo, whole, seeded(opts.seed)), jitter, bg), rng)));
      photo.close();
    }
    clips.push({ name: clip.name, frames });
  }
  client.terminate();
  return { files, clips, skipped };
}

// ---------------------------------------------------------------------------------------------------------------
// run: scoring

export type Kind = 'bona-fide' | 'print' | 'replay' | 'mask' | 'other';

export interface RunOptions {
  images: { url: string; kind: Kind; name: string }[];
  videos: { name: string; kind: Kind; frames: string[]; fps: number }[];
  /** Pipeline variants to score passively: channel order × crop scale (the first is the kiosk's configuration). */
  variants: Partial<PadConfig>[];
  /** Random challenges per still image, adaptive print and video. */
  attempts: number;
  /** Bona-fide stills turned into the adaptive tilted-print attacker (0 = off). */
  adaptiveSources: number;
  seed: number;
}

export interface ImageScore {
  name: string;
  kind: Kind;
  /** Live probability of the largest face per variant; null = no face found. */
  live: (number | null)[];
  /** Eye state (fr_eye, [right, left] open probability) of the largest face, first variant; null = not measured. */
  eyes: readonly [number, number] | null;
  /**
   * Multi-frame fusion: mean live probability (first variant) over the 4 frames of this presentation the still
   * loop analyses (fresh sensor noise and JPEG each, as a door sees several frames of one visitor); null = no face.
   */
  fused: number | null;
  /**
   * The door's quality gates (src/config/face.ts `quality`, the worker's assessQuality) on the largest face, first
   * variant: only a face that passes them can lead to a grant (the kiosk embeds and matches no other). null = no face.
   */
  door: { ok: boolean; issues: string[]; eyeDistancePx: number; boxPx: [number, number]; framePx: [number, number] } | null;
}

export interface ChallengeTally {
  attempts: number;
  passed: number;
  /** Passed the challenge and every frame before it passed passive PAD as well. */
  passedWithPassive: number;
  failures: Record<string, number>;
}

export interface RunResult {
  config: FaceConfig;
  userAgent: string;
  crossOriginIsolated: boolean;
  backend: string;
  images: ImageScore[];
  livenessMs: number[];
  eyesMs: number[];
  /** Passive PAD time per frame (timings.liveness) for each variant, in variant order. */
  variantMs: number[][];
  still: Record<string, ChallengeTally>;
  /** Blink asked alone, of every still image: a still must never pass it. */
  stillBlink: Record<string, ChallengeTally>;
  /** The stills that did pass blink alone, with the eye-open scores of their noise frames (to see why). */
  stillBlinkPassed: { name: string; kind: Kind; eyes: (readonly [number, number] | null)[] }[];
  adaptive: ChallengeTally & { strategy: Record<string, ChallengeTally> };
  videos: Record<
    string,
    ChallengeTally & { kind: Kind; frames: number; faces: number; closedFrames: number; blinkOnly: ChallengeTally; eyes: (readonly [number, number] | null)[] }
  >;
}

interface Obs {
  frame: Omit<ChallengeFrame, 'at' | 'sameness' | 'identity'>;
  template?: Float32Array;
  /** The frame as the door's policy sees it (quality, liveness), for its door vote (the challenge's last frame). */
  door: FaceObservation;
}

function obsOf(a: FrameAnalysis): Obs {
  const f = a.faces[0];
  return {
    door: observationFromAnalysis(a, 0),
    frame: {
      faces: Math.max(a.detections.length, a.faces.length),
      ...(f ? { keypoints: f.detection.keypoints } : {}),
      ...(f?.liveness !== undefined ? { liveness: f.liveness } : {}),
      ...(f?.eyes ? { eyes: f.eyes } : {}),
    },
    ...(f?.template ? { template: f.template } : {}),
  };
}

function tally(): ChallengeTally {
  return { attempts: 0, passed: 0, passedWithPassive: 0, failures: {} };
}

/**
 * One attempt: a grant was decided on `lead` (the frames before the challenge; PAD must have passed on them for
 * `passedWithPassive`), then the challenge runs over `frames` at `frameMs` per frame. Identity is tracked against
 * the last lead frame's template, as the kiosk does.
 */
function attempt(t: ChallengeTally, lead: Obs[], frames: Obs[], actions: ChallengeAction[], cfg: FaceConfig, frameMs: number): void {
  const anchor = [...lead].reverse().find((o) => o.template)?.template;
  t.attempts++;
  if (!anchor) {
    t.failures['no-anchor'] = (t.failures['no-anchor'] ?? 0) + 1;
    return;
  }
  const settings: ChallengeSettings = { ...cfg.challenge, lostMs: 1500, pad: cfg.pad };
  const withoutPad: ChallengeSettings = { ...cfg.challenge, lostMs: 1500 };
  const leadLive = lead.every((o) => o.frame.liveness === undefined || o.frame.liveness >= cfg.pad.liveThreshold) && lead.some((o) => o.frame.liveness !== undefined);
  let s = startChallenge(actions, 0);
  let sp = startChallenge(actions, 0);
  let at = 0;
  // Frames repeat from the start when the clip is shorter than the challenge can last (a looping still or video).
  for (let i = 0; s.status === 'running' || sp.status === 'running'; i++) {
    at += frameMs;
    const o = frames[i % frames.length]!;
    const sameness = o.template ? cosineSimilarity(o.template, anchor) : undefined;
    const f: ChallengeFrame = { ...o.frame, at, ...(sameness !== undefined ? { sameness } : {}) };
    // The frame's own door vote, as the kiosk's gate makes it (src/app/liveness-gate.ts) with the anchor as the
    // person's one enrolled template: the frame that passes the challenge must be one.
    const door: FaceObservation = { ...o.door, ...(sameness !== undefined ? { match: { best: { subjectId: 'self', score: sameness }, second: null } } : {}) };
    const t = cfg.thresholds[cfg.embedder];
    const vote = (pad: boolean) => (frameVote(door, t, cfg.quality, pad ? cfg.pad : undefined).kind === 'identity' ? { identity: 'grant' as const } : {});
    s = stepChallenge(s, { ...f, ...vote(false) }, withoutPad);
    sp = stepChallenge(sp, { ...f, ...vote(true) }, settings);
    if (i > 100_000) break;
  }
  if (s.status === 'passed') t.passed++;
  else t.failures[s.failure ?? 'running'] = (t.failures[s.failure ?? 'running'] ?? 0) + 1;
  if (sp.status === 'passed' && leadLive) t.passedWithPassive++;
}

async function analyseBlob(client: FaceClient, blob: Blob, ms?: { liveness: number[]; eyes: number[] }): Promise<FrameAnalysis> {
  // returnTemplate: the challenge tracks identity by cosine to the anchor template (the worker keeps templates unless asked).
  const a = await client.analyse(undefined, await createImageBitmap(blob), { embed: 'all', maxFaces: 1, liveness: true, returnTemplate: true });
  if (ms && a.faces[0] && a.timings.liveness) {
    ms.liveness.push(a.timings.liveness);
    ms.eyes.push(a.timings.eyes ?? 0);
  }
  return a;
}

async function run(opts: RunOptions): Promise<RunResult> {
  const rng = seeded(opts.seed);
  const images: ImageScore[] = opts.images.map((im) => ({ name: im.name, kind: im.kind, live: [], eyes: null, fused: null, door: null }));
  const livenessMs: number[] = [];
  const eyesMs: number[] = [];
  const variantMs: number[][] = opts.variants.map(() => []);
  let main: FaceClient | null = null;
  let backend = '';
  for (let v = 0; v < opts.variants.length; v++) {
    const variant = opts.variants[v]!;
    const client = new FaceClient({ config: { pad: variant }, timeoutMs: 120_000 });
    const info = await client.init();
    backend = `${info.backend.backend} (${info.backend.threads} thread(s)), ${info.embedder} ${info.precision}`;
    for (let i = 0; i < opts.images.length; i++) {
      const a = await analyseBlob(client, await fetchBlob(opts.images[i]!.url), v === 0 ? { liveness: livenessMs, eyes: eyesMs } : undefined);
      images[i]!.live.push(a.faces[0]?.liveness ?? null);
      if (a.faces[0] && a.timings.liveness) variantMs[v]!.push(a.timings.liveness);
      if (v === 0) images[i]!.eyes = a.faces[0]?.eyes ?? null;
      const f0 = a.faces[0];
      if (v === 0 && f0) {
        images[i]!.door = {
          ok: f0.quality.ok,
          issues: [...f0.quality.issues],
          eyeDistancePx: f0.quality.metrics.eyeDistancePx,
          boxPx: [Math.round(f0.detection.box.width), Math.round(f0.detection.box.height)],
          framePx: [a.width, a.height],
        };
      }
    }
    console.log(`[bench] variant ${JSON.stringify(variant)}: ${opts.images.length} images`);
    if (v === 0) main = client;
    else client.terminate();
  }
  const client = main ?? new FaceClient({ timeoutMs: 120_000 });
  if (!main) await client.init();
  const cfg = client.settings;
  // As the kiosk draws them (src/app/liveness-gate.ts): blink is in the pool, the worker measures eye state.
  const pick = () => chooseActions(cfg.challenge.actions, rng, true);
  const frameMs = 1000 / 12;

  // Still images (a photo held still, or the fake camera looping one frame): a few frames with fresh sensor noise.
  const still: Record<string, ChallengeTally> = {};
  const stillBlink: Record<string, ChallengeTally> = {};
  const stillBlinkPassed: RunResult['stillBlinkPassed'] = [];
  if (opts.images.length > 0) {
    const per = Math.max(1, Math.ceil(opts.attempts / opts.images.length));
    for (const [idx, im] of opts.images.entries()) {
      const t = (still[im.kind] ??= tally());
      const tb = (stillBlink[im.kind] ??= tally());
      const base = await createImageBitmap(await fetchBlob(im.url));
      const c = new OffscreenCanvas(base.width, base.height);
      c.getContext('2d')!.drawImage(base, 0, 0);
      const data = c.getContext('2d')!.getImageData(0, 0, base.width, base.height);
      const frames: Obs[] = [];
      for (let k = 0; k < 4; k++) {
        const copy = new ImageData(new Uint8ClampedArray(data.data), data.width, data.height);
        frames.push(obsOf(await analyseBlob(client, await recapture(copy, rng, 0.9))));
      }
      for (let k = 0; k < per; k++) attempt(t, frames.slice(0, 3), frames, pick(), cfg, frameMs);
      const passedBefore = tb.passed;
      for (let k = 0; k < per; k++) attempt(tb, frames.slice(0, 3), frames, ['blink'], cfg, frameMs);
      if (tb.passed > passedBefore) stillBlinkPassed.push({ name: im.name, kind: im.kind, eyes: frames.map((o) => o.frame.eyes ?? null) });
      const lives = frames.map((o) => o.frame.liveness).filter((x): x is number => x !== undefined);
      images[idx]!.fused = lives.length ? lives.reduce((a, b) => a + b, 0) / lives.length : null;
      base.close();
    }
  }

  // The adaptive attacker: a print of an enrolled person's photo, tilted (perspective) and moved to follow each
  // asked action. Two tilt directions per action (the attacker does not know which one the kiosk reads as "left").
  const adaptive = { ...tally(), strategy: {} as Record<string, ChallengeTally> };
  const sources = opts.images.filter((i) => i.kind === 'bona-fide').slice(0, opts.adaptiveSources);
  for (const src of sources) {
    const photo = await createImageBitmap(await fetchBlob(src.url));
    const face = await largestFace(client, photo);
    if (!face) continue;
    const print = printed(photo, face, rng, 'texture');
    const bg = randomBackground(rng);
    const base: Pose = { yawDeg: 0, pitchDeg: 0, size: 0.75, dx: 0, dy: 0 };
    const frameAt = async (p: Pose) => obsOf(await analyseBlob(client, await recapture(held(print, p, bg), rng)));
    const seg = async (f: (u: number) => Partial<Pose>, n: number) => {
      const out: Obs[] = [];
      for (let k = 1; k <= n; k++) out.push(await frameAt({ ...base, ...f(k / n) }));
      return out;
    };
    const hold = await seg(() => ({}), 3);
    const swing = (deg: number) => (u: number) => ({ yawDeg: deg * Math.sin(Math.PI * u) });
    const segments: Record<string, Obs[]> = {
      tiltPos: await seg(swing(45), 8),
      tiltNeg: await seg(swing(-45), 8),
      shearPos: await seg((u) => ({ yawDeg: 30 * Math.sin(Math.PI * u), pitchDeg: 20 * Math.sin(Math.PI * u) }), 8),
      closer: await seg((u) => ({ size: 0.75 + 0.35 * Math.min(1, 2 * u) }), 8),
    };
    const strategies: Record<string, Record<ChallengeAction, string>> = {
      'tilt-a': { 'turn-left': 'tiltPos', 'turn-right': 'tiltNeg', closer: 'closer', blink: 'closer' },
      'tilt-b': { 'turn-left': 'tiltNeg', 'turn-right': 'tiltPos', closer: 'closer', blink: 'closer' },
      'tilt-shear': { 'turn-left': 'shearPos', 'turn-right': 'tiltNeg', closer: 'closer', blink: 'closer' },
    };
    const per = Math.max(1, Math.ceil(opts.attempts / sources.length / Object.keys(strategies).length));
    for (const [name, map] of Object.entries(strategies)) {
      const st = (adaptive.strategy[name] ??= tally());
      for (let k = 0; k < per; k++) {
        const actions = pick();
        const frames = [...hold, ...actions.flatMap((a) => segments[map[a]]!), ...hold, ...hold, ...hold];
        for (const t of [st, adaptive]) attempt(t, hold, frames, actions, cfg, frameMs);
      }
    }
    photo.close();
  }

  // Videos: analysed once, then many random challenges starting at random points of the clip.
  const videos: RunResult['videos'] = {};
  for (const v of opts.videos) {
    const frames: Obs[] = [];
    for (const url of v.frames) frames.push(obsOf(await analyseBlob(client, await fetchBlob(url))));
    const eyes = frames.map((f) => f.frame.eyes ?? null);
    const t = {
      ...tally(),
      kind: v.kind,
      frames: frames.length,
      faces: frames.filter((f) => f.frame.faces > 0).length,
      closedFrames: eyes.filter((e) => e !== null && Math.max(e[0], e[1]) < BLINK_CLOSED).length,
      blinkOnly: tally(),
      eyes,
    };
    for (let k = 0; k < opts.attempts && frames.length > 4; k++) {
      const start = Math.floor(rng() * (frames.length - 3));
      const rest = [...frames.slice(start + 3), ...frames.slice(0, start + 3)];
      attempt(t, frames.slice(start, start + 3), rest, pick(), cfg, 1000 / v.fps);
      attempt(t.blinkOnly, frames.slice(start, start + 3), rest, ['blink'], cfg, 1000 / v.fps);
    }
    videos[v.name] = t;
  }
  client.terminate();
  return {
    config: cfg,
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    backend,
    images,
    livenessMs,
    eyesMs,
    variantMs,
    still,
    stillBlink,
    stillBlinkPassed,
    adaptive,
    videos,
  };
}

(globalThis as unknown as { livenessBench: { build: typeof build; run: typeof run; defaults: FaceConfig } }).livenessBench = {
  build,
  run,
  defaults: DEFAULT_FACE_CONFIG,
};
document.body.dataset['ready'] = '1';

export type { Rng };
