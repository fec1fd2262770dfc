/**
 * Keys of the watchlist sync: the admin's ECDSA P-256 signing key, each kiosk's ECDH P-256 receiving key, the
 * site key derived from the site passphrase, and the fingerprints a human compares when pinning or pairing.
 *
 * Generates, imports, exports and fingerprints keys; never stores them (the vault in src/store seals them inside
 * its data-key seal and gives private halves back non-extractable) and never exports a private key itself: the
 * admin and kiosk pairs are generated extractable only so the vault can seal them on their one save, and importers
 * refuse a JWK that carries private material, so pasting the wrong half of a key pair fails loudly instead of
 * copying a secret onto every kiosk.
 */
import { KioskError } from '../shared/errors';
import { checkPassphrase } from '../crypto/passphrase';
import { MAX_PBKDF2_ITERATIONS, MIN_PBKDF2_ITERATIONS, SALT_BYTES } from './format';
import { toHex } from './bytes';

const P256 = 'P-256';
export const ADMIN_KEY_ALGORITHM: EcKeyImportParams = { name: 'ECDSA', namedCurve: P256 };
export const KIOSK_KEY_ALGORITHM: EcKeyImportParams = { name: 'ECDH', namedCurve: P256 };

/** Default PBKDF2 work for new site keys (the format accepts MIN_PBKDF2_ITERATIONS..MAX_PBKDF2_ITERATIONS). */
export const DEFAULT_PBKDF2_ITERATIONS = MIN_PBKDF2_ITERATIONS;

/**
 * The symmetric key a whole site shares (AES-KW 256, non-extractable), with the PBKDF2 parameters that derived it.
 * The vault may hold it so kiosks need not be given the passphrase at every import; a bundle entry names its salt
 * and iterations, so a kiosk can always derive the key again from the passphrase.
 */
export interface SiteKey {
  key: CryptoKey;
  salt: Uint8Array<ArrayBuffer>;
  iterations: number;
}

/** The passphrase itself, when the kiosk holds no derived site key. */
export interface SitePassphrase {
  passphrase: string;
}

/** The rule an admin reads for a pasted key that is refused (src/ui/error-text.ts words it). */
const KEY_RULES: Record<string, string> = { 'key-format': 'keyFormat', 'not-p256': 'keyFormat', 'private-key': 'privateKey' };

function invalidKey(reason: string): KioskError {
  const rule = KEY_RULES[reason];
  return new KioskError('INPUT_INVALID', { reason, ...(rule ? { field: 'key', rule } : {}) });
}

/**
 * The admin's signing key pair. Extractable only so the vault can seal it on its one write (src/store/secrets.ts);
 * every later use loads it from the vault, where the private half comes back non-extractable.
 */
export async function generateAdminKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ADMIN_KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** A kiosk's receiving key pair (ECDH); extractable for the vault's seal only, like generateAdminKeyPair. */
export async function generateKioskKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KIOSK_KEY_ALGORITHM, true, ['deriveBits']);
}

export function isP256(key: CryptoKey, name: 'ECDSA' | 'ECDH', type: KeyType): boolean {
  const alg = key.algorithm as EcKeyAlgorithm;
  return key.type === type && alg.name === name && alg.namedCurve === P256;
}

/** SHA-256 of the key's SubjectPublicKeyInfo DER: the key id in bundle headers and recipient entries. */
export async function publicKeyId(publicKey: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  if (publicKey.type !== 'public') throw invalidKey('not-a-public-key');
  const spki = await crypto.subtle.exportKey('spki', publicKey);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', spki));
}

/**
 * What a human reads aloud or compares on two screens: the first 128 bits of the key id as four groups of eight
 * hex digits, e.g. "3F2A9C01 77B0E4D2 5C1A0F93 E8D4B612". 128 bits leave no room for a look-alike key.
 */
export function formatFingerprint(keyId: Uint8Array): string {
  const hex = toHex(keyId.subarray(0, 16)).toUpperCase();
  return [0, 8, 16, 24].map((i) => hex.slice(i, i + 8)).join(' ');
}

export async function keyFingerprint(publicKey: CryptoKey): Promise<string> {
  return formatFingerprint(await publicKeyId(publicKey));
}

