/**
 * Face settings: which embedder and detector run, the quality gates, the match thresholds per embedder and the
 * multi-frame decision policy — with the documented operating point (docs/faces.md, "Operating point").
 *
 * Owns defaults and validation only; it never reads storage or the network. `resolveFaceConfig()` merges partial
 * overrides (admin settings) onto the defaults and refuses out-of-range values with CONFIG_INVALID, so a typo in
 * a setting can never silently widen who gets in.
 *
 * Scores are cosine similarities of L2-normalised templates. Thresholds of the two embedders are unrelated
 * numbers (different models, different score distributions): never copy one to the other.
 */
import { KioskError } from '../shared/errors';

export type EmbedderName = 'fr_feature' | 'dlib_resnet';
export type DetectorName = 'short' | 'full';
/** Numeric precision of the embedder on the WASM backend ('int8' where a calibrated int8 model exists). */
export type EmbedderPrecision = 'int8' | 'fp32';

export interface EmbedderThresholds {
  /**
   * A good frame votes for the best identity only at or above this score. The operating point: calibrated so the
   * false-accept rate per frame is ≤ 0.1% on the dev set, then raised towards the impostor-free gap (see docs).
   */
  accept: number;
  /** Below this the frame votes "unknown"; between reject and accept it abstains (→ uncertain). */
  reject: number;
  /** The best identity must lead the runner-up identity by at least this much, or the frame abstains. */
  margin: number;
}

export interface FaceQualityConfig {
  /** Inter-eye distance in source pixels (BlazeFace eye centres). */
  minEyeDistancePx: number;
  maxYawDeg: number;
  maxPitchDeg: number;
  /** Mean luma of the face region, 0..255. */
  minBrightness: number;
  maxBrightness: number;
  /** Variance of the Laplacian on the 112×112 ArcFace-geometry crop. */
  minSharpness: number;
}

export interface FacePolicyConfig {
  /** Only frames newer than this count (ms). */
  windowMs: number;
  /** At most the last n frames in the window are considered. */
  n: number;
  /** Votes (frames) an outcome needs among them. */
  k: number;
  /**
   * The winning identity's share of the total vote weight (face size × sharpness) among frames that voted for
   * any identity or for "unknown"; below it the frames disagree and the outcome is uncertain.
   */
  minWeightShare: number;
}

/**
 * Which PAD network(s) score a face (the rule: src/matching/face/pad-fusion.ts).
 * 'trained': the project's own model alone (models/trained/pad.onnx). 'fr-liveness': faceplugin's fr_liveness.onnx
 * alone (the kiosk's PAD before issue 20). 'trained+fr-veto': both must say live.
 */
export type PadModel = 'trained' | 'fr-liveness' | 'trained+fr-veto';
export const PAD_MODELS: readonly PadModel[] = ['trained', 'fr-liveness', 'trained+fr-veto'];

/** Passive presentation-attack detection (our trained model and/or fr_liveness.onnx; docs/liveness.md). */
export interface PadConfig {
  /** Which PAD network(s) score a face and how they combine (src/matching/face/pad-fusion.ts). */
  model: PadModel;
  /**
   * A frame whose face scores below this "live" probability (of pad.model's score) votes spoof and never votes for
   * an identity.
   */
  liveThreshold: number;
  /** Spoof votes in the window that make the outcome deny-spoof (final). */
  spoofVotes: number;
  /** Growth of the detector's box for the liveness crop (the package's 2.7 on its own, looser boxes). */
  cropScale: number;
  /** Channel order fed to the network: measured 'bgr' (the package's 'rgb' rejects live faces). */
  channelOrder: 'bgr' | 'rgb';
  /** Growth of the detector's box for our trained model's crop (what it was trained on: train/pad/simulate.py). */
  trainedCropScale: number;
  /** 'trained+fr-veto': a face fr_liveness scores below this is scored 0. */
  frVeto: number;
  /**
   * With PAD on, a face so close that its liveness crop cannot grow at least this much about the detector's box
   * inside the frame is "too close" (the visitor is told to step back) and never embedded: without the context around
   * the face (a print's margin, a phone's bezel, the hand, the room) a photo held close to the camera passes passive
   * PAD about half the time (docs/liveness.md). 2.0 = the face box at most half the frame's height. 0 = off.
   */
  minContextScale: number;
}

