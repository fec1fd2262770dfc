/**
 * Key material for the vault: the random data key, the passphrase key (PBKDF2-SHA-256), the device key, and the
 * audit key pair. Owns how keys are made, wrapped and unwrapped; never stores anything (src/store does) and never
 * hands out raw key bytes: every key a caller keeps is non-extractable, and a key is unwrapped as extractable only
 * inside a re-wrap (passphrase change, device re-enrolment) and dropped at once.
 *
 * Why PBKDF2 and not Argon2id: WebCrypto has PBKDF2 natively (no dependency, constant-time native code); measured in
 * headless Chromium on the 2-core dev box, 600,000 iterations took 87 ms and 1,000,000 took 142 ms, so the default
 * below costs a guesser ~1.7x OWASP's 2023 floor while an admin unlock on a slow tablet stays around a second.
 * Argon2id would only exist here as a wasm package; its memory hardness is the one real gain and was not judged
 * worth a new dependency for a passphrase that is also rate-limited by the store's lock-out.
 */
import { IV_BYTES, TAG_BITS, randomBytes, toHex } from './aead';

/** OWASP 2023 floor for PBKDF2-HMAC-SHA-256; the store refuses stored parameters below it. */
export const PBKDF2_MIN_ITERATIONS = 600_000;
export const PBKDF2_DEFAULT_ITERATIONS = 1_000_000;
export const SALT_BYTES = 16;

const encoder = new TextEncoder();

/** NFKC first, so the same passphrase typed on two keyboards (composed vs decomposed accents) derives one key. */
export function passphraseBytes(passphrase: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(passphrase.normalize('NFKC'));
}

/** Key-encryption key from the admin passphrase: wraps the data key and the audit private key, nothing else. */
export async function derivePassphraseKey(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', passphraseBytes(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['wrapKey', 'unwrapKey'],
  );
}

/** The data key, extractable only so that it can be wrapped twice at set-up; callers keep a non-extractable copy. */
export function generateDataKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}

/** The device key: non-extractable from birth, stored as a CryptoKey object in IndexedDB, wraps the data key. */
export function generateDeviceKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['wrapKey', 'unwrapKey']);
}

/** Wrap `key` under an AES-GCM wrapping key, bound to `aad`. Returns `iv || wrapped || tag`. */
export async function wrapWith(
  format: 'raw' | 'pkcs8',
  key: CryptoKey,
  wrappingKey: CryptoKey,
  aad: Uint8Array<ArrayBuffer>,
): Promise<ArrayBuffer> {
  const iv = randomBytes(IV_BYTES);
  const wrapped = await crypto.subtle.wrapKey(format, key, wrappingKey, {
    name: 'AES-GCM',
    iv,
    additionalData: aad,
    tagLength: TAG_BITS,
  });
  const out = new Uint8Array(IV_BYTES + wrapped.byteLength);
  out.set(iv, 0);
  out.set(new Uint8Array(wrapped), IV_BYTES);
  return out.buffer;
}

function unwrapParams(box: ArrayBuffer, aad: Uint8Array<ArrayBuffer>): AesGcmParams {
  return { name: 'AES-GCM', iv: new Uint8Array(box, 0, IV_BYTES), additionalData: aad, tagLength: TAG_BITS };
}

/** Unwrap the data key. Rejects (OperationError) when the wrapping key or binding is wrong. */
export function unwrapDataKey(
  box: ArrayBuffer,
  wrappingKey: CryptoKey,
  aad: Uint8Array<ArrayBuffer>,
  extractable: boolean,
): Promise<CryptoKey> {
  return crypto.subtle.unwrapKey(
    'raw',
    new Uint8Array(box, IV_BYTES),
    wrappingKey,
    unwrapParams(box, aad),
    { name: 'AES-GCM', length: 256 },
    extractable,
    ['encrypt', 'decrypt'],
  );
}

// --- audit keys -------------------------------------------------------------------------------------------------
// The audit log is sealed to an ECDH P-256 public key whose private half is wrapped by the passphrase key only.
// The kiosk running unattended (device key) can append entries but cannot read any entry back, including its own
// from earlier sessions: each session draws an ephemeral key pair, derives one AES key, and forgets the ephemeral
// private key immediately.

