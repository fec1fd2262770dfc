/**
 * The byte layout of a watchlist bundle's header and envelope (docs/sync.md documents it byte by byte).
 *
 * Pure and runtime-neutral: it encodes and parses the framing only — magic, fixed fields, recipient entries,
 * lengths — and never touches keys, ciphertext contents or the payload. Parsing is strict (reserved bytes must be
 * zero, enums must be known, the file length must match the declared lengths exactly) so that a damaged file is
 * refused as BUNDLE_INVALID before any cryptography runs; every field it returns is still UNVERIFIED until the
 * signature over the header and ciphertext has been checked.
 */
import type { BundleKind } from './types';
import { ByteReader, ByteWriter, MAX_SAFE_U64, invalid } from './bytes';

/** "\x89KWB\r\n\x1a\n": the high byte and the CR LF / ^Z / LF catch 7-bit and text-mode transfers (PNG's trick). */
export const MAGIC = Uint8Array.of(0x89, 0x4b, 0x57, 0x42, 0x0d, 0x0a, 0x1a, 0x0a);
export const FORMAT_VERSION = 1;

export const KIND_CODE: Record<BundleKind, number> = { full: 1, delta: 2 };
const KIND_BY_CODE: Record<number, BundleKind> = { 1: 'full', 2: 'delta' };

export const ENTRY_SITE = 1;
export const ENTRY_KIOSK = 2;

export const KEY_ID_BYTES = 32;
export const IV_BYTES = 12;
export const SALT_BYTES = 16;
export const GCM_TAG_BYTES = 16;
/** AES-KW output for a 32-byte content key (RFC 3394: n+8). */
export const WRAPPED_KEY_BYTES = 40;
/** Uncompressed SEC1 P-256 point: 0x04 || X || Y. */
export const EC_POINT_BYTES = 65;
/** ECDSA P-256 signature in WebCrypto's IEEE P1363 form r || s. */
export const SIGNATURE_BYTES = 64;
/** Offset of the first recipient entry. */
export const FIXED_HEADER_BYTES = 86;
export const SITE_ENTRY_BYTES = 1 + 4 + SALT_BYTES + WRAPPED_KEY_BYTES;
export const KIOSK_ENTRY_BYTES = 1 + KEY_ID_BYTES + EC_POINT_BYTES + WRAPPED_KEY_BYTES;

/** Largest bundle a kiosk reads (and an admin writes): 256 MiB, about 60k subjects with five 512-d templates. */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
export const MAX_RECIPIENTS = 1024;
/** Each site entry may cost a PBKDF2 run when opened with a passphrase, so only a few are allowed. */
export const MAX_SITE_ENTRIES = 4;
/** OWASP 2023 floor for PBKDF2-HMAC-SHA256. */
export const MIN_PBKDF2_ITERATIONS = 600_000;
/** Cap so a (signed) bundle cannot make a kiosk spin for minutes. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;

export interface SiteEntry {
  type: 'site';
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  wrappedKey: Uint8Array<ArrayBuffer>;
}

export interface KioskEntry {
  type: 'kiosk';
  /** SHA-256 of the recipient kiosk's ECDH public key (SPKI DER). */
  keyId: Uint8Array<ArrayBuffer>;
  ephemeralPublicKey: Uint8Array<ArrayBuffer>;
  wrappedKey: Uint8Array<ArrayBuffer>;
}

export type RecipientEntry = SiteEntry | KioskEntry;

export interface BundleHeader {
  kind: BundleKind;
  version: number;
  baseVersion: number;
  createdAt: number;
  issuerKeyId: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  /** Ciphertext bytes including the 16-byte GCM tag. */
  ciphertextLength: number;
  recipients: RecipientEntry[];
}

/** Where the parts of a well-formed bundle lie: [0, headerEnd) header, [headerEnd, signedEnd) ciphertext, then the signature. */
export interface BundleLayout {
  header: BundleHeader;
  headerEnd: number;
  signedEnd: number;
}

function isU64(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= MAX_SAFE_U64;
}

/**
 * Header checks shared by the writer and the reader, so an admin can never produce a file a kiosk would refuse
 * as malformed. Returns the reason, or undefined when valid.
 */
export function headerProblem(h: BundleHeader): string | undefined {
  if (!isU64(h.version) || h.version < 1) return 'version';
  if (!isU64(h.baseVersion)) return 'base-version';
  if (h.kind === 'full' && h.baseVersion !== 0) return 'base-version';
  if (h.kind === 'delta' && h.baseVersion >= h.version) return 'base-version';
  if (!isU64(h.createdAt)) return 'created-at';
  if (h.issuerKeyId.length !== KEY_ID_BYTES) return 'issuer';
  if (h.iv.length !== IV_BYTES) return 'iv';
  if (
    !Number.isInteger(h.ciphertextLength) ||
    h.ciphertextLength < GCM_TAG_BYTES ||
    h.ciphertextLength > MAX_BUNDLE_BYTES
  ) {
    return 'ciphertext-length';
  }
  if (h.recipients.length < 1 || h.recipients.length > MAX_RECIPIENTS) return 'recipient-count';
  let sites = 0;
  for (const r of h.recipients) {
    if (r.wrappedKey.length !== WRAPPED_KEY_BYTES) return 'wrapped-key';
    if (r.type === 'site') {
      sites++;
      if (
        !Number.isInteger(r.iterations) ||
        r.iterations < MIN_PBKDF2_ITERATIONS ||
        r.iterations > MAX_PBKDF2_ITERATIONS
      ) {
        return 'pbkdf2-iterations';
      }
      if (r.salt.length !== SALT_BYTES) return 'salt';
    } else {
      if (r.keyId.length !== KEY_ID_BYTES) return 'recipient-key-id';
      if (r.ephemeralPublicKey.length !== EC_POINT_BYTES || r.ephemeralPublicKey[0] !== 0x04) return 'ephemeral-key';
    }
  }
  if (sites > MAX_SITE_ENTRIES) return 'site-entry-count';
  return undefined;
}

