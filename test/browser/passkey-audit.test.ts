/**
 * Guard passkeys in the audit log, in real Chromium over the real app layer, with Chromium's virtual authenticator
 * (over CDP) standing in for the guard's own security key (a roaming FIDO2 key with user verification): the
 * registration is a 'guard-changed' `passkey-added` entry about the guard; a passkey login is no entry; an
 * assertion that does not verify (its signature altered on the way) is a 'login-failed' `passkey signature`; a
 * disabled account's valid assertion (a client that offers it though the login does not) is `passkey disabled`; a
 * prompt the guard cancelled is no entry. Nothing typed or identifying the credential is in the log. The audit
 * card words each in English and Chinese, naming the guard who still exists.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cdp } from 'vitest/browser';
import type {} from '@vitest/browser-playwright';
import { b64url, unb64url } from '../../src/crypto/webauthn';
import { AdjustableClock } from '../../src/shared/clock';
import { setLang } from '../../src/ui/i18n';
import { auditRows, expectNothingTyped, said, since, systemEntries, unmountAuditCards } from './audit-helpers';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode } from './vault-helpers';

const PIN = '135790';
let authenticatorId: string | null = null;

/** More authenticators a test added (copies of a key), removed after it. */
const extraAuthenticators: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  unmountAuditCards();
  setLang('en');
  closeKiosks();
  if (authenticatorId) await cdp().send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  authenticatorId = null;
  for (const id of extraAuthenticators.splice(0))
    await cdp()
      .send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id })
      .catch(() => undefined);
});

/** A security key on USB: user verification (its PIN or fingerprint) passes, presence is simulated, no backup. */
async function usbKey(): Promise<string> {
  const session = cdp();
  await session.send('WebAuthn.enable', { enableUI: false });
  const r = (await session.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })) as { authenticatorId: string };
  return r.authenticatorId;
}

/** The guard's security key (removed after the test). */
async function securityKey(): Promise<string> {
  authenticatorId = await usbKey();
  return authenticatorId;
}

/** The credential the key holds for each guard (the user handle registered is the guard's id), base64url. */
async function credentialsByGuard(id: string): Promise<Map<string, string>> {
  const r = (await cdp().send('WebAuthn.getCredentials', { authenticatorId: id })) as {
    credentials: { credentialId: string; userHandle?: string }[];
  };
  // CDP gives standard base64; the vault keeps base64url.
  const bytes = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new Map(
    r.credentials.map((c) => [new TextDecoder().decode(bytes(c.userHandle ?? '')), b64url(bytes(c.credentialId))]),
  );
}

type Get = CredentialsContainer['get'];

/** Wraps navigator.credentials.get for the next login: `ask` changes what is asked, `alter` what comes back. */
function onNextGet(opts: {
  ask?: (o: CredentialRequestOptions) => CredentialRequestOptions;
  alter?: (c: PublicKeyCredential) => unknown;
}): void {
  const real: Get = navigator.credentials.get.bind(navigator.credentials);
  vi.spyOn(navigator.credentials, 'get').mockImplementationOnce(async (o?: CredentialRequestOptions) => {
    const cred = (await real(opts.ask && o ? opts.ask(o) : o)) as PublicKeyCredential;
    return (opts.alter ? opts.alter(cred) : cred) as Credential;
  });
}

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

/** The one credential a virtual key holds, private key and counter included (what a cloner would copy). */
async function onlyCredential(id: string): Promise<VirtualCredential> {
  const r = (await cdp().send('WebAuthn.getCredentials', { authenticatorId: id })) as {
    credentials: VirtualCredential[];
  };
  expect(r.credentials).toHaveLength(1);
  return r.credentials[0]!;
}

/** Another USB key holding `cred` with the counter given: a copy of the guard's key. */
async function copyOfKey(cred: VirtualCredential, signCount: number): Promise<string> {
  const id = await usbKey();
  extraAuthenticators.push(id);
  await cdp().send('WebAuthn.addCredential', { authenticatorId: id, credential: { ...cred, signCount } });
  return id;
}

describe('a copied guard security key', () => {
  it('is refused once the real key has signed past its count, and the real key goes on working', async () => {
    expect(location.hostname).toBe('localhost');
    const { ops, app } = await openKiosk('passkey-counter', new AdjustableClock());
    await ops.setup(PASS, { role: 'attended' });
    const key = await securityKey();
    const gate = await ops.createGuard('Gate Keeper Greta', PIN);
    await ops.registerPasskey(gate.id);
    // Someone copies the key's secret now (counter as it stands), then the guard goes on using the real key.
    const copied = await onlyCredential(key);
    ops.lock();
    for (let i = 0; i < 2; i++) {
      expect((await app.authority.loginPasskey()).id).toBe(gate.id);
      app.authority.logout();
    }
    const real = await onlyCredential(key);
    expect(real.signCount).toBeGreaterThan(copied.signCount);
    // Only the copy is plugged in: its assertion verifies (same private key) but counts from the old value.
    await cdp().send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: key });
    authenticatorId = null;
    const copy = await copyOfKey(copied, copied.signCount);
    expect(await expectCode(app.authority.loginPasskey(), 'GUARD_PASSKEY_FAILED')).toMatchObject({ reason: 'counter' });
    expect(app.authority.session.kind).toBe('none');
    // The real key again (its counter where it was): accepted.
    await cdp().send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: copy });
    await copyOfKey(real, real.signCount);
    expect((await app.authority.loginPasskey()).id).toBe(gate.id);
    app.authority.logout();

    await ops.unlock(PASS);
    const refused = (await systemEntries(ops)).filter((e) => e.outcome === 'login-failed');
    expect(said(refused)).toEqual([['login-failed', 'unknown', 'passkey counter', '']]);
    expect(await auditRows(ops)).toEqual(
      expect.arrayContaining([
        [
          'login-failed',
          'login refused',
          "security key refused: its signature count did not go up, so another copy of the key signed in between (re-register the guard's key)",
        ],
      ]),
    );
  }, 120_000);
});

