/**
 * One decision per presence (issue 19, item 2), as a table: after a decision about a face or a plate, which frames
 * keep the kiosk quiet (the same person still there) and which let it decide again (they left for `leaveMs`, the
 * cool-down passed, or someone else is in front). And when a kiosk counts as set up enough to decide and to send.
 * Templates are real unit vectors with known cosines, so "same" and "someone else" sit on both sides of the
 * threshold; plate sameness goes through the real confusion-aware distance.
 */
import { describe, expect, it } from 'vitest';
import { beginPresence, observePresence, type Presence, type PresenceConfig, type PresenceEnd, type PresenceKey, type Sighting } from '../../src/matching/presence';
import { kioskReadiness, type ReadinessFacts } from '../../src/app/readiness';
import { PlateIndex, listedWithin, type PlateWatchEntry } from '../../src/matching/plates';
import { defaultSettings, resolveKioskSettings, validateSettingsPatch } from '../../src/config/kiosk';

const CFG: PresenceConfig = { cooldownMs: 30_000, leaveMs: 1_500, sameFace: 0.3, samePlate: 1 };

/** A unit vector at `cos` to ANCHOR (in the plane of the first two axes). */
function at(cos: number): Float32Array {
  const v = new Float32Array(8);
  v[0] = cos;
  v[1] = Math.sqrt(1 - cos * cos);
  return v;
}
const ANCHOR = at(1);
const FACE: PresenceKey = { kind: 'face', template: ANCHOR };
const PLATE: PresenceKey = { kind: 'plate', text: '4S50233' };
const face = (found: number, ...templates: Float32Array[]): Sighting => ({ kind: 'face', found, templates });
const plate = (found: number, ...texts: string[]): Sighting => ({ kind: 'plate', found, texts });

interface Step {
  t: number;
  seen: Sighting;
  /** Still holding decisions back after this frame? */
  holds: boolean;
  ended?: PresenceEnd;
}

/** Runs frames through a presence that began at t=0 and checks every step. */
function run(key: PresenceKey, steps: Step[], cfg = CFG): void {
  let p: Presence | null = beginPresence(key, 0);
  for (const s of steps) {
    const r = observePresence(p, s.seen, s.t, cfg);
    expect(r.presence !== null, `t=${s.t}`).toBe(s.holds);
    expect(r.ended, `t=${s.t}`).toBe(s.ended);
    p = r.presence;
  }
}

