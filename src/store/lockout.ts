/**
 * Back-off after wrong passphrases, as pure functions over the persisted lock-out record (the store keeps the
 * record in IndexedDB so a reload does not reset it). Owns the timing rule only.
 *
 * What it defends: guessing through the kiosk's own UI or API. What it cannot: someone with a copy of the profile
 * guesses offline against the PBKDF2 salt and wrapped key, and someone with write access can delete the record.
 * The strength rule and PBKDF2 cost carry that case. The wall clock is trusted; if it goes backwards the full
 * wait restarts from now, so rolling the clock back never shortens a lock.
 */
import type { LockoutRecord } from './schema';

/** What the rule reads of a lock-out record (the admin passphrase's and the guard PINs' share it). */
export type LockoutState = Pick<LockoutRecord, 'failures' | 'lockedUntil' | 'lastAttemptAt'>;

export interface LockoutPolicy {
  /** Wrong attempts allowed with no wait. */
  freeAttempts: number;
  /** Wait after the first attempt over the allowance; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = { freeAttempts: 3, baseDelayMs: 30_000, maxDelayMs: 60 * 60_000 };

export const NO_LOCKOUT: LockoutRecord = { kind: 'lockout', failures: 0, lockedUntil: 0, lastAttemptAt: 0 };

export function delayAfter(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.freeAttempts) return 0;
  const exp = failures - policy.freeAttempts;
  // 2^exp overflows to Infinity past ~1000 failures; min() keeps it at the cap.
  return Math.min(policy.baseDelayMs * 2 ** exp, policy.maxDelayMs);
}

/** If the clock went backwards since the last attempt, the whole lock restarts from now (never shortened). */
export function rebase<R extends LockoutState>(rec: R, now: number): R {
  if (now >= rec.lastAttemptAt) return rec;
  const lockedUntil = rec.lockedUntil > 0 ? now + Math.max(0, rec.lockedUntil - rec.lastAttemptAt) : 0;
  return { ...rec, lockedUntil, lastAttemptAt: now };
}

/** Milliseconds until another attempt is allowed (0 = allowed now). */
export function waitMs(rec: LockoutState, now: number): number {
  const r = rebase(rec, now);
  return r.lockedUntil > 0 ? Math.max(0, r.lockedUntil - now) : 0;
}

/**
 * The record to write *before* trying a passphrase: the attempt is counted as failed until it succeeds, so a tab
 * closed mid-derivation or attempts fired in parallel cannot dodge the count.
 */
export function beforeAttempt<R extends LockoutState>(rec: R, now: number, policy: LockoutPolicy): R {
  const failures = rebase(rec, now).failures + 1;
  const delay = delayAfter(failures, policy);
  return { ...rec, failures, lockedUntil: delay > 0 ? now + delay : 0, lastAttemptAt: now };
}
