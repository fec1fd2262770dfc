/**
 * The plate access decision: consensus read + watchlist + config → one explicit outcome.
 *
 * Guard clauses in order, each ending in an outcome with one reason (the immich model): nothing read, too few
 * agreeing frames, not plate-like, no listed plate within the bound, a deny-listed plate within the bound (it
 * outranks everything after it), two different subjects within the bound (uncertain: refuse, never guess), else
 * grant. Thresholds come from `PlateMatchConfig`
 * (src/config/plate.ts: defaults, units, validation — CONFIG_INVALID on a bad value), never constants. No storage,
 * no logging side effects, no clock of its own: the caller passes the wall time (`now`, from its Clock's wall())
 * that judges listed subjects' validity periods.
 */
import type { DecisionResult, ListKind } from '../../shared/types';
import { DEFAULT_TABLE, plateDistance, type ConfusionTable } from './confusion';
import { REGION_RULES, plateLikeness, type RegionRules } from './formats';
import { MIN_PLATE_CHARS, normalisePlate } from './normalise';
import type { Consensus } from './voting';
import { validAt } from '../validity';
import { PlateIndex, type PlateWatchEntry } from './plate-index';
import { resolvePlateMatchConfig, type PlateMatchConfig } from '../../config/plate';

export interface PlateDecision extends DecisionResult {
  mode: 'plate';
  /** The consensus that was judged (stays on the device, for the admin debug view). */
  plate: string;
}

function rulesFor(region: string, custom?: RegionRules): RegionRules {
  // The region was validated (resolvePlateMatchConfig): an unknown one is refused, never judged by 'us' rules.
  return custom ?? REGION_RULES[region]!;
}

/**
 * `watchlist` is a PlateIndex on the kiosk (only plates within the bound are scored) or a plain list (every plate
 * is scored): both give the same decision.
 */
function bestDistance(plate: string, s: PlateWatchEntry, table: ConfusionTable): number {
  let best = Infinity;
  for (const p of s.plates) {
    const listed = normalisePlate(p);
    if (listed.length === 0) continue;
    best = Math.min(best, plateDistance(plate, listed, table));
  }
  return best;
}

export function decidePlate(
  consensus: Consensus,
  watchlist: readonly PlateWatchEntry[] | PlateIndex,
  config: Partial<PlateMatchConfig> = {},
  opts: { now: number; rules?: RegionRules; table?: ConfusionTable },
): PlateDecision {
  const c = resolvePlateMatchConfig(config);
  const now = opts.now;
  const table = opts.table ?? DEFAULT_TABLE;
  const plate = normalisePlate(consensus.text);
  const out = (
    outcome: DecisionResult['outcome'],
    reason: string,
    extra: Partial<PlateDecision> = {},
  ): PlateDecision => ({
    outcome,
    reason,
    mode: 'plate',
    plate,
    ...extra,
  });

  if (plate.length === 0) return out('low-quality', 'no plate read');
  if (consensus.support < c.minSupport) return out('low-quality', `only ${consensus.support} frame(s) agree`);
  if (consensus.agreement < c.minAgreement) return out('low-quality', 'frames disagree on the plate');
  if (consensus.confidence < c.minConfidence) return out('low-quality', 'read confidence too low');
  if (plateLikeness(plate, rulesFor(c.region, opts.rules), table).score < c.minLikeness)
    return out('low-quality', 'read does not look like a plate');

  // Best distance per subject among its currently valid plates.
  // A subject outside its validity period is not listed now; the closest such match only names the reason.
  const near: { id: string; list: ListKind; d: number }[] = [];
  let lapsed: { id: string; d: number } | null = null;
  // Listed plates outside their validity period are still cars on the road: one this close to the read makes it
  // as ambiguous as a valid one does (an expired person's own car must not be granted as a look-alike neighbour).
  let lapsedNear = 0;
  const scored =
    watchlist instanceof PlateIndex
      ? watchlist.near(plate, c.maxDistance + c.ambiguityMargin, table)
      : watchlist.map((entry) => ({ entry, d: bestDistance(plate, entry, table) }));
  for (const { entry: s, d: best } of scored) {
    if (!validAt(s, now)) {
      if (best <= c.maxDistance + c.ambiguityMargin) lapsedNear++;
      // Ties go to the smaller id, so the answer does not depend on the watchlist's order (list or index).
      if (best <= c.maxDistance && (!lapsed || best < lapsed.d || (best === lapsed.d && s.id < lapsed.id)))
        lapsed = { id: s.id, d: best };
      continue;
    }
    if (best <= c.maxDistance + c.ambiguityMargin) near.push({ id: s.id, list: s.list, d: best });
  }
  // Ties go to the smaller id, so which deny-listed plate is named does not depend on the watchlist's order.
  near.sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const within = near.filter((n) => n.d <= c.maxDistance);
  if (within.length === 0 && lapsed)
    return out('deny-unknown', 'enrolled but not valid at this time', { subjectId: lapsed.id, score: lapsed.d });
  if (within.length === 0) return out('deny-unknown', 'plate not on the list', near[0] ? { score: near[0].d } : {});
  // A deny-listed plate within the bound outranks the "too close" refusal, as on the face path: an uncertain
  // outcome raises no alert and names nobody, so enrolling a look-alike of a deny-listed car (8AD666 next to BAD666)
  // silenced its alert and left the guard one override away from letting it in (attacker review, session 24).
  const denied = within.find((n) => n.list === 'deny');
  if (denied) return out('deny-listed', 'plate is on the deny list', { subjectId: denied.id, score: denied.d });
  const close = near.length + lapsedNear;
  if (close > 1) return out('uncertain', `${close} listed plates are this close to the read`, { score: within[0]!.d });
  const hit = within[0]!;
  // The voted text can be a string no frame read (A8C1Z34 and A8C123A vote A8C1234, a look-alike of ABC1234 that
  // neither read is): a grant needs minSupport frames that each read the listed plate (attacker review, session 24).
  if (consensus.supporters) {
    const entry = scored.find((x) => x.entry.id === hit.id)?.entry;
    const own = entry ? entry.plates.map(normalisePlate).filter((p) => p.length > 0) : [];
    const reading = consensus.supporters.filter((r) => own.some((p) => plateDistance(r, p, table) <= c.maxDistance));
    if (reading.length < c.minSupport)
      return out('uncertain', 'no frames read the listed plate itself, only their vote', { score: hit.d });
  }
  // A listed plate of 1-3 characters (stored before entry refused them, or from an older tablet's bundle) opens
  // nothing: a "12" sticker or bay number read twice was its grant (attacker review, session 32). It still denies.
  if (plate.length < MIN_PLATE_CHARS) return out('uncertain', 'plate too short to grant on', { score: hit.d });
  return out('grant', hit.d === 0 ? 'plate matches exactly' : 'plate matches up to look-alike characters', {
    subjectId: hit.id,
    score: hit.d,
  });
}

