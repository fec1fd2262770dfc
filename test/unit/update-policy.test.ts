/**
 * When a waiting kiosk update is applied (src/offline/register.ts updateDue). It waited for an idle kiosk only, and
 * "idle" (no face for 30 s, no staff session) may never come: a picture taped in view of the camera, or a guard
 * logged in all day, kept an old, possibly vulnerable version running for ever (attacker review, session 23). After
 * a day it is applied at the first moment a reload cuts nothing off.
 */
import { describe, expect, it } from 'vitest';
import { UPDATE_MAX_WAIT_MS, updateDue } from '../../src/offline/register';

const HOUR = 3_600_000;

describe('a waiting update', () => {
  it.each([
    ['idle: applied at once', { waitedMs: 0, idle: true, canInterrupt: true }, true],
    ['busy for an hour: waits', { waitedMs: HOUR, idle: false, canInterrupt: true }, false],
    ['busy for 23 h 59 min: waits', { waitedMs: UPDATE_MAX_WAIT_MS - 60_000, idle: false, canInterrupt: true }, false],
    ['never idle for a day: applied', { waitedMs: UPDATE_MAX_WAIT_MS, idle: false, canInterrupt: true }, true],
    [
      'overdue, but a challenge is running: waits for it',
      { waitedMs: 2 * UPDATE_MAX_WAIT_MS, idle: false, canInterrupt: false },
      false,
    ],
  ] as const)('%s', (_name, p, due) => {
    expect(updateDue({ ...p, maxWaitMs: UPDATE_MAX_WAIT_MS })).toBe(due);
  });

  it('waits a day by default', () => {
    expect(UPDATE_MAX_WAIT_MS).toBe(24 * HOUR);
  });
});
