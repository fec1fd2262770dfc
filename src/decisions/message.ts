/**
 * The decision message: versioned schema, canonical serialisation, envelope, exact validation.
 *
 * Owns the only bytes that ever leave the kiosk about a visitor. A decision says grant or deny, for which kiosk
 * (and optionally which door), with a sequence number, a timestamp and a nonce, plus a `stale` flag and, only when
 * an admin opted in, a pseudonymous subject reference. It must never carry a name, a score, a template or an image:
 * the schema below has no field that could hold one, and validation refuses any field it does not list.
 *
 * Wire format (v1), at most MAX_ENVELOPE_BYTES:
 *   envelope = {"payload":"<canonical payload JSON, as a JSON string>","sig":"<base64url r||s, 64 bytes>"}
 *   signed bytes = the UTF-8 bytes of the `payload` string value (after JSON-decoding the envelope), so nobody has
 *   to re-canonicalise an object to verify: the payload is verified as the exact text the kiosk signed.
 * The payload text is itself canonical (fixed key order, no whitespace, optional keys absent rather than
 * null/false) so two spellings of one decision cannot both verify; the receiver checks that too.
 * The same rules are implemented independently in receiver/protocol.mjs; test/fixtures/decisions/vectors.json
 * pins both to the same bytes.
 */
import type { AuditEntry } from '../shared/types';

export const DECISION_VERSION = 1;
/** The kiosk never emits more than this; the receiver refuses bodies over 1 KiB (defence in depth). */
export const MAX_ENVELOPE_BYTES = 512;
/** Kiosk and door ids: short ASCII so the size bound holds and nothing personal fits. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
/** 16 random bytes, base64url. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** 128-bit truncated HMAC-SHA-256, base64url. */
export const SUBJECT_REF_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** ECDSA P-256 raw r||s (64 bytes), base64url. */
export const SIG_PATTERN = /^[A-Za-z0-9_-]{86}$/;
/** Timestamps are milliseconds; this range catches a seconds-vs-milliseconds mix-up (2020-01-01 .. 2100-01-01). */
export const TS_MIN = 1_577_836_800_000;
export const TS_MAX = 4_102_444_800_000;

export type UpstreamDecision = 'grant' | 'deny';

export interface DecisionPayload {
  v: 1;
  kiosk: string;
  seq: number;
  ts: number;
  decision: UpstreamDecision;
  door?: string;
  nonce: string;
  /** Only ever `true` when present: the decision was older than the freshness window when sent. */
  stale?: true;
  /** Pseudonymous subject reference (admin opt-in; absent by default). */
  sub?: string;
  /**
   * Only ever `true` when present: a guard's or admin's manual override, not the kiosk's own decision. Signed, so the
   * receiver's log tells overrides apart even when the tablet's own audit has been purged (attacker review, session 25).
   */
  manual?: true;
}

export interface DecisionEnvelope {
  payload: string;
  sig: string;
}

/** Payload keys in canonical order, each marked required or optional. */
const PAYLOAD_KEYS = [
  ['v', true],
  ['kiosk', true],
  ['seq', true],
  ['ts', true],
  ['decision', true],
  ['door', false],
  ['nonce', true],
  ['stale', false],
  ['sub', false],
  ['manual', false],
] as const;

export type SchemaFailure =
  'bad_json' | 'not_object' | 'extra_field' | 'missing_field' | 'bad_field' | 'not_canonical' | 'too_large';

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: SchemaFailure; field?: string };

/** The canonical payload text: keys in PAYLOAD_KEYS order, absent optionals omitted, no whitespace. */
export function canonicalPayload(p: DecisionPayload): string {
  const ordered: Record<string, unknown> = {};
  for (const [key] of PAYLOAD_KEYS) {
    const value = p[key];
    if (value !== undefined) ordered[key] = value;
  }
  return JSON.stringify(ordered);
}

/** The envelope text exactly as the kiosk sends it. */
export function serialiseEnvelope(env: DecisionEnvelope): string {
  return JSON.stringify({ payload: env.payload, sig: env.sig });
}

/** What a kiosk presents with a bundle pull (query `id`, `ts`, `sig`): see pullStatement. */
export interface PullCredentials {
  kiosk: string;
  ts: number;
  sig: string;
}

/**
 * The text a kiosk signs, with its decision key, to pull a watchlist bundle from the receiver (receiver/protocol.mjs
 * spells the same text independently): kiosk id, installed version, the receiving key id it asks for (hex, or "-")
 * and its clock. The first line keeps it apart from a decision payload (JSON) and the pairing statement.
 */
