/**
 * base64url (RFC 4648 §5, no padding) and UTF-8 helpers for the decision wire format.
 *
 * Pure and runtime-neutral (browser, worker, Node): signatures, nonces, key coordinates and subject references all
 * travel in this one spelling, so the receiver has exactly one decoder to get right. Decoding is strict: padding,
 * whitespace or the standard-alphabet characters `+/` are refused rather than repaired.
 */

const B64URL = /^[A-Za-z0-9_-]*$/;

export function base64urlEncode(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Returns undefined for anything that is not canonical unpadded base64url. */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!B64URL.test(text) || text.length % 4 === 1) return undefined;
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Non-canonical trailing bits would let two spellings decode to the same bytes.
  if (base64urlEncode(out) !== text) return undefined;
  return out;
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

export function randomBase64url(byteLength: number): string {
  return base64urlEncode(crypto.getRandomValues(new Uint8Array(byteLength)));
}
