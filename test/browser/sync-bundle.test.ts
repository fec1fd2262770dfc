/**
 * Watchlist bundles end to end in real Chromium with real WebCrypto (src/sync/bundle.ts, keys.ts): full and delta
 * round trips to two paired kiosks and to the site key, bit-exact templates, and every refusal — tampered header,
 * ciphertext or signature, another admin's key, an older version, a delta from another base, a truncated or
 * garbled file, a bundle for another kiosk — with the right code and no data returned.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import {
  applyPlan,
  createSiteKey,
  exportBundle,
  exportPublicKey,
  generateAdminKeyPair,
  generateKioskKeyPair,
  importAdminPublicKey,
  importKioskPublicKey,
  inspectBundle,
  keyFingerprint,
  openBundle,
  publicKeyId,
  type BundleContents,
  type OpenOptions,
  type SiteKey,
} from '../../src/sync';
import { KioskError, type ErrorCode } from '../../src/shared/errors';
import { describeError } from '../../src/ui/error-text';
import type { Subject } from '../../src/shared/types';

let admin: CryptoKeyPair;
let otherAdmin: CryptoKeyPair;
let kioskA: CryptoKeyPair;
let kioskB: CryptoKeyPair;
let kioskC: CryptoKeyPair;
let site: SiteKey;
const SITE_PASSPHRASE = 'mauve otter drives 9 trams';

/**
 * 512-d template with awkward bit patterns mixed in (smallest normal, -0, subnormal, max float). No NaN: the one
 * subject schema refuses a non-finite template on every path (test/fixtures/subjects/vectors.json).
 */
function template(seed: number, dim = 512): Float32Array {
  const t = new Float32Array(dim);
  for (let i = 0; i < dim; i++) t[i] = Math.sin(seed * 1000 + i) / Math.sqrt(dim);
  const raw = new Uint32Array(t.buffer);
  raw[0] = 0x00800000;
  raw[1] = 0x80000000;
  raw[2] = 0x00000003;
  raw[3] = 0x7f7fffff;
  return t;
}

function subject(id: string, seed: number, version = 1): Subject {
  return {
    id,
    label: `Visitor ${id} 访客`,
    list: seed % 2 ? 'allow' : 'deny',
    validUntil: 1_900_000_000_000,
    templates: { fr_feature: [template(seed), template(seed + 0.5)], dlib_resnet: [template(seed, 128)] },
    plates: [`AB${seed}CD`],
    createdAt: 1_763_000_000_000 + seed,
    updatedAt: 1_763_000_000_000 + seed * 2,
    version,
  };
}

function bits(t: Float32Array): Uint32Array {
  return new Uint32Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
}

function expectSameTemplates(got: Subject[], want: Subject[]): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    expect(Object.keys(g.templates).sort()).toEqual(Object.keys(w.templates).sort());
    for (const [name, list] of Object.entries(w.templates)) {
      list.forEach((t, j) => expect(bits(g.templates[name]![j]!)).toEqual(bits(t)));
    }
  });
}

/** Resolves to the KioskError the promise rejected with; fails the test if it resolved (and so returned data). */
async function refusal(p: Promise<BundleContents>, code: ErrorCode): Promise<KioskError> {
  let result: unknown;
  try {
    result = await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KioskError);
    expect((e as KioskError).code).toBe(code);
    // Nothing from the payload may leak through an error either.
    expect(JSON.stringify((e as KioskError).toJSON())).not.toMatch(/Visitor|AB\d+CD/);
    return e as KioskError;
  }
  throw new Error(`expected ${code}, but the bundle opened: ${JSON.stringify(result).slice(0, 80)}`);
}

const asKioskA = (installedVersion = 0): OpenOptions => ({
  pinnedAdminKeys: [admin.publicKey],
  kioskPrivateKey: kioskA.privateKey,
  kioskPublicKey: kioskA.publicKey,
  installedVersion,
});

const people = [subject('p1', 1), subject('p2', 2), subject('p3', 3)];

