/**
 * AES-256-GCM sealing for the vault: one fresh 96-bit IV per write, a 128-bit tag, and additional data that names
 * where a ciphertext belongs. Owns the byte layout of a sealed box (`iv || ciphertext+tag`) and of the additional
 * data. Must never log, cache or return plaintext anywhere but to its caller, and never reuse an IV: every call
 * draws a new one from the CSPRNG (2^-32 collision bound stays far away at our write volumes).
 *
 * Only src/store imports this module.
 */

export const IV_BYTES = 12;
export const TAG_BITS = 128;

const encoder = new TextEncoder();

/** Raised when a box fails authentication (wrong key, wrong additional data, or altered bytes). */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/**
 * Additional data binding a ciphertext to its place: JSON array encoding keeps the parts unambiguous
 * ("a|b" + "c" can never equal "a" + "b|c"), so a box moved to another store, key or version fails to open.
 */
export function bindingData(...parts: (string | number)[]): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify(['entrance-kiosk', ...parts]));
}

export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Seal `plaintext` under `key` (AES-GCM, usage encrypt). Returns `iv || ciphertext || tag` as one ArrayBuffer. */
export async function seal(
  key: CryptoKey,
  plaintext: BufferSource,
  aad: Uint8Array<ArrayBuffer>,
): Promise<ArrayBuffer> {
  const iv = randomBytes(IV_BYTES);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: aad, tagLength: TAG_BITS },
    key,
    plaintext,
  );
  const out = new Uint8Array(IV_BYTES + ct.byteLength);
  out.set(iv, 0);
  out.set(new Uint8Array(ct), IV_BYTES);
  return out.buffer;
}

/** Open a box made by `seal`. Throws IntegrityError on any authentication failure; never returns partial data. */
export async function open(key: CryptoKey, box: ArrayBuffer, aad: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  if (!(box instanceof ArrayBuffer) || box.byteLength < IV_BYTES + TAG_BITS / 8) {
    throw new IntegrityError('sealed box is malformed');
  }
  try {
    return await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: new Uint8Array(box, 0, IV_BYTES), additionalData: aad, tagLength: TAG_BITS },
      key,
      new Uint8Array(box, IV_BYTES),
    );
  } catch (e) {
    throw new IntegrityError('sealed box failed authentication', { cause: e });
  }
}
