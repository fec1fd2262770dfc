/**
 * The pure plan function of the watchlist sync (src/sync/plan.ts): what the store is told to write for a full or
 * delta bundle, and the refusals (older version, delta from another base, self-contradicting contents).
 */
import { describe, expect, test } from 'vitest';
import { applyPlan, changesSince, diffWatchlists, keepLocalRevocations, sameSubject } from '../../src/sync/plan';
import type { BundleContents, DeltaContents, FullContents } from '../../src/sync/types';
import type { Subject } from '../../src/shared/types';
import { isKioskError } from '../../src/shared/errors';

function subject(id: string, version = 1, seed = 1): Subject {
  const t = new Float32Array(8).map((_, i) => Math.sin(seed * 7 + i));
  return {
    id,
    label: `Person ${id}`,
    list: 'allow',
    templates: { fr_feature: [t] },
    plates: [],
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000 + version,
    version,
  };
}

function full(version: number, subjects: Subject[]): FullContents {
  return { kind: 'full', version, baseVersion: 0, createdAt: 1, issuerKeyId: 'ab', subjects };
}

function delta(baseVersion: number, version: number, upserts: Subject[], deletions: string[]): DeltaContents {
  return { kind: 'delta', version, baseVersion, createdAt: 1, issuerKeyId: 'ab', upserts, deletions };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKioskError(e)) return `${e.code}:${String(e.details?.reason ?? '')}`;
    throw e;
  }
  return undefined;
}

const ids = (s: readonly Subject[]) => s.map((x) => x.id);

describe('applyPlan: full bundles', () => {
  test('replaces the whole set; deletes what is no longer listed; puts every listed subject', () => {
    const current = { version: 3, subjects: [subject('a'), subject('b'), subject('c')] };
    const plan = applyPlan(current, full(4, [subject('d'), subject('b', 4, 9)]));
    expect(plan).toMatchObject({ kind: 'full', fromVersion: 3, toVersion: 4 });
    expect(ids(plan.subjects)).toEqual(['b', 'd']);
    expect(plan.subjects.find((s) => s.id === 'b')!.version).toBe(4);
    expect(plan.deletes).toEqual(['a', 'c']);
    expect(ids(plan.puts).sort()).toEqual(['b', 'd']);
  });

  test('a fresh kiosk (version 0) takes a full bundle; an empty full bundle clears the list', () => {
    expect(ids(applyPlan({ version: 0, subjects: [] }, full(1, [subject('x')])).subjects)).toEqual(['x']);
    const cleared = applyPlan({ version: 1, subjects: [subject('x')] }, full(2, []));
    expect(cleared.subjects).toEqual([]);
    expect(cleared.deletes).toEqual(['x']);
  });

  test('refuses the same or an older version', () => {
    const current = { version: 5, subjects: [subject('a')] };
    expect(codeOf(() => applyPlan(current, full(5, [])))).toBe('BUNDLE_ROLLBACK:not-newer');
    expect(codeOf(() => applyPlan(current, full(4, [subject('z')])))).toBe('BUNDLE_ROLLBACK:not-newer');
    expect(codeOf(() => applyPlan(current, full(Number.NaN, [])))).toBe('BUNDLE_ROLLBACK:not-newer');
  });

  test('refuses duplicate ids', () => {
    expect(codeOf(() => applyPlan({ version: 0, subjects: [] }, full(1, [subject('a'), subject('a', 2)])))).toBe(
      'BUNDLE_INVALID:payload',
    );
  });
});

