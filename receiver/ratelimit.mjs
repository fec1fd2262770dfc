// @ts-check
/**
 * Token buckets keyed by a string (client address, kiosk id). Memory is bounded: idle buckets that have refilled
 * are forgotten, and past `maxKeys` the least recently used key is evicted (a flood of fresh keys then only ever
 * finds full buckets, which is the same as having no history: it cannot lock anyone out).
 */

export class RateLimiter {
  /** @type {Map<string, { tokens: number, at: number }>} */
  #buckets = new Map();
  #burst;
  #perSecond;
  #maxKeys;
  #now;

  /** @param {{ burst: number, perSecond: number, maxKeys?: number, now?: () => number }} opts */
  constructor(opts) {
    this.#burst = opts.burst;
    this.#perSecond = opts.perSecond;
    this.#maxKeys = opts.maxKeys ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Takes one token for `key`.
   * @param {string} key
   * @returns {{ ok: true } | { ok: false, retryAfterMs: number }}
   */
  take(key) {
    const now = this.#now();
    const b = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    this.#buckets.delete(key); // re-insert below: Map order is our LRU order
    // A clock stepped back (NTP) adds no tokens and takes none, and refilling goes on from the new reading: negative
    // elapsed time drained every bucket, so each kiosk was refused 429 for as long as the step (review, session 32).
    b.tokens = Math.min(this.#burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.#perSecond);
    b.at = now;
    let verdict;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      verdict = /** @type {const} */ ({ ok: true });
    } else {
      verdict = {
        ok: /** @type {const} */ (false),
        retryAfterMs: Math.ceil(((1 - b.tokens) / this.#perSecond) * 1000),
      };
    }
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    return verdict;
  }
}
