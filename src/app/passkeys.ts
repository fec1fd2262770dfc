/**
 * The WebAuthn ceremonies for guard passkeys, on the guard's own security key (a roaming FIDO2 authenticator) with
 * user verification required: registration (the admin adds a passkey to a guard account, the guard with their key)
 * and assertion (a guard logs in). Not the tablet's platform authenticator, and not a synced passkey: its user
 * verification is the tablet's (or the account's) unlock, which every guard and anyone who watched it typed can pass,
 * and one unlock opens every guard's credential on it — a disabled guard could log in as a colleague (attacker
 * review, session 20). So registration asks for a cross-platform authenticator and refuses a credential that is
 * not one or is backup-eligible (GUARD_PASSKEY_NOT_OWN), and the verifier refuses a backed-up one at login. Owns the calls to navigator.credentials and the shaping of their results; verification of an
 * assertion is src/crypto/webauthn.ts's, storage src/store/guards.ts's. The RP is this origin's host name:
 * browsers refuse WebAuthn on a bare IP address, so a kiosk served from 127.0.0.1 has no passkeys (it says so).
 */
import { COSE_ES256, FLAG_BE, FLAG_BS, b64url, unb64url, type AssertionInput, type Expected } from '../crypto/webauthn';
import { KioskError } from '../shared/errors';

function available(): void {
  if (typeof PublicKeyCredential === 'undefined' || !navigator.credentials || !window.isSecureContext)
    throw new KioskError('GUARD_PASSKEY_UNAVAILABLE', { reason: 'no-webauthn' });
  if (/^[0-9.]+$|^\[|:/.test(location.hostname)) throw new KioskError('GUARD_PASSKEY_UNAVAILABLE', { reason: 'ip-address-origin' });
}

function failed(e: unknown): KioskError {
  if (e instanceof KioskError) return e;
  const name = (e as { name?: unknown } | null)?.name;
  return new KioskError(name === 'NotSupportedError' ? 'GUARD_PASSKEY_UNAVAILABLE' : 'GUARD_PASSKEY_FAILED', {
    reason: typeof name === 'string' ? name : 'unknown',
  });
}

/** Creates a passkey for a guard; returns what the vault stores (credential id, SPKI public key, algorithm). */
export async function createPasskey(guard: { id: string; name: string }, signal?: AbortSignal): Promise<{ credentialId: string; spki: string; alg: number }> {
  available();
  let cred: PublicKeyCredential | null;
  try {
    cred = (await navigator.credentials.create({
      publicKey: {
        rp: { id: location.hostname, name: 'Entrance kiosk' },
        user: { id: new TextEncoder().encode(guard.id), name: guard.name, displayName: guard.name },
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        pubKeyCredParams: [{ type: 'public-key', alg: COSE_ES256 }],
        // A key the guard carries; not discoverable (a key has few slots, and the login names its credentials).
        authenticatorSelection: { authenticatorAttachment: 'cross-platform', userVerification: 'required', residentKey: 'discouraged' },
        attestation: 'none',
        timeout: 60_000,
      },
      ...(signal ? { signal } : {}),
    })) as PublicKeyCredential | null;
  } catch (e) {
    throw failed(e);
  }
  const r = cred?.response as AuthenticatorAttestationResponse | undefined;
  const spki = r?.getPublicKey?.();
  if (!cred || !r || !spki) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'no-credential' });
  // The registration must itself have verified the user (flags byte of the authenticator data: UV = 0x04).
  const authData = new Uint8Array(r.getAuthenticatorData());
  if (!(authData[32]! & 0x04)) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'user-verification' });
  // The browser honours the attachment asked for; checked anyway, with the backup flag only the credential carries.
  if (cred.authenticatorAttachment !== 'cross-platform') throw new KioskError('GUARD_PASSKEY_NOT_OWN', { reason: 'platform' });
  if (authData[32]! & (FLAG_BE | FLAG_BS)) throw new KioskError('GUARD_PASSKEY_NOT_OWN', { reason: 'synced' });
  return { credentialId: b64url(cred.rawId), spki: btoa(String.fromCharCode(...new Uint8Array(spki))), alg: r.getPublicKeyAlgorithm() };
}

/** Asks for an assertion from one of the registered credentials; returns it with what it must be checked against. */
export async function getPasskeyAssertion(credentialIds: string[], signal?: AbortSignal): Promise<{ assertion: AssertionInput; expected: Expected }> {
  available();
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  let cred: PublicKeyCredential | null;
  try {
    cred = (await navigator.credentials.get({
      publicKey: {
        challenge,
        rpId: location.hostname,
        // Roaming transports only: the platform authenticator holds none of these credentials anyway.
        allowCredentials: credentialIds.map((id) => ({ type: 'public-key', id: unb64url(id), transports: ['usb', 'nfc', 'ble', 'hybrid'] })),
        userVerification: 'required',
        timeout: 60_000,
      },
      ...(signal ? { signal } : {}),
    })) as PublicKeyCredential | null;
  } catch (e) {
    throw failed(e);
  }
  const r = cred?.response as AuthenticatorAssertionResponse | undefined;
  if (!cred || !r) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'no-credential' });
  return {
    assertion: { credentialId: b64url(cred.rawId), clientDataJSON: r.clientDataJSON, authenticatorData: r.authenticatorData, signature: r.signature },
    expected: { challenge, origin: location.origin, rpId: location.hostname },
  };
}
