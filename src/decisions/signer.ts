/**
 * Device keys for decisions: ECDSA P-256 signing, the public key's JWK and RFC 7638 thumbprint, and the optional
 * HMAC key behind pseudonymous subject references.
 *
 * Private keys are generated here with `extractable: false` and are never exported, logged or sent: the browser
 * keeps the key material, the store keeps only the CryptoKey handle. WebCrypto's ECDSA output is already the raw
 * r||s form (64 bytes) the receiver verifies, so no DER conversion happens anywhere; its s is folded to the low
 * half (s <= n/2) because the receiver accepts only that form, which gives each message one valid signature. Subject references are a
 * truncated HMAC of the subject id under a device-only key, so the receiver can count visits of one person without
 * learning who it is; rotating the key makes all earlier references unlinkable.
 */
import { KioskError } from '../shared/errors';
import { base64urlDecode, base64urlEncode, utf8 } from './encoding';
import { type DecisionEnvelope, type DecisionPayload, canonicalPayload, checkPayloadText } from './message';

const ECDSA_GEN: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const ECDSA_SIGN: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** Public P-256 key as sent for pairing: only the members RFC 7638 hashes, nothing else. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/**
 * A new signing pair, extractable once so the vault can seal it (src/store/secrets.ts); the service keeps and uses
 * only the copy the vault gives back, whose private half is non-extractable. Generated non-extractable, the key had
 * to be stored as a CryptoKey object outside the seal, readable from a copied profile.
 */
export async function generateSigningKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ECDSA_GEN, true, ['sign', 'verify']);
}

export async function exportPublicJwk(publicKey: CryptoKey): Promise<PublicJwk> {
  const jwk = await crypto.subtle.exportKey('jwk', publicKey);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new KioskError('INTERNAL', { reason: 'not a P-256 public key' });
  }
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the key id both sides show the admin to compare. */
export async function jwkThumbprint(jwk: PublicJwk): Promise<string> {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return base64urlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(canonical))));
}

/** Short grouped form of a thumbprint for screens and logs ("AbCd-EfGh-IjKl-MnOp"). */
export function fingerprint(kid: string): string {
  return (kid.slice(0, 16).match(/.{1,4}/g) ?? []).join('-');
}

/** Order of the P-256 group. For every valid (r, s), (r, n - s) verifies too. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function scalarOf(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** True if raw r||s has s <= n/2: the one form the receiver accepts (one valid signature per message). */
export function isLowS(raw: Uint8Array): boolean {
  return scalarOf(raw.subarray(32, 64)) <= P256_N >> 1n;
}

/** Folds a high-s signature to (r, n - s); WebCrypto returns either form at random. */
export function toLowS(raw: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (raw.length !== 64 || isLowS(raw)) return raw;
  const out = raw.slice();
  let s = P256_N - scalarOf(raw.subarray(32, 64));
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

export async function signText(privateKey: CryptoKey, text: string): Promise<string> {
  return base64urlEncode(toLowS(new Uint8Array(await crypto.subtle.sign(ECDSA_SIGN, privateKey, utf8(text)))));
}

export async function verifyText(publicKey: CryptoKey, text: string, sig: string): Promise<boolean> {
  const raw = base64urlDecode(sig);
  if (!raw || raw.length !== 64 || !isLowS(raw)) return false;
  return crypto.subtle.verify(ECDSA_SIGN, publicKey, raw, utf8(text));
}

export async function signPayload(privateKey: CryptoKey, payload: DecisionPayload): Promise<DecisionEnvelope> {
  const text = canonicalPayload(payload);
  return { payload: text, sig: await signText(privateKey, text) };
}

/**
 * The same decision re-signed with `stale: true` (same seq, ts and nonce): what the sender transmits when a queued
 * decision has outlived the freshness window, so the record says it was late and no door acts on it.
 */
export async function restampStale(privateKey: CryptoKey, env: DecisionEnvelope): Promise<DecisionEnvelope> {
  const checked = checkPayloadText(env.payload);
  if (!checked.ok) throw new KioskError('INTERNAL', { reason: 'cannot restamp an invalid payload', check: checked.reason });
  if (checked.value.stale) return env;
  return signPayload(privateKey, { ...checked.value, stale: true });
}

/** Extractable once, for the vault's seal, like generateSigningKey. */
export async function generateSubjectKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
}

/** Pseudonymous, stable-per-key reference to a subject: first 16 bytes of HMAC-SHA-256("subject/v1\n" + id). */
export async function subjectRef(subjectKey: CryptoKey, subjectId: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', subjectKey, utf8(`subject/v1\n${subjectId}`));
  return base64urlEncode(new Uint8Array(mac).slice(0, 16));
}
