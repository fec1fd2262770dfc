/**
 * The active liveness challenge as a pure state machine: per-frame observations in, running / passed / failed out.
 *
 * Owns the rules an unattended door applies after the face decision said "grant": the visitor performs one or two
 * randomly chosen actions (turn the head left or right, come closer, blink; always at least one head turn), each
 * within `stepMs`, then faces the camera again; the same person must be in front of the camera throughout (every
 * embedded frame close to the anchor template that won the decision), and passive PAD keeps running. It never reads
 * a clock, a random source or a frame: the caller passes monotonic times, a random function and numbers measured
 * by the worker.
 *
 * Head turn is measured as the nose's affine lateral coordinate in the (right eye, left eye, mouth) frame
 * (`lateralTurn`). Any affine map of a flat picture — a printed photo tilted, sheared or moved — leaves it
 * unchanged, while a real head turn moves the nose tip (which stands out of the face plane) sideways: so a photo
 * tilted to follow "turn left" does not turn. A perspective warp is only approximately affine; the benchmark
 * measures how far an adaptive attacker gets (docs/liveness.md).
 *
 * Outcome rules, per frame, in this order: past the step's deadline → failed 'timeout'; more than one face →
 * failed 'multiple-faces'; no face for more than `lostMs` → failed 'face-lost'; an embedded face below
 * `minSameness` to the anchor → failed 'identity-switch'; `pad.spoofVotes` frames below the live threshold → failed
 * 'spoof'; the opposite action (turning the other way, or turning when asked to come closer) once the visitor has
 * settled back to the start pose → failed 'wrong-action' (a replayed video that shows every move must not pass);
 * the asked action reached → next step. After the last action the visitor must face the camera again (the
 * "return" step) with a same-person frame. The frame that passes the challenge must also be a door vote for the
 * withheld grant's person (`identity: 'grant'`: good quality, live, matched at the accept threshold with margin —
 * `minSameness` alone lets a look-alike finish someone else's challenge), and a frame matched to anyone else at the
 * accept threshold fails 'identity-switch' at once.
 */
import type { ChallengeConfig } from '../../config/face';

export type ChallengeAction = 'turn-left' | 'turn-right' | 'closer' | 'blink';

/**
 * Blink: both eyes above BLINK_OPEN, then both below BLINK_CLOSED on BLINK_CLOSED_FRAMES frames in a row, then both
 * above BLINK_OPEN, within the step. fr_eye's open probability sits near 0 or
 * near 1 on real eyes (docs/liveness.md, "Blink"); the gap between the two levels keeps sensor noise on a still
 * photo from crossing both.
 */
export const BLINK_CLOSED = 0.2;
export const BLINK_OPEN = 0.8;
/**
 * Consecutive same-person frames with both eyes closed that make a blink. One is not enough: on still photos sensor
 * noise alone read a single frame as closed (bench:liveness: 14 of 1,092 still attempts passed with one frame). A
 * deliberate blink lasts 300-400 ms, three to five frames at the kiosk's rate; a quick one may need repeating.
 */
export const BLINK_CLOSED_FRAMES = 2;
export type ChallengeFailure = 'timeout' | 'wrong-action' | 'identity-switch' | 'face-lost' | 'multiple-faces' | 'spoof';

export interface Point {
  x: number;
  y: number;
}

/** What the challenge needs from one analysed frame (the largest face). */
export interface ChallengeFrame {
  /** Monotonic ms. */
  at: number;
  faces: number;
  /** BlazeFace keypoints of the largest face (right eye, left eye, nose tip, mouth, ...). */
  keypoints?: readonly Point[];
  /** Cosine of this frame's template to the anchor template; absent when the face was not embedded. */
  sameness?: number;
  /** Passive PAD live probability, when scored. */
  liveness?: number;
  /** How open each eye is ([right, left], 0 closed .. 1 open), when the worker measures eye state. */
  eyes?: readonly [number, number];
  /**
   * This frame's own door vote (decision-policy.ts `frameVote`): 'grant' = a good, live frame matched to the
   * withheld grant's person at the accept threshold with margin; 'other' = matched to someone else at the accept
   * threshold; absent = neither (a turned head, a frame below the threshold).
   */
  identity?: 'grant' | 'other';
}