async function fullBundle(
  version = 5,
  extra: Partial<Parameters<typeof exportBundle>[0]> = {},
): Promise<Uint8Array<ArrayBuffer>> {
  return exportBundle({
    subjects: people,
    version,
    createdAt: 1_763_900_000_000,
    adminSigningKey: admin.privateKey,
    adminPublicKey: admin.publicKey,
    recipients: [kioskA.publicKey, kioskB.publicKey],
    ...extra,
  } as Parameters<typeof exportBundle>[0]);
}

function flip(bytes: Uint8Array<ArrayBuffer>, at: number, mask = 0x01): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  out[at]! ^= mask;
  return out;
}

beforeAll(async () => {
  [admin, otherAdmin, kioskA, kioskB, kioskC] = await Promise.all([
    generateAdminKeyPair(),
    generateAdminKeyPair(),
    generateKioskKeyPair(),
    generateKioskKeyPair(),
    generateKioskKeyPair(),
  ]);
  site = await createSiteKey(SITE_PASSPHRASE);
});

describe('keys', () => {
  test('kiosk and admin keys have the right algorithms; the site key is non-extractable', () => {
    // Admin and kiosk private keys are extractable only until the vault seals them (the vault's copy is not:
    // test/browser/vault-integration.test.ts); the site key is derived and never stored.
    expect(admin.privateKey.extractable).toBe(true);
    expect(admin.privateKey.usages).toEqual(['sign']);
    expect(kioskA.privateKey.usages).toEqual(['deriveBits']);
    expect(site.key.extractable).toBe(false);
    expect(site.iterations).toBeGreaterThanOrEqual(600_000);
  });

  test('the admin public key survives JWK and SPKI export/import with the same human fingerprint', async () => {
    const fp = await keyFingerprint(admin.publicKey);
    expect(fp).toMatch(/^[0-9A-F]{8} [0-9A-F]{8} [0-9A-F]{8} [0-9A-F]{8}$/);
    const jwk = await exportPublicKey(admin.publicKey, 'jwk');
    expect(Object.keys(jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const fromJwk = await importAdminPublicKey(JSON.parse(JSON.stringify(jwk)) as JsonWebKey);
    const fromSpki = await importAdminPublicKey(await exportPublicKey(admin.publicKey, 'spki'));
    expect(await keyFingerprint(fromJwk)).toBe(fp);
    expect(await keyFingerprint(fromSpki)).toBe(fp);
    expect(await keyFingerprint(otherAdmin.publicKey)).not.toBe(fp);
    // A kiosk provisioned from the JWK opens what the admin signed.
    const opened = await openBundle(await fullBundle(), { ...asKioskA(), pinnedAdminKeys: fromJwk });
    expect(opened.version).toBe(5);
  });

  test('importers refuse private key material and keys of the wrong curve or kind', async () => {
    const extractable = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
    ])) as CryptoKeyPair;
    const privateJwk = await crypto.subtle.exportKey('jwk', extractable.privateKey);
    await expect(importAdminPublicKey(privateJwk)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      details: { reason: 'private-key' },
    });
    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
      'sign',
    ])) as CryptoKeyPair;
    await expect(importAdminPublicKey(await crypto.subtle.exportKey('jwk', p384.publicKey))).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await expect(importAdminPublicKey(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    // A kiosk's ECDH key imports for encrypting to it, and has the same id as the original.
    const imported = await importKioskPublicKey(await exportPublicKey(kioskA.publicKey, 'jwk'));
    expect(await publicKeyId(imported)).toEqual(await publicKeyId(kioskA.publicKey));
  });

  test('a weak site passphrase is refused when creating the site key, by the admin passphrase rule', async () => {
    await expect(createSiteKey('short')).rejects.toMatchObject({ code: 'STORE_WEAK_PASSPHRASE' });
    // Long enough, but guessed early offline by anyone who fetches the bundle from the receiver: the vault's rule
    // applies, with its reasons for the admin's screen.
    await expect(createSiteKey('passwordpassword')).rejects.toMatchObject({
      code: 'STORE_WEAK_PASSPHRASE',
      details: { reasons: 'too-few-kinds,common' },
    });
    await expect(createSiteKey('correct horse battery staple')).rejects.toMatchObject({
      details: { reasons: 'common' },
    });
  });
});