describe('guard passkeys in the audit log', () => {
  it('registered, refused (bad signature, disabled account) and cancelled: entries as recorded, worded in EN and ZH', async () => {
    expect(location.hostname).toBe('localhost'); // WebAuthn refuses an IP-address origin
    const clock = new AdjustableClock();
    const { ops, app } = await openKiosk('passkey-audit', clock);
    await ops.setup(PASS, { role: 'attended' });
    const key = await securityKey();

    const gate = await ops.createGuard('Gate Keeper Greta', PIN);
    const night = await ops.createGuard('Night Keeper Nils', '');
    const n = (await systemEntries(ops)).length;
    await ops.registerPasskey(gate.id);
    await ops.registerPasskey(night.id);
    const creds = await credentialsByGuard(key);
    const gateCred = creds.get(gate.id);
    const nightCred = creds.get(night.id);
    expect(gateCred).toBeDefined();
    expect(nightCred).toBeDefined();
    expect((await ops.listGuards()).map((g) => g.passkeys)).toEqual([1, 1]);
    expect(said(await since(ops, n))).toEqual([
      ['guard-changed', gate.id, 'passkey-added', 'admin'],
      ['guard-changed', night.id, 'passkey-added', 'admin'],
    ]);

    // A passkey login (the authenticator picks one of the offered credentials): a session, no entry.
    const m = (await systemEntries(ops)).length;
    ops.lock();
    const who = await app.authority.loginPasskey();
    expect([gate.id, night.id]).toContain(who.id);
    expect(app.authority.session).toMatchObject({ kind: 'guard', guardId: who.id, via: 'passkey' });
    app.authority.logout();

    // A real assertion whose signature was altered on the way: refused, and recorded with the check that failed.
    onNextGet({
      alter: (c) => {
        const r = c.response as AuthenticatorAssertionResponse;
        const sig = new Uint8Array(r.signature.slice(0));
        sig[sig.length - 1]! ^= 1;
        return {
          rawId: c.rawId,
          response: { clientDataJSON: r.clientDataJSON, authenticatorData: r.authenticatorData, signature: sig.buffer },
        };
      },
    });
    expect(await expectCode(app.authority.loginPasskey(), 'GUARD_PASSKEY_FAILED')).toMatchObject({
      reason: 'signature',
    });
    expect(app.authority.session.kind).toBe('none');

    // Nils's account disabled: the login no longer offers his credential, but a client that asks for it anyway
    // gets a valid assertion — refused as a disabled account's passkey.
    await ops.unlock(PASS);
    await ops.setGuardDisabled(night.id, true);
    ops.lock();
    onNextGet({
      ask: (o) => ({
        ...o,
        publicKey: { ...o.publicKey!, allowCredentials: [{ type: 'public-key', id: unb64url(nightCred!) }] },
      }),
    });
    await expectCode(app.authority.loginPasskey(), 'GUARD_DISABLED');
    expect(app.authority.session.kind).toBe('none');

    // The guard cancelled the prompt: not a failed check, no entry.
    vi.spyOn(navigator.credentials, 'get').mockRejectedValueOnce(
      new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError'),
    );
    await expectCode(app.authority.loginPasskey(), 'GUARD_PASSKEY_FAILED');

    await ops.unlock(PASS);
    const after = (await since(ops, m)).filter((e) => e.outcome !== 'admin-unlocked');
    expect(said(after)).toEqual([
      ['login-failed', 'unknown', 'passkey signature', ''],
      ['guard-changed', night.id, 'disabled', 'admin'],
      ['login-failed', 'unknown', 'passkey disabled', ''],
    ]);
    expectNothingTyped(await systemEntries(ops), ['Greta', 'Nils', 'Keeper', PIN, PASS, gateCred!, nightCred!]);

    // The card names the guards who still exist, and words the refusals.
    const rows = await auditRows(ops);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['guard-changed', 'guard account changed', 'guard Gate Keeper Greta: passkey registered'],
        ['guard-changed', 'guard account changed', 'guard Night Keeper Nils: passkey registered'],
        ['login-failed', 'login refused', 'passkey not verified (signature)'],
        ['login-failed', 'login refused', "a disabled guard account's passkey: refused"],
      ]),
    );
    setLang('zh');
    expect(await auditRows(ops)).toEqual(
      expect.arrayContaining([
        ['guard-changed', '保安账户已变更', '保安 Gate Keeper Greta：已注册通行密钥'],
        ['login-failed', '登录被拒绝', '通行密钥未通过验证（signature）'],
        ['login-failed', '登录被拒绝', '已停用的保安账户使用通行密钥登录：已拒绝'],
      ]),
    );
  }, 120_000);
});
