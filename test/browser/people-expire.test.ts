/**
 * "Expire now" (src/app/people-service.ts expireSubject) in real Chromium over the app layer (vault in IndexedDB,
 * WebCrypto, the controller, the admin operations). A visitor registered for tomorrow could not be expired (their
 * start lay after the new end: INPUT_INVALID), and expiring someone whose end had passed moved it to now. Decisions
 * are asked of the plate matcher with the stored entry, at times on both sides of the stored dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decidePlate, voteConsensus } from '../../src/matching/plates';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';

afterEach(() => closeKiosks());

const HOUR = 3_600_000;
const frames = (plate: string) => voteConsensus([0.95, 0.96].map((confidence) => ({ text: plate, confidence })));

describe('expire now', () => {
  it('ends a visitor registered for tomorrow at their start (never valid), and never moves an end already past', async () => {
    const clock = new AdjustableClock();
    const { ops, vault } = await openKiosk('expire', clock);
    await ops.setup(PASS, { role: 'attended' });
    const now = clock.wall();

    const visitor = await ops.enrolment.addPlates('Visitor tomorrow', ['TMR1234'], 'allow');
    await ops.people.updateSubject(visitor.id, { validFrom: now + 24 * HOUR });
    const decideAt = async (id: string, plate: string, at: number) => {
      const s = (await vault.subjects.get(id))!;
      return decidePlate(frames(plate), [s], { region: 'eu' }, { now: at }).outcome;
    };
    expect(await decideAt(visitor.id, 'TMR1234', now + 25 * HOUR)).toBe('grant');
    await ops.people.expireSubject(visitor.id);
    const v = (await vault.subjects.get(visitor.id))!;
    expect([v.validFrom, v.validUntil]).toEqual([now + 24 * HOUR, now + 24 * HOUR]);
    for (const at of [now, now + 24 * HOUR, now + 25 * HOUR, now + 400 * 24 * HOUR])
      expect(await decideAt(visitor.id, 'TMR1234', at)).toBe('deny-unknown');

    const gone = await ops.enrolment.addPlates('Contract ended', ['END5678'], 'allow');
    await ops.people.updateSubject(gone.id, { validUntil: now - 48 * HOUR });
    await ops.people.expireSubject(gone.id);
    expect((await vault.subjects.get(gone.id))!.validUntil).toBe(now - 48 * HOUR);

    const staff = await ops.enrolment.addPlates('Staff car', ['STF9012'], 'allow');
    const before = clock.wall();
    await ops.people.expireSubject(staff.id);
    const end = (await vault.subjects.get(staff.id))!.validUntil!;
    expect(end).toBeGreaterThanOrEqual(before);
    expect(end).toBeLessThanOrEqual(clock.wall());
    expect(await decideAt(staff.id, 'STF9012', end)).toBe('deny-unknown');
    expect(await decideAt(staff.id, 'STF9012', end - 1)).toBe('grant');
  });

  it('a plate stored before the 4-character rule never blocks expiring or deny-listing its holder; a plates edit names it', async () => {
    const clock = new AdjustableClock();
    const { ops, vault } = await openKiosk('short-plate', clock);
    await ops.setup(PASS, { role: 'attended' });
    // What a vault written before session 32 may hold: the store itself keeps any non-empty plate.
    const old = await vault.enrol({ label: 'Bay 12 van', list: 'allow', plates: ['12'], templates: {} });
    await expect(ops.enrolment.addPlates('Another van', ['1 2'], 'allow')).rejects.toMatchObject({
      code: 'INPUT_PLATE_INVALID',
      details: { field: 'plates', rule: 'plateTooShort', min: 4, position: 1 },
    });
    // It grants nothing (the decision's own floor), and can still be deny-listed.
    expect(decidePlate(frames('12'), [old], { region: 'us' }, { now: clock.wall() }).outcome).toBe('uncertain');
    await ops.people.updateSubject(old.id, { list: 'deny' });
    expect(
      decidePlate(frames('12'), [(await vault.subjects.get(old.id))!], { region: 'us' }, { now: clock.wall() }).outcome,
    ).toBe('deny-listed');
    await ops.people.expireSubject(old.id);
    const expired = (await vault.subjects.get(old.id))!;
    expect([expired.list, expired.plates, expired.validUntil! <= clock.wall()]).toEqual(['deny', ['12'], true]);
    // An edit of the plates themselves is held to the rule, and refused whole: the stored record is unchanged.
    await expect(ops.people.updateSubject(old.id, { plates: ['12', 'VAN1234'] })).rejects.toMatchObject({
      details: { rule: 'plateTooShort', position: 1 },
    });
    expect((await vault.subjects.get(old.id))!.plates).toEqual(['12']);
    await ops.people.updateSubject(old.id, { plates: ['VAN1234'] });
    expect((await vault.subjects.get(old.id))!.plates).toEqual(['VAN1234']);
  });
});
