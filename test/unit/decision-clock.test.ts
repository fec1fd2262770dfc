/**
 * Both decision policies against the wall clock, as a table: validity periods are dates an admin sets, and the
 * policies must compare them with the wall clock the caller passes — never with a frame's monotonic time (the bug
 * this table pins: the face loop used to pass ms-since-page-load, so "expire now" never took effect for faces and
 * a validFrom in the past still refused). Each row runs the face and the plate policy with the same subject.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import { decideFace, type FaceObservation } from '../../src/matching/face/decision-policy';
import { decidePlate } from '../../src/matching/plates';
import { validAt } from '../../src/matching/validity';
import { AdjustableClock, type Clock } from '../../src/shared/clock';

const HOUR = 3_600_000;
const WALL = Date.UTC(2026, 11, 4, 9, 0, 0);
/** ms since page load: a kiosk that has been up for 40 minutes. */
const MONO = 40 * 60_000;
const thresholds = { accept: 0.5, reject: 0.35, margin: 0.1 };
const policy = { windowMs: 3000, n: 6, k: 3, minWeightShare: 0.75 };

function faceOutcome(validity: { validFrom?: number; validUntil?: number }, clock: Clock): string {
  const now = clock.monotonic();
  const obs: FaceObservation[] = [0.62, 0.7, 0.66].map((score, i) => ({
    at: now - 400 + i * 200,
    faces: 1,
    quality: { ok: true, reason: null, eyeDistancePx: 120, sharpness: 200 },
    match: { best: { subjectId: 'S', score }, second: { subjectId: 'Z', score: 0.1 } },
  }));
  const d = decideFace(obs, {
    thresholds,
    policy,
    quality: DEFAULT_FACE_CONFIG.quality,
    subject: (id) => (id === 'S' ? { list: 'allow', ...validity } : undefined),
    clock,
  });
  expect(d.final).toBe(true);
  return d.outcome;
}

function plateOutcome(validity: { validFrom?: number; validUntil?: number }, clock: Clock): string {
  const consensus = { text: 'ABC1234', confidence: 0.95, support: 3, frames: 3, agreement: 1 };
  return decidePlate(consensus, [{ id: 'S', list: 'allow', plates: ['ABC1234'], ...validity }], {}, { now: clock.wall() })
    .outcome;
}

const at = (wall: number, mono = MONO): Clock => ({ monotonic: () => mono, wall: () => wall });

describe('decision policies judge validity by the wall clock', () => {
  it.each([
    // [case, validity, clock, outcome]
    ['no validity period', {}, at(WALL), 'grant'],
    ['valid until tomorrow', { validUntil: WALL + 24 * HOUR }, at(WALL), 'grant'],
    ['expired an hour ago', { validUntil: WALL - HOUR }, at(WALL), 'deny-unknown'],
    ['expired this very millisecond ("expire now")', { validUntil: WALL }, at(WALL), 'deny-unknown'],
    ['expires in one millisecond', { validUntil: WALL + 1 }, at(WALL), 'grant'],
    ['valid from tomorrow', { validFrom: WALL + 24 * HOUR }, at(WALL), 'deny-unknown'],
    ['valid from this very millisecond', { validFrom: WALL }, at(WALL), 'grant'],
    ['valid from an hour ago, until in an hour', { validFrom: WALL - HOUR, validUntil: WALL + HOUR }, at(WALL), 'grant'],
    ['a window that is over', { validFrom: WALL - 2 * HOUR, validUntil: WALL - HOUR }, at(WALL), 'deny-unknown'],
    // The monotonic reading is tiny next to any date: a policy that used it as "now" would call this person
    // not yet valid (validFrom in the past) and a person expired yesterday still valid.
    ['validFrom in the past, kiosk up for 40 s', { validFrom: WALL - HOUR }, at(WALL, 40_000), 'grant'],
    ['expired yesterday, kiosk up for 40 s', { validUntil: WALL - 24 * HOUR }, at(WALL, 40_000), 'deny-unknown'],
  ] as const)('%s → %s', (_name, validity, clock, outcome) => {
    expect(faceOutcome(validity, clock)).toBe(outcome);
    expect(plateOutcome(validity, clock)).toBe(outcome);
  });

  it('names the reason when the only match is outside its period', () => {
    const consensus = { text: 'ABC1234', confidence: 0.95, support: 3, frames: 3, agreement: 1 };
    const d = decidePlate(consensus, [{ id: 'S', list: 'allow', plates: ['ABC1234'], validUntil: WALL - 1 }], {}, { now: WALL });
    expect(d).toMatchObject({ outcome: 'deny-unknown', reason: 'enrolled but not valid at this time', subjectId: 'S' });
  });

  it('a driven clock moves validity without touching frame timing', () => {
    const clock = new AdjustableClock(at(WALL));
    const validity = { validFrom: WALL + 2 * HOUR };
    expect(faceOutcome(validity, clock)).toBe('deny-unknown');
    clock.setWall(WALL + 2 * HOUR);
    expect(clock.monotonic()).toBe(MONO);
    expect(faceOutcome(validity, clock)).toBe('grant');
    expect(plateOutcome(validity, clock)).toBe('grant');
    clock.advance(1000);
    expect(clock.monotonic()).toBe(MONO + 1000);
    expect(() => clock.advance(-1)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(validAt({ validUntil: WALL }, WALL - 1)).toBe(true);
  });
});
