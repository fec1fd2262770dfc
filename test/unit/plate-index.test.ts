/**
 * The plate index must decide exactly as scoring every listed plate does: random watchlists full of look-alike
 * plates, random reads (exact, one or two look-alike swaps, a clear change, a missing or extra character), several
 * bounds (below and above one insertion), validity periods; then per-subject edits and deletes.
 */
import { describe, expect, it } from 'vitest';
import {
  decidePlate,
  makeConfusionTable,
  PlateIndex,
  type Consensus,
  type PlateWatchEntry,
} from '../../src/matching/plates';
import type { PlateMatchConfig } from '../../src/config/plate';

const NOW = Date.UTC(2026, 11, 4);
const ALPHA = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789OIQ';
const LOOK = ['O0', 'I1', 'B8', 'S5', 'Z2', 'G6', 'DO', 'Q0', 'UV', 'MN'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function mutate(p: string, r: () => number): string {
  const c = [...p];
  const i = Math.floor(r() * c.length);
  const kind = r();
  if (kind < 0.5) {
    const pair = LOOK[Math.floor(r() * LOOK.length)]!;
    c[i] = c[i] === pair[0] ? pair[1]! : pair[0]!;
  } else if (kind < 0.7) c[i] = ALPHA[Math.floor(r() * ALPHA.length)]!;
  else if (kind < 0.85) c.splice(i, 1);
  else c.splice(i, 0, ALPHA[Math.floor(r() * ALPHA.length)]!);
  return c.join('');
}

function watchlist(r: () => number, n: number): PlateWatchEntry[] {
  const out: PlateWatchEntry[] = [];
  let prev = 'AB12CDE';
  for (let i = 0; i < n; i++) {
    // Half the plates are look-alikes of the previous one: many near-ties and ambiguities.
    const fresh = Array.from({ length: 5 + Math.floor(r() * 4) }, () => ALPHA[Math.floor(r() * ALPHA.length)]).join('');
    const p = r() < 0.5 ? mutate(prev, r) : fresh;
    prev = p;
    const e: PlateWatchEntry = { id: `s${i}`, list: r() < 0.2 ? 'deny' : 'allow', plates: r() < 0.3 ? [p, mutate(p, r)] : [p] };
    if (r() < 0.15) e.validUntil = NOW - 1;
    out.push(e);
  }
  return out;
}

const consensus = (text: string): Consensus => ({ text, confidence: 0.9, support: 3, frames: 3, agreement: 1 });

describe('PlateIndex', () => {
  it.each<[Partial<PlateMatchConfig>, string]>([
    [{}, 'default bound (0.5 + 0.25)'],
    [{ maxDistance: 0.2, ambiguityMargin: 0 }, 'tight bound'],
    [{ maxDistance: 0.9, ambiguityMargin: 0.6 }, 'bound past one insertion'],
  ])('decides exactly as the full scan: %j (%s)', (config) => {
    const r = rng(42);
    const list = watchlist(r, 600);
    const ix = PlateIndex.from(list);
    for (let q = 0; q < 200; q++) {
      const base = list[Math.floor(r() * list.length)]!.plates[0]!;
      const read = r() < 0.3 ? base : r() < 0.8 ? mutate(base, r) : mutate(mutate(base, r), r);
      const a = decidePlate(consensus(read), list, { ...config, minLikeness: 0 }, { now: NOW });
      const b = decidePlate(consensus(read), ix, { ...config, minLikeness: 0 }, { now: NOW });
      expect(b, read).toEqual(a);
    }
  });

  it('follows per-subject edits and deletes, and a custom confusion table', () => {
    const table = makeConfusionTable([['A', '4', 0.1]]);
    const list: PlateWatchEntry[] = [
      { id: 'a', list: 'allow', plates: ['AB123'] },
      { id: 'b', list: 'allow', plates: ['XY999'] },
    ];
    const ix = PlateIndex.from(list);
    expect(ix.size).toBe(2);
    const decide = (read: string) => decidePlate(consensus(read), ix, { minLikeness: 0 }, { now: NOW, table });
    expect(decide('4B123')).toMatchObject({ outcome: 'grant', subjectId: 'a' });
    // Expire a, move b to the deny list, then delete b: each answer changes at once.
    ix.set({ ...list[0]!, validUntil: NOW - 1 });
    expect(decide('AB123')).toMatchObject({ outcome: 'deny-unknown', subjectId: 'a' });
    ix.set({ ...list[1]!, list: 'deny' });
    expect(decide('XY999')).toMatchObject({ outcome: 'deny-listed', subjectId: 'b' });
    ix.delete('b');
    expect(decide('XY999')).toMatchObject({ outcome: 'deny-unknown', reason: 'plate not on the list' });
    expect(ix.size).toBe(1);
    ix.set({ id: 'a', list: 'allow', plates: [] });
    expect(ix.size).toBe(0);
  });
});
