/**
 * Guard PIN verifiers: PBKDF2-SHA-256 over the PIN with a per-guard salt, compared in constant time. A verifier is
 * stored only inside the vault's sealed secrets (src/store/guards.ts), never in clear, so an offline guess of a
 * six-digit PIN first needs the vault's data key; the PBKDF2 cost then prices each guess, and the persisted
 * lock-out prices guesses made through the kiosk. Owns derivation and comparison only.
 */
import { passphraseBytes } from './keys';

/** OWASP's 2023 figure for PBKDF2-SHA-256 (~0.3-0.5 s in Chromium on the 2-core test machine). */
export const PIN_ITERATIONS = 600_000;
const PIN_BITS = 256;

export interface PinVerifier {
  salt: string;
  iterations: number;
  hash: string;
}

const b64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b));
const unb64 = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function derive(pin: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', passphraseBytes(pin), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, PIN_BITS));
}

export async function makePinVerifier(pin: string, iterations = PIN_ITERATIONS): Promise<PinVerifier> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { salt: b64(salt), iterations, hash: b64(await derive(pin, salt, iterations)) };
}

/**
 * A verifier no PIN matches (random salt and hash): checking a PIN against it costs one derivation like a real one,
 * so a login for a name that does not exist, or a guard without a PIN, takes as long as a wrong PIN.
 */
export function decoyVerifier(): PinVerifier {
  const r = (n: number) => b64(crypto.getRandomValues(new Uint8Array(n)));
  return { salt: r(16), iterations: PIN_ITERATIONS, hash: r(PIN_BITS / 8) };
}

export async function checkPin(pin: string, v: PinVerifier): Promise<boolean> {
  const got = await derive(pin, unb64(v.salt), v.iterations);
  const want = unb64(v.hash);
  if (got.length !== want.length) return false;
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff |= got[i]! ^ want[i]!;
  return diff === 0;
}
