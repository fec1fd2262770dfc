/**
 * Multi-frame voting: turn a burst of per-frame plate reads into one consensus string, or say there is none.
 *
 * Owns how frames agree: reads are normalised, grouped with the confusion-weighted distance (a read one look-alike
 * or one edit away from the group joins it), the group with the most confidence wins, and within it each position
 * is voted among reads of the winning length. Only reads within `supportDistance` of the voted text (look-alikes)
 * count as its support and weight: a read one clear character away is another plate, and counting it let one frame
 * of a listed plate plus one of a car a character off make the two agreeing frames a grant needs (attacker review,
 * session 19). It never decides access (decide.ts does) and keeps no state between calls: the caller holds the
 * window of recent reads.
 */
import { DEFAULT_TABLE, plateDistance, type ConfusionTable } from './confusion';
import { normalisePlate } from './normalise';

export interface FrameRead {
  text: string;
  /** Reader confidence 0..1 for the whole string. */
  confidence: number;
}

export interface Consensus {
  /** The voted plate (normalised), '' when nothing usable was read. */
  text: string;
  /** Mean confidence of the reads that support the consensus, times their share of all confidence. */
  confidence: number;
  /** Frames whose read is the voted plate up to look-alikes (VoteOptions.supportDistance). */
  support: number;
  /** Frames with any non-empty read. */
  frames: number;
  /** Confidence share of the winning group among all non-empty reads (0..1). */
  agreement: number;
  /**
   * The supporting reads themselves (normalised). The voted text is built position by position, so it can be a
   * string no frame read; decide.ts checks that enough of these reads each match the plate it grants.
   */
  supporters?: readonly string[];
}

export interface VoteOptions {
  /** Reads within this distance of a group's representative join it. Default 1 (one edit or look-alikes). */
  groupDistance: number;
  /** Reads below this confidence are ignored. Default 0.3. */
  minConfidence: number;
  /**
   * Reads within this distance of the voted text support it (count in `support`, `agreement`, `confidence`).
   * Default 0.5: look-alike characters only, the decision's own bound (PlateMatchConfig.maxDistance).
   */
  supportDistance: number;
}

export const DEFAULT_VOTE: VoteOptions = { groupDistance: 1, minConfidence: 0.3, supportDistance: 0.5 };

export const NO_CONSENSUS: Consensus = { text: '', confidence: 0, support: 0, frames: 0, agreement: 0 };

export function voteConsensus(
  reads: readonly FrameRead[],
  opts: Partial<VoteOptions> = {},
  table: ConfusionTable = DEFAULT_TABLE,
): Consensus {
  const o = { ...DEFAULT_VOTE, ...opts };
  const usable = reads
    .map((r) => ({ text: normalisePlate(r.text), confidence: Math.min(1, Math.max(0, r.confidence)) }))
    .filter((r) => r.text.length > 0 && r.confidence >= o.minConfidence);
  if (usable.length === 0) return { ...NO_CONSENSUS, frames: 0 };

  // Groups seeded by the most confident reads first, so a noisy early frame cannot become the representative.
  const sorted = usable.slice().sort((a, b) => b.confidence - a.confidence);
  const groups: { rep: string; members: typeof usable }[] = [];
  for (const r of sorted) {
    let best: (typeof groups)[number] | undefined;
    let bestD = Infinity;
    for (const g of groups) {
      const d = plateDistance(r.text, g.rep, table);
      if (d <= o.groupDistance && d < bestD) {
        best = g;
        bestD = d;
      }
    }
    if (best) best.members.push(r);
    else groups.push({ rep: r.text, members: [r] });
  }
  const weight = (g: (typeof groups)[number]) => g.members.reduce((s, m) => s + m.confidence, 0);
  const total = usable.reduce((s, r) => s + r.confidence, 0);
  groups.sort((a, b) => weight(b) - weight(a) || b.members.length - a.members.length);
  const win = groups[0]!;

  // Most supported length, then a confidence-weighted vote per position among reads of that length.
  const byLen = new Map<number, number>();
  for (const m of win.members) byLen.set([...m.text].length, (byLen.get([...m.text].length) ?? 0) + m.confidence);
  const len = [...byLen.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  const same = win.members.filter((m) => [...m.text].length === len);
  let text = '';
  for (let i = 0; i < len; i++) {
    const votes = new Map<string, number>();
    for (const m of same) {
      const c = [...m.text][i]!;
      votes.set(c, (votes.get(c) ?? 0) + m.confidence);
    }
    text += [...votes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  }
  const supporters = win.members.filter((m) => plateDistance(m.text, text, table) <= o.supportDistance);
  const w = supporters.reduce((s, m) => s + m.confidence, 0);
  const agreement = total > 0 ? w / total : 0;
  return {
    text,
    confidence: supporters.length > 0 ? (w / supporters.length) * agreement : 0,
    support: supporters.length,
    frames: usable.length,
    agreement,
    supporters: supporters.map((m) => m.text),
  };
}