describe('applyPlan: delta bundles', () => {
  test('upserts replace or insert, deletions remove, the rest is untouched', () => {
    const a = subject('a');
    const current = { version: 7, subjects: [a, subject('b'), subject('c')] };
    const plan = applyPlan(current, delta(7, 8, [subject('b', 8, 5), subject('e', 8)], ['c']));
    expect(plan).toMatchObject({ kind: 'delta', fromVersion: 7, toVersion: 8, deletes: ['c'] });
    expect(ids(plan.subjects)).toEqual(['a', 'b', 'e']);
    expect(plan.subjects[0]).toBe(a);
    expect(plan.subjects[1]!.version).toBe(8);
    expect(ids(plan.puts)).toEqual(['b', 'e']);
  });

  test('deleting an id that is not installed is a no-op, not a write', () => {
    const plan = applyPlan({ version: 1, subjects: [subject('a')] }, delta(1, 2, [], ['ghost', 'a']));
    expect(plan.deletes).toEqual(['a']);
    expect(plan.subjects).toEqual([]);
  });

  test('refuses a delta whose base is not the installed version, in both directions', () => {
    const current = { version: 7, subjects: [] };
    expect(codeOf(() => applyPlan(current, delta(6, 8, [], [])))).toBe('BUNDLE_ROLLBACK:base-mismatch');
    expect(codeOf(() => applyPlan(current, delta(8, 9, [], [])))).toBe('BUNDLE_ROLLBACK:base-mismatch');
    expect(codeOf(() => applyPlan(current, delta(7, 8, [], [])))).toBeUndefined();
  });

  test('refuses a delta that is not newer, even from the installed base', () => {
    expect(codeOf(() => applyPlan({ version: 7, subjects: [] }, delta(7, 7, [], [])))).toBe(
      'BUNDLE_ROLLBACK:not-newer',
    );
  });

  test('refuses an id both upserted and deleted, and duplicate upserts or deletions', () => {
    const current = { version: 1, subjects: [subject('a')] };
    expect(codeOf(() => applyPlan(current, delta(1, 2, [subject('a')], ['a'])))).toBe('BUNDLE_INVALID:payload');
    expect(codeOf(() => applyPlan(current, delta(1, 2, [subject('b'), subject('b')], [])))).toBe(
      'BUNDLE_INVALID:payload',
    );
    expect(codeOf(() => applyPlan(current, delta(1, 2, [], ['a', 'a'])))).toBe('BUNDLE_INVALID:payload');
  });

  test('never mutates its inputs', () => {
    const subjects = [subject('a'), subject('b')];
    const current = { version: 1, subjects };
    const contents = delta(1, 2, [subject('c', 2)], ['a']);
    const before = JSON.stringify({ current, contents });
    applyPlan(current, contents);
    expect(JSON.stringify({ current, contents })).toBe(before);
    expect(ids(subjects)).toEqual(['a', 'b']);
  });

  test('refuses a corrupt installed state instead of planning on it', () => {
    expect(codeOf(() => applyPlan({ version: -1, subjects: [] }, full(1, [])))).toBe('INPUT_INVALID:installed-version');
    expect(codeOf(() => applyPlan({ version: 1, subjects: [subject('a'), subject('a')] }, full(2, [])))).toBe(
      'INPUT_INVALID:installed-duplicate-id',
    );
  });
});

describe('admin side: deltas', () => {
  test('diffWatchlists + applyPlan reproduce the next snapshot exactly', () => {
    const base = [subject('a'), subject('b'), subject('c')];
    const changedB = { ...subject('b'), label: 'renamed' };
    const next = [subject('a'), changedB, subject('d', 2)];
    const changes = diffWatchlists(base, next);
    expect(ids(changes.upserts)).toEqual(['b', 'd']);
    expect(changes.deletions).toEqual(['c']);
    const plan = applyPlan({ version: 1, subjects: base }, delta(1, 2, changes.upserts, changes.deletions));
    expect(plan.subjects).toEqual([...next].sort((x, y) => (x.id < y.id ? -1 : 1)));
  });

  test('a template that differs only in bit pattern (-0 vs 0) counts as a change', () => {
    const a = subject('a');
    const b = subject('a');
    b.templates['fr_feature']![0]![3] = 0;
    a.templates['fr_feature']![0]![3] = -0;
    expect(sameSubject(a, b)).toBe(false);
    b.templates['fr_feature']![0]![3] = -0;
    expect(sameSubject(a, b)).toBe(true);
  });

  test('changesSince picks subjects changed after the base and tombstones after it, not re-created ids', () => {
    const subjects = [subject('a', 1), subject('b', 3), subject('c', 5)];
    const tombstones = [
      { id: 'x', version: 2 },
      { id: 'y', version: 4 },
      { id: 'c', version: 4 },
    ];
    const d = changesSince(subjects, tombstones, 3);
    expect(ids(d.upserts)).toEqual(['c']);
    expect(d.deletions).toEqual(['y']);
  });
});

