// @ts-check
/**
 * Actuation orders: what the receiver hands a door, signed by the receiver so the signature chain does not stop
 * here. Owns the receiver's own ECDSA P-256 key (made at first start, private JWK 0600 in the data folder, public
 * JWK next to it for door controllers to pin), the order format, and the webhook HMAC header. Never signs anything
 * that did not pass every check in app.mjs, and never puts into an order what the kiosk did not sign (plus the
 * receiver's own verdicts: when, fresh or stale, act or not).
 *
 * Wire form, on every output (log line, webhook body, MQTT payload), mirroring the kiosk's own envelope:
 *   {"order":"<JSON text>","sig":"<base64url raw r||s, low-s>","kid":"<RFC 7638 id of the receiver key>"}
 * The order text, keys in this order:
 *   {"v":1,"id":<16 random bytes b64url>,"at":<receiver ms>,"door":<door, or the kiosk id when the kiosk named
 *    none>,"kiosk","seq","decision","actuate","stale","ageMs","source":{"payload","sig","kid"}}
 * `source` is the kiosk's original signed decision and its key id, so a door that also pins kiosk keys can check
 * the kiosk's signature itself. A door acts only on `actuate: true`, after checking the receiver's signature, the
 * order's freshness and that its id is new (receiver/door-client.mjs does exactly that).
 * The webhook adds `X-Entrance-Kiosk-Signature: t=<unix s>,v1=<hex HMAC-SHA-256(secret, t + "." + body)>` (the
 * Stripe scheme): an endpoint can refuse a forged or replayed POST cheaply, before parsing, with only a shared
 * secret (Node-RED, Home Assistant), while the ECDSA signature stays verifiable end to end, whatever carried it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprint, importPublicKey, signLowS, thumbprint } from './protocol.mjs';

const subtle = globalThis.crypto.subtle;

export const RECEIVER_KEY_FILE = 'receiver-key.jwk';
export const RECEIVER_PUBLIC_FILE = 'receiver-public.jwk';
export const WEBHOOK_SECRET_FILE = 'webhook-secret';
export const SIGNATURE_HEADER = 'x-entrance-kiosk-signature';

/**
 * @typedef {import('./outputs.mjs').VerifiedDecision} VerifiedDecision
 * @typedef {{ v: 1, id: string, at: number, door: string, kiosk: string, seq: number, decision: 'grant' | 'deny',
 *   actuate: boolean, stale: boolean, ageMs: number, source: { payload: string, sig: string, kid: string } }} Order
 * @typedef {{ order: Order, text: string }} SignedOrder `text` is the envelope as sent
 * @typedef {{ kty: 'EC', crv: 'P-256', x: string, y: string }} PublicJwk
 */

/**
 * Loads the receiver's signing key, making one at first start.
 * @param {string} dataDir
 * @returns {Promise<{ privateKey: CryptoKey, jwk: PublicJwk, kid: string, fingerprint: string, created: boolean }>}
 */
export async function loadReceiverKey(dataDir) {
  const path = join(dataDir, RECEIVER_KEY_FILE);
  const created = !existsSync(path);
  /** @type {JsonWebKey} */
  let priv;
  if (created) {
    const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    priv = await subtle.exportKey('jwk', pair.privateKey);
    writeFileSync(path, `${JSON.stringify(priv)}\n`, { mode: 0o600 });
  } else {
    try {
      priv = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path} is not a JWK; refusing to sign orders with an unknown key`, { cause: e });
    }
  }
  if (priv.kty !== 'EC' || priv.crv !== 'P-256' || !priv.d || !priv.x || !priv.y)
    throw new Error(`${path} is not a P-256 private JWK`);
  const privateKey = await subtle.importKey('jwk', priv, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  /** @type {PublicJwk} */
  const jwk = { kty: 'EC', crv: 'P-256', x: priv.x, y: priv.y };
  // Rewritten every start, so the file a door controller copies always matches the key in use.
  writeFileSync(join(dataDir, RECEIVER_PUBLIC_FILE), `${JSON.stringify(jwk)}\n`, { mode: 0o644 });
  const kid = await thumbprint(jwk);
  return { privateKey, jwk, kid, fingerprint: fingerprint(kid), created };
}

/**
 * The webhook's shared secret: from `file` if given, else `<data>/webhook-secret`, made at first use.
 * @param {string} dataDir @param {string} [file]
 * @returns {{ secret: string, path: string, created: boolean }}
 */
export function loadWebhookSecret(dataDir, file) {
  const path = file ?? join(dataDir, WEBHOOK_SECRET_FILE);
  if (file === undefined && !existsSync(path)) {
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(path, `${secret}\n`, { mode: 0o600 });
    return { secret, path, created: true };
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${path}: a webhook secret needs at least 32 characters`);
  return { secret, path, created: false };
}

/**
 * Signs the order for one verified decision.
 * @param {CryptoKey} privateKey @param {string} receiverKid
 * @param {VerifiedDecision} d @param {{ payload: string, sig: string }} envelope the kiosk's, as received
 * @param {number} at
 * @returns {Promise<SignedOrder>}
 */
export async function signOrder(privateKey, receiverKid, d, envelope, at) {
  /** @type {Order} */
  const order = {
    v: 1,
    id: randomBytes(16).toString('base64url'),
    at,
    door: d.door ?? d.kiosk,
    kiosk: d.kiosk,
    seq: d.seq,
    decision: d.decision,
    actuate: d.actuate,
    stale: d.stale,
    ageMs: d.ageMs,
    source: { payload: envelope.payload, sig: envelope.sig, kid: d.kid },
  };
  const orderText = JSON.stringify(order);
  const text = JSON.stringify({ order: orderText, sig: await signLowS(privateKey, orderText), kid: receiverKid });
  return { order, text };
}

/**
 * The webhook signature header value for `body` at `tSeconds`.
 * @param {string} secret @param {string} body @param {number} tSeconds
 */
export function webhookSignature(secret, body, tSeconds) {
  const mac = createHmac('sha256', secret).update(`${tSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${tSeconds},v1=${mac}`;
}

/**
 * Checks a webhook signature header: right MAC, timestamp within `toleranceMs` of `now`.
 * @param {string} secret @param {string} body @param {string | undefined} header @param {number} now
 * @param {number} toleranceMs
 * @returns {'ok' | 'no_signature' | 'bad_signature' | 'stale_signature'}
 */
export function checkWebhookSignature(secret, body, header, now, toleranceMs) {
  const m = typeof header === 'string' ? /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!m) return 'no_signature';
  const t = Number(m[1]);
  const want = Buffer.from(webhookSignature(secret, body, t).slice(-64), 'hex');
  if (!timingSafeEqual(want, Buffer.from(m[2] ?? '', 'hex'))) return 'bad_signature';
  if (Math.abs(now - t * 1000) > toleranceMs) return 'stale_signature';
  return 'ok';
}

/** @param {PublicJwk} jwk */
export const importReceiverKey = importPublicKey;
