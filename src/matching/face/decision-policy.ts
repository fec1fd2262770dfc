/**
 * The face decision: many frames in, one explicit outcome out (grant, deny-unknown, deny-listed, deny-spoof, no-face,
 * low-quality, uncertain) with the reason a guard reads.
 *
 * Owns the rules that turn per-frame evidence into a door decision; thresholds and counts come from config
 * (src/config/face.ts), never from here. Pure: the caller keeps the frames and passes the clock, nothing is stored.
 * Two clocks, never mixed: frame times and the window are monotonic; validity periods (validFrom/validUntil, set
 * by an admin as dates) are compared with the wall clock.
 *
 * Per frame (the largest face only — the kiosk serves the person in front of it):
 *   no face → "no-face"; quality gate failed → "low-quality" (with the visitor's reason);
 *   PAD on and the face's live probability below pad.liveThreshold (or missing) → a "spoof" vote, never an identity;
 *   best ≥ accept and best − runner-up ≥ margin (or both deny-listed at the deny bar) → a vote for that
 *   identity;
 *   best < reject (or an empty gallery) → a vote for "unknown"; anything else → "ambiguous" (abstains); an
 *   ambiguous frame in which a deny-listed person scored at least `denyAt` (best or runner-up) is marked `denied`.
 * Over the window (frames newer than windowMs, at most the last n):
 *   1. k votes for deny-listed identities (together) → deny-listed (a deny list outranks everything);
 *   1b. pad.spoofVotes spoof votes → deny-spoof; any spoof vote in the window blocks a grant (rule 3); a `denied`
 *       frame turns what would be a grant into a final "uncertain" (a deny-listed look-alike must not win on the
 *       frames where she scored lower, nor by waiting until that frame has left the window);
 *   2. votes for two different identities → uncertain (a stranger must never be averaged into someone);
 *   3. one identity with k votes holding ≥ minWeightShare of the weight of all good frames → grant
 *      (or deny-unknown when that subject is outside its validity period);
 *   4. k "unknown" votes holding ≥ minWeightShare → deny-unknown;
 *   5. otherwise: not enough good frames yet → low-quality / no-face (not final, the prompt tells what to fix);
 *      enough good frames but no consensus → uncertain, final once n frames were seen.
 * A frame's weight grows with face size and sharpness (bigger, sharper faces give more trustworthy templates),
 * each factor clamped to [0.25, 1] so no single frame can outvote k others.
 */
import type { EmbedderThresholds, FacePolicyConfig, FaceQualityConfig } from '../../config/face';
import type { Clock } from '../../shared/clock';
import { validAt } from '../validity';
import type { FrameAnalysis } from '../../shared/face-protocol';
import type { DecisionResult, ListKind } from '../../shared/types';
import type { IdentityScore } from './gallery';

/** What the policy needs from one analysed frame (see observationFromAnalysis). */
export interface FaceObservation {
  /** When the frame was grabbed: the clock's monotonic() reading. */
  at: number;
  faces: number;
  /** Quality of the largest face, absent when there is no face. */
  quality?: { ok: boolean; reason: string | null; eyeDistancePx: number; sharpness: number };
  /** Passive PAD "live" probability of the largest face, when it was scored. */
  liveness?: number;
  /** 1:N result of the largest face, absent when it was not embedded (bad quality) or not searched. */
  match?: { best: IdentityScore | null; second: IdentityScore | null };
}

export interface SubjectInfo {
  list: ListKind;
  validFrom?: number;
  validUntil?: number;
}

export interface PolicyContext {
  thresholds: EmbedderThresholds;
  policy: FacePolicyConfig;
  /** Door quality gates (for the size/sharpness weights). */
  quality: FaceQualityConfig;
  /** Subject facts by id; undefined = no longer enrolled (the gallery was stale). */
  subject: (id: string) => SubjectInfo | undefined;
  /** monotonic() bounds the window of frames; wall() judges validity periods. */
  clock: Clock;
  /** Passive PAD settings; absent = PAD off (frames vote on identity alone). */
  pad?: { liveThreshold: number; spoofVotes: number };
  /**
   * A deny-listed best or runner-up at or above this score stops a grant (default `thresholds.accept`). The door passes the
   * embedder's own accept threshold here while `thresholds.accept` is the open-set one, raised with the gallery's
   * size: raising the bar for a grant must not raise it for the deny list's veto (attacker review, session 24).
   */
  denyAt?: number;
}

