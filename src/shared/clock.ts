/**
 * Time, typed. Two clocks that must never be mixed: `monotonic()` (ms since page start, never jumps; frame
 * timing, decision windows, result hold) and `wall()` (ms since the epoch; validity periods, expiry, retention,
 * lock-outs, timestamps that leave the device); idle rules read both (`idleSince`). Modules that decide anything
 * take a Clock instead of reading `Date.now()` or `performance.now()` themselves, so a test can drive either one and
 * a mix-up (comparing a frame time with an expiry date) is visible at the call site. Owns no state beyond an
 * optional test offset.
 */
import { KioskError } from './errors';

export interface Clock {
  /** Milliseconds on a clock that only moves forward (performance.now()). */
  monotonic(): number;
  /** Milliseconds since the Unix epoch (Date.now()). */
  wall(): number;
}

/** One moment read on both clocks, for idle rules (`idleSince`). */
export interface Stamp {
  mono: number;
  wall: number;
}

export const stampOf = (c: Pick<Clock, 'monotonic' | 'wall'>): Stamp => ({ mono: c.monotonic(), wall: c.wall() });

/**
 * Time since `s` for an idle rule: the larger of what the two clocks say. The monotonic clock alone does not run
 * while the device sleeps (performance.now() in Chromium on Android, Linux and macOS), so a guard's session outlived
 * hours of dark screen and the first visitor to wake the tablet found its override button live (attacker review,
 * session 23); the wall clock alone can be set back. Taking the larger, neither a sleep nor a wall clock set back
 * extends a session, and a wall clock set forward only ends one early (fails closed).
 */
export function idleSince(c: Pick<Clock, 'monotonic' | 'wall'>, s: Stamp): number {
  return Math.max(c.monotonic() - s.mono, c.wall() - s.wall);
}

export const systemClock: Clock = {
  monotonic: () => performance.now(),
  wall: () => Date.now(),
};

/**
 * A clock whose two readings can be moved forward or back by a test (wall) or advanced (monotonic), on top of the
 * real ones so timers keep flowing. Built into the app only when the build sets KIOSK_TEST_HOOKS (the e2e build);
 * the production bundle reads the system clock and contains no way to move it.
 */
export class AdjustableClock implements Clock {
  private wallOffset = 0;
  private monoOffset = 0;

  constructor(private readonly base: Clock = systemClock) {}

  monotonic(): number {
    return this.base.monotonic() + this.monoOffset;
  }

  wall(): number {
    return this.base.wall() + this.wallOffset;
  }

  /** Set the wall clock to `ms` since the epoch (it keeps running from there). */
  setWall(ms: number): void {
    this.wallOffset = ms - this.base.wall();
  }

  /** Move both clocks forward, as if `ms` had passed. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new KioskError('INPUT_INVALID', { field: 'ms', reason: 'a clock only advances' });
    this.wallOffset += ms;
    this.monoOffset += ms;
  }
}