export function headerLength(h: BundleHeader): number {
  return h.recipients.reduce(
    (n, r) => n + (r.type === 'site' ? SITE_ENTRY_BYTES : KIOSK_ENTRY_BYTES),
    FIXED_HEADER_BYTES,
  );
}

export function encodeHeader(h: BundleHeader): Uint8Array<ArrayBuffer> {
  const problem = headerProblem(h);
  if (problem) throw invalid('header', { field: problem });
  const w = new ByteWriter(headerLength(h));
  w.bytes(MAGIC);
  w.u8(FORMAT_VERSION);
  w.u8(KIND_CODE[h.kind]);
  w.u16(0); // reserved
  w.u64(h.version);
  w.u64(h.baseVersion);
  w.u64(h.createdAt);
  w.bytes(h.issuerKeyId);
  w.bytes(h.iv);
  w.u32(h.ciphertextLength);
  w.u16(h.recipients.length);
  for (const r of h.recipients) {
    if (r.type === 'site') {
      w.u8(ENTRY_SITE);
      w.u32(r.iterations);
      w.bytes(r.salt);
      w.bytes(r.wrappedKey);
    } else {
      w.u8(ENTRY_KIOSK);
      w.bytes(r.keyId);
      w.bytes(r.ephemeralPublicKey);
      w.bytes(r.wrappedKey);
    }
  }
  return w.finish();
}

/**
 * Parse the framing of a whole bundle file. Throws BUNDLE_INVALID for anything that is not exactly one
 * well-formed bundle (wrong magic, unknown format or enum, non-zero reserved bytes, truncation, trailing bytes).
 */
export function parseBundleLayout(bytes: Uint8Array<ArrayBuffer>): BundleLayout {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) throw invalid('magic');
  if (bytes.length > MAX_BUNDLE_BYTES) throw invalid('too-large');
  const r = new ByteReader(bytes, MAGIC.length);
  const format = r.u8('format');
  // A newer format is named as such so the UI can say "update this kiosk" rather than "damaged".
  if (format !== FORMAT_VERSION) throw invalid('unsupported-format', { format });
  const kind = KIND_BY_CODE[r.u8('kind')];
  if (!kind) throw invalid('kind');
  if (r.u16('reserved') !== 0) throw invalid('reserved');
  const version = r.u64('version');
  const baseVersion = r.u64('base-version');
  const createdAt = r.u64('created-at');
  const issuerKeyId = r.bytes(KEY_ID_BYTES, 'issuer');
  const iv = r.bytes(IV_BYTES, 'iv');
  const ciphertextLength = r.u32('ciphertext-length');
  const count = r.u16('recipient-count');
  if (count < 1 || count > MAX_RECIPIENTS) throw invalid('recipient-count');
  const recipients: RecipientEntry[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8('entry-type');
    if (type === ENTRY_SITE) {
      const iterations = r.u32('pbkdf2-iterations');
      const salt = r.bytes(SALT_BYTES, 'salt');
      recipients.push({ type: 'site', iterations, salt, wrappedKey: r.bytes(WRAPPED_KEY_BYTES, 'wrapped-key') });
    } else if (type === ENTRY_KIOSK) {
      const keyId = r.bytes(KEY_ID_BYTES, 'recipient-key-id');
      const ephemeralPublicKey = r.bytes(EC_POINT_BYTES, 'ephemeral-key');
      recipients.push({
        type: 'kiosk',
        keyId,
        ephemeralPublicKey,
        wrappedKey: r.bytes(WRAPPED_KEY_BYTES, 'wrapped-key'),
      });
    } else {
      throw invalid('entry-type', { index: i });
    }
  }
  const header: BundleHeader = { kind, version, baseVersion, createdAt, issuerKeyId, iv, ciphertextLength, recipients };
  const problem = headerProblem(header);
  if (problem) throw invalid('header', { field: problem });
  const headerEnd = r.offset;
  const signedEnd = headerEnd + ciphertextLength;
  const expected = signedEnd + SIGNATURE_BYTES;
  if (bytes.length < expected) throw invalid('truncated', { expected, actual: bytes.length });
  if (bytes.length > expected) throw invalid('trailing-bytes', { expected, actual: bytes.length });
  return { header, headerEnd, signedEnd };
}