const AUDIT_CURVE: EcKeyImportParams = { name: 'ECDH', namedCurve: 'P-256' };
const AUDIT_INFO = encoder.encode('entrance-kiosk/audit/v1');

export function generateAuditKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(AUDIT_CURVE, true, ['deriveBits']);
}

export async function exportPublicKey(key: CryptoKey): Promise<ArrayBuffer> {
  return crypto.subtle.exportKey('raw', key);
}

export function importAuditPublicKey(raw: ArrayBuffer): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, AUDIT_CURVE, true, []);
}

/**
 * Whether `auditPublic` is the public half of `auditPrivate` (a non-extractable key is enough): an ephemeral key's
 * ECDH with each must give the same secret.
 */
export async function auditPairMatches(auditPrivate: CryptoKey, auditPublic: CryptoKey): Promise<boolean> {
  const eph = await crypto.subtle.generateKey(AUDIT_CURVE, false, ['deriveBits']);
  const [a, b] = await Promise.all([
    crypto.subtle.deriveBits({ name: 'ECDH', public: auditPublic }, eph.privateKey, 256),
    crypto.subtle.deriveBits({ name: 'ECDH', public: eph.publicKey }, auditPrivate, 256),
  ]);
  return toHex(new Uint8Array(a)) === toHex(new Uint8Array(b));
}

/** The raw public half of an extractable audit private key (its JWK carries the point). */
export async function auditPublicOf(extractablePrivate: CryptoKey): Promise<ArrayBuffer> {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', extractablePrivate);
  const pub = await crypto.subtle.importKey('jwk', { kty, crv, x, y }, AUDIT_CURVE, true, []);
  return crypto.subtle.exportKey('raw', pub);
}

export function unwrapAuditPrivateKey(
  box: ArrayBuffer,
  wrappingKey: CryptoKey,
  aad: Uint8Array<ArrayBuffer>,
  extractable: boolean,
): Promise<CryptoKey> {
  return crypto.subtle.unwrapKey(
    'pkcs8',
    new Uint8Array(box, IV_BYTES),
    wrappingKey,
    unwrapParams(box, aad),
    AUDIT_CURVE,
    extractable,
    ['deriveBits'],
  );
}

async function auditAesKey(privateKey: CryptoKey, publicKey: CryptoKey, epk: ArrayBuffer): Promise<CryptoKey> {
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  // The ephemeral public key is the salt, so two sessions never share an AES key even with equal shared secrets.
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: epk, info: AUDIT_INFO },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** A writer key for this session: `epk` is stored next to every entry it seals. */
export async function newAuditSessionKey(auditPublic: CryptoKey): Promise<{ epk: ArrayBuffer; key: CryptoKey }> {
  const eph = await crypto.subtle.generateKey(AUDIT_CURVE, false, ['deriveBits']);
  const epk = await crypto.subtle.exportKey('raw', eph.publicKey);
  const key = await auditAesKey(eph.privateKey, auditPublic, epk);
  return { epk, key };
}

/** The reader's key for entries written under `epk` (admin only: needs the unwrapped audit private key). */
export async function auditReaderKey(auditPrivate: CryptoKey, epk: ArrayBuffer): Promise<CryptoKey> {
  const pub = await crypto.subtle.importKey('raw', epk, AUDIT_CURVE, false, []);
  return auditAesKey(auditPrivate, pub, epk);
}

const ADMIN_SECRETS_INFO = encoder.encode('entrance-kiosk/admin-secrets/v1');

/**
 * The AES key of the records only the admin may read or write (src/store/secrets.ts putAdmin): HKDF of the audit
 * private key's ECDH with its own public half (d·d·G), which needs the private half — wrapped by the passphrase key
 * only — to compute, unlike anything sealed to the public half, which whoever holds the device unlock could write.
 * `auditPublic` is the stored public half, checked first against the private one (an ephemeral ECDH both ways): a
 * public half swapped for someone else's would otherwise give a key that someone can compute too. Null when the
 * check fails.
 */
export async function adminSecretsKey(auditPrivate: CryptoKey, auditPublic: CryptoKey): Promise<CryptoKey | null> {
  if (!(await auditPairMatches(auditPrivate, auditPublic))) return null;
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: auditPublic }, auditPrivate, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: ADMIN_SECRETS_INFO },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export function newSalt(): Uint8Array<ArrayBuffer> {
  return randomBytes(SALT_BYTES);
}
