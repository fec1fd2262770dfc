// @ts-check
/**
 * Pairing state on disk: which kiosk ids are paired with which public key, and the highest sequence number
 * accepted from each, in one JSON file in the data directory.
 *
 * The last accepted sequence is written before a decision is passed to any output, so a restart can never make a
 * replayed message acceptable again. Writes are atomic and durable (temp file, fsync, rename, fsync of the folder
 * so the rename itself survives a power cut) and private (0600 in a 0700 directory). In memory the kiosks live in
 * a Map: kiosk ids come from the network, and a plain object would answer `constructor` or `__proto__` from its
 * prototype. An unreadable or malformed file stops the receiver instead of being replaced: silently starting
 * empty would forget every sequence number, which is exactly what a replay needs.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Makes a rename in `dir` durable: without it, a power cut can bring back the old name. @param {string} dir */
export function fsyncDir(dir) {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const STATE_FILE = 'receiver-state.json';
/** How many recently accepted (seq, nonce) pairs are kept to recognise a kiosk's retry of a delivered decision. */
export const RECENT = 32;

/**
 * @typedef {import('./protocol.mjs').PublicJwk} PublicJwk
 * @typedef {{ jwk: PublicJwk, kid: string, pairedAt: number, lastSeq: number, lastAcceptedAt?: number,
 *   recent: [number, string][] }} KioskRecord
 * @typedef {{ v: 1, kiosks: Map<string, KioskRecord> }} ReceiverState
 */

/** @param {unknown} r @returns {r is KioskRecord} */
function isKioskRecord(r) {
  if (typeof r !== 'object' || r === null) return false;
  const k = /** @type {Record<string, unknown>} */ (r);
  const jwk = /** @type {Record<string, unknown> | null} */ (k.jwk);
  return (
    typeof jwk === 'object' &&
    jwk !== null &&
    jwk.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    typeof jwk.x === 'string' &&
    typeof jwk.y === 'string' &&
    typeof k.kid === 'string' &&
    typeof k.pairedAt === 'number' &&
    Number.isSafeInteger(k.lastSeq) &&
    Array.isArray(k.recent) &&
    k.recent.every((e) => Array.isArray(e) && typeof e[0] === 'number' && typeof e[1] === 'string')
  );
}

export class StateFile {
  #path;

  /** @param {string} dataDir */
  constructor(dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.#path = join(dataDir, STATE_FILE);
  }

  get path() {
    return this.#path;
  }

  /** @returns {ReceiverState} */
  load() {
    if (!existsSync(this.#path)) return { v: 1, kiosks: new Map() };
    /** @type {unknown} */
    let parsed;
    try {
      parsed = JSON.parse(readFileSync(this.#path, 'utf8'));
    } catch (e) {
      throw new Error(`${this.#path} is not valid JSON; refusing to start with unknown sequence numbers`, { cause: e });
    }
    const s = /** @type {{ v?: unknown, kiosks?: unknown }} */ (parsed);
    if (typeof s !== 'object' || s === null || s.v !== 1 || typeof s.kiosks !== 'object' || s.kiosks === null) {
      throw new Error(`${this.#path} is not a receiver state file (v1)`);
    }
    /** @type {Map<string, KioskRecord>} */
    const kiosks = new Map();
    // JSON.parse makes every key an own property (even "__proto__"), so Object.entries sees exactly what is there.
    for (const [id, rec] of Object.entries(s.kiosks)) {
      if (!isKioskRecord(rec)) throw new Error(`${this.#path}: record for kiosk ${JSON.stringify(id)} is malformed`);
      kiosks.set(id, rec);
    }
    return { v: 1, kiosks };
  }

  /** @param {ReceiverState} state */
  save(state) {
    const tmp = `${this.#path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      // Object.fromEntries defines own properties, so an id like "__proto__" is written as data, not a prototype.
      writeSync(fd, JSON.stringify({ v: 1, kiosks: Object.fromEntries(state.kiosks) }, null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
    fsyncDir(dirname(this.#path));
  }
}