/** Active challenge timing and cues (src/matching/face/challenge.ts). */
export interface ChallengeConfig {
  /** Actions asked per attempt, chosen at random (1 or 2). */
  actions: 1 | 2;
  /** Time allowed for each action (ms, monotonic). */
  stepMs: number;
  /**
   * Head turn: change of the nose's affine (barycentric) lateral position from the start of the challenge. A flat
   * photo tilted or warped keeps it (affine invariant); a real head turned ~20° moves it by ~0.13.
   */
  minTurn: number;
  /** Come closer: inter-eye distance must grow by this factor from the start. */
  closerFactor: number;
  /** Cosine to the challenge's anchor template every embedded frame must keep (same person throughout). */
  minSameness: number;
}

/** Open-set safety: the accept threshold follows the gallery size (src/matching/face/open-set.ts). */
export interface OpenSetConfig {
  /** Expected false-positive identification rate (a stranger granted as anyone) allowed per attempt. */
  targetFpir: number;
  /**
   * Above this accept threshold genuine people are refused too often (TAR on the degraded dev set < 95%): a
   * gallery that needs more is refused, not armed.
   */
  maxAccept: number;
  /** Impostor score model per embedder: mean and sd of cosine scores between different people. */
  impostor: Record<EmbedderName, { mean: number; sd: number }>;
}

export interface FaceConfig {
  embedder: EmbedderName;
  /**
   * 'int8' runs the embedder's int8-quantised model on the WASM backend when it has one (fr_feature: 2x faster,
   * templates within cosine 0.99 of the float model's, so templates enrolled with either still match); WebGPU and
   * embedders without an int8 model always run float. 'fp32' forces the float model everywhere.
   */
  precision: EmbedderPrecision;
  /** BlazeFace variant: short range (faces within ~2 m, faster) or full range (~5 m, finds smaller faces). */
  detector: DetectorName;
  /** Detector confidence below which a box is not a face. */
  minDetectionScore: number;
  thresholds: Record<EmbedderName, EmbedderThresholds>;
  /** Gates for frames at the door. */
  quality: FaceQualityConfig;
  /** Stricter gates for enrolment (a bad template hurts every later decision). */
  enrolQuality: FaceQualityConfig;
  policy: FacePolicyConfig;
  pad: PadConfig;
  challenge: ChallengeConfig;
  openSet: OpenSetConfig;
}

/**
 * Defaults. The thresholds are the calibrated operating point; bench/faces.mjs prints the numbers they come from
 * and docs/faces.md explains the choice (including why the dev set cannot measure FAR 0.1% precisely).
 */
export const DEFAULT_FACE_CONFIG: FaceConfig = {
  // fr_feature separated the dev set far better than dlib (d' 6.3 vs 4.7; degraded 6.3 vs 4.5): docs/faces.md.
  embedder: 'fr_feature',
  // fr_feature int8: embed 28 → 14 ms on the 2-core target with the same verification results (docs/faces.md).
  precision: 'int8',
  // Full range finds the small faces of people still approaching; short range misses faces under ~40 px.
  detector: 'full',
  minDetectionScore: 0.5,
  thresholds: {
    // Impostor scores on the dev set: mean 0.00, sd 0.105, max 0.229 (0.255 degraded); genuine min 0.552 (0.531).
    // 0.45 is 4.3 sd above the impostor mean: ~1e-5 false accepts per comparison if the tail were Gaussian, i.e.
    // ~0.1% per stranger against a 100-person gallery. The dev set itself can only show FAR < 1.7% (3/173).
    fr_feature: { accept: 0.45, reject: 0.3, margin: 0.1 },
    // dlib's scores are compressed (impostors 0.83 ± 0.035, genuine ≥ 0.938): 0.94 is only μ+3.1σ (~0.1% per
    // comparison), so with dlib use small galleries; the margin is on the same compressed scale.
    dlib_resnet: { accept: 0.94, reject: 0.9, margin: 0.02 },
  },
  quality: {
    // ~ the ArcFace template's 35 px between the eyes: smaller faces are upsampled, detail is invented.
    minEyeDistancePx: 36,
    maxYawDeg: 30,
    maxPitchDeg: 30,
    minBrightness: 40,
    maxBrightness: 230,
    // Dev set photos 290-2070; kiosk-like degraded ones (blur σ 1 px at 60 px eyes) 30-130 and still matched.
    minSharpness: 20,
  },
  enrolQuality: {
    minEyeDistancePx: 48,
    maxYawDeg: 25,
    maxPitchDeg: 25,
    minBrightness: 60,
    maxBrightness: 215,
    minSharpness: 60,
  },
  // 3 agreeing frames out of the last 6 within 3 s: ~0.4 s at the kiosk's 8-15 analysed frames per second.
  policy: { windowMs: 3000, n: 6, k: 3, minWeightShare: 0.75 },
  // Operating point from bench:liveness on the simulated dev set (docs/liveness.md).
  pad: { model: 'trained', liveThreshold: 0.466, spoofVotes: 3, cropScale: 2.7, channelOrder: 'bgr', trainedCropScale: 2.7, frVeto: 0.107, minContextScale: 2.0 },
  challenge: { actions: 2, stepMs: 5000, minTurn: 0.1, closerFactor: 1.25, minSameness: 0.35 },
  openSet: {
    targetFpir: 0.001,
    maxAccept: 0.6,
    // Impostor pool (bench:faces --fpir, docs/faces.md "Open set").
    impostor: { fr_feature: { mean: 0, sd: 0.105 }, dlib_resnet: { mean: 0.83, sd: 0.035 } },
  },
};