describe('round trips', () => {
  test('full bundle: both paired kiosks open it; templates are bit-exact; the header says what it is', async () => {
    const bytes = await fullBundle();
    const a = await openBundle(bytes, asKioskA());
    // Kiosk B without its public key: it tries each entry and still finds its own.
    const b = await openBundle(bytes, {
      pinnedAdminKeys: admin.publicKey,
      kioskPrivateKey: kioskB.privateKey,
      installedVersion: 0,
    });
    for (const opened of [a, b]) {
      expect(opened.kind).toBe('full');
      if (opened.kind !== 'full') return;
      expect(opened).toMatchObject({ version: 5, baseVersion: 0, createdAt: 1_763_900_000_000 });
      expect(opened.subjects).toEqual(people);
      expectSameTemplates(opened.subjects, people);
    }
    const summary = inspectBundle(bytes);
    expect(summary).toMatchObject({ kind: 'full', version: 5, siteEntries: 0, size: bytes.length });
    const ids = await Promise.all(
      [kioskA, kioskB].map(async (k) =>
        [...(await publicKeyId(k.publicKey))].map((x) => x.toString(16).padStart(2, '0')).join(''),
      ),
    );
    expect(summary.kioskKeyIds).toEqual(ids);
    expect(a.issuerKeyId).toBe(summary.issuerKeyId);
  });

  test('delta bundle: opens only on its base version and plans the exact change', async () => {
    const changed = subject('p2', 22, 6);
    const added = subject('p4', 4, 6);
    const bytes = await exportBundle({
      changes: { upserts: [changed, added], deletions: ['p1'] },
      baseVersion: 5,
      version: 6,
      adminSigningKey: admin.privateKey,
      adminPublicKey: admin.publicKey,
      recipients: [kioskA.publicKey, kioskB.publicKey],
    });
    const opened = await openBundle(bytes, asKioskA(5));
    expect(opened).toMatchObject({ kind: 'delta', version: 6, baseVersion: 5, deletions: ['p1'] });
    if (opened.kind !== 'delta') return;
    expectSameTemplates(opened.upserts, [changed, added]);
    const plan = applyPlan({ version: 5, subjects: people }, opened);
    expect(plan.subjects.map((s) => s.id)).toEqual(['p2', 'p3', 'p4']);
    expect(plan.deletes).toEqual(['p1']);
    expectSameTemplates(plan.subjects, [changed, people[2]!, added]);

    const err = await refusal(openBundle(bytes, asKioskA(4)), 'BUNDLE_ROLLBACK');
    expect(err.details).toMatchObject({ reason: 'base-mismatch', installed: 4, base: 5 });
    await refusal(openBundle(bytes, asKioskA(0)), 'BUNDLE_ROLLBACK');
    await refusal(openBundle(bytes, asKioskA(6)), 'BUNDLE_ALREADY_INSTALLED');
    await refusal(openBundle(bytes, asKioskA(7)), 'BUNDLE_ROLLBACK');
  });

  test("refuses a version over a day ahead of the kiosk's clock (a stolen admin key cannot lock out every later bundle)", async () => {
    // Versions are an export's wall clock in seconds; one signed as 2^53−1 by a stolen desk's key was newer than any
    // bundle the replacement desk could ever make (attacker review, session 25).
    const now = 1_800_000_000_000;
    const ahead = await fullBundle(now / 1000 + 86_400 + 1);
    const err = await refusal(openBundle(ahead, { ...asKioskA(0), now }), 'BUNDLE_VERSION_AHEAD');
    expect(err.details).toMatchObject({ bundle: now / 1000 + 86_401, limit: now / 1000 + 86_400 });
    await refusal(openBundle(await fullBundle(Number.MAX_SAFE_INTEGER), { ...asKioskA(0), now }), 'BUNDLE_VERSION_AHEAD');
    // A day ahead (a desk clock set by hand) still opens; so does the far one once the kiosk's clock is there.
    expect((await openBundle(await fullBundle(now / 1000 + 86_400), { ...asKioskA(0), now })).version).toBe(now / 1000 + 86_400);
    expect((await openBundle(ahead, { ...asKioskA(0), now: now + 2_000 })).version).toBe(now / 1000 + 86_401);
  });

  test('site key: opens with the held key or the passphrase; a wrong passphrase or another salt does not', async () => {
    const bytes = await fullBundle(5, { recipients: [], siteKey: site });
    const held = await openBundle(bytes, { pinnedAdminKeys: admin.publicKey, siteKey: site, installedVersion: 0 });
    expect(held.kind === 'full' && held.subjects).toEqual(people);
    const typed = await openBundle(bytes, {
      pinnedAdminKeys: admin.publicKey,
      siteKey: { passphrase: SITE_PASSPHRASE },
      installedVersion: 0,
    });
    expect(typed.kind === 'full' && typed.subjects.length).toBe(3);
    // A mistyped site passphrase is named as such (it used to read "not made for this kiosk"), in both languages.
    const wrong = await refusal(
      openBundle(bytes, {
        pinnedAdminKeys: admin.publicKey,
        siteKey: { passphrase: 'correct horse battery stapler' },
        installedVersion: 0,
      }),
      'BUNDLE_SITE_PASSPHRASE',
    );
    expect(wrong.details).toMatchObject({ siteEntry: true, kioskEntries: false });
    expect(describeError(wrong, 'en').text).toBe('The site passphrase is wrong: it does not open this watchlist file. Check it and type it again. Nothing was changed.');
    expect(describeError(wrong, 'zh').text).toBe('站点口令错误：无法用它打开此名单文件。请检查后重新输入。未做任何更改。');
    // Also when the file is wrapped to kiosks as well, none of them this one.
    const both = await fullBundle(6, { recipients: [kioskB.publicKey], siteKey: site });
    const mixed = { pinnedAdminKeys: admin.publicKey, kioskPrivateKey: kioskA.privateKey, kioskPublicKey: kioskA.publicKey, siteKey: { passphrase: 'mauve otter drives 9 tram' }, installedVersion: 0 };
    await refusal(openBundle(both, mixed), 'BUNDLE_SITE_PASSPHRASE');
    const otherSite = await createSiteKey(SITE_PASSPHRASE);
    await refusal(
      openBundle(bytes, { pinnedAdminKeys: admin.publicKey, siteKey: otherSite, installedVersion: 0 }),
      'BUNDLE_NOT_FOR_KIOSK',
    );
    // No passphrase typed: not for this kiosk's key, and the file says it opens with a site passphrase.
    const none = await refusal(openBundle(bytes, asKioskA()), 'BUNDLE_NOT_FOR_KIOSK');
    expect(describeError(none, 'en').text).toBe('The watchlist file was not made for this kiosk. It opens with the site passphrase it was made with: type it in the "Site passphrase" field.');
    expect(describeError(none, 'zh').text).toMatch(/^名单文件不是为本终端制作的。它需用制作时的站点口令打开/);
  });

  test('a bundle wrapped to both the site key and a kiosk opens either way', async () => {
    const bytes = await fullBundle(5, { recipients: [kioskA.publicKey], siteKey: site });
    expect((await openBundle(bytes, asKioskA())).version).toBe(5);
    expect(
      (await openBundle(bytes, { pinnedAdminKeys: admin.publicKey, siteKey: site, installedVersion: 0 })).version,
    ).toBe(5);
  });

  test('the caller changing its buffer after the call cannot change what is verified and decrypted', async () => {
    const bytes = await fullBundle();
    const pending = openBundle(bytes, asKioskA());
    bytes.fill(0);
    expect((await pending).version).toBe(5);
  });
});