export interface ChallengeSettings extends ChallengeConfig {
  /** No face at all for longer than this fails the challenge (ms). */
  lostMs: number;
  /** Passive PAD while the challenge runs; absent = PAD off. */
  pad?: { liveThreshold: number; spoofVotes: number };
}

export interface ChallengeState {
  actions: readonly ChallengeAction[];
  /** Index of the current action; === actions.length means "face the camera again". */
  step: number;
  stepStartedAt: number;
  lastFaceAt: number;
  /** The pose at the start: every action is measured from it. */
  baseline: { turn: number; eyeDistancePx: number } | null;
  /** The visitor came back near the start pose during this step (arms the wrong-action check). */
  settled: boolean;
  /** Blink: both eyes were seen open during this step (before they closed). */
  sawOpen: boolean;
  /** Blink: both eyes were seen closed (BLINK_CLOSED_FRAMES in a row) after they were seen open. */
  sawClosed: boolean;
  /** Blink: consecutive frames with both eyes closed so far. */
  closedRun: number;
  spoofFrames: number;
  status: 'running' | 'passed' | 'failed';
  failure?: ChallengeFailure;
}

/** Nose tip's lateral coordinate α in the affine frame (eye midpoint; right eye → left eye; midpoint → mouth). */
export function lateralTurn(kp: readonly Point[]): number | null {
  if (kp.length < 4) return null;
  const [re, le, nose, mouth] = kp as [Point, Point, Point, Point];
  const mx = (re.x + le.x) / 2;
  const my = (re.y + le.y) / 2;
  // Solve nose − mid = α (le − re) + β (mouth − mid) for α (Cramer's rule).
  const ax = le.x - re.x;
  const ay = le.y - re.y;
  const bx = mouth.x - mx;
  const by = mouth.y - my;
  const det = ax * by - ay * bx;
  if (!(Math.abs(det) > 1e-9)) return null;
  return ((nose.x - mx) * by - (nose.y - my) * bx) / det;
}

function eyeDistance(kp: readonly Point[]): number {
  return Math.hypot(kp[1]!.x - kp[0]!.x, kp[1]!.y - kp[0]!.y);
}

/**
 * Chooses `n` distinct actions with `random` (uniform in [0, 1); the caller passes a cryptographic source so an
 * attacker cannot predict the challenge): uniformly among the ordered choices that hold a head turn. Only a head
 * turn is something no still picture can do (the nose's affine position does not move when a flat picture is
 * tilted, sheared or moved, `lateralTurn`). "Come closer" is met by a print or a phone moved towards the camera (a
 * flat picture scales like a face), and 'blink' on a still photo can be met by the eye-state network's own flicker
 * (bench:liveness, stop 28: a print and a screen replay passed blink asked alone, 2 of 377 still attempts, eye-open
 * 0.10 → 0.90 between frames of one unmoving picture). So one action is a turn; a pair holds at least one turn,
 * beside the other turn, coming closer or (when the worker measures eye state) a blink.
 */
export function chooseActions(n: 1 | 2, random: () => number, withBlink = false): ChallengeAction[] {
  const turns: ChallengeAction[] = ['turn-left', 'turn-right'];
  const pool: ChallengeAction[] = [...turns, 'closer', ...(withBlink ? (['blink'] as const) : [])];
  const choices: ChallengeAction[][] =
    n === 1
      ? turns.map((a) => [a])
      : pool
          .flatMap((a) => pool.filter((b) => b !== a).map((b) => [a, b]))
          .filter((c) => c.some((a) => turns.includes(a)));
  return [...choices[Math.min(choices.length - 1, Math.floor(random() * choices.length))]!];
}

export function startChallenge(actions: readonly ChallengeAction[], at: number): ChallengeState {
  return {
    actions,
    step: 0,
    stepStartedAt: at,
    lastFaceAt: at,
    baseline: null,
    settled: true,
    sawOpen: false,
    sawClosed: false,
    closedRun: 0,
    spoofFrames: 0,
    status: 'running',
  };
}

/** The action the visitor is asked for now ('face-camera' after the last one). */
export function currentPrompt(s: ChallengeState): ChallengeAction | 'face-camera' {
  return s.actions[s.step] ?? 'face-camera';
}

