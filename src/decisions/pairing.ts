/**
 * Kiosk side of pairing: registers this kiosk's public key with the receiver using a one-time code.
 *
 * Trust flows from the receiver: it prints a one-time code (10 Crockford base32 characters, 50 bits, valid for
 * minutes, single use, burnt after a few wrong tries) where only its admin can see it; the admin types it into the
 * kiosk's admin screen. The code itself never travels: the kiosk sends an HMAC keyed by the code over its kiosk id
 * and key thumbprint, so whoever sees the request cannot reuse the code for another key, and the request is signed
 * with the new private key to prove the kiosk holds it. Both screens then show the same key fingerprint.
 */
import { KioskError } from '../shared/errors';
import { base64urlEncode, utf8 } from './encoding';
import { ID_PATTERN, type DecisionEnvelope, serialiseEnvelope } from './message';
import { type PublicJwk, exportPublicJwk, jwkThumbprint, signText } from './signer';

export const PAIRING_CODE_LENGTH = 10;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface PairRequestPayload {
  v: 1;
  kiosk: string;
  key: PublicJwk;
  ts: number;
  proof: string;
}

/** Uppercase, drop spaces and dashes, fold the look-alikes Crockford folds (O→0, I/L→1); undefined if invalid. */
export function normalisePairingCode(input: string): string | undefined {
  const folded = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (folded.length !== PAIRING_CODE_LENGTH) return undefined;
  for (const c of folded) if (!CROCKFORD.includes(c)) return undefined;
  return folded;
}

/** The bytes the code authenticates: which kiosk id may register which key. */
export function pairingStatement(kiosk: string, kid: string): string {
  return `entrance-kiosk/pair/v1\n${kiosk}\n${kid}`;
}

export async function pairingProof(code: string, kiosk: string, kid: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', utf8(code), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64urlEncode(new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(pairingStatement(kiosk, kid)))));
}

export function canonicalPairPayload(p: PairRequestPayload): string {
  return JSON.stringify({
    v: p.v,
    kiosk: p.kiosk,
    key: { kty: p.key.kty, crv: p.key.crv, x: p.key.x, y: p.key.y },
    ts: p.ts,
    proof: p.proof,
  });
}

/** Builds the signed pairing body. Throws UPSTREAM_PAIRING_FAILED for a malformed code or kiosk id. */
export async function buildPairRequest(
  kiosk: string,
  keyPair: CryptoKeyPair,
  code: string,
  now = Date.now(),
): Promise<{ body: string; kid: string }> {
  const normalised = normalisePairingCode(code);
  if (!normalised) throw new KioskError('UPSTREAM_PAIRING_FAILED', { reason: 'code_format', rule: 'pairCodeFormat' });
  if (!ID_PATTERN.test(kiosk)) throw new KioskError('CONFIG_INVALID', { field: 'kioskId' });
  const key = await exportPublicJwk(keyPair.publicKey);
  const kid = await jwkThumbprint(key);
  const payload = canonicalPairPayload({
    v: 1,
    kiosk,
    key,
    ts: now,
    proof: await pairingProof(normalised, kiosk, kid),
  });
  const env: DecisionEnvelope = { payload, sig: await signText(keyPair.privateKey, payload) };
  return { body: serialiseEnvelope(env), kid };
}

/** The pairing endpoint next to the decisions endpoint (…/decisions → …/pair). */
export function pairUrlFor(decisionsUrl: string): string {
  return new URL('pair', decisionsUrl).href;
}

/**
 * POSTs the pairing request. Resolves with the key id the receiver registered; rejects with
 * UPSTREAM_PAIRING_FAILED: details.reason is the receiver's reason code (rule 'pairRefused') or 'network' when the
 * receiver could not be reached (rule 'pairUnreachable').
 */
export async function pairWithReceiver(opts: {
  decisionsUrl: string;
  kiosk: string;
  keyPair: CryptoKeyPair;
  code: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Promise<{ kid: string }> {
  const { body, kid } = await buildPairRequest(opts.kiosk, opts.keyPair, opts.code);
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    res = await doFetch(pairUrlFor(opts.decisionsUrl), {
      method: 'POST',
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (e) {
    // A pairing failure, not a delivery one: UPSTREAM_UNREACHABLE says "decisions are queued", and before pairing
    // nothing is (hand check, stop 29).
    throw new KioskError('UPSTREAM_PAIRING_FAILED', { reason: 'network', rule: 'pairUnreachable' }, { cause: e });
  }
  const reply = (await res.json().catch(() => ({}))) as { ok?: boolean; reason?: unknown; kid?: unknown };
  if (!res.ok || reply.ok !== true) {
    const reason = typeof reply.reason === 'string' ? reply.reason.slice(0, 40) : 'unknown';
    throw new KioskError('UPSTREAM_PAIRING_FAILED', {
      status: res.status,
      reason,
      // This tablet's key was unpaired (revoked or replaced) and never pairs again: no code helps, a new key does.
      rule: reason === 'key_retired' ? 'pairKeyRetired' : 'pairRefused',
    });
  }
  if (reply.kid !== kid) throw new KioskError('UPSTREAM_PAIRING_FAILED', { reason: 'kid_mismatch' });
  return { kid };
}
