/**
 * The encrypted export file the admin downloads (today: the audit log). Owns the byte format below and nothing
 * else: what goes inside is the store's business. The export passphrase is separate from the admin passphrase,
 * so handing the file to an auditor does not hand them the kiosk.
 *
 * Format, version 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       4     magic "EKAX" (45 4B 41 58)
 *   4       1     format version = 1
 *   5       1     KDF id: 1 = PBKDF2-HMAC-SHA-256
 *   6       4     KDF iterations (uint32, >= 600,000)
 *   10      16    KDF salt (random per file)
 *   26      12    AES-GCM IV (random per file)
 *   38      n+16  AES-256-GCM ciphertext of the payload, then the 16-byte tag
 *
 * The AES key is PBKDF2(passphrase NFKC-normalised UTF-8, salt, iterations) -> 256 bits; the additional data is
 * the 38 header bytes, so changing the iteration count, salt or version breaks the tag. The payload is UTF-8 JSON
 * (see src/store/audit.ts for its fields). To read a file outside the kiosk: `openExportFile(bytes, passphrase)`
 * in any WebCrypto runtime (browser or Node >= 20), or the same steps in any language with PBKDF2 and AES-GCM.
 */
import { KioskError } from '../shared/errors';
import { IV_BYTES, TAG_BITS, randomBytes } from './aead';
import { PBKDF2_DEFAULT_ITERATIONS, PBKDF2_MIN_ITERATIONS, SALT_BYTES, passphraseBytes } from './keys';

const MAGIC = [0x45, 0x4b, 0x41, 0x58] as const;
export const EXPORT_FORMAT_VERSION = 1;
const KDF_PBKDF2_SHA256 = 1;
export const EXPORT_HEADER_BYTES = 4 + 1 + 1 + 4 + SALT_BYTES + IV_BYTES;
/** A sanity bound so a hostile file cannot make the reader spin for minutes. */
const MAX_ITERATIONS = 10_000_000;

async function exportKey(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  usage: KeyUsage,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', passphraseBytes(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    [usage],
  );
}

export async function sealExportFile(
  payload: Uint8Array<ArrayBuffer>,
  passphrase: string,
  iterations = PBKDF2_DEFAULT_ITERATIONS,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!Number.isInteger(iterations) || iterations < PBKDF2_MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new KioskError('INPUT_INVALID', { field: 'iterations' });
  }
  const header = new Uint8Array(EXPORT_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  header[4] = EXPORT_FORMAT_VERSION;
  header[5] = KDF_PBKDF2_SHA256;
  view.setUint32(6, iterations, false);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  header.set(salt, 10);
  header.set(iv, 10 + SALT_BYTES);
  const key = await exportKey(passphrase, salt, iterations, 'encrypt');
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: header, tagLength: TAG_BITS },
    key,
    payload,
  );
  const out = new Uint8Array(EXPORT_HEADER_BYTES + ct.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(ct), EXPORT_HEADER_BYTES);
  return out;
}

/**
 * Decrypts an export file. INPUT_INVALID for a file that is not one; EXPORT_FILE_NOT_OPENED when the tag fails. A
 * wrong passphrase and a file cut short or changed fail the same tag check, and the format carries no length or
 * checksum outside it to tell them apart, so the error names both (a half-downloaded file used to say "Wrong
 * passphrase." and send the admin retrying the right one).
 */
export async function openExportFile(file: Uint8Array, passphrase: string): Promise<Uint8Array<ArrayBuffer>> {
  if (file.byteLength < EXPORT_HEADER_BYTES + TAG_BITS / 8 || MAGIC.some((b, i) => file[i] !== b)) {
    throw new KioskError('INPUT_INVALID', { field: 'export-file' });
  }
  if (file[4] !== EXPORT_FORMAT_VERSION || file[5] !== KDF_PBKDF2_SHA256) {
    throw new KioskError('INPUT_INVALID', { field: 'export-version' });
  }
  const bytes = new Uint8Array(file); // own copy: the caller's view may sit on a shared or larger buffer
  const header = bytes.slice(0, EXPORT_HEADER_BYTES);
  const iterations = new DataView(header.buffer).getUint32(6, false);
  if (iterations < PBKDF2_MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new KioskError('INPUT_INVALID', { field: 'export-iterations' });
  }
  const salt = header.slice(10, 10 + SALT_BYTES);
  const iv = header.slice(10 + SALT_BYTES, EXPORT_HEADER_BYTES);
  const key = await exportKey(passphrase, salt, iterations, 'decrypt');
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: header, tagLength: TAG_BITS },
      key,
      bytes.subarray(EXPORT_HEADER_BYTES),
    );
    return new Uint8Array(pt);
  } catch (e) {
    throw new KioskError('EXPORT_FILE_NOT_OPENED', { part: 'export-file' }, { cause: e });
  }
}