describe('one decision per presence: faces', () => {
  it.each<[string, PresenceKey, Step[]]>([
    ['the same face standing there holds for the whole cool-down', FACE, [
      { t: 300, seen: face(1, at(0.9)), holds: true },
      { t: 10_000, seen: face(1, at(0.8)), holds: true },
      { t: 29_999, seen: face(1, at(0.95)), holds: true },
      { t: 30_000, seen: face(1, at(0.95)), holds: false, ended: 'cooldown' },
    ]],
    ['a face that failed quality (no template) keeps it alive', FACE, [
      { t: 1_000, seen: face(1), holds: true },
      { t: 2_400, seen: face(1), holds: true },
      { t: 3_800, seen: face(1), holds: true },
    ]],
    ['nobody for less than leaveMs: still held', FACE, [
      { t: 500, seen: face(1, at(0.9)), holds: true },
      { t: 1_000, seen: face(0), holds: true },
      { t: 1_999, seen: face(0), holds: true },
      { t: 2_000, seen: face(1, at(0.9)), holds: true },
    ]],
    ['nobody for leaveMs: they left, the next person is decided', FACE, [
      { t: 500, seen: face(1, at(0.9)), holds: true },
      { t: 1_200, seen: face(0), holds: true },
      { t: 2_000, seen: face(0), holds: false, ended: 'left' },
    ]],
    ['someone else steps in without a gap: ended at once', FACE, [
      { t: 400, seen: face(1, at(0.9)), holds: true },
      { t: 800, seen: face(1, at(0.1)), holds: false, ended: 'someone-else' },
    ]],
    ['exactly at the same-face threshold is the same person', FACE, [{ t: 400, seen: face(1, at(0.3)), holds: true }]],
    ['just under it is someone else', FACE, [{ t: 400, seen: face(1, at(0.29)), holds: false, ended: 'someone-else' }]],
    ['the person plus a stranger in view: still held', FACE, [{ t: 400, seen: face(2, at(0.05), at(0.85)), holds: true }]],
    ['a decision without a template ends only by leaving', { kind: 'face', template: null }, [
      { t: 400, seen: face(1, at(0.1)), holds: true },
      { t: 1_000, seen: face(0), holds: true },
      { t: 2_600, seen: face(0), holds: false, ended: 'left' },
    ]],
    ['a plate frame after a face decision (mode switched) ends it', FACE, [{ t: 400, seen: plate(1, '4S50233'), holds: false, ended: 'mode' }]],
  ])('%s', (_name, key, steps) => run(key, steps));

  // No template on the main thread (PAD passive or off: the worker keeps them): the worker's 1:N match tells. A
  // deny-listed person stepping in right behind a granted one was "the same person" for the whole cool-down: no
  // decision, no alert on the guard screen (attacker review, session 23).
  const ALICE: PresenceKey = { kind: 'face', template: null, subjectId: 'alice' };
  const UNKNOWN: PresenceKey = { kind: 'face', template: null, subjectId: null };
  const matched = (...m: [string | null, number][]): Sighting => ({ kind: 'face', found: m.length, templates: [], matches: m.map(([subjectId, score]) => ({ subjectId, score })) });
  const MATCH_CFG = { ...CFG, otherFace: 0.5 };
  it.each<[string, PresenceKey, Step[]]>([
    ['the granted person matched again: held', ALICE, [{ t: 400, seen: matched(['alice', 0.7]), holds: true }]],
    ['a listed person (a deny-list entry) matched at the accept threshold: someone else', ALICE, [
      { t: 400, seen: matched(['alice', 0.7]), holds: true },
      { t: 800, seen: matched(['bob', 0.5]), holds: false, ended: 'someone-else' },
    ]],
    ['another id below the accept threshold: not sure, held', ALICE, [{ t: 400, seen: matched(['bob', 0.45]), holds: true }]],
    ['a weak frame of the granted person: held (no second grant)', ALICE, [{ t: 400, seen: matched(['alice', 0.2]), holds: true }]],
    ['the person plus a listed one beside them: held until the person goes', ALICE, [{ t: 400, seen: matched(['alice', 0.7], ['bob', 0.9]), holds: true }]],
    ['after an unknown was decided, a listed person: someone else', UNKNOWN, [{ t: 400, seen: matched(['carol', 0.8]), holds: false, ended: 'someone-else' }]],
    ['after an unknown was decided, another unknown: held', UNKNOWN, [{ t: 400, seen: matched([null, -1]), holds: true }]],
    ['a decision about nobody in particular (an override): any face holds', { kind: 'face', template: null }, [{ t: 400, seen: matched(['bob', 0.9]), holds: true }]],
  ])('by match: %s', (_name, key, steps) => run(key, steps, MATCH_CFG));

  it('a template of another length (embedder switched) is someone else, not an error', () => {
    const r = observePresence(beginPresence(FACE, 0), face(1, new Float32Array([1, 0, 0])), 100, CFG);
    expect(r).toEqual({ presence: null, ended: 'someone-else' });
  });

  it('no presence: nothing is held back', () => {
    expect(observePresence(null, face(1, at(1)), 100, CFG)).toEqual({ presence: null });
  });

  it('the cool-down is the setting, not a constant', () => {
    run(FACE, [{ t: 5_000, seen: face(1, at(0.9)), holds: false, ended: 'cooldown' }], { ...CFG, cooldownMs: 5_000 });
  });
});