export type FrameVote =
  | { kind: 'no-face' }
  | { kind: 'low-quality'; reason: string }
  | { kind: 'spoof'; liveness: number }
  | { kind: 'identity'; subjectId: string; score: number; weight: number }
  | { kind: 'unknown'; score: number; weight: number }
  | {
      kind: 'ambiguous';
      score: number;
      weight: number;
      why: 'between-thresholds' | 'margin';
      /** A deny-listed person scored at least the deny bar in this frame (best or runner-up). */
      denied?: true;
    };

export interface VoteSummary {
  frames: number;
  noFace: number;
  lowQuality: number;
  unknown: number;
  ambiguous: number;
  spoof: number;
  /** Votes per identity. */
  identities: Record<string, number>;
}

export interface FaceDecision extends DecisionResult {
  /** True when the kiosk should act on it (and start a new window); false while still collecting frames. */
  final: boolean;
  votes: VoteSummary;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Weight of a good frame: face size and sharpness relative to twice the gate, each clamped to [0.25, 1]. */
export function frameWeight(q: { eyeDistancePx: number; sharpness: number }, gates: FaceQualityConfig): number {
  const size = clamp(q.eyeDistancePx / (2 * gates.minEyeDistancePx), 0.25, 1);
  const sharp = clamp(q.sharpness / (2 * Math.max(gates.minSharpness, 1e-9)), 0.25, 1);
  return size * sharp;
}

/**
 * Classify one frame. With `subject` (the watchlist's lists), a frame whose runner-up is a deny-listed person at or
 * above the accept threshold (or `denyAt`, if lower) is no vote for an allowed best match: it is `ambiguous` (margin), so the decision
 * refuses; an ambiguous frame with a deny-listed best or runner-up at that bar is marked `denied`. The margin alone let it through: a deny-listed person also enrolled on the allow list under another
 * record (a fresh photo there scores above an old still on the deny record), or a close look-alike of an allowed
 * person, was granted as the allowed one (attacker review, session 23).
 * Two deny-listed records at the bar need no margin between them: either leads to a deny (session 34).
 */
export function frameVote(
  o: FaceObservation,
  t: EmbedderThresholds,
  gates: FaceQualityConfig,
  pad?: PolicyContext['pad'],
  subject?: PolicyContext['subject'],
  denyAt: number = t.accept,
): FrameVote {
  if (o.faces === 0 || !o.quality) return { kind: 'no-face' };
  if (!o.quality.ok) return { kind: 'low-quality', reason: o.quality.reason ?? 'low quality' };
  // PAD on: a good face without a liveness score fails closed (a worker that skipped PAD must not open a door).
  if (pad && o.match && !(o.liveness !== undefined && o.liveness >= pad.liveThreshold)) {
    return { kind: 'spoof', liveness: o.liveness ?? 0 };
  }
  const weight = frameWeight(o.quality, gates);
  const best = o.match?.best ?? null;
  if (!best) return { kind: 'unknown', score: -1, weight };
  const runnerUp = o.match?.second ?? null;
  const second = runnerUp?.score ?? -1;
  const denyBar = Math.min(t.accept, denyAt);
  const deniedAt = (x: IdentityScore | null) => x !== null && x.score >= denyBar && subject?.(x.subjectId)?.list === 'deny';
  const denied = deniedAt(best) || deniedAt(runnerUp) ? { denied: true as const } : {};
  if (best.score >= t.accept) {
    const deniedRunnerUp = deniedAt(runnerUp) && subject?.(best.subjectId)?.list !== 'deny';
    // Two deny-listed records at the bar lead to the same outcome, so the margin between them does not matter: the
    // same banned face kept under two records (a desk merge, src/sync/plan.ts keepLocalRevocations) tied every frame,
    // and the window ended "uncertain", with no deny-list alert and nobody named (review, session 34).
    const bothDenied = deniedAt(best) && deniedAt(runnerUp);
    return (best.score - second >= t.margin || bothDenied) && !deniedRunnerUp
      ? { kind: 'identity', subjectId: best.subjectId, score: best.score, weight }
      : { kind: 'ambiguous', score: best.score, weight, why: 'margin', ...denied };
  }
  if (best.score < t.reject) return { kind: 'unknown', score: best.score, weight };
  return { kind: 'ambiguous', score: best.score, weight, why: 'between-thresholds', ...denied };
}

/**
 * A grant withheld for the active challenge (~10 s) is released only if its person is, at release, still enrolled,
 * still on the allow list (an admin or a bundle may have moved them to the deny list meanwhile) and valid at `wall`.
 * Any other decision passes unchanged.
 */
export function revalidateGrant(d: DecisionResult, s: SubjectInfo | undefined, wall: number): DecisionResult {
  if (d.outcome !== 'grant' || !d.subjectId) return d;
  if (s?.list === 'deny') return { ...d, outcome: 'deny-listed', reason: 'on the deny list' };
  if (s && validAt(s, wall)) return d;
  return { ...d, outcome: 'deny-unknown', reason: s ? 'enrolled but not valid at this time' : 'matched a person who is no longer enrolled' };
}

/** Frames that count now: inside the window, at most the last n, oldest first. */
export function framesInWindow(obs: readonly FaceObservation[], p: FacePolicyConfig, now: number): FaceObservation[] {
  return obs
    .filter((o) => o.at <= now && o.at > now - p.windowMs)
    .sort((a, b) => a.at - b.at)
    .slice(-p.n);
}

export function decideFace(observations: readonly FaceObservation[], ctx: PolicyContext): FaceDecision {
  const { thresholds: t, policy: p, quality: gates } = ctx;
  const frames = framesInWindow(observations, p, ctx.clock.monotonic());
  const votes = frames.map((o) => frameVote(o, t, gates, ctx.pad, ctx.subject, ctx.denyAt));
  const summary: VoteSummary = {
    frames: frames.length,
    noFace: 0,
    lowQuality: 0,
    unknown: 0,
    ambiguous: 0,
    spoof: 0,
    identities: {},
  };
  let minSpoof = Infinity;
  const idWeight = new Map<string, number>();
  const idBest = new Map<string, number>();
  let unknownWeight = 0;
  let goodWeight = 0;
  let lastLowQuality: string | null = null;
  let bestUnknown = -Infinity;
  let bestAmbiguous: { score: number; why: string } | null = null;
  let denied = 0;
  for (const v of votes) {
    switch (v.kind) {
      case 'no-face':
        summary.noFace++;
        break;
      case 'low-quality':
        summary.lowQuality++;
        lastLowQuality = v.reason;
        break;
      case 'spoof':
        summary.spoof++;
        minSpoof = Math.min(minSpoof, v.liveness);
        break;
      case 'identity':
        summary.identities[v.subjectId] = (summary.identities[v.subjectId] ?? 0) + 1;
        idWeight.set(v.subjectId, (idWeight.get(v.subjectId) ?? 0) + v.weight);
        idBest.set(v.subjectId, Math.max(idBest.get(v.subjectId) ?? -1, v.score));
        goodWeight += v.weight;
        break;
      case 'unknown':
        summary.unknown++;
        unknownWeight += v.weight;
        bestUnknown = Math.max(bestUnknown, v.score);
        goodWeight += v.weight;
        break;
      case 'ambiguous':
        summary.ambiguous++;
        goodWeight += v.weight;
        if (v.denied) denied++;
        if (!bestAmbiguous || v.score > bestAmbiguous.score) bestAmbiguous = { score: v.score, why: v.why };
        break;
    }
  }
  const out = (
    outcome: DecisionResult['outcome'],
    reason: string,
    final: boolean,
    extra: Partial<DecisionResult> = {},
  ) => ({ outcome, reason, final, mode: 'face', votes: summary, ...extra }) satisfies FaceDecision;

  const ids = Object.keys(summary.identities);
  // Lowest live probability among the frames that voted for someone: the guard reads it next to the score.
  const live = frames.flatMap((o, i) => (votes[i]!.kind === 'identity' && o.liveness !== undefined ? [o.liveness] : []));
  const liveExtra = ctx.pad && live.length > 0 ? { liveness: Math.min(...live) } : {};
  // 1. Deny list first: a listed person is refused even if another identity also collected votes. Votes for
  // deny-listed records count together: the same banned face kept under two records (a desk merge,
  // src/sync/plan.ts keepLocalRevocations) split its frames between them, and two identities ended "uncertain" with no
  // deny-list alert (review, session 34). The one with the most votes (then the best score) is named.
  const deniedIds = ids.filter((id) => ctx.subject(id)?.list === 'deny');
  const deniedVotes = deniedIds.reduce((n, id) => n + summary.identities[id]!, 0);
  if (deniedVotes >= p.k) {
    const named = deniedIds.reduce((a, b) =>
      summary.identities[b]! > summary.identities[a]! ||
      (summary.identities[b] === summary.identities[a] && idBest.get(b)! > idBest.get(a)!)
        ? b
        : a,
    );
    return out('deny-listed', 'on the deny list', true, { subjectId: named, score: idBest.get(named)!, ...liveExtra });
  }
  // 1b. A presentation attack: the frames that looked like a face did not look live. No identity is named.
  if (ctx.pad && summary.spoof >= ctx.pad.spoofVotes) {
    return out('deny-spoof', `presentation attack suspected (live ${minSpoof.toFixed(3)})`, true, {
      liveness: minSpoof,
    });
  }
  // 2. Two identities within one window: never pick one.
  if (ids.length > 1) return out('uncertain', 'frames matched different people', true);
  // 3. One identity with enough support.
  const id = ids[0];
  if (id !== undefined && summary.identities[id]! >= p.k && idWeight.get(id)! / goodWeight >= p.minWeightShare) {
    // Any frame of the window that failed PAD withholds the grant until it has left the window.
    if (summary.spoof > 0) return out('uncertain', 'some frames did not look live', false, liveExtra);
    // A frame in which a deny-listed person scored at the deny bar: Mallory (deny list) resembling Bob showed one
    // frame M .52 / B .50 and three of B .56 / M .44, and the three won Bob's grant (attacker review, session 32).
    // The frames where she scored lower are no evidence that it is not her. Final, so the window ends here and the
    // presence holds her: not a wait until that frame has left the window.
    if (denied > 0) return out('uncertain', 'a frame also matched someone on the deny list', true, liveExtra);
    // The grant is made on a frame of that person: a window already won (a photo of them, say, held up until a
    // frame failing PAD left the window) must not turn final on a frame showing someone else or nobody — the
    // kiosk anchors the active challenge, and the presence after the decision, on the deciding frame.
    const last = votes[votes.length - 1];
    if (last?.kind !== 'identity' || last.subjectId !== id) {
      return out('uncertain', 'waiting for a frame of the matched person', false, liveExtra);
    }
    const s = ctx.subject(id);
    const score = idBest.get(id)!;
    if (!s) return out('uncertain', 'matched a person who is no longer enrolled', true);
    if (!validAt(s, ctx.clock.wall())) {
      return out('deny-unknown', 'enrolled but not valid at this time', true, { subjectId: id, score });
    }
    return out('grant', `matched ${summary.identities[id]} of ${frames.length} frames`, true, {
      subjectId: id,
      score,
      ...liveExtra,
    });
  }
  // 4. Consistently nobody we know.
  if (summary.unknown >= p.k && unknownWeight / goodWeight >= p.minWeightShare) {
    return out('deny-unknown', 'not enrolled', true, { score: bestUnknown });
  }
  // 5. No decision from the evidence.
  const good = summary.unknown + summary.ambiguous + ids.reduce((s, i) => s + summary.identities[i]!, 0);
  if (good < p.k) {
    if (summary.lowQuality > 0 && summary.lowQuality >= summary.noFace) {
      return out('low-quality', lastLowQuality ?? 'low quality', false);
    }
    return out('no-face', 'no face', false);
  }
  const why =
    bestAmbiguous?.why === 'margin'
      ? 'too close to another enrolled person'
      : bestAmbiguous
        ? 'similarity between thresholds'
        : 'frames disagree';
  return out('uncertain', why, frames.length >= p.n, bestAmbiguous ? { score: bestAmbiguous.score } : {});
}

/** The policy's view of an analysed frame (largest face = faces[0]). */
export function observationFromAnalysis(a: FrameAnalysis, at: number): FaceObservation {
  const f = a.faces[0];
  if (!f) return { at, faces: 0 };
  const o: FaceObservation = {
    at,
    faces: Math.max(a.detections.length, a.faces.length),
    quality: {
      ok: f.quality.ok,
      reason: f.quality.reason,
      eyeDistancePx: f.quality.metrics.eyeDistancePx,
      sharpness: f.quality.metrics.sharpness,
    },
  };
  if (f.embedded || f.template) o.match = f.match ? { best: f.match.best, second: f.match.second } : { best: null, second: null };
  if (f.liveness !== undefined) o.liveness = f.liveness;
  return o;
}