export type FaceConfigOverrides = Partial<{
  embedder: EmbedderName;
  precision: EmbedderPrecision;
  detector: DetectorName;
  minDetectionScore: number;
  thresholds: Partial<Record<EmbedderName, Partial<EmbedderThresholds>>>;
  quality: Partial<FaceQualityConfig>;
  enrolQuality: Partial<FaceQualityConfig>;
  policy: Partial<FacePolicyConfig>;
  pad: Partial<PadConfig>;
  challenge: Partial<ChallengeConfig>;
  openSet: Partial<Omit<OpenSetConfig, 'impostor'>>;
}>;

/** `range`, when given, is the rule the refusal states ("must be between min and max"). */
function check(cond: boolean, field: string, range?: { min: number; max: number }): void {
  if (!cond) throw new KioskError('CONFIG_INVALID', { field, ...range });
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function checkQuality(q: FaceQualityConfig, name: string): void {
  check(
    finite(q.minEyeDistancePx) && q.minEyeDistancePx >= 8 && q.minEyeDistancePx <= 1000,
    `${name}.minEyeDistancePx`,
  );
  check(finite(q.maxYawDeg) && q.maxYawDeg > 0 && q.maxYawDeg <= 90, `${name}.maxYawDeg`);
  check(finite(q.maxPitchDeg) && q.maxPitchDeg > 0 && q.maxPitchDeg <= 90, `${name}.maxPitchDeg`);
  check(finite(q.minBrightness) && q.minBrightness >= 0 && q.minBrightness < 255, `${name}.minBrightness`);
  check(
    finite(q.maxBrightness) && q.maxBrightness > q.minBrightness && q.maxBrightness <= 255,
    `${name}.maxBrightness`,
  );
  check(finite(q.minSharpness) && q.minSharpness >= 0, `${name}.minSharpness`);
}

/** Throws CONFIG_INVALID naming the first bad field. */
export function validateFaceConfig(c: FaceConfig): FaceConfig {
  check(c.embedder === 'fr_feature' || c.embedder === 'dlib_resnet', 'embedder');
  check(c.precision === 'int8' || c.precision === 'fp32', 'precision');
  check(c.detector === 'short' || c.detector === 'full', 'detector');
  check(finite(c.minDetectionScore) && c.minDetectionScore > 0 && c.minDetectionScore < 1, 'minDetectionScore');
  for (const name of ['fr_feature', 'dlib_resnet'] as const) {
    const t = c.thresholds[name];
    // The admin screen sets accept only: an accept below the reject threshold is refused naming accept and the
    // range it may take (it used to name reject, a field the admin never sees, with no rule; hand check, stop 28).
    check(finite(t.reject) && t.reject > -1 && t.reject < 1, `thresholds.${name}.reject`, { min: -1, max: 1 });
    check(finite(t.accept) && t.accept >= t.reject && t.accept <= 1, `thresholds.${name}.accept`, { min: t.reject, max: 1 });
    check(finite(t.margin) && t.margin >= 0 && t.margin < 2, `thresholds.${name}.margin`);
  }
  checkQuality(c.quality, 'quality');
  checkQuality(c.enrolQuality, 'enrolQuality');
  const p = c.policy;
  check(finite(p.windowMs) && p.windowMs >= 100 && p.windowMs <= 60_000, 'policy.windowMs');
  check(Number.isInteger(p.n) && p.n >= 1 && p.n <= 100, 'policy.n');
  check(Number.isInteger(p.k) && p.k >= 1 && p.k <= p.n, 'policy.k');
  check(finite(p.minWeightShare) && p.minWeightShare > 0.5 && p.minWeightShare <= 1, 'policy.minWeightShare');
  const d = c.pad;
  check(finite(d.liveThreshold) && d.liveThreshold > 0 && d.liveThreshold < 1, 'pad.liveThreshold');
  check(Number.isInteger(d.spoofVotes) && d.spoofVotes >= 1 && d.spoofVotes <= p.n, 'pad.spoofVotes');
  check(finite(d.cropScale) && d.cropScale >= 1 && d.cropScale <= 5, 'pad.cropScale');
  check(d.channelOrder === 'bgr' || d.channelOrder === 'rgb', 'pad.channelOrder');
  check(PAD_MODELS.includes(d.model), 'pad.model');
  check(finite(d.trainedCropScale) && d.trainedCropScale >= 1 && d.trainedCropScale <= 5, 'pad.trainedCropScale');
  check(finite(d.frVeto) && d.frVeto >= 0 && d.frVeto < 1, 'pad.frVeto');
  check(finite(d.minContextScale) && (d.minContextScale === 0 || (d.minContextScale >= 1 && d.minContextScale <= 5)), 'pad.minContextScale');
  const ch = c.challenge;
  check(ch.actions === 1 || ch.actions === 2, 'challenge.actions');
  check(finite(ch.stepMs) && ch.stepMs >= 1000 && ch.stepMs <= 30_000, 'challenge.stepMs');
  check(finite(ch.minTurn) && ch.minTurn >= 0.03 && ch.minTurn <= 1, 'challenge.minTurn');
  check(finite(ch.closerFactor) && ch.closerFactor >= 1.05 && ch.closerFactor <= 3, 'challenge.closerFactor');
  check(finite(ch.minSameness) && ch.minSameness > 0 && ch.minSameness < 1, 'challenge.minSameness');
  const o = c.openSet;
  check(finite(o.targetFpir) && o.targetFpir > 0 && o.targetFpir < 0.5, 'openSet.targetFpir');
  check(finite(o.maxAccept) && o.maxAccept > -1 && o.maxAccept <= 1, 'openSet.maxAccept');
  for (const name of ['fr_feature', 'dlib_resnet'] as const) {
    const m = o.impostor[name];
    check(finite(m.mean) && finite(m.sd) && m.sd > 0, `openSet.impostor.${name}`);
  }
  return c;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Refuses an override key the config does not have (CONFIG_INVALID naming its path, e.g. `pad.liveThreshhold`):
 * a misspelt knob would otherwise be dropped by the merge and the default would run while the admin believes
 * their value does. `openSet.impostor` is measured, never set, so it is refused too.
 */
function checkKnownKeys(o: Record<string, unknown>, shape: Record<string, unknown>, path: string): void {
  for (const [k, v] of Object.entries(o)) {
    const field = path ? `${path}.${k}` : k;
    if (!Object.hasOwn(shape, k) || field === 'openSet.impostor') throw new KioskError('CONFIG_INVALID', { field });
    const inner = shape[k];
    if (isPlainObject(inner)) {
      if (v !== undefined && !isPlainObject(v)) throw new KioskError('CONFIG_INVALID', { field });
      if (v !== undefined) checkKnownKeys(v, inner, field);
    }
  }
}

/** Defaults with `o` merged in, validated; an unknown key in `o` is refused, never ignored. */
export function resolveFaceConfig(o: FaceConfigOverrides = {}, base: FaceConfig = DEFAULT_FACE_CONFIG): FaceConfig {
  checkKnownKeys(o as Record<string, unknown>, base as unknown as Record<string, unknown>, '');
  // A liveness threshold is a point on one PAD model's score scale (fr_liveness ~0.98, ours ~0.13): one stored without
  // the model it was set for (saved before the kiosk shipped its own PAD model) would silently mean something else.
  if (o.pad?.liveThreshold !== undefined && o.pad.model === undefined) throw new KioskError('CONFIG_INVALID', { field: 'pad.liveThreshold' });
  return validateFaceConfig({
    embedder: o.embedder ?? base.embedder,
    precision: o.precision ?? base.precision,
    detector: o.detector ?? base.detector,
    minDetectionScore: o.minDetectionScore ?? base.minDetectionScore,
    thresholds: {
      fr_feature: { ...base.thresholds.fr_feature, ...o.thresholds?.fr_feature },
      dlib_resnet: { ...base.thresholds.dlib_resnet, ...o.thresholds?.dlib_resnet },
    },
    quality: { ...base.quality, ...o.quality },
    enrolQuality: { ...base.enrolQuality, ...o.enrolQuality },
    policy: { ...base.policy, ...o.policy },
    pad: { ...base.pad, ...o.pad },
    challenge: { ...base.challenge, ...o.challenge },
    openSet: { ...base.openSet, ...o.openSet, impostor: base.openSet.impostor },
  });
}