describe('one decision per presence: plates', () => {
  it.each<[string, Step[]]>([
    ['the same plate, one misread look-alike included, holds', [
      { t: 800, seen: plate(1, '4S50233'), holds: true },
      { t: 1_600, seen: plate(1, '4S5O233'), holds: true },
      { t: 2_400, seen: plate(1), holds: true },
    ]],
    ['a box without a read keeps it alive; no box for leaveMs ends it', [
      { t: 1_000, seen: plate(1), holds: true },
      { t: 2_000, seen: plate(0), holds: true },
      { t: 2_500, seen: plate(0), holds: false, ended: 'left' },
    ]],
    ['another car is decided at once', [{ t: 800, seen: plate(1, '1287960'), holds: false, ended: 'someone-else' }]],
  ])('%s', (_name, steps) => run(PLATE, steps));

  it('a car one character off that matches another listed plate is decided at once', () => {
    // Attacker review (session 24): a deny-listed ABC1235 right behind a granted ABC1234 was "the same car" (one
    // edit) and got no decision and no alert for the cool-down. Now the reads' listed matches tell them apart.
    const list: PlateWatchEntry[] = [
      { id: 'alice', list: 'allow', plates: ['ABC1234'] },
      { id: 'mallory', list: 'deny', plates: ['ABC1235'] },
      { id: 'old', list: 'allow', plates: ['ABC1236'], validUntil: 1 },
    ];
    const now = Date.UTC(2026, 11, 6);
    for (const index of [list, PlateIndex.from(list)]) {
      const listed = (t: string) => listedWithin(t, index, {}, { now });
      expect(listed('ABC1234')).toEqual(['alice']);
      expect(listed('A8C1235')).toEqual(['mallory']);
      expect(listed('ABC1236')).toEqual([]); // lapsed: not listed now
      const key: PresenceKey = { kind: 'plate', text: 'ABC1234', listed: listed('ABC1234') };
      const read = (t: string): Sighting => ({ kind: 'plate', found: 1, texts: [t], listed: [listed(t)] });
      run(key, [
        { t: 400, seen: read('A8C1234'), holds: true },
        { t: 800, seen: read('ABC1236'), holds: true }, // a misread (or an unlisted car) one edit off: held as before
        { t: 1_200, seen: read('ABC1235'), holds: false, ended: 'someone-else' },
      ]);
      // Two listed plates were within the bound of the decided read (uncertain): either of them is that car.
      const both = [{ id: 'a', list: 'allow' as const, plates: ['ABC1234'] }, { id: 'b', list: 'allow' as const, plates: ['A8C1234'] }];
      const twins = (t: string) => listedWithin(t, both, {}, { now });
      expect(twins('ABC1234')).toEqual(['a', 'b']);
      run({ kind: 'plate', text: 'ABC1234', listed: twins('ABC1234') }, [
        { t: 400, seen: { kind: 'plate', found: 1, texts: ['A8C1234'], listed: [twins('A8C1234')] }, holds: true },
      ]);
      // Without the decision's matches (a guard's override), the text alone decides, as before.
      run({ kind: 'plate', text: 'ABC1234' }, [{ t: 400, seen: read('ABC1235'), holds: true }]);
    }
  });
});

describe('when a kiosk is set up', () => {
  const base: ReadinessFacts = {
    phase: 'running',
    mode: 'face',
    templates: 1,
    plates: 0,
    pairedOrigin: 'http://127.0.0.1:8787',
    upstreamOrigin: 'http://127.0.0.1:8787',
  };
  it.each<[string, Partial<ReadinessFacts>, { decide: boolean; send: boolean; missing: string[] }]>([
    ['set up, enrolled, paired: decides and sends', {}, { decide: true, send: true, missing: [] }],
    ['set-up not finished', { phase: 'setup-needed' }, { decide: false, send: false, missing: ['setup'] }],
    ['locked (no watchlist in memory)', { phase: 'locked', templates: 0 }, { decide: false, send: false, missing: ['setup', 'watchlist'] }],
    ['nobody enrolled', { templates: 0 }, { decide: false, send: false, missing: ['watchlist'] }],
    ['nobody enrolled and not paired', { templates: 0, pairedOrigin: undefined }, { decide: false, send: false, missing: ['watchlist', 'pairing'] }],
    ['not paired: decides on its own screens, sends and queues nothing', { pairedOrigin: undefined }, { decide: true, send: false, missing: ['pairing'] }],
    ['paired with another receiver', { pairedOrigin: 'http://10.0.0.9:8787' }, { decide: true, send: false, missing: ['pairing'] }],
    ['plate mode with faces only', { mode: 'plate' }, { decide: false, send: false, missing: ['watchlist'] }],
    ['plate mode with a plate', { mode: 'plate', templates: 0, plates: 1 }, { decide: true, send: true, missing: [] }],
  ])('%s', (_name, patch, want) => {
    expect(kioskReadiness({ ...base, ...patch })).toEqual(want);
  });
});

describe('the cool-down setting', () => {
  it('defaults to 30 s and keeps a stored value in range', () => {
    expect(defaultSettings('k1').presenceCooldownSeconds).toBe(30);
    expect(resolveKioskSettings({ kioskId: 'k1', presenceCooldownSeconds: 120 }).presenceCooldownSeconds).toBe(120);
  });
  it.each([0, 4, 3601, 2.5, Number.NaN, '60'])('a stored %s falls back to the default', (v) => {
    expect(resolveKioskSettings({ kioskId: 'k1', presenceCooldownSeconds: v }).presenceCooldownSeconds).toBe(30);
  });
  it.each([4, 3601, 1.5])('an admin typing %s is refused with the field and its range named', (v) => {
    expect(() => validateSettingsPatch(defaultSettings('k1'), { presenceCooldownSeconds: v })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'presenceCooldownSeconds', min: 5, max: 3600 } }),
    );
  });
});
