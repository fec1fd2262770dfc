/**
 * The active challenge as a table: each row is a challenge (the actions asked), a sequence of frames and the state
 * it must end in. Frames are written compactly on a synthetic face (eyes 60 px apart): 'L' = head turned to the
 * subject's left (nose 9 px towards the image's right, α +0.15), 'R' = turned right, 'C' = centre, 'N' = centre
 * and 1.4× nearer, 'x' = another person (template cosine 0.1 to the anchor), '-' = no face, '2' = two faces,
 * 'S' = centre but PAD says spoof, 'b' = eyes closed, 'o' = eyes open, 'B' = eyes closed on a frame that was not
 * embedded (no sameness), 'k' = eyes closed while turned left, 'w' = one eye closed (a wink, or one eye misread),
 * 'y' = a look-alike facing the camera (cosine 0.4 to the anchor, above minSameness, but no door match for the
 * person), 'z' = someone else matched at the accept threshold. Facing frames of the person ('C', 'N', 'o') are door
 * votes for them (`identity: 'grant'`). Frames are 100 ms apart unless a '+N' suffix adds N ms before that frame.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import {
  chooseActions,
  currentPrompt,
  lateralTurn,
  startChallenge,
  stepChallenge,
  type ChallengeAction,
  type ChallengeFrame,
  type ChallengeSettings,
  type ChallengeState,
} from '../../src/matching/face/challenge';

const cfg: ChallengeSettings = {
  ...DEFAULT_FACE_CONFIG.challenge,
  stepMs: 4000,
  minTurn: 0.1,
  closerFactor: 1.25,
  minSameness: 0.35,
  lostMs: 1000,
  pad: { liveThreshold: 0.9, spoofVotes: 3 },
};

function face(nose: number, scale = 1): { x: number; y: number }[] {
  const c = (x: number, y: number) => ({ x: 320 + (x - 130) * scale, y: 240 + (y - 130) * scale });
  return [c(100, 100), c(160, 100), c(130 + nose, 130), c(130, 160)];
}

function frame(spec: string, at: number): ChallengeFrame {
  switch (spec) {
    case '-':
      return { at, faces: 0 };
    case '2':
      return { at, faces: 2, keypoints: face(0), sameness: 0.8, liveness: 0.99 };
    case 'x':
      return { at, faces: 1, keypoints: face(0), sameness: 0.1, liveness: 0.99 };
    case 'S':
      return { at, faces: 1, keypoints: face(0), sameness: 0.8, liveness: 0.2 };
    case 'b':
      return { at, faces: 1, keypoints: face(0), sameness: 0.8, liveness: 0.99, eyes: [0.1, 0.05] };
    case 'o':
      return { at, faces: 1, keypoints: face(0), sameness: 0.8, liveness: 0.99, eyes: [0.9, 0.95], identity: 'grant' };
    case 'y':
      return { at, faces: 1, keypoints: face(0), sameness: 0.4, liveness: 0.99 };
    case 'z':
      return { at, faces: 1, keypoints: face(0), sameness: 0.4, liveness: 0.99, identity: 'other' };
    case 'B':
      return { at, faces: 1, keypoints: face(0), liveness: 0.99, eyes: [0.1, 0.1] };
    case 'k':
      return { at, faces: 1, keypoints: face(9), sameness: 0.8, liveness: 0.99, eyes: [0.1, 0.1] };
    case 'w':
      return { at, faces: 1, keypoints: face(0), sameness: 0.8, liveness: 0.99, eyes: [0.95, 0.1] };
  }
  const nose = spec === 'L' ? 9 : spec === 'R' ? -9 : 0;
  const facing = spec === 'C' || spec === 'N';
  return { at, faces: 1, keypoints: face(nose, spec === 'N' ? 1.4 : 1), sameness: 0.8, liveness: 0.99, ...(facing ? { identity: 'grant' as const } : {}) };
}

function run(actions: ChallengeAction[], frames: string): ChallengeState {
  let at = 0;
  let s = startChallenge(actions, at);
  for (const tok of frames.split(' ').filter(Boolean)) {
    const [spec, wait] = tok.split('+') as [string, string | undefined];
    at += 100 + Number(wait ?? 0);
    s = stepChallenge(s, frame(spec, at), cfg);
  }
  return s;
}

describe('challenge state machine', () => {
  it.each<[string, ChallengeAction[], string, string, string?]>([
    // right actions
    ['turn left, back to centre', ['turn-left'], 'C C L L C', 'passed'],
    ['turn right, back to centre', ['turn-right'], 'C R C', 'passed'],
    ['come closer, face the camera', ['closer'], 'C C N', 'passed'],
    ['left then right (through the centre)', ['turn-left', 'turn-right'], 'C L C R C', 'passed'],
    ['left then straight to right: still counts (settle is not required to turn the asked way)', ['turn-left', 'turn-right'], 'C L R C', 'passed'],
    ['right then closer', ['turn-right', 'closer'], 'C R C N', 'passed'],
    ['blink: open, closed, open', ['blink'], 'C o o b b o', 'passed'],
    ['blink, then turn left', ['blink', 'turn-left'], 'C o b b b o L C', 'passed'],
    ['turn right, then blink (the blink ends facing the camera)', ['turn-right', 'blink'], 'C R C o b b o', 'passed'],
    ['a short face loss is tolerated', ['turn-left'], 'C - - L C', 'passed'],
    // not yet
    ['action done but not back at the camera', ['turn-left'], 'C L L', 'running'],
    ['only the first of two actions', ['turn-left', 'closer'], 'C L C', 'running'],
    ['blink without eye data never completes', ['blink'], 'C C C', 'running'],
    ['blink: a still photo with open eyes never blinks', ['blink'], 'C o o o o o o o o', 'running'],
    ['blink: a still photo with closed eyes never opens them', ['blink'], 'C b b b b b b', 'running'],
    ['blink: eyes reopened but never closed', ['blink'], 'C o o o', 'running'],
    ['blink: closed then open without open first (a photo of closed eyes, then one of open eyes)', ['blink'], 'C b b o', 'running'],
    ['blink: single closed frames between open ones (noise on a still photo)', ['blink'], 'C o b o b o o b o', 'running'],
    ['blink: closed frames interrupted by an unclear one do not add up', ['blink'], 'C o b w b o', 'running'],
    ['blink: one eye closing is no blink', ['blink'], 'C o w o w o', 'running'],
    ['blink: closed eyes on a frame that was not embedded do not count', ['blink'], 'C B o', 'running'],
    // wrong action
    ['asked left, turns right', ['turn-left'], 'C R', 'failed', 'wrong-action'],
    ['asked right, turns left', ['turn-right'], 'C L', 'failed', 'wrong-action'],
    ['asked closer, turns', ['closer'], 'C L', 'failed', 'wrong-action'],
    ['asked to blink, turns', ['blink'], 'C o R', 'failed', 'wrong-action'],
    ['asked to blink, turns with closed eyes', ['blink'], 'C o k o', 'failed', 'wrong-action'],
    ['second step: turns back the way of step one after settling', ['turn-right', 'turn-left'], 'C R C R', 'failed', 'wrong-action'],
    // identity
    ['another person steps in mid-challenge', ['turn-left'], 'C L x C', 'failed', 'identity-switch'],
    ['another person finishes the challenge', ['turn-left', 'turn-right'], 'C L x R C', 'failed', 'identity-switch'],
    ['another person blinks', ['blink'], 'C o x o', 'failed', 'identity-switch'],
    ['a look-alike (near the anchor, no door match for the person) cannot finish it', ['turn-left'], 'C L y y y', 'running'],
    ['the person finishes after a look-alike frame', ['turn-left'], 'C L y C', 'passed'],
    ['a frame matched to someone else ends it', ['turn-left'], 'C L z', 'failed', 'identity-switch'],
    ['two faces in view', ['turn-left'], 'C 2 L C', 'failed', 'multiple-faces'],
    // time
    ['nobody moves: time-out', ['turn-left'], 'C C C C+4000', 'failed', 'timeout'],
    ['a still photo: time-out', ['closer'], 'C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C C', 'failed', 'timeout'],
    ['action too late', ['turn-left'], 'C L+4000', 'failed', 'timeout'],
    ['blink too late', ['blink'], 'C o b b o+4000', 'failed', 'timeout'],
    ['eyes open, never blinking: time-out', ['blink'], 'C o o o o+4000', 'failed', 'timeout'],
    ['face gone for too long', ['turn-left'], 'C - -+1000', 'failed', 'face-lost'],
    // passive PAD keeps running
    ['frames that do not look live', ['turn-left'], 'C S S S', 'failed', 'spoof'],
  ])('%s', (_name, actions, frames, status, failure) => {
    const s = run(actions, frames);
    expect(s.status).toBe(status);
    if (failure) expect(s.failure).toBe(failure);
  });

  it('prompts the current action, then "face the camera"', () => {
    let s = startChallenge(['turn-left', 'closer'], 0);
    expect(currentPrompt(s)).toBe('turn-left');
    s = stepChallenge(s, frame('C', 100), cfg);
    s = stepChallenge(s, frame('L', 200), cfg);
    expect(currentPrompt(s)).toBe('closer');
    s = stepChallenge(s, frame('N', 300), cfg);
    expect(currentPrompt(s)).toBe('face-camera');
  });

  it('a flat face under any affine warp keeps its lateral turn (a tilted print does not turn)', () => {
    const kp = face(3);
    const a0 = lateralTurn(kp)!;
    for (const [m00, m01, m10, m11] of [
      [0.6, 0, 0, 1], // tilted about the vertical axis (foreshortened)
      [1, 0.4, 0, 1], // sheared
      [0.9, -0.3, 0.2, 1.1],
    ] as const) {
      const warped = kp.map((p) => ({ x: 5 + m00 * p.x + m01 * p.y, y: -7 + m10 * p.x + m11 * p.y }));
      expect(lateralTurn(warped)).toBeCloseTo(a0, 9);
    }
    expect(lateralTurn(face(9))! - lateralTurn(face(0))!).toBeCloseTo(0.15, 9);
  });

  it('chooses distinct actions from the random source, always with a head turn; blink only when eyes are measured', () => {
    const turns = ['turn-left', 'turn-right'];
    let x = 0.05;
    const draw = () => (x = (x * 9301 + 0.49297) % 1);
    // One action is a head turn: a print moved towards the camera "comes closer", and a still's eye reading can
    // flicker closed → open; only a turn is beyond a flat picture.
    expect(chooseActions(1, () => 0)).toEqual(['turn-left']);
    expect(chooseActions(1, () => 0.99, true)).toEqual(['turn-right']);
    const one = new Set<string>();
    for (let k = 0; k < 100; k++) one.add(chooseActions(1, () => k / 100, true).join());
    expect([...one].sort()).toEqual(turns);
    // Pairs: distinct, every ordered pair of the three geometric actions (each holds a turn) comes up.
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const a = chooseActions(2, draw);
      expect(new Set(a).size).toBe(2);
      expect(a).not.toContain('blink');
      seen.add(a.join());
    }
    expect(seen.size).toBe(6);
    // With eye state measured: the ordered pairs of the four actions that hold a turn (10 of 12); never closer with
    // blink, which a still moved towards the camera could meet both of.
    const withBlink = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const a = chooseActions(2, draw, true);
      expect(new Set(a).size).toBe(2);
      expect(a.some((s) => turns.includes(s))).toBe(true);
      withBlink.add(a.join());
    }
    expect(withBlink.size).toBe(10);
    expect(withBlink.has('blink,turn-left') && withBlink.has('turn-right,closer')).toBe(true);
  });
});
