/**
 * The challenge gate between a face grant and the door: a passed challenge releases exactly the withheld grant; a
 * wrong action, another person or frames failing PAD become deny-spoof (no identity named); a time-out becomes
 * uncertain with "please see the guard". Frames are FrameAnalysis values as the worker returns them.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG, resolveFaceConfig } from '../../src/config/face';
import { LivenessGate } from '../../src/app/liveness-gate';
import type { FrameAnalysis } from '../../src/shared/face-protocol';
import type { DecisionResult } from '../../src/shared/types';

const cfg = resolveFaceConfig({ challenge: { actions: 1 } });
const grant: DecisionResult = { outcome: 'grant', mode: 'face', reason: 'matched 3 of 3 frames', subjectId: 'A', score: 0.7, liveness: 0.99 };
const A = Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? 1 : 0));
const B = Float32Array.from({ length: 8 }, (_, i) => (i === 1 ? 1 : 0));

/** The door's thresholds for these tests (the gate gets the ones in force from the kiosk). */
const thresholds = cfg.thresholds[cfg.embedder];
/** A look-alike of A: cosine 0.4 to A's template (above minSameness) and matched to A at 0.4 (below accept). */
const L = Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? 0.4 : i === 2 ? Math.sqrt(1 - 0.16) : 0));

/**
 * nose offset in eye distances (0.15 ≈ a real head turn to the subject's left), template, live probability, and the
 * worker's gallery match of that template (A and B are enrolled: each template matches its own person at 0.7).
 */
function frame(nose: number, template = A, liveness = 0.99, match = template === B ? { subjectId: 'B', score: 0.7 } : template === L ? { subjectId: 'A', score: 0.4 } : { subjectId: 'A', score: 0.7 }): FrameAnalysis {
  const kp = [
    { x: 100, y: 100 },
    { x: 160, y: 100 },
    { x: 130 + 60 * nose, y: 130 },
    { x: 130, y: 160 },
  ];
  const detection = { box: { x: 80, y: 70, width: 100, height: 110 }, score: 0.9, keypoints: kp };
  const metrics = { eyeDistancePx: 60, rollDeg: 0, yawDeg: 0, pitchDeg: 0, brightness: 120, contrast: 40, sharpness: 200, detectionScore: 0.9 };
  return {
    width: 640,
    height: 480,
    detections: [detection],
    faces: [{ detection, quality: { ok: true, issues: [], reason: null, metrics }, template, liveness, embedded: true, match: { best: match, second: null, rescored: 0 } }],
    timings: { detect: 1, align: 1, embed: 1, match: 0 },
  };
}

/** Lists where nobody is deny-listed (the cases below are about actions, PAD and other people). */
const NO_DENY = { subject: () => ({ list: 'allow' as const }), at: thresholds.accept };

/** Runs a challenge of one action chosen by `r` over the frames; returns the final result. */
function run(r: number, frames: FrameAnalysis[], stepMs = 100) {
  const gate = new LivenessGate();
  const prompt = gate.begin(grant, A, 0, cfg, () => r);
  let at = 0;
  for (const f of frames) {
    at += stepMs;
    const g = gate.onFrame(f, at, cfg, true, thresholds, NO_DENY);
    if (g.kind === 'done') return { prompt, g, running: gate.running };
  }
  return { prompt, g: null, running: gate.running };
}

