// @ts-check
/**
 * One-time pairing codes: the receiver's side of "who may register a kiosk key".
 *
 * Trust starts here, on the receiver: a code is drawn from the OS CSPRNG (10 Crockford base32 characters, 50 bits),
 * shown only where the receiver's admin can see it (the first one, while no kiosk is paired, in the receiver's output;
 * every later one only in the answer of the token-guarded admin route, never in a log), valid for a few minutes,
 * consumed by the first successful pairing and burnt after a few wrong proofs. The code never arrives in a request: a
 * kiosk proves it knows the code with an HMAC over its kiosk id and key id, so the code cannot be lifted off the wire
 * and used for another key. One code is live at a time; issuing a new one retires the old. A code pairs new kiosk ids
 * only: changing what an already paired id may do needs a code the admin issued for exactly that id (a re-pair code,
 * `repair`). That is giving it a new key (a silent key swap is how a stolen code would take over a working kiosk),
 * pairing it again after the admin revoked it (a lost tablet must not come back on any code), or giving it other doors
 * (the holder of a paired kiosk's key must not widen its doors with a code minted for another tablet). The same key
 * re-paired with an ordinary code that names no doors, or the doors it has, changes nothing but the pairing time. A
 * code may name the doors the kiosk paired with it may address (`doors`); a kiosk paired without them is bound to the
 * door its first decision names (receiver/app.mjs), so one compromised tablet cannot open every door.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { pairingProof } from './protocol.mjs';

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_LENGTH = 10;

/** @typedef {'ok' | 'no_pairing_code' | 'code_expired' | 'bad_code' | 'code_burnt' | 'repair_not_allowed'}
 * PairingVerdict */

/**
 * An already paired id as the pairing sees it: its key id, its doors (absent: not bound yet), whether it is revoked.
 * @typedef {{ kid: string, doors?: string[], revoked?: boolean }} PairedAs
 */

/**
 * Would pairing `kid` for this paired id with a code naming `codeDoors` (undefined: none) change what the id may do,
 * so that only a re-pair code for it may? A new key, a revoked id, or doors other than its own (as a set).
 * @param {PairedAs | undefined} current @param {string} kid @param {string[] | undefined} codeDoors
 */
export function needsRepairCode(current, kid, codeDoors) {
  if (current === undefined) return false;
  if (current.kid !== kid || current.revoked === true) return true;
  if (codeDoors === undefined) return false;
  const have = new Set(current.doors ?? []);
  return current.doors === undefined || codeDoors.length !== have.size || codeDoors.some((d) => !have.has(d));
}

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
   *   re-pair (a new key, after a revocation, other doors: needsRepairCode); `doors`: the doors the kiosk paired with
   *   this code may address
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
   * that would change what a paired id may do (`current`: how it is paired now; needsRepairCode) with a code not
   * issued for that id is refused without consuming the code (the admin may still use it for a new kiosk). A boolean
   * `current` says outright whether the pairing needs a re-pair code.
   * @param {string} proof @param {string} kiosk @param {string} kid @param {PairedAs | boolean} [current]
   * @returns {Promise<PairingVerdict>}
   */
  async verify(proof, kiosk, kid, current) {
    return (await this.redeem(proof, kiosk, kid, current)).verdict;
  }

  /**
   * `verify`, with the doors the consumed code named (on 'ok', when it named any).
   * @param {string} proof @param {string} kiosk @param {string} kid @param {PairedAs | boolean} [current]
   * @returns {Promise<{ verdict: PairingVerdict, doors?: string[] }>}
   */
  async redeem(proof, kiosk, kid, current) {
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
      const needsRepair = typeof current === 'boolean' ? current : needsRepairCode(current, kid, live.doors);
      if (needsRepair && live.repair !== kiosk) return verdict('repair_not_allowed');
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