test('a plan for every kind of contents is total (type check of the union)', () => {
  const contents: BundleContents[] = [full(1, []), delta(0, 1, [], [])];
  for (const c of contents) expect(applyPlan({ version: 0, subjects: [] }, c).toVersion).toBe(1);
});

describe('keepLocalRevocations: people revoked on this tablet stay revoked over a bundle', () => {
  test('a record the bundle writes goes in denied or ended; what it does not write is left as installed', () => {
    // Four faces (the same template on two records is one face listed twice: see the copies test below).
    const installed = [subject('a'), { ...subject('b', 1, 2), list: 'deny' as const }, subject('c', 1, 3)];
    const later = { ...subject('d', 1, 4), validFrom: 5_000 };
    const plan = applyPlan({ version: 1, subjects: installed }, delta(1, 2, [subject('a', 2), later], []));
    const { plan: out, kept } = keepLocalRevocations(plan, { a: { deny: true }, b: { deny: true }, d: { until: 4_000 } }, installed);
    expect(kept).toEqual(['a', 'd']);
    expect(out.puts.map((p) => [p.id, p.list, p.validUntil])).toEqual([
      ['a', 'deny', undefined],
      ['d', 'allow', 5_000], // ended before it began: never valid (validUntil is exclusive)
    ]);
    expect(out.subjects.find((x) => x.id === 'a')?.list).toBe('deny');
    // b is not in the bundle: its stored record (already denied here) is not rewritten.
    expect(out.puts.some((p) => p.id === 'b')).toBe(false);
    expect(out.deletes).toEqual(plan.deletes);
    // Installed as ended, it is not rewritten (or counted) again: d, which had not begun by then, included.
    const again = applyPlan({ version: 2, subjects: out.subjects }, delta(2, 3, [], []));
    expect(keepLocalRevocations(again, { a: { deny: true }, b: { deny: true }, d: { until: 4_000 } }, out.subjects)).toMatchObject({
      kept: [],
      plan: { puts: [] },
    });
    // An earlier end in the bundle itself is kept as it is; the inputs are not mutated.
    const sooner = applyPlan({ version: 1, subjects: [] }, full(2, [{ ...subject('e'), validUntil: 1_000 }]));
    expect(keepLocalRevocations(sooner, { e: { until: 2_000 } }, [])).toMatchObject({ kept: [] });
    expect(plan.puts[0]!.list).toBe('allow');
  });

  test('a deny-listed record enrolled here stays when a bundle leaves it out; nothing else is kept that way', () => {
    // Attacker review (session 33): "Bob (banned)", enrolled on the deny list at the kiosk, was deleted by the desk's
    // next full bundle, and Bob's allow record on the desk's list then matched alone.
    // Four faces (identical templates would be one face listed four times: see the next test).
    const banned = { ...subject('m', 1, 2), list: 'deny' as const };
    const installed = [subject('a'), banned, subject('n', 1, 3), { ...subject('o', 1, 4), list: 'deny' as const }];
    const holds = { m: { deny: true as const, keep: true as const }, n: { keep: true as const }, o: { deny: true as const } };
    const plan = applyPlan({ version: 1, subjects: installed }, full(2, [subject('a', 2)]));
    expect(plan.deletes).toEqual(['m', 'n', 'o']);
    const { plan: out, kept } = keepLocalRevocations(plan, holds, installed);
    // n is on the allow list now; o, denied here (not enrolled here), stays too: a ban made here is this tablet's to
    // lift (session 34; the desk may have merged o's face into a record it still lists).
    expect(kept).toEqual(['m', 'o']);
    expect(out.deletes).toEqual(['n']);
    expect(ids(out.subjects)).toEqual(['a', 'm', 'o']);
    expect(out.subjects.find((x) => x.id === 'm')).toBe(banned);
    expect(ids(out.puts)).toEqual(['a', 'm', 'o']); // a full plan is written as its subjects
    // A delta that does not name it leaves it where it is (no rewrite), and one deleting it does not.
    const d = applyPlan({ version: 1, subjects: installed }, delta(1, 2, [subject('a', 2)], ['m']));
    const kd = keepLocalRevocations(d, holds, installed);
    expect([kd.kept, kd.plan.deletes, ids(kd.plan.puts), ids(kd.plan.subjects)]).toEqual([['m'], [], ['a'], ['a', 'm', 'n', 'o']]);
    const kn = keepLocalRevocations(applyPlan({ version: 1, subjects: installed }, delta(1, 2, [], ['n', 'o'])), holds, installed);
    expect([kn.kept, kn.plan.deletes, ids(kn.plan.puts)]).toEqual([['o'], ['n'], []]);
    // The plan given is not changed.
    expect(plan.deletes).toEqual(['m', 'n', 'o']);
  });

  test("a face revoked here stays revoked under the record the desk merged it into", () => {
    // Review (session 34): the desk merged Bob, denied here, into his other record (allowed): the bundle deleted Bob's
    // id and sent the other with Bob's templates, and Bob walked in.
    const bob = { ...subject('bob', 1, 2), list: 'deny' as const };
    const cy = { ...subject('cy', 1, 3), validUntil: 1_000 }; // ended here at 1 000
    const other = subject('other', 1, 4);
    const installed = [bob, cy, other, subject('x', 1, 5)];
    const holds = { bob: { deny: true as const }, cy: { until: 1_000 } };
    const merged = (id: string, from: Subject[], extra: Partial<Subject> = {}): Subject => ({
      ...subject(id, 2, 6),
      templates: { fr_feature: [subject(id, 2, 6).templates.fr_feature![0]!, ...from.flatMap((f) => f.templates.fr_feature!)] },
      ...extra,
    });
    // Full bundle: Bob merged into "other", Cy merged into a new record "cy2"; both sent allowed, with no end.
    const plan = applyPlan({ version: 1, subjects: installed }, full(2, [merged('other', [bob]), merged('cy2', [cy]), subject('x', 2, 5)]));
    expect(plan.deletes).toEqual(['bob', 'cy']);
    const { plan: out, kept } = keepLocalRevocations(plan, holds, installed);
    const view = (list: readonly Subject[]) => list.map((x) => [x.id, x.list, x.validUntil]);
    expect(view(out.subjects)).toEqual([
      ['bob', 'deny', undefined], // kept, as revoked: the next bundle finds the copy by it
      ['cy', 'allow', 1_000],
      ['cy2', 'allow', 1_000], // ended when Cy was ended here
      ['other', 'deny', undefined], // denied as Bob was here
      ['x', 'allow', undefined],
    ]);
    expect(out.deletes).toEqual([]);
    expect(ids(out.puts).sort()).toEqual(['bob', 'cy', 'cy2', 'other', 'x']);
    expect(kept).toEqual(['bob', 'cy', 'cy2', 'other']);
    // The next full bundle, with Bob and Cy long gone from the desk, finds the copies by the kept records again.
    const next = applyPlan({ version: 2, subjects: out.subjects }, full(3, [merged('other', [bob]), merged('cy2', [cy]), subject('x', 3, 5)]));
    expect(view(keepLocalRevocations(next, holds, out.subjects).plan.subjects)).toEqual(view(out.subjects));
    // A delta that only deletes Bob (the copy arrived earlier and is installed allowed): the copy is written denied.
    const withCopy = [bob, merged('other', [bob]), subject('x', 1, 5)];
    const d = keepLocalRevocations(applyPlan({ version: 1, subjects: withCopy }, delta(1, 2, [], ['bob'])), holds, withCopy);
    expect([view(d.plan.subjects), view(d.plan.puts), d.plan.deletes]).toEqual([
      [['bob', 'deny', undefined], ['other', 'deny', undefined], ['x', 'allow', undefined]],
      [['other', 'deny', undefined]],
      [],
    ]);
    // A ban is never given an end: a deny-list copy of a face ended here stays without one.
    const banned = { ...merged('ban', [cy]), list: 'deny' as const };
    const e = keepLocalRevocations(applyPlan({ version: 1, subjects: [cy] }, full(2, [banned])), holds, [cy]);
    expect(view(e.plan.subjects)).toEqual([['ban', 'deny', undefined], ['cy', 'allow', 1_000]]);
    // No copy listed: the desk's deletion of someone ended here goes through; someone denied here stays (a ban made
    // here is this tablet's to lift; its match vetoes a look-alike record's grant). Another photo of the same person
    // (a look-alike, not a copy) takes on nothing.
    const lookAlike = { ...subject('other', 2, 4), templates: { fr_feature: [bob.templates.fr_feature![0]!.map((v) => v + 1e-6)] } };
    const g = keepLocalRevocations(applyPlan({ version: 1, subjects: installed }, full(2, [lookAlike, subject('x', 2, 5)])), holds, installed);
    expect([g.plan.deletes, view(g.plan.subjects), g.kept]).toEqual([
      ['cy'],
      [['bob', 'deny', undefined], ['other', 'allow', undefined], ['x', 'allow', undefined]],
      ['bob'],
    ]);
    // A record with a hold of its own is looked at as a holder too: Bob merged into a record given a later end here.
    const later = { ...subject('later', 1, 7), validUntil: 9_000 };
    const lh = { bob: { deny: true as const }, later: { until: 9_000 } };
    const h2 = keepLocalRevocations(applyPlan({ version: 1, subjects: [bob, later] }, full(2, [merged('later', [bob])])), lh, [bob, later]);
    expect(view(h2.plan.subjects)).toEqual([['bob', 'deny', undefined], ['later', 'deny', undefined]]);
    // A plate is a copy too, from a record ended here (compared as the desk's uniqueness check does): a plate-only
    // record ended here, merged on the desk into an allowed record.
    const car = { ...subject('car', 1, 8), templates: {}, plates: ['7ABC123'], validUntil: 1_000 };
    const owner = { ...subject('owner', 2, 9), plates: ['7abc 123'] };
    const p = keepLocalRevocations(applyPlan({ version: 1, subjects: [car] }, delta(1, 2, [owner], ['car'])), { car: { until: 1_000 } }, [car]);
    expect(view(p.plan.subjects)).toEqual([['car', 'allow', 1_000], ['owner', 'allow', 1_000]]);
    // From a record denied here it does not spread (the plate may be reissued to someone else): the denied record
    // stays installed, and its plate ban outranks the other record's plate.
    const carDenied = { ...subject('car', 1, 8), templates: {}, plates: ['7ABC123'] };
    const q = keepLocalRevocations(applyPlan({ version: 1, subjects: [carDenied] }, delta(1, 2, [owner], ['car'])), { car: { deny: true } }, [carDenied]);
    expect(view(q.plan.subjects)).toEqual([['car', 'deny', undefined], ['owner', 'allow', undefined]]);
    // A plate that normalises to nothing is no one's: it matches nothing.
    const junk = { ...car, plates: ['--'] };
    const r = keepLocalRevocations(applyPlan({ version: 1, subjects: [junk] }, delta(1, 2, [{ ...owner, plates: [' . '] }], [])), { car: { until: 1_000 } }, [junk]);
    expect(view(r.plan.subjects)).toEqual([['car', 'allow', 1_000], ['owner', 'allow', undefined]]);
    // A ban is never given an end, whatever the hold also holds (a plate ban is checked for validity); the desk's own
    // dates stay on the record (re-allowed here, the person has them again).
    const both = keepLocalRevocations(applyPlan({ version: 1, subjects: [] }, full(2, [subject('z', 2, 10), { ...subject('w', 2, 11), validUntil: 7_000 }])), {
      z: { deny: true, until: 5 },
      w: { deny: true },
    }, []);
    expect(view(both.plan.subjects)).toEqual([['w', 'deny', 7_000], ['z', 'deny', undefined]]);
  });
});