export function pullStatement(kiosk: string, since: number, receivingKeyHex: string | undefined, ts: number): string {
  return `entrance-kiosk/bundle-pull/v1\n${kiosk}\n${since}\n${receivingKeyHex ?? '-'}\n${ts}`;
}

function fail<T>(reason: SchemaFailure, field?: string): Checked<T> {
  return field === undefined ? { ok: false, reason } : { ok: false, reason, field };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Field-by-field check of a parsed payload object: exact key set, exact types and ranges. */
export function checkPayloadObject(obj: unknown): Checked<DecisionPayload> {
  if (!isPlainObject(obj)) return fail('not_object', 'payload');
  const known = new Set<string>(PAYLOAD_KEYS.map(([k]) => k));
  for (const key of Object.keys(obj)) if (!known.has(key)) return fail('extra_field', key);
  for (const [key, required] of PAYLOAD_KEYS) if (required && !(key in obj)) return fail('missing_field', key);
  const { v, kiosk, seq, ts, decision, door, nonce, stale, sub, manual } = obj;
  if (v !== DECISION_VERSION) return fail('bad_field', 'v');
  if (typeof kiosk !== 'string' || !ID_PATTERN.test(kiosk)) return fail('bad_field', 'kiosk');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return fail('bad_field', 'seq');
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < TS_MIN || ts > TS_MAX) return fail('bad_field', 'ts');
  if (decision !== 'grant' && decision !== 'deny') return fail('bad_field', 'decision');
  if (door !== undefined && (typeof door !== 'string' || !ID_PATTERN.test(door))) return fail('bad_field', 'door');
  if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) return fail('bad_field', 'nonce');
  if (stale !== undefined && stale !== true) return fail('bad_field', 'stale');
  if (sub !== undefined && (typeof sub !== 'string' || !SUBJECT_REF_PATTERN.test(sub))) return fail('bad_field', 'sub');
  if (manual !== undefined && manual !== true) return fail('bad_field', 'manual');
  const p: DecisionPayload = { v: 1, kiosk, seq, ts, decision, nonce };
  if (door !== undefined) p.door = door;
  if (stale === true) p.stale = true;
  if (sub !== undefined) p.sub = sub;
  if (manual === true) p.manual = true;
  return { ok: true, value: p };
}

/** Parses and checks a payload string, including that it is the canonical spelling of itself. */
export function checkPayloadText(text: string): Checked<DecisionPayload> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return fail('bad_json', 'payload');
  }
  const checked = checkPayloadObject(obj);
  if (!checked.ok) return checked;
  if (canonicalPayload(checked.value) !== text) return fail('not_canonical', 'payload');
  return checked;
}

/** Exact check of a whole request body (size, envelope shape, canonical spelling, payload schema). No crypto. */
export function checkEnvelopeText(body: string): Checked<{ envelope: DecisionEnvelope; payload: DecisionPayload }> {
  if (new TextEncoder().encode(body).length > MAX_ENVELOPE_BYTES) return fail('too_large');
  let obj: unknown;
  try {
    obj = JSON.parse(body);
  } catch {
    return fail('bad_json');
  }
  if (!isPlainObject(obj)) return fail('not_object');
  for (const key of Object.keys(obj)) if (key !== 'payload' && key !== 'sig') return fail('extra_field', key);
  const { payload, sig } = obj;
  if (typeof payload !== 'string') return fail(payload === undefined ? 'missing_field' : 'bad_field', 'payload');
  if (typeof sig !== 'string') return fail(sig === undefined ? 'missing_field' : 'bad_field', 'sig');
  if (!SIG_PATTERN.test(sig)) return fail('bad_field', 'sig');
  const envelope = { payload, sig };
  if (serialiseEnvelope(envelope) !== body) return fail('not_canonical');
  const checked = checkPayloadText(payload);
  if (!checked.ok) return checked;
  return { ok: true, value: { envelope, payload: checked.value } };
}

/** Maps a kiosk outcome to what goes upstream; outcomes that are not a decision (no face, poor image) send nothing. */
export function upstreamDecisionFor(outcome: AuditEntry['outcome']): UpstreamDecision | null {
  switch (outcome) {
    case 'grant':
    case 'override-grant':
      return 'grant';
    case 'deny-unknown':
    case 'deny-listed':
    // A suspected presentation attack is a plain deny upstream: the door needs no more, an attacker learns nothing.
    case 'deny-spoof':
    case 'override-deny':
      return 'deny';
    default:
      return null;
  }
}
