/**
 * Passive PAD fusion: which PAD network's score the decision uses, and how two networks' scores combine into the
 * one "live" probability the decision policy compares with pad.liveThreshold.
 *
 * Owns only the rule (pure, no I/O). It never runs a network (src/inference/worker/face/face-liveness.ts does) and never
 * decides a door (decision-policy.ts does). A missing score fails closed: no number, no live vote.
 */
import type { PadModel } from '../../config/face';
import type { PadScores } from '../../shared/face-protocol';

// 'trained+fr-veto': ours is the score, and a face fr_liveness scores below frVeto is scored 0; fr_liveness runs
// only on faces ours already calls live (the veto can only lower a score, so it is not needed on the others).

/** Whether fr_liveness must run on this face, given our model's score (undefined = ours did not run). */
export function needsFrLiveness(model: PadModel, trained: number | undefined, liveThreshold: number): boolean {
  if (model === 'fr-liveness') return true;
  if (model === 'trained') return false;
  return trained !== undefined && trained >= liveThreshold;
}

/** The one live probability the decision uses; undefined when a needed score is missing (fails closed). */
export function fusePad(model: PadModel, s: PadScores, frVeto: number): number | undefined {
  if (model === 'trained') return s.trained;
  if (model === 'fr-liveness') return s.frLiveness;
  if (s.trained === undefined) return undefined;
  // Not run because ours already refused the face: ours stands (it is below the threshold anyway).
  if (s.frLiveness === undefined) return s.trained;
  return s.frLiveness >= frVeto ? s.trained : 0;
}
