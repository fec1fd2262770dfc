// @ts-check
/**
 * One-time pairing codes: the receiver's side of "who may register a kiosk key".
 *
 * Trust starts here, on the receiver: a code is drawn from the OS CSPRNG (10 Crockford base32 characters, 50 bits),
 * shown only where the receiver's admin can see it (its log, or the loopback-only admin endpoint), valid for a few
 * minutes, consumed by the first successful pairing and burnt after a few wrong proofs. The code never arrives in
 * a request: a kiosk proves it knows the code with an HMAC over its kiosk id and key id, so the code cannot be
 * lifted off the wire and used for another key. One code is live at a time; issuing a new one retires the old.
 * A code pairs new kiosk ids only: giving an already paired id a new key (re-pairing) needs a code the admin issued
 * for exactly that id, because a silent key swap is how a stolen code would take over a working kiosk.
 * A code may name the doors the kiosk paired with it may address (`doors`); a kiosk paired without them is bound to
 * the door its first decision names (receiver/app.mjs), so one compromised tablet cannot open every door.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { pairingProof } from './protocol.mjs';

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_LENGTH = 10;

/** @typedef {'ok' | 'no_pairing_code' | 'code_expired' | 'bad_code' | 'code_burnt' | 'repair_not_allowed'}
 * PairingVerdict */

/** @returns {string} */
export function newCode() {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CROCKFORD[randomInt(CROCKFORD.length)];
  return code;
}

/** "ABCDE-FGHJK": easier to read out and type. @param {string} code */
export function displayCode(code) {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

export class PairingCodes {
  /** @type {{ code: string, expiresAt: number, attemptsLeft: number, repair?: string, doors?: string[] } | undefined} */
  #live;
  #ttlMs;
  #maxAttempts;
  #now;

  /** @param {{ ttlMs?: number, maxAttempts?: number, now?: () => number }} [opts] */
  constructor(opts = {}) {
    this.#ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.#maxAttempts = opts.maxAttempts ?? 5;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Issues a fresh code, retiring any live one.
   * @param {{ repair?: string, doors?: string[] }} [opts] `repair`: the one already paired kiosk id this code may
   *   give a new key; `doors`: the doors the kiosk paired with this code may address
   */
  issue(opts = {}) {
    const code = newCode();
    this.#live = { code, expiresAt: this.#now() + this.#ttlMs, attemptsLeft: this.#maxAttempts };
    if (opts.repair !== undefined) this.#live.repair = opts.repair;
    if (opts.doors !== undefined) this.#live.doors = [...opts.doors];
    return {
      code,
      display: displayCode(code),
      expiresAt: this.#live.expiresAt,
      repair: opts.repair,
      doors: opts.doors,
    };
  }

  /** True while a code can still be used. */
  get active() {
    return this.#live !== undefined && this.#now() <= this.#live.expiresAt;
  }

  /**
   * Checks a kiosk's proof; consumes the code on success, counts a wrong proof against it otherwise. A right proof
   * that would replace the key of a paired id (`replaces`) with a code not issued for that id is refused without
   * consuming the code (the admin may still use it for a new kiosk).
   * @param {string} proof @param {string} kiosk @param {string} kid @param {boolean} [replaces]
   * @returns {Promise<PairingVerdict>}
   */
  async verify(proof, kiosk, kid, replaces = false) {
    return (await this.redeem(proof, kiosk, kid, replaces)).verdict;
  }

  /**
   * `verify`, with the doors the consumed code named (on 'ok', when it named any).
   * @param {string} proof @param {string} kiosk @param {string} kid @param {boolean} [replaces]
   * @returns {Promise<{ verdict: PairingVerdict, doors?: string[] }>}
   */
  async redeem(proof, kiosk, kid, replaces = false) {
    const verdict = (/** @type {PairingVerdict} */ v) => ({ verdict: v });
    const live = this.#live;
    if (!live) return verdict('no_pairing_code');
    if (this.#now() > live.expiresAt) {
      this.#live = undefined;
      return verdict('code_expired');
    }
    const expected = Buffer.from(await pairingProof(live.code, kiosk, kid));
    const given = Buffer.from(proof);
    // The code may have been retired while we hashed.
    if (this.#live !== live) return verdict('no_pairing_code');
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      if (replaces && live.repair !== kiosk) return verdict('repair_not_allowed');
      this.#live = undefined;
      return live.doors === undefined ? verdict('ok') : { verdict: 'ok', doors: live.doors };
    }
    live.attemptsLeft--;
    if (live.attemptsLeft <= 0) {
      this.#live = undefined;
      return verdict('code_burnt');
    }
    return verdict('bad_code');
  }
}