describe('liveness gate', () => {
  it('a deny-listed runner-up at the deny bar ends the challenge: a look-alike performs it live as herself', () => {
    const lists = { subject: (id: string) => ({ list: id === 'D' ? ('deny' as const) : ('allow' as const) }), at: thresholds.accept };
    const withD = (f: FrameAnalysis, d: number) => {
      f.faces[0]!.match!.second = { subjectId: 'D', score: d };
      return f;
    };
    const play = (d: number, deny: typeof lists) => {
      const gate = new LivenessGate();
      gate.begin(grant, A, 0, cfg, () => 0);
      for (const [i, f] of [frame(0), frame(0.15), frame(0)].entries()) {
        const g = gate.onFrame(withD(f, d), 100 * (i + 1), cfg, true, thresholds, deny);
        if (g.kind === 'done') return g;
      }
      return null;
    };
    const high = thresholds.accept + 0.01;
    expect(play(high, lists)).toMatchObject({ kind: 'done', decision: { outcome: 'deny-spoof', reason: expect.stringMatching(/identity-switch/) } });
    // A turned or blurred frame (no vote) of her counts as well: the match is checked whatever the frame's quality.
    const gate = new LivenessGate();
    gate.begin(grant, A, 0, cfg, () => 0);
    const turned = frame(0.15);
    turned.faces[0]!.quality = { ...turned.faces[0]!.quality, ok: false, reason: 'turn to the camera' };
    expect(gate.onFrame(withD(turned, high), 100, cfg, true, thresholds, lists)).toMatchObject({ kind: 'done', decision: { outcome: 'deny-spoof' } });
    // Below the bar, or when D is not on the deny list, the same frames pass.
    expect(play(thresholds.accept - 0.05, lists)).toMatchObject({ kind: 'done', decision: { outcome: 'grant', subjectId: 'A' } });
    expect(play(high, { ...lists, subject: () => ({ list: 'allow' as const }) })).toMatchObject({ kind: 'done', decision: { outcome: 'grant', subjectId: 'A' } });
  });

  it('releases the withheld grant after the asked action (turn left: random 0 picks it)', () => {
    const { prompt, g, running } = run(0, [frame(0), frame(0.15), frame(0)]);
    expect(prompt).toEqual({ action: 'turn-left', step: 1, steps: 1 });
    expect(g?.kind).toBe('done');
    if (g?.kind !== 'done') return;
    expect(g.decision).toMatchObject({ outcome: 'grant', subjectId: 'A', score: 0.7 });
    expect(g.decision.reason).toMatch(/challenge passed \(turn-left\)/);
    expect(g.seeGuard).toBe(false);
    expect(running).toBe(false);
  });

  it.each([
    ['the wrong way', [frame(0), frame(-0.15)], /wrong-action/],
    ['another person', [frame(0), frame(0.15, B)], /identity-switch/],
    ['frames that fail passive PAD', [frame(0, A, 0.1), frame(0, A, 0.1), frame(0, A, 0.1)], /spoof/],
  ])('%s → deny-spoof, no identity', (_n, frames, why) => {
    const { g } = run(0, frames);
    if (g?.kind !== 'done') throw new Error('challenge still running');
    expect(g.decision.outcome).toBe('deny-spoof');
    expect(g.decision.subjectId).toBeUndefined();
    expect(g.decision.reason).toMatch(why);
    expect(g.seeGuard).toBe(false);
  });

  it('a look-alike cannot finish the challenge for the person (close to the anchor, no door match)', () => {
    expect(thresholds.accept).toBeGreaterThan(0.4);
    expect(cfg.challenge.minSameness).toBeLessThan(0.4);
    // The person's photo won the window; someone who resembles them does the turn and faces the camera.
    const { g } = run(0, [frame(0, L), frame(0.15, L), ...Array.from({ length: 200 }, () => frame(0, L))]);
    if (g?.kind !== 'done') throw new Error('challenge still running');
    expect(g.decision.outcome).not.toBe('grant');
    // The person themselves finishes after the same frames.
    const own = run(0, [frame(0, L), frame(0.15, L), frame(0, L), frame(0)]).g;
    expect(own?.kind === 'done' && own.decision.outcome).toBe('grant');
  });

  it('a still face times out → uncertain, "please see the guard", never a grant', () => {
    const still = Array.from({ length: 200 }, () => frame(0));
    const { g } = run(0, still);
    if (g?.kind !== 'done') throw new Error('challenge still running');
    expect(g.decision.outcome).toBe('uncertain');
    expect(g.decision.reason).toMatch(/timeout/);
    expect(g.seeGuard).toBe(true);
    expect(DEFAULT_FACE_CONFIG.challenge.stepMs).toBeLessThan(200 * 100);
  });
});
