/**
 * The vault's contracts with the other modules, in real Chromium: the decision module's key store
 * (src/shared/decision-keys.ts), the sync module's keys, and applying a verified bundle's plan (src/sync applyPlan)
 * atomically with its version sealed in the root.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Vault } from '../../src/store';
import type { DecisionKeyRecord } from '../../src/shared/decision-keys';
import type { Subject } from '../../src/shared/types';
import { applyPlan } from '../../src/sync';
import { generateSigningKey, generateSubjectKey } from '../../src/decisions/signer';
import { generateAdminKeyPair, generateKioskKeyPair } from '../../src/sync/keys';
import {
  PASS,
  concat,
  containsBytes,
  expectCode,
  openVault,
  rawDump,
  rawPut,
  serialise,
  tpl,
  uniqueName,
} from './vault-helpers';

const opened: Vault[] = [];
async function open(name: string): Promise<Vault> {
  const v = await openVault(name);
  opened.push(v);
  return v;
}
afterEach(() => {
  for (const v of opened.splice(0)) v.close();
});

function subject(id: string, label: string, seed: number): Subject {
  return {
    id,
    label,
    list: 'allow',
    templates: { fr: [tpl(512, seed)] },
    plates: [],
    createdAt: 1000 + seed,
    updatedAt: 1000 + seed,
    version: 1,
  };
}

describe('key material of other modules', () => {
  it('keeps the decision record: CryptoKeys restored, the rest sealed; device unlock is enough', async () => {
    const name = uniqueName('decision-keys');
    const v = await open(name);
    await v.setup(PASS);
    v.close();
    const k = await open(name);
    await k.unlockDevice();
    expect(await k.decisionKeys.load()).toBeUndefined();
    const record: DecisionKeyRecord = {
      v: 1,
      kioskId: 'FRONT-DOOR-7',
      signingKey: await generateSigningKey(),
      subjectKey: await generateSubjectKey(),
      lastSeq: 41,
      createdAt: 1_800_000_000_000,
      pairedWith: { origin: 'http://receiver.example:8787', kid: 'KID-THUMBPRINT', at: 1_800_000_000_001 },
    };
    await k.decisionKeys.save(record);
    const back = await k.decisionKeys.load();
    expect(back).toMatchObject({ kioskId: 'FRONT-DOOR-7', lastSeq: 41, pairedWith: record.pairedWith });
    expect(back?.signingKey.privateKey).toBeInstanceOf(CryptoKey);
    expect(back?.signingKey.privateKey.extractable).toBe(false);
    // the restored key still signs, and the stored public key verifies it
    const data = new TextEncoder().encode('decision');
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, back!.signingKey.privateKey, data);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, record.signingKey.publicKey, sig, data)).toBe(
      true,
    );
    const hay = concat((await rawDump(name)).flatMap((r) => serialise([r.key, r.value])));
    for (const s of ['FRONT-DOOR-7', 'receiver.example', 'KID-THUMBPRINT'])
      expect(containsBytes(hay, new TextEncoder().encode(s)), s).toBe(false);
  });

  it('seals every key inside the vault: a copied profile holds no CryptoKey and no private key bytes', async () => {
    // Attacker review (session 24): the signing and sync keys were stored as CryptoKey objects beside the sealed
    // JSON. Chromium keeps their material in the profile's IndexedDB files, so a copy of the profile opened at this
    // origin could sign grants for the kiosk's doors, or bundles as its admin, without the passphrase.
    const name = uniqueName('sealed-keys');
    const v = await open(name);
    await v.setup(PASS);
    const signing = await generateSigningKey();
    const subjectKey = await generateSubjectKey();
    const admin = await generateAdminKeyPair();
    const kiosk = await generateKioskKeyPair();
    await v.decisionKeys.save({ v: 1, kioskId: 'k', signingKey: signing, subjectKey, lastSeq: 1, createdAt: 1 });
    await v.keys.put('sync', { admin, kiosk, pinnedAdmins: [admin.publicKey] });
    const privates = await Promise.all(
      [signing.privateKey, admin.privateKey, kiosk.privateKey].map(
        async (key) => (await crypto.subtle.exportKey('jwk', key)).d!,
      ),
    );
    const hmac = (await crypto.subtle.exportKey('jwk', subjectKey)).k!;
    // Read, changed and written back (the next sequence number; a newly pinned key), as the kiosk does: the
    // re-imported keys are non-extractable, and must not fall back to being stored as CryptoKey objects.
    v.lockAdmin();
    await v.unlockAdmin(PASS);
    const loaded = (await v.decisionKeys.load())!;
    await v.decisionKeys.save({ ...loaded, lastSeq: 2 });
    const sync0 = (await v.keys.get('sync')) as { pinnedAdmins: CryptoKey[] };
    const other = (await generateAdminKeyPair()).publicKey;
    await v.keys.put('sync', { ...sync0, pinnedAdmins: [...sync0.pinnedAdmins, other] });
    v.close();

    const secrets = (await rawDump(name)).filter((r) => r.store === 'secrets');
    expect(secrets.map((r) => r.key).sort()).toEqual(['decision-keys', 'sync']);
    for (const r of secrets) expect((r.value as { keys: unknown[] }).keys, String(r.key)).toEqual([]);
    const everything = await rawDump(name);
    // The only CryptoKey objects left anywhere are the keyring's own (the unattended device key), none of these.
    const holding = new Set<string>();
    for (const r of everything)
      JSON.stringify(r.value, (_k, x: unknown) => (x instanceof CryptoKey ? (holding.add(r.store), null) : x));
    expect([...holding].filter((store) => store !== 'keyring')).toEqual([]);
    const hay = concat(everything.flatMap((r) => serialise([r.key, r.value])));
    for (const secret of [...privates, hmac]) {
      expect(containsBytes(hay, new TextEncoder().encode(secret))).toBe(false);
      expect(
        containsBytes(
          hay,
          Uint8Array.from(atob(secret.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
        ),
      ).toBe(false);
    }

    // Read back: usable, private halves non-extractable, public halves as before.
    const k = await open(name);
    await k.unlockDevice();
    const rec = await k.decisionKeys.load();
    expect(rec?.lastSeq).toBe(2);
    expect(rec?.signingKey.privateKey.extractable).toBe(false);
    expect(rec?.subjectKey?.extractable).toBe(false);
    const data = new TextEncoder().encode('decision');
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, rec!.signingKey.privateKey, data);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, signing.publicKey, sig, data)).toBe(true);
    const mac = (key: CryptoKey) => crypto.subtle.sign('HMAC', key, data).then((b) => [...new Uint8Array(b)]);
    expect(await mac(rec!.subjectKey!)).toEqual(await mac(subjectKey));
    const sync = (await k.keys.get('sync')) as {
      admin: CryptoKeyPair;
      kiosk: CryptoKeyPair;
      pinnedAdmins: CryptoKey[];
    };
    expect([sync.admin.privateKey.extractable, sync.kiosk.privateKey.extractable]).toEqual([false, false]);
    expect(sync.pinnedAdmins[0]!.extractable).toBe(true);
    expect(sync.kiosk.privateKey.usages).toEqual(['deriveBits']);
    const adminSig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, sync.admin.privateKey, data);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, sync.pinnedAdmins[0]!, adminSig, data)).toBe(
      true,
    );
  });

  it('a tampered decision record reads as none (the decision module then makes a new key) and is quarantined', async () => {
    const name = uniqueName('decision-tamper');
    const v = await open(name);
    await v.setup(PASS);
    await v.decisionKeys.save({ v: 1, kioskId: 'k', signingKey: await generateSigningKey(), lastSeq: 3, createdAt: 1 });
    v.close();
    const raw = (await rawDump(name)).find((r) => r.store === 'secrets' && r.key === 'decision-keys')!;
    const value = raw.value as { box: ArrayBuffer };
    const box = new Uint8Array(value.box.slice(0));
    box[15] = (box[15] ?? 0) ^ 1;
    await rawPut(name, 'secrets', [{ key: 'decision-keys', value: { ...value, box: box.buffer } }]);
    const k = await open(name);
    await k.unlockDevice();
    expect(await k.decisionKeys.load()).toBeUndefined();
    expect((await k.listQuarantine()).map((q) => [q.store, q.key])).toEqual([['secrets', 'decision-keys']]);
  });

  it('sync keys: admin writes, the kiosk reads, with key objects inside nested values', async () => {
    const name = uniqueName('sync-keys');
    const v = await open(name);
    await v.setup(PASS);
    const pinned = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']))
      .publicKey;
    await v.keys.put('sync', {
      pinnedAdmins: [pinned],
      recipients: [{ fingerprint: 'FP-1', key: pinned }],
      exportedVersion: 4,
    });
    v.lockAdmin();
    await expectCode(v.keys.put('sync', {}), 'STORE_ADMIN_REQUIRED');
    const got = (await v.keys.get('sync')) as {
      pinnedAdmins: CryptoKey[];
      recipients: { fingerprint: string; key: CryptoKey }[];
      exportedVersion: number;
    };
    expect(got.exportedVersion).toBe(4);
    expect(got.recipients[0]?.fingerprint).toBe('FP-1');
    expect(new Uint8Array(await crypto.subtle.exportKey('raw', got.pinnedAdmins[0]!))).toEqual(
      new Uint8Array(await crypto.subtle.exportKey('raw', pinned)),
    );
    // A key named "__proto__" (a bundle's subject ids are anyone's choosing) comes back as a plain entry.
    await v.unlockAdmin(PASS);
    await v.keys.put('sync', { exported: { version: 1, stamps: JSON.parse('{"__proto__": 5, "a": 1}') as unknown } });
    const stamps = ((await v.keys.get('sync')) as { exported: { stamps: Record<string, number> } }).exported.stamps;
    expect(Object.keys(stamps)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(stamps)).toBe(Object.prototype);
    expect(await v.keys.get('nothing-here')).toBeUndefined();
    await expectCode(v.keys.get('Bad Name!'), 'INPUT_INVALID');
    v.lock();
    await expectCode(v.keys.get('sync'), 'STORE_LOCKED');
  });
});

describe('watchlist bundles', () => {
  it('applies full and delta plans atomically, records the version, refuses a stale base', async () => {
    const name = uniqueName('bundle');
    const v = await open(name);
    await v.setup(PASS);
    v.lockAdmin(); // bundles need only the device unlock: the signature is the authority
    expect(await v.watchlistVersion()).toBe(0);
    const a = subject('a1', 'Alice', 1);
    const b = subject('b2', 'Bob', 2);
    const full = applyPlan(
      { version: 0, subjects: [] },
      { kind: 'full', baseVersion: 0, version: 3, createdAt: 0, issuerKeyId: 'x', subjects: [a, b] },
    );
    await v.applyWatchlistPlan(full);
    let load = await v.loadWatchlist();
    expect(load.version).toBe(3);
    expect(load.subjects.map((s) => [s.id, s.label, s.createdAt]).sort()).toEqual([
      ['a1', 'Alice', 1001],
      ['b2', 'Bob', 1002],
    ]);
    const c = subject('c3', 'Carol', 3);
    const delta = applyPlan(
      { version: 3, subjects: load.subjects },
      {
        kind: 'delta',
        baseVersion: 3,
        version: 4,
        createdAt: 0,
        issuerKeyId: 'x',
        upserts: [{ ...b, label: 'Robert' }, c],
        deletions: ['a1'],
      },
    );
    await v.applyWatchlistPlan(delta);
    load = await v.loadWatchlist();
    expect(load.version).toBe(4);
    expect(load.subjects.map((s) => [s.id, s.label]).sort()).toEqual([
      ['b2', 'Robert'],
      ['c3', 'Carol'],
    ]);
    // a plan built against version 3 arrives after 4 was installed: refused, nothing changed
    const before = (await rawDump(name)).filter((r) => r.store === 'subjects' || r.store === 'index');
    const stale = applyPlan(
      { version: 3, subjects: [] },
      { kind: 'full', baseVersion: 0, version: 5, createdAt: 0, issuerKeyId: 'x', subjects: [a] },
    );
    expect(await expectCode(v.applyWatchlistPlan(stale), 'BUNDLE_ROLLBACK')).toMatchObject({ installed: 4, base: 3 });
    const after = (await rawDump(name)).filter((r) => r.store === 'subjects' || r.store === 'index');
    expect(after.map((r) => serialise([r.key, r.value]))).toEqual(before.map((r) => serialise([r.key, r.value])));
    expect(await v.watchlistVersion()).toBe(4);
  });
});
