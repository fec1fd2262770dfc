/**
 * One decision per presence: after the kiosk decided about someone, it stays quiet about that same person (the face
 * it decided on, or the same plate) until they left the view or a cool-down passed, so a person standing at the
 * door is not granted, signed and actuated again every few seconds.
 *
 * Owns: the presence state (what was decided on, when, when it was last seen) and the rules that end it. The
 * "same person" test is the face template the pipeline already makes (cosine against the decided frame's template,
 * at the embedder's reject threshold: below it the policy itself would call them a different person) or the plate
 * text (confusion-aware distance, so one misread frame does not start a second decision). A face seen without a
 * template (it failed a quality gate) keeps the presence alive: a different person is told apart as soon as one of
 * their frames is good enough to embed, and only a good frame could be decided on anyway. Without a template on this
 * thread (the worker keeps them unless the active challenge needs them) the worker's 1:N match of the embedded face
 * tells: the decided person's own id at or above the reject threshold is them, another listed person at or above the
 * accept threshold is someone else, and anything between keeps the presence (a weak frame of the decided person
 * must not start a second grant). Before, any face counted as the decided person there, so a deny-listed person who
 * stepped in right behind a granted one got no decision and no alert on the guard screen for the whole cool-down
 * (attacker review, session 23). Plates likewise: a read within one edit of the decided plate is that car unless it
 * matches a listed plate the decision did not (a deny-listed ABC1235 right behind a granted ABC1234 was held back
 * for the cool-down; attacker review, session 24).
 * Must never: decide access, read a clock (the caller passes monotonic times), or keep anything beyond the one
 * template in memory. Pure functions; inputs are never modified.
 */
import { cosineSimilarity } from './face/similarity';
import { plateDistance } from './plates/confusion';

export interface PresenceConfig {
  /** After this long (ms) a person still standing there may be decided again. */
  cooldownMs: number;
  /** No sign of the person for this long (ms) = they left the view. */
  leaveMs: number;
  /** Cosine at or above which a face is the decided person (the embedder's reject threshold). */
  sameFace: number;
  /** Match score at or above which a face is surely another listed person (the accept threshold); default sameFace. */
  otherFace?: number;
  /** Plate distance (confusion-weighted edits) at or below which a read is the decided plate. */
  samePlate: number;
}

/** Leave time when a setting does not say: about two analysed frames on a loaded 2-core tablet. */
export const DEFAULT_LEAVE_MS = 1_500;
/** Plate reads within one look-alike or one edit of the decided plate are that plate. */
export const DEFAULT_SAME_PLATE = 1;

/**
 * What a decision was about: the decided frame's face template (null when that frame had none) and the listed person
 * it was about (null: nobody listed; absent: not known, e.g. a manual override), or the plate.
 */
export type PresenceKey =
  | { kind: 'face'; template: Float32Array | null; subjectId?: string | null }
  | {
      kind: 'plate';
      text: string;
      /** Listed subjects within the match bound of the decided read (absent: not known, e.g. a manual override). */
      listed?: readonly string[];
    };

export interface Presence {
  key: PresenceKey;
  /** Monotonic ms of the decision. */
  decidedAt: number;
  /** Monotonic ms the person was last seen. */
  lastSeen: number;
}

/**
 * What one analysed frame showed: how many faces (or plate boxes) were found, and the templates (or plate texts) of
 * those the pipeline could read. A face or plate found but not read keeps a presence alive without confirming it.
 */
export type Sighting =
  | {
      kind: 'face';
      found: number;
      templates: readonly Float32Array[];
      /** The worker's best match of each embedded face (subjectId null: nobody listed scored at all). */
      matches?: readonly { subjectId: string | null; score: number }[];
    }
  | {
      kind: 'plate';
      found: number;
      texts: readonly string[];
      /** Per text, the listed subjects within the match bound of it (listedWithin in plates/decide.ts). */
      listed?: readonly (readonly string[])[];
    };

export type PresenceEnd = 'left' | 'cooldown' | 'someone-else' | 'mode';

export interface PresenceStep {
  /** The presence still holding decisions back, or null when the next decision may be made. */
  presence: Presence | null;
  /** Why a presence ended on this frame (absent when none was held or it goes on). */
  ended?: PresenceEnd;
}

/** Starts a presence at the moment of a decision. */
export function beginPresence(key: PresenceKey, at: number): Presence {
  return { key, decidedAt: at, lastSeen: at };
}

/** Whether `seen` shows the decided person: true (them), false (someone else), null (nobody to compare). */
function showsSamePerson(key: PresenceKey, seen: Sighting, cfg: PresenceConfig): boolean | null {
  if (key.kind === 'face' && seen.kind === 'face') {
    const anchor = key.template;
    if (anchor && seen.templates.length > 0)
      return seen.templates.some((t) => t.length === anchor.length && cosineSimilarity(t, anchor) >= cfg.sameFace);
    const matches = seen.matches ?? [];
    if (key.subjectId !== undefined && matches.length > 0) {
      const who = key.subjectId;
      if (who !== null && matches.some((m) => m.subjectId === who && m.score >= cfg.sameFace)) return true;
      const other = cfg.otherFace ?? cfg.sameFace;
      if (matches.every((m) => m.subjectId !== null && m.subjectId !== who && m.score >= other)) return false;
    }
    return seen.found > 0 ? true : null;
  }
  if (key.kind === 'plate' && seen.kind === 'plate') {
    if (seen.texts.length === 0) return seen.found > 0 ? true : null;
    const decided = key.listed;
    return seen.texts.some(
      (t, i) =>
        plateDistance(t, key.text) <= cfg.samePlate &&
        // A read that matches a listed plate the decision did not is another car, however close to the decided text.
        !(decided && (seen.listed?.[i] ?? []).some((id) => !decided.includes(id))),
    );
  }
  return false;
}

/**
 * Moves a presence on by one analysed frame at monotonic time `at`. Ends it when the cool-down passed, when the frame
 * shows only someone else, or when nobody was seen for `leaveMs`; otherwise a sighting of the person refreshes it.
 */
export function observePresence(p: Presence | null, seen: Sighting, at: number, cfg: PresenceConfig): PresenceStep {
  if (!p) return { presence: null };
  if (p.key.kind !== seen.kind) return { presence: null, ended: 'mode' };
  if (at - p.decidedAt >= cfg.cooldownMs) return { presence: null, ended: 'cooldown' };
  const same = showsSamePerson(p.key, seen, cfg);
  if (same === false) return { presence: null, ended: 'someone-else' };
  if (same === true) return { presence: { ...p, lastSeen: Math.max(p.lastSeen, at) } };
  if (at - p.lastSeen >= cfg.leaveMs) return { presence: null, ended: 'left' };
  return { presence: p };
}