describe('refusals', () => {
  test('a bundle for other kiosks', async () => {
    const bytes = await fullBundle();
    const err = await refusal(
      openBundle(bytes, {
        pinnedAdminKeys: admin.publicKey,
        kioskPrivateKey: kioskC.privateKey,
        kioskPublicKey: kioskC.publicKey,
        installedVersion: 0,
      }),
      'BUNDLE_NOT_FOR_KIOSK',
    );
    expect(err.details).toMatchObject({ kioskEntries: true, siteEntry: false });
    // Without its public key kiosk C tries every entry; AES-KW's integrity check still refuses each.
    await refusal(
      openBundle(bytes, { pinnedAdminKeys: admin.publicKey, kioskPrivateKey: kioskC.privateKey, installedVersion: 0 }),
      'BUNDLE_NOT_FOR_KIOSK',
    );
    // Claiming to be kiosk A (its public key) with kiosk C's private key does not help.
    await refusal(
      openBundle(bytes, {
        pinnedAdminKeys: admin.publicKey,
        kioskPrivateKey: kioskC.privateKey,
        kioskPublicKey: kioskA.publicKey,
        installedVersion: 0,
      }),
      'BUNDLE_NOT_FOR_KIOSK',
    );
    await refusal(openBundle(bytes, { pinnedAdminKeys: admin.publicKey, installedVersion: 0 }), 'BUNDLE_NOT_FOR_KIOSK');
  });

  test('one flipped byte in the header, the ciphertext or the signature', async () => {
    const bytes = await fullBundle();
    const headerEnd = 86 + 2 * 138;
    const sigStart = bytes.length - 64;
    // Version (offset 12), created-at (28), issuer id (40), IV (70), a recipient's wrapped key, its ephemeral point.
    for (const at of [12, 28, 40, 70, 86 + 1 + 32 + 65 + 5, 86 + 138 + 40]) {
      await refusal(openBundle(flip(bytes, at), asKioskA()), 'BUNDLE_SIGNATURE');
    }
    for (const at of [headerEnd, headerEnd + 1000, sigStart - 1]) {
      await refusal(openBundle(flip(bytes, at, 0x80), asKioskA()), 'BUNDLE_SIGNATURE');
    }
    for (const at of [sigStart, sigStart + 31, sigStart + 32, bytes.length - 1]) {
      await refusal(openBundle(flip(bytes, at), asKioskA()), 'BUNDLE_SIGNATURE');
    }
  });

  test('no single flipped byte anywhere in the header ever opens', async () => {
    const bytes = await fullBundle();
    const headerEnd = 86 + 2 * 138;
    const seen = new Set<string>();
    for (let at = 0; at < headerEnd; at++) {
      const err = await openBundle(flip(bytes, at, 0xff), asKioskA()).then(
        () => undefined,
        (e: unknown) => e as KioskError,
      );
      expect(err, `offset ${at}`).toBeInstanceOf(KioskError);
      expect(['BUNDLE_INVALID', 'BUNDLE_SIGNATURE']).toContain(err!.code);
      seen.add(err!.code);
    }
    expect([...seen].sort()).toEqual(['BUNDLE_INVALID', 'BUNDLE_SIGNATURE']);
  });

  test('a bundle signed by another key, with its own issuer id or with ours', async () => {
    const foreign = await fullBundle(5, {
      adminSigningKey: otherAdmin.privateKey,
      adminPublicKey: otherAdmin.publicKey,
    });
    const err = await refusal(openBundle(foreign, asKioskA()), 'BUNDLE_SIGNATURE');
    expect(err.details).toMatchObject({ reason: 'unknown-issuer' });
    // Forged: our admin's key id in the header, signed by the other key.
    const forged = foreign.slice();
    forged.set(await publicKeyId(admin.publicKey), 36);
    const signedEnd = forged.length - 64;
    const sig = new Uint8Array(
      await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        otherAdmin.privateKey,
        forged.subarray(0, signedEnd),
      ),
    );
    forged.set(sig, signedEnd);
    const err2 = await refusal(openBundle(forged, asKioskA()), 'BUNDLE_SIGNATURE');
    expect(err2.details).toMatchObject({ reason: 'bad-signature' });
    // Pinning both keys (a rotation) accepts the other admin's own bundle.
    expect(
      (await openBundle(foreign, { ...asKioskA(), pinnedAdminKeys: [admin.publicKey, otherAdmin.publicKey] })).version,
    ).toBe(5);
  });

  test('the admin cannot export with a mismatched key pair', async () => {
    await expect(fullBundle(5, { adminSigningKey: otherAdmin.privateKey })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      details: { reason: 'admin-key-pair-mismatch' },
    });
  });

  test('an older version is a rollback; the installed version again is "already installed"', async () => {
    const v5 = await fullBundle(5);
    const same = await refusal(openBundle(v5, asKioskA(5)), 'BUNDLE_ALREADY_INSTALLED');
    expect(same.details).toMatchObject({ installed: 5, bundle: 5 });
    const err = await refusal(openBundle(v5, asKioskA(9)), 'BUNDLE_ROLLBACK');
    expect(err.details).toMatchObject({ reason: 'not-newer', installed: 9, bundle: 5 });
    expect((await openBundle(v5, asKioskA(4))).version).toBe(5);
  });

  test('truncated, empty, garbled or padded files', async () => {
    const bytes = await fullBundle();
    for (const n of [
      0,
      1,
      7,
      8,
      12,
      85,
      86,
      86 + 138,
      86 + 2 * 138,
      1000,
      bytes.length - 65,
      bytes.length - 64,
      bytes.length - 1,
    ]) {
      await refusal(openBundle(bytes.slice(0, n), asKioskA()), 'BUNDLE_INVALID');
    }
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    await refusal(openBundle(padded, asKioskA()), 'BUNDLE_INVALID');
    const garbage = crypto.getRandomValues(new Uint8Array(4096));
    await refusal(openBundle(garbage, asKioskA()), 'BUNDLE_INVALID');
    const text = new TextEncoder().encode('{"subjects": []}');
    await refusal(openBundle(text, asKioskA()), 'BUNDLE_INVALID');
    expect(() => inspectBundle(bytes.slice(0, 100))).toThrow(KioskError);
  });

  test('the signature is checked before anything else about the bundle is acted on', async () => {
    // For another kiosk AND tampered: the tampering is what is reported (nothing was unwrapped to find out).
    const forC = await fullBundle(5, { recipients: [kioskC.publicKey] });
    await refusal(openBundle(flip(forC, forC.length - 200), asKioskA()), 'BUNDLE_SIGNATURE');
    // Older AND tampered: the version of an unverified header is not trusted even to refuse.
    const old = await fullBundle(2);
    await refusal(openBundle(flip(old, 12, 0x40), asKioskA(3)), 'BUNDLE_SIGNATURE');
  });
});

test('size and speed: 1000 subjects with three templates each (numbers are noisy on a shared 2-core machine)', async () => {
  const many = Array.from({ length: 1000 }, (_, i) => subject(`s${i}`, i));
  const t0 = performance.now();
  const bytes = await fullBundle(7, { subjects: many });
  const t1 = performance.now();
  const opened = await openBundle(bytes, asKioskA());
  const t2 = performance.now();
  expect(opened.kind === 'full' && opened.subjects.length).toBe(1000);
  if (opened.kind === 'full') expectSameTemplates(opened.subjects.slice(-3), many.slice(-3));
  console.log(
    JSON.stringify({
      subjects: 1000,
      templatesEach: '2x512 + 1x128',
      bytes: bytes.length,
      exportMs: Math.round(t1 - t0),
      openMs: Math.round(t2 - t1),
    }),
  );
});
