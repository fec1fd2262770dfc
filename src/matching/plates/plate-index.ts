/**
 * An index of the watchlist's plates for the per-frame plate decision: which listed subjects have a plate within a
 * confusion-weighted distance bound of a read, without scoring every listed plate.
 *
 * Owns normalised copies of the listed plates (no labels, no templates), bucketed by length, and is updated per
 * subject (`set`, `delete`), so an edit of one person costs one bucket change. Pure and synchronous: no storage, no
 * clock, no I/O. It must never answer differently from scoring every plate with `plateDistance`: it skips only
 * plates whose distance provably exceeds the bound (a length difference costs at least one insertion or deletion
 * each; below the cheaper of the two, only a same-length, character-by-character alignment can be within the bound,
 * and below 1 its first character must be the read's or one of its look-alikes — plates are bucketed by it),
 * and the unit tests compare it with the full scan.
 */
import { DEFAULT_TABLE, lookAlikes, plateDistance, substitutionCost, type ConfusionTable } from './confusion';
import { normalisePlate } from './normalise';
import type { Subject } from '../../shared/types';

/** What decidePlate and the index need of a subject (a full Subject fits). */
export type PlateWatchEntry = Pick<Subject, 'id' | 'list' | 'plates'> &
  Partial<Pick<Subject, 'validFrom' | 'validUntil'>>;

interface Slot {
  entry: PlateWatchEntry;
  plate: string;
  chars: string[];
}

export interface PlateNear {
  entry: PlateWatchEntry;
  /** Best distance among the subject's listed plates. */
  d: number;
}

export class PlateIndex {
  private readonly bySubject = new Map<string, Slot[]>();
  /** length → first character → plates. */
  private readonly byLength = new Map<number, Map<string, Set<Slot>>>();
  private plates = 0;

  static from(entries: Iterable<PlateWatchEntry>): PlateIndex {
    const ix = new PlateIndex();
    for (const e of entries) ix.set(e);
    return ix;
  }

  /** Listed plates held. */
  get size(): number {
    return this.plates;
  }

  /** Add or replace one subject (its list, validity and plates as they are now). */
  set(entry: PlateWatchEntry): void {
    this.delete(entry.id);
    const slots: Slot[] = [];
    for (const raw of new Set(entry.plates.map(normalisePlate))) {
      if (!raw) continue;
      const chars = [...raw];
      const slot: Slot = { entry, plate: raw, chars };
      slots.push(slot);
      let byFirst = this.byLength.get(chars.length);
      if (!byFirst) this.byLength.set(chars.length, (byFirst = new Map()));
      let bucket = byFirst.get(chars[0]!);
      if (!bucket) byFirst.set(chars[0]!, (bucket = new Set()));
      bucket.add(slot);
    }
    if (slots.length > 0) this.bySubject.set(entry.id, slots);
    this.plates += slots.length;
  }

  delete(id: string): void {
    const slots = this.bySubject.get(id);
    if (!slots) return;
    for (const s of slots) this.byLength.get(s.chars.length)?.get(s.chars[0]!)?.delete(s);
    this.plates -= slots.length;
    this.bySubject.delete(id);
  }

  clear(): void {
    this.bySubject.clear();
    this.byLength.clear();
    this.plates = 0;
  }

  /**
   * Every subject with a listed plate within `bound` of the normalised read `plate`, with its best distance (the
   * same number plateDistance gives). Subjects farther than the bound are not returned.
   */
  near(plate: string, bound: number, table: ConfusionTable = DEFAULT_TABLE): PlateNear[] {
    const best = new Map<string, PlateNear>();
    const consider = (slot: Slot, d: number): void => {
      if (d > bound) return;
      const cur = best.get(slot.entry.id);
      if (!cur || d < cur.d) best.set(slot.entry.id, { entry: slot.entry, d });
    };
    const chars = [...plate];
    const indel = Math.min(table.insert, table.delete);
    const shift = indel > 0 ? Math.floor(bound / indel) : Infinity;
    for (const [len, byFirst] of this.byLength) {
      if (Math.abs(len - chars.length) > shift) continue;
      if (len === chars.length && bound < indel && len > 0) {
        // No insertion or deletion fits in the bound, so the character-by-character alignment is the only one
        // that can: sum its substitutions in plateDistance's order and stop once past the bound. Its first
        // character must already be the read's or a look-alike within the bound (a full substitution costs 1).
        const firsts = bound < 1 ? [chars[0]!, ...lookAlikes(chars[0]!, bound, table)] : [...byFirst.keys()];
        for (const f of firsts) {
          for (const slot of byFirst.get(f) ?? []) {
            // (The slack covers float noise that plateDistance's rounding would remove.)
            let d = 0;
            for (let i = 0; i < len && d <= bound + 1e-6; i++) d += substitutionCost(chars[i]!, slot.chars[i]!, table);
            consider(slot, Math.round(d * 1e6) / 1e6);
          }
        }
        continue;
      }
      for (const bucket of byFirst.values()) for (const slot of bucket) consider(slot, plateDistance(plate, slot.plate, table));
    }
    return [...best.values()];
  }
}