/** One frame. Returns a new state (the input is not modified); a finished state stays as it is. */
export function stepChallenge(s: ChallengeState, f: ChallengeFrame, cfg: ChallengeSettings): ChallengeState {
  if (s.status !== 'running') return s;
  const fail = (failure: ChallengeFailure): ChallengeState => ({ ...s, status: 'failed', failure });
  if (f.at - s.stepStartedAt > cfg.stepMs) return fail('timeout');
  if (f.faces > 1) return fail('multiple-faces');
  if (f.faces === 0 || !f.keypoints || f.keypoints.length < 4) {
    return f.at - s.lastFaceAt > cfg.lostMs ? fail('face-lost') : s;
  }
  if (f.identity === 'other' || (f.sameness !== undefined && !(f.sameness >= cfg.minSameness))) return fail('identity-switch');
  let spoofFrames = s.spoofFrames;
  if (cfg.pad && f.sameness !== undefined && !(f.liveness !== undefined && f.liveness >= cfg.pad.liveThreshold)) {
    spoofFrames++;
    if (spoofFrames >= cfg.pad.spoofVotes) return { ...s, spoofFrames, status: 'failed', failure: 'spoof' };
  }
  const turn = lateralTurn(f.keypoints);
  if (turn === null) return { ...s, spoofFrames, lastFaceAt: f.at };
  const dist = eyeDistance(f.keypoints);
  const base = s.baseline ?? { turn, eyeDistancePx: dist };
  const next: ChallengeState = { ...s, spoofFrames, lastFaceAt: f.at, baseline: base };
  const dTurn = turn - base.turn;
  const grow = dist / base.eyeDistancePx;
  const near = Math.abs(dTurn) < cfg.minTurn / 2;
  const settled = next.settled || near;
  const advance = (): ChallengeState => {
    const step = next.step + 1;
    // The last action may end facing the camera already (come closer, blink): that frame completes the return.
    const done = step === s.actions.length && near && f.identity === 'grant';
    return { ...next, step, stepStartedAt: f.at, settled: near, sawOpen: false, sawClosed: false, closedRun: 0, status: done ? 'passed' : 'running' };
  };
  switch (currentPrompt(s)) {
    case 'turn-left':
      // The subject's left: the nose moves to the image's right (the camera sees the visitor face to face).
      if (dTurn >= cfg.minTurn) return advance();
      if (settled && dTurn <= -cfg.minTurn) return fail('wrong-action');
      return { ...next, settled };
    case 'turn-right':
      if (dTurn <= -cfg.minTurn) return advance();
      if (settled && dTurn >= cfg.minTurn) return fail('wrong-action');
      return { ...next, settled };
    case 'closer':
      if (settled && Math.abs(dTurn) >= cfg.minTurn) return fail('wrong-action');
      if (grow >= cfg.closerFactor) return advance();
      return { ...next, settled };
    case 'blink': {
      if (settled && Math.abs(dTurn) >= cfg.minTurn) return fail('wrong-action');
      if (!f.eyes) return { ...next, settled, closedRun: 0 };
      // Open, then closed, then open again, each time both eyes agreeing: one eye misread (glare, a lock of hair,
      // noise on a still photo) moves nothing. Closed eyes count only on a frame that was embedded and matched the
      // anchor: the blink must be this person's.
      const open = Math.min(f.eyes[0], f.eyes[1]) > BLINK_OPEN;
      const closed = Math.max(f.eyes[0], f.eyes[1]) < BLINK_CLOSED;
      if (open && next.sawClosed) return advance();
      if (open) return { ...next, settled, sawOpen: true, closedRun: 0 };
      if (closed && next.sawOpen && f.sameness !== undefined) {
        const closedRun = next.closedRun + 1;
        return { ...next, settled, closedRun, sawClosed: next.sawClosed || closedRun >= BLINK_CLOSED_FRAMES };
      }
      return { ...next, settled, closedRun: 0 };
    }
    case 'face-camera':
      // Back at the start pose on a frame that is itself a door vote for the withheld grant's person: done.
      return near && f.identity === 'grant' ? { ...next, status: 'passed' } : { ...next, settled };
  }
}
