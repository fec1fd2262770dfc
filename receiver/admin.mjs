// @ts-check
/**
 * The admin credential: who may mint pairing codes, read the decision log and publish watchlist bundles.
 *
 * Being on loopback grants nothing: any local process, a container on the host network, an SSRF in another service
 * or a TLS proxy on the same host all arrive from 127.0.0.1. An admin request carries `Authorization: Bearer
 * <token>`, a 256-bit random token generated at first start and stored only as its SHA-256 (in
 * `admin-token.sha256`, 0600). The first start hands the token over in a file only its user can read
 * (`admin-token.new`, 0600), never on its output: a service's output is kept by journald, a container runtime or
 * a log shipper, and whoever reads those logs would hold the one credential that mints pairing codes for any door.
 * The admin moves it somewhere safe and deletes the file; each start warns while it is there. A fast hash is the right one here: slow hashes (scrypt, argon2) exist to stretch
 * low-entropy passwords, while guessing a 256-bit token is hopeless at any speed; a slow hash would only make every
 * admin request a CPU cost an attacker could impose. The hash is compared in constant time. Web pages are refused
 * even with a token (an admin route has no business in a browser, and a leaked token in a page is the likeliest
 * leak), and a token never travels in clear over the LAN: non-loopback admin calls must come over TLS.
 * Over plain http on loopback the admin commands first ask the listener to prove it is this receiver (`helloProof`):
 * an HMAC keyed with the stored hash over their nonce and both ends of their connection. Any local user can
 * listen on the receiver's port while it is down (a restart, a crash, an upgrade), or on another loopback address,
 * relaying to it; neither can answer for the connection the command opened, so the token stays with the command.
 * This module never logs, journals or returns a token it was sent.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string | undefined} a a socket's peer address */
export function isLoopback(a) {
  return a === '::1' || a?.startsWith('127.') === true || a?.startsWith('::ffff:127.') === true;
}

export const ADMIN_TOKEN_FILE = 'admin-token.sha256';
/** The first start's token, in clear, for the admin to collect (0600); see the module header. */
export const NEW_ADMIN_TOKEN_FILE = 'admin-token.new';

/**
 * Writes a first start's token to `admin-token.new` in the data folder, readable by this user only; returns the path.
 * Created afresh (any file there before removed first), so the mode holds even where an older file had another.
 * @param {string} dataDir
 * @param {string} token
 */
export function writeNewTokenFile(dataDir, token) {
  const path = join(dataDir, NEW_ADMIN_TOKEN_FILE);
  rmSync(path, { force: true });
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return path;
}
const TOKEN = /^ekr_[A-Za-z0-9_-]{43}$/;

/** @param {string} token */
export function hashToken(token) {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** An admin command's challenge: 32 random bytes, base64url. */
export const HELLO_NONCE = /^[A-Za-z0-9_-]{43}$/;

/**
 * One end of a TCP connection as both sides name it: `127.0.0.1:8787`, `[::1]:8787` (an IPv4 address a dual-stack
 * socket reports as `::ffff:127.0.0.1` is named as IPv4, as the other side sees it).
 * @param {string | undefined} address @param {number | undefined} port
 */
export function endpointName(address, port) {
  const a = (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return `${a.includes(':') ? `[${a}]` : a}:${port ?? ''}`;
}

/**
 * The receiver's answer to an admin command's nonce: HMAC-SHA256 keyed with the admin token's stored hash over the
 * nonce and both ends of the very connection it came on (`endpointName` of the command's end, then the receiver's).
 * The command, which holds the token, computes the same from its own socket before it sends the token. A listener
 * without the hash cannot answer; one passing the nonce on to the real receiver gets a proof for its own connection
 * to it, which has another client end (the kernel allows no second connection with the command's four-tuple while
 * the command's is open): so neither a relay nor a listener that took the port while the receiver was down and held
 * the command's connection until the receiver came back can pass it on (attacker review, session 33: bound to the
 * receiver's end alone, that hand-over worked). The answer reveals nothing of the hash (an HMAC of chosen input), so
 * it needs no token.
 * @param {Buffer} tokenHash @param {string} nonce @param {string} client @param {string} server
 */
export function helloProof(tokenHash, nonce, client, server) {
  return createHmac('sha256', tokenHash)
    .update(`entrance-kiosk-receiver admin hello\n${nonce}\n${client}\n${server}`)
    .digest('base64url');
}

/** A new token: "ekr_" + 32 random bytes in base64url (the prefix makes a leaked one easy to grep for). */
export function newToken() {
  return `ekr_${randomBytes(32).toString('base64url')}`;
}

/**
 * Writes a fresh token's hash to the data folder (replacing any earlier one) and returns the token.
 * @param {string} dataDir
 */
export function rotateAdminToken(dataDir) {
  const token = newToken();
  writeFileSync(join(dataDir, ADMIN_TOKEN_FILE), `sha256:${hashToken(token).toString('hex')}\n`, { mode: 0o600 });
  return token;
}

/**
 * Loads the stored hash, creating a token on first start.
 * @param {string} dataDir
 * @returns {{ hash: Buffer, created?: string }} `created` is the new token, to be handed over once (a 0600 file)
 */
export function loadAdminToken(dataDir) {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (!existsSync(path)) {
    const created = rotateAdminToken(dataDir);
    return { hash: hashToken(created), created };
  }
  const m = /^sha256:([0-9a-f]{64})\n?$/.exec(readFileSync(path, 'utf8'));
  if (!m) throw new Error(`${path} is not an admin token hash; delete it to generate a new token at next start`);
  return { hash: Buffer.from(m[1] ?? '', 'hex') };
}

/**
 * @typedef {{ ok: true } | { ok: false, status: 401 | 403, reason: 'admin_only' | 'admin_token_required'
 *   | 'admin_needs_tls' }} AdminVerdict
 */

/**
 * Decides whether a request may use an admin route. Exported to be tested without a second machine.
 * @param {{ remoteAddress: string | undefined, encrypted: boolean,
 *   headers: Record<string, string | string[] | undefined>, tokenHash: Buffer }} req
 * @returns {AdminVerdict}
 */
export function adminVerdict({ remoteAddress, encrypted, headers, tokenHash }) {
  const site = headers['sec-fetch-site'];
  if (headers.origin !== undefined || (site !== undefined && site !== 'none'))
    return { ok: false, status: 403, reason: 'admin_only' };
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer (\S+)$/.exec(auth) : null;
  const given = m?.[1];
  if (given === undefined || !TOKEN.test(given) || !timingSafeEqual(hashToken(given), tokenHash))
    return { ok: false, status: 401, reason: 'admin_token_required' };
  if (!encrypted && !isLoopback(remoteAddress)) return { ok: false, status: 403, reason: 'admin_needs_tls' };
  return { ok: true };
}
