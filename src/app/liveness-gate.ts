/**
 * The active-challenge gate between a face "grant" and the door, for kiosks whose PAD policy is 'active'.
 *
 * Owns one running challenge at a time: the withheld grant, the anchor template of the frame that won it (the
 * same person must finish the challenge), and the pure state machine in src/matching/face/challenge.ts. It turns
 * analysed frames into challenge observations and a finished challenge into the outcome the kiosk acts on:
 * passed → the withheld grant; a wrong action, another face taking over or frames that do not look live →
 * deny-spoof; time-out or the face gone → uncertain with "please see the guard". It never grants on its own, never
 * keeps a frame (only the anchor template, in memory, until the challenge ends) and reads no clock: the controller
 * passes monotonic frame times.
 */
import { KioskError } from '../shared/errors';
import type { EmbedderThresholds, FaceConfig } from '../config/face';
import { frameVote, observationFromAnalysis, type PolicyContext } from '../matching/face/decision-policy';
import {
  chooseActions,
  currentPrompt,
  startChallenge,
  stepChallenge,
  type ChallengeAction,
  type ChallengeFailure,
  type ChallengeState,
} from '../matching/face/challenge';
import { cosineSimilarity } from '../matching/face/similarity';
import type { FrameAnalysis } from '../shared/face-protocol';
import type { DecisionResult } from '../shared/types';

/** No face at all for this long ends the challenge (ms). */
const LOST_MS = 1500;

export interface ChallengePrompt {
  action: ChallengeAction | 'face-camera';
  /** 1-based step and number of steps (the "face the camera" step is not counted). */
  step: number;
  steps: number;
}

export type GateResult = { kind: 'prompt'; prompt: ChallengePrompt } | { kind: 'done'; decision: DecisionResult; seeGuard: boolean };

const SPOOF_FAILURES: readonly ChallengeFailure[] = ['wrong-action', 'identity-switch', 'spoof'];

/** Cryptographic randomness: an attacker who could predict the actions could prepare a video of them. */
export function cryptoRandom(): number {
  const b = new Uint32Array(1);
  crypto.getRandomValues(b);
  return b[0]! / 2 ** 32;
}

export class LivenessGate {
  private state: ChallengeState | null = null;
  private anchor: Float32Array | null = null;
  private pending: DecisionResult | null = null;
  private minLive = Infinity;

  get running(): boolean {
    return this.state !== null;
  }

  /** Withhold `grant` and start a challenge anchored on `template` (copied). */
  begin(grant: DecisionResult, template: Float32Array, at: number, cfg: FaceConfig, random: () => number = cryptoRandom): ChallengePrompt {
    this.pending = grant;
    this.anchor = Float32Array.from(template);
    this.minLive = grant.liveness ?? Infinity;
    // Blink is in the draw: the face worker measures eye state (fr_eye) on every frame it scores for PAD.
    this.state = startChallenge(chooseActions(cfg.challenge.actions, random, true), at);
    return this.prompt(this.state);
  }

  cancel(): void {
    this.state = null;
    this.anchor = null;
    this.pending = null;
  }

  /**
   * Feed one analysed frame (largest face first). `thresholds` are the ones in force at the door (the open-set
   * accept threshold included): the frame that passes the challenge must be a door vote for the withheld grant's
   * person under them, and one matched to anyone else ends it. `deny` (the watchlist's lists and the deny bar, as
   * the door's decision has them) makes a frame in which a deny-listed person scored at the bar end it too: the
   * challenge is performed live, so a deny-listed look-alike could otherwise perform it as herself.
   */
  onFrame(
    a: FrameAnalysis,
    at: number,
    cfg: FaceConfig,
    passive: boolean,
    thresholds: EmbedderThresholds,
    deny: { subject: PolicyContext['subject']; at: number },
  ): GateResult {
    const s = this.state;
    const anchor = this.anchor;
    const grant = this.pending;
    if (!s || !anchor || !grant) throw new KioskError('INTERNAL', { reason: 'no challenge running' });
    const f = a.faces[0];
    const sameness = f?.template && f.template.length === anchor.length ? cosineSimilarity(f.template, anchor) : undefined;
    if (f?.liveness !== undefined) this.minLive = Math.min(this.minLive, f.liveness);
    const vote = frameVote(observationFromAnalysis(a, at), thresholds, cfg.quality, passive ? cfg.pad : undefined, deny.subject, deny.at);
    const best = f?.match?.best;
    // Any frame with a match, whatever its quality or pose: a deny-listed best or runner-up at the deny bar.
    const denied = [best, f?.match?.second].some((m) => m && m.score >= Math.min(deny.at, thresholds.accept) && deny.subject(m.subjectId)?.list === 'deny');
    const identity =
      vote.kind === 'identity' && !denied
        ? vote.subjectId === grant.subjectId
          ? 'grant'
          : 'other'
        : (best && best.subjectId !== grant.subjectId && best.score >= thresholds.accept) || denied
          ? 'other'
          : undefined;
    const next = stepChallenge(
      s,
      {
        at,
        faces: Math.max(a.detections.length, a.faces.length),
        ...(f ? { keypoints: f.detection.keypoints } : {}),
        ...(sameness !== undefined ? { sameness } : {}),
        ...(f?.liveness !== undefined ? { liveness: f.liveness } : {}),
        ...(f?.eyes ? { eyes: f.eyes } : {}),
        ...(identity ? { identity } : {}),
      },
      { ...cfg.challenge, lostMs: LOST_MS, ...(passive ? { pad: cfg.pad } : {}) },
    );
    if (next.status === 'running') {
      this.state = next;
      return { kind: 'prompt', prompt: this.prompt(next) };
    }
    this.cancel();
    const live = Number.isFinite(this.minLive) ? { liveness: this.minLive } : {};
    const what = next.actions.join(' + ');
    if (next.status === 'passed') {
      return { kind: 'done', seeGuard: false, decision: { ...grant, ...live, reason: `${grant.reason}; challenge passed (${what})` } };
    }
    const failure = next.failure ?? 'timeout';
    if (SPOOF_FAILURES.includes(failure)) {
      return {
        kind: 'done',
        seeGuard: false,
        decision: { outcome: 'deny-spoof', mode: 'face', reason: `challenge failed: ${failure} (${what})`, ...live },
      };
    }
    return {
      kind: 'done',
      seeGuard: true,
      decision: { outcome: 'uncertain', mode: 'face', reason: `challenge not completed: ${failure} (${what})`, ...live },
    };
  }

  private prompt(s: ChallengeState): ChallengePrompt {
    return { action: currentPrompt(s), step: Math.min(s.step + 1, s.actions.length), steps: s.actions.length };
  }
}