/** A public key as JWK (only kty, crv, x, y) or SPKI DER bytes, for the admin screen to show, print or save. */
export async function exportPublicKey(publicKey: CryptoKey, format: 'jwk'): Promise<JsonWebKey>;
export async function exportPublicKey(publicKey: CryptoKey, format: 'spki'): Promise<Uint8Array<ArrayBuffer>>;
export async function exportPublicKey(
  publicKey: CryptoKey,
  format: 'jwk' | 'spki',
): Promise<JsonWebKey | Uint8Array<ArrayBuffer>> {
  if (publicKey.type !== 'public') throw invalidKey('not-a-public-key');
  if (format === 'spki') return new Uint8Array(await crypto.subtle.exportKey('spki', publicKey));
  const jwk = await crypto.subtle.exportKey('jwk', publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

export type PublicKeyData = JsonWebKey | Uint8Array | ArrayBuffer;

async function importP256Public(
  data: PublicKeyData,
  algorithm: EcKeyImportParams,
  usages: KeyUsage[],
): Promise<CryptoKey> {
  try {
    if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
      const spki = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data);
      return await crypto.subtle.importKey('spki', spki, algorithm, true, usages);
    }
    if (typeof data !== 'object' || data === null) throw invalidKey('key-format');
    if ('d' in data) throw invalidKey('private-key');
    if (data.kty !== 'EC' || data.crv !== P256 || typeof data.x !== 'string' || typeof data.y !== 'string') {
      throw invalidKey('not-p256');
    }
    // Only the point is taken: a key_ops or alg from the exporting side would clash with this key's usages.
    return await crypto.subtle.importKey(
      'jwk',
      { kty: 'EC', crv: P256, x: data.x, y: data.y },
      algorithm,
      true,
      usages,
    );
  } catch (e) {
    if (e instanceof KioskError) throw e;
    throw new KioskError('INPUT_INVALID', { reason: 'key-format', field: 'key', rule: 'keyFormat' }, { cause: e });
  }
}

/** The admin public key a kiosk pins at provisioning (verify only). */
export async function importAdminPublicKey(data: PublicKeyData): Promise<CryptoKey> {
  return importP256Public(data, ADMIN_KEY_ALGORITHM, ['verify']);
}

/** A paired kiosk's receiving public key, for the admin to encrypt bundles to. */
export async function importKioskPublicKey(data: PublicKeyData): Promise<CryptoKey> {
  return importP256Public(data, KIOSK_KEY_ALGORITHM, []);
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw invalidKey('pbkdf2-iterations');
  }
}

/**
 * Derive the site key from the passphrase with the given salt and iterations (PBKDF2-HMAC-SHA256 -> AES-KW 256).
 * The passphrase is NFC-normalised first, so the same words typed on two keyboards give the same key.
 */
export async function deriveSiteKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<SiteKey> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new KioskError('STORE_WRONG_PASSPHRASE');
  if (salt.length !== SALT_BYTES) throw invalidKey('salt');
  checkIterations(iterations);
  const saltCopy = new Uint8Array(salt);
  const material = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(passphrase.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveKey'],
  );
  const key = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: saltCopy, iterations },
    material,
    { name: 'AES-KW', length: 256 },
    false,
    ['wrapKey', 'unwrapKey'],
  );
  return { key, salt: saltCopy, iterations };
}

/**
 * A new site key for an admin setting up a site: fresh random salt, and a passphrase that passes the admin
 * passphrase rule (src/crypto/passphrase.ts). A site-passphrase bundle can be fetched by anyone who reaches the
 * receiver and guessed at offline, so its passphrase is held to the same rule as the vault's, not to a length alone.
 */
export async function createSiteKey(passphrase: string, iterations = DEFAULT_PBKDF2_ITERATIONS): Promise<SiteKey> {
  const check = typeof passphrase === 'string' ? checkPassphrase(passphrase) : { ok: false, reasons: ['too-short'] };
  if (!check.ok) throw new KioskError('STORE_WEAK_PASSPHRASE', { reasons: check.reasons.join(',') });
  return deriveSiteKey(passphrase, crypto.getRandomValues(new Uint8Array(SALT_BYTES)), iterations);
}
