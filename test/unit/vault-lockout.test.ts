import { describe, expect, it } from 'vitest';
import { DEFAULT_LOCKOUT_POLICY, NO_LOCKOUT, beforeAttempt, delayAfter, rebase, waitMs } from '../../src/store/lockout';

const policy = { freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('lock-out back-off', () => {
  it('allows the free attempts, then doubles up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 9, 20, 5000].map((n) => delayAfter(n, policy))).toEqual([
      0, 0, 0, 1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ]);
  });

  it('counts an attempt before it is tried and locks from the third failure', () => {
    let rec = NO_LOCKOUT;
    const t = 1_000_000;
    rec = beforeAttempt(rec, t, policy);
    rec = beforeAttempt(rec, t + 1, policy);
    expect(waitMs(rec, t + 1)).toBe(0);
    rec = beforeAttempt(rec, t + 2, policy);
    expect(rec.failures).toBe(3);
    expect(waitMs(rec, t + 2)).toBe(1000);
    expect(waitMs(rec, t + 1002)).toBe(0);
  });

  it('a clock moved backwards restarts the whole wait instead of shortening or skipping it', () => {
    const rec = { kind: 'lockout' as const, failures: 4, lockedUntil: 10_000 + 2000, lastAttemptAt: 10_000 };
    expect(waitMs(rec, 5_000)).toBe(2000);
    const r = rebase(rec, 5_000);
    expect(r.lastAttemptAt).toBe(5_000);
    expect(r.lockedUntil).toBe(7_000);
    expect(waitMs(r, 7_000)).toBe(0);
  });

  it('default policy: 3 free attempts, 30 s first wait, 1 h cap', () => {
    expect(delayAfter(2, DEFAULT_LOCKOUT_POLICY)).toBe(0);
    expect(delayAfter(3, DEFAULT_LOCKOUT_POLICY)).toBe(30_000);
    expect(delayAfter(100, DEFAULT_LOCKOUT_POLICY)).toBe(3_600_000);
  });
});
