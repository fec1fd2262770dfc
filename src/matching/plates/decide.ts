/**
 * The plate access decision: consensus read + watchlist + config → one explicit outcome.
 *
 * Guard clauses in order, each ending in an outcome with one reason (the immich model): nothing read, too few
 * agreeing frames, not plate-like, no listed plate within the bound, two different subjects within the bound
 * (uncertain: refuse, never guess), a deny-listed plate, else grant. Thresholds come from `PlateMatchConfig`,
 * never constants. No storage, no logging side effects, no clock of its own: the caller passes the wall time
 * (`now`, from its Clock's wall()) that judges listed subjects' validity periods.
 */
import type { DecisionResult, ListKind, Subject } from '../../shared/types';
import { DEFAULT_TABLE, plateDistance, type ConfusionTable } from './confusion';
import { REGION_RULES, plateLikeness, type RegionRules } from './formats';
import { normalisePlate } from './normalise';
import type { Consensus } from './voting';
import { validAt } from '../validity';
import { PlateIndex } from './plate-index';

/** What decidePlate needs of a subject (a full Subject fits). */
export type PlateWatchEntry = Pick<Subject, 'id' | 'list' | 'plates'> &
  Partial<Pick<Subject, 'validFrom' | 'validUntil'>>;

export interface PlateMatchConfig {
  /** A listed plate matches when the confusion-weighted distance is at most this. Default 0.5: look-alikes only
   * (two strong ones or one medium); any clear character difference costs 1 and never matches. */
  maxDistance: number;
  /** A second subject within maxDistance + this margin makes the outcome uncertain. Default 0.25. */
  ambiguityMargin: number;
  /** Frames that must agree on the consensus. Default 2. */
  minSupport: number;
  /** Confidence share of the agreeing frames among all frames with a read. Default 0.6. */
  minAgreement: number;
  /** Minimum consensus confidence. Default 0.5. */
  minConfidence: number;
  /** Minimum plate-likeness of the consensus for the region. Default 0.3. */
  minLikeness: number;
  /** Region whose format rules judge plate-likeness. Default 'us'. */
  region: string;
}

export const DEFAULT_PLATE_MATCH: PlateMatchConfig = {
  maxDistance: 0.5,
  ambiguityMargin: 0.25,
  minSupport: 2,
  minAgreement: 0.6,
  minConfidence: 0.5,
  minLikeness: 0.3,
  region: 'us',
};

export interface PlateDecision extends DecisionResult {
  mode: 'plate';
  /** The consensus that was judged (stays on the device, for the admin debug view). */
  plate: string;
}

function rulesFor(region: string, custom?: RegionRules): RegionRules {
  return custom ?? REGION_RULES[region] ?? REGION_RULES.us!;
}

/** Validate a config at the boundary (bad values would silently widen matching). */
export function checkPlateMatchConfig(c: PlateMatchConfig): void {
  if (!(c.maxDistance >= 0 && c.maxDistance < 1))
    throw new RangeError(
      `maxDistance must be in [0, 1) so a clear one-character difference never matches, got ${c.maxDistance}`,
    );
  if (!(c.ambiguityMargin >= 0)) throw new RangeError(`ambiguityMargin must be >= 0, got ${c.ambiguityMargin}`);
  if (!(Number.isInteger(c.minSupport) && c.minSupport >= 1))
    throw new RangeError(`minSupport must be an integer >= 1, got ${c.minSupport}`);
  for (const k of ['minAgreement', 'minConfidence', 'minLikeness'] as const)
    if (!(c[k] >= 0 && c[k] <= 1)) throw new RangeError(`${k} must be in 0..1, got ${c[k]}`);
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
  const c = { ...DEFAULT_PLATE_MATCH, ...config };
  const now = opts.now;
  checkPlateMatchConfig(c);
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
  const scored =
    watchlist instanceof PlateIndex
      ? watchlist.near(plate, c.maxDistance + c.ambiguityMargin, table)
      : watchlist.map((entry) => ({ entry, d: bestDistance(plate, entry, table) }));
  for (const { entry: s, d: best } of scored) {
    if (!validAt(s, now)) {
      // Ties go to the smaller id, so the answer does not depend on the watchlist's order (list or index).
      if (best <= c.maxDistance && (!lapsed || best < lapsed.d || (best === lapsed.d && s.id < lapsed.id)))
        lapsed = { id: s.id, d: best };
      continue;
    }
    if (best <= c.maxDistance + c.ambiguityMargin) near.push({ id: s.id, list: s.list, d: best });
  }
  near.sort((a, b) => a.d - b.d);
  const within = near.filter((n) => n.d <= c.maxDistance);
  if (within.length === 0 && lapsed)
    return out('deny-unknown', 'enrolled but not valid at this time', { subjectId: lapsed.id, score: lapsed.d });
  if (within.length === 0) return out('deny-unknown', 'plate not on the list', near[0] ? { score: near[0].d } : {});
  if (near.length > 1) {
    return out('uncertain', `${near.length} listed plates are this close to the read`, { score: within[0]!.d });
  }
  const hit = within[0]!;
  if (hit.list === 'deny') return out('deny-listed', 'plate is on the deny list', { subjectId: hit.id, score: hit.d });
  return out('grant', hit.d === 0 ? 'plate matches exactly' : 'plate matches up to look-alike characters', {
    subjectId: hit.id,
    score: hit.d,
  });
}