/**
 * Ids of the subjects valid at `now` with a listed plate within the match bound of `text` (sorted). The presence rule
 * uses it to tell a car one character off the decided one from the decided car misread (src/matching/presence.ts).
 */
export function listedWithin(
  text: string,
  watchlist: readonly PlateWatchEntry[] | PlateIndex,
  config: Partial<PlateMatchConfig> = {},
  opts: { now: number; table?: ConfusionTable },
): string[] {
  const c = resolvePlateMatchConfig(config);
  const table = opts.table ?? DEFAULT_TABLE;
  const plate = normalisePlate(text);
  if (plate.length === 0) return [];
  const scored =
    watchlist instanceof PlateIndex
      ? watchlist.near(plate, c.maxDistance, table)
      : watchlist.map((entry) => ({ entry, d: bestDistance(plate, entry, table) }));
  return scored
    .filter(({ entry, d }) => d <= c.maxDistance && validAt(entry, opts.now))
    .map(({ entry }) => entry.id)
    .sort();
}

/**
 * A deny-listed plate anywhere in the frames behind a decision outranks it. The pipeline reports one plate per
 * frame (its best read), so a deny-listed car with an allow-listed plate beside it in view (a printed card, a
 * second car) was granted on the other plate and raised no alert (attacker review, session 24). `frames` holds each
 * frame's ranked alternatives. A deny-listed plate valid now that alternatives of at least `minSupport` frames read
 * within the match bound (each with the decision's minimum confidence and plate-likeness) turns the decision into
 * `deny-listed` for that subject: the same evidence a decision on the best read needs, so one frame's format-forced
 * decode (it carries its free read's confidence) cannot raise an alert alone. A decision that already is
 * `deny-listed` is returned unchanged.
 */
export function withDenyListedInView(
  decision: PlateDecision,
  frames: readonly (readonly { text: string; confidence: number }[])[],
  watchlist: readonly PlateWatchEntry[] | PlateIndex,
  config: Partial<PlateMatchConfig> = {},
  opts: { now: number; rules?: RegionRules; table?: ConfusionTable },
): PlateDecision {
  if (decision.outcome === 'deny-listed') return decision;
  const c = resolvePlateMatchConfig(config);
  const table = opts.table ?? DEFAULT_TABLE;
  const rules = rulesFor(c.region, opts.rules);
  const seen = new Map<string, { frames: number; d: number; plate: string }>();
  for (const frame of frames) {
    const inFrame = new Map<string, { d: number; plate: string }>();
    for (const cand of frame) {
      const plate = normalisePlate(cand.text);
      if (plate.length === 0 || cand.confidence < c.minConfidence) continue;
      if (plateLikeness(plate, rules, table).score < c.minLikeness) continue;
      const scored =
        watchlist instanceof PlateIndex
          ? watchlist.near(plate, c.maxDistance, table)
          : watchlist.map((entry) => ({ entry, d: bestDistance(plate, entry, table) }));
      for (const { entry, d } of scored) {
        if (entry.list !== 'deny' || d > c.maxDistance || !validAt(entry, opts.now)) continue;
        const had = inFrame.get(entry.id);
        if (!had || d < had.d) inFrame.set(entry.id, { d, plate });
      }
    }
    for (const [id, hit] of inFrame) {
      const had = seen.get(id);
      seen.set(
        id,
        had
          ? { frames: had.frames + 1, d: Math.min(had.d, hit.d), plate: hit.d < had.d ? hit.plate : had.plate }
          : { frames: 1, ...hit },
      );
    }
  }
  let found: { id: string; d: number; plate: string } | null = null;
  for (const [id, hit] of seen) {
    if (hit.frames < c.minSupport) continue;
    if (!found || hit.d < found.d || (hit.d === found.d && id < found.id)) found = { id, d: hit.d, plate: hit.plate };
  }
  if (!found) return decision;
  return {
    outcome: 'deny-listed',
    reason: 'a deny-listed plate is in view',
    mode: 'plate',
    plate: found.plate,
    subjectId: found.id,
    score: found.d,
  };
}
