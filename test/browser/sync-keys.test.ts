/**
 * Watchlist sync key management over the real app layer in real Chromium (vaults in IndexedDB, real WebCrypto
 * signing and encryption, the real face worker), after the security review of key trust:
 * - A key read (previewKey, or a scan that is cancelled) is checked and fingerprinted but not trusted: nothing is
 *   pinned, and a bundle signed by that key is refused BUNDLE_SIGNATURE. Only pinAdminKey trusts it.
 * - Pin A and X, unpin X: X's bundle is refused BUNDLE_SIGNATURE, A's installs; an unknown fingerprint is refused
 *   with the field and rule.
 * - Add a recipient, remove it: the next export is no longer encrypted to it (its key id is gone from the header,
 *   its private key opens nothing) while the remaining kiosk still installs it.
 * - A desk exports three times, the kiosk installs the last; a fresh desk (new admin key, its counter starting
 *   over) pinned next to it an hour later exports once, and the kiosk installs that — it was BUNDLE_ROLLBACK when
 *   versions were a per-desk counter. A version past 2^53−1 is refused, never written.
 * - The audit holds 'watchlist-installed' (version, kind, issuer fingerprint) for a file import and for a LAN pull,
 *   and 'key-trusted' / 'key-removed' for every trust and removal, and none for a mere preview.
 * - The sync card: a pasted key shows its fingerprint with confirm and cancel and is trusted only on confirm (a
 *   refused paste drops a key that was waiting); the trusted-keys list follows every change; a scan can be
 *   cancelled; the audit card words the new entries.
 * - A paste ends a scan still running: a QR code that reaches the camera afterwards does not replace the pasted key
 *   the admin is comparing, and the service trusts only the key whose fingerprint was shown (`keyChanged`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDB } from 'idb';
import { qrMatrix } from '../../src/app/qr-exchange';
import { bindingData, seal } from '../../src/crypto/aead';
import { generateAuditKeyPair } from '../../src/crypto/keys';
import { RECORD_FORMAT } from '../../src/store/schema';
import { AdjustableClock } from '../../src/shared/clock';
import type { AuditEntry } from '../../src/shared/types';
import {
  BUNDLE_MIME,
  exportPublicKey,
  formatFingerprint,
  generateAdminKeyPair,
  generateKioskKeyPair,
  importAdminPublicKey,
  inspectBundle,
  keyFingerprint,
  openBundle,
} from '../../src/sync';
import { auditCard } from '../../src/ui/audit-card';
import { setLang } from '../../src/ui/i18n';
import { syncCard } from '../../src/ui/sync-card';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode, tpl, uniqueName } from './vault-helpers';

const SITE = 'Site passphrase for key tests 42';
const mounted: HTMLElement[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const el of mounted.splice(0)) el.remove();
  closeKiosks();
});

type Tablet = Awaited<ReturnType<typeof openKiosk>>;

/** A tablet set up with the admin session open (the console's state), with one person enrolled if `label`. */
async function tablet(tag: string, clock: AdjustableClock, label?: string): Promise<Tablet> {
  const t = await openKiosk(tag, clock);
  await t.ops.setup(PASS, { role: 'attended' });
  if (label) {
    await t.vault.enrol({ label, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, label.length)] } });
    await t.app.watchlistSettled();
  }
  return t;
}

/** The fingerprint of a recipient key id as inspectBundle gives it (hex SHA-256 of the kiosk's SPKI). */
const fingerprintOf = (keyIdHex: string): string => formatFingerprint(Uint8Array.from(keyIdHex.match(/../g)!, (b) => parseInt(b, 16)));
const recipientsOf = (bytes: Uint8Array): string[] => inspectBundle(bytes).kioskKeyIds.map(fingerprintOf);
/** The sync service's own audit entries (the admin's login and settings saved are 'system' entries too). */
const SYNC_OUTCOMES = new Set(['watchlist-installed', 'key-trusted', 'key-removed']);
const systemEntries = async (t: Tablet): Promise<AuditEntry[]> => (await t.ops.audit.readAudit(100)).filter((e) => e.mode === 'system' && SYNC_OUTCOMES.has(e.outcome)).sort((x, y) => x.at - y.at || (x.id ?? 0) - (y.id ?? 0));
const importFile = (t: Tablet, bytes: Uint8Array<ArrayBuffer>) => t.ops.sync.importWatchlist(new Blob([bytes]), { sitePassphrase: SITE });

/** The audit card as the console mounts it: its rows after "show" as [outcome, outcome word, reason words]. */
async function auditRows(t: Tablet): Promise<string[][]> {
  const audit = auditCard({ readAudit: (n) => t.ops.audit.readAudit(n), exportAudit: (p) => t.ops.audit.exportAudit(p), readAuditFile: (f, p) => t.ops.audit.readAuditFile(f, p), listGuards: () => t.ops.listGuards() });
  document.body.append(audit);
  mounted.push(audit);
  const out = audit.querySelector<HTMLElement>('[data-testid="audit-message"]')!;
  audit.querySelector<HTMLButtonElement>('[data-testid="audit-show"]')!.click();
  await vi.waitFor(() => expect(out.dataset['tone']).toBe('ok'));
  return [...audit.querySelectorAll<HTMLTableRowElement>('[data-testid="audit-entries"] tbody tr')].map((tr) => [tr.dataset['outcome']!, tr.cells[1]!.textContent!, tr.cells[4]!.textContent!]);
}

/** An outsider's kiosk key as the key text a tablet shows (what an attacker would hold up to the camera). */
async function outsiderKioskKey(): Promise<{ json: string; fingerprint: string; pair: CryptoKeyPair }> {
  const pair = await generateKioskKeyPair();
  const jwk = await exportPublicKey(pair.publicKey, 'jwk');
  return { json: JSON.stringify({ kind: 'entrance-kiosk-kiosk-key', jwk }), fingerprint: await keyFingerprint(pair.publicKey), pair };
}

describe('sync keys: trusted only on confirmation, removable, audited', () => {
  it('a previewed key is not trusted; an unpinned admin key is refused; imports, pulls and key changes are audited', async () => {
    const clock = new AdjustableClock();
    const a = await tablet('keys-a', clock, 'Person A');
    const x = await tablet('keys-x', clock, 'Intruder X');
    const k = await tablet('keys-k', clock);
    const keyA = await a.ops.sync.adminPublicKey();
    const keyX = await x.ops.sync.adminPublicKey();
    const fromX = await x.ops.sync.exportWatchlist({ sitePassphrase: SITE });

    // (a) A preview runs the full import check and names the fingerprint, and saves nothing.
    const preview = await k.ops.sync.previewKey(keyX.json, 'admin');
    expect(preview).toEqual({ kind: 'admin', json: keyX.json, fingerprint: keyX.fingerprint });
    expect(await expectCode(k.ops.sync.previewKey('nope', 'admin'), 'INPUT_INVALID')).toMatchObject({ field: 'key', rule: 'keyJson' });
    expect(await expectCode(k.ops.sync.previewKey(keyX.json, 'kiosk'), 'INPUT_INVALID')).toMatchObject({ field: 'key', rule: 'keyKind' });
    const withPrivate = JSON.stringify({ kind: 'entrance-kiosk-admin-key', jwk: { ...(JSON.parse(keyX.json) as { jwk: JsonWebKey }).jwk, d: 'AAAA' } });
    expect(await expectCode(k.ops.sync.previewKey(withPrivate, 'admin'), 'INPUT_INVALID')).toMatchObject({ reason: 'private-key' });
    // A scan cancelled before any code was read trusts nothing either.
    const ctl = new AbortController();
    const scan = k.ops.sync.scanAdminKey({ signal: ctl.signal });
    ctl.abort();
    await expectCode(scan, 'WORKER_ABORTED');
    expect(await k.ops.sync.trustedKeys()).toEqual({ admins: [], recipients: [] });
    expect(await expectCode(importFile(k, fromX.bytes), 'BUNDLE_SIGNATURE')).toMatchObject({ reason: 'no-pinned-admin-key' });
    expect(k.app.listSubjects()).toEqual([]);

    // (b) Pin A and X (a rotation's overlap), then unpin X: X's bundle is refused, A's installs.
    expect(await k.ops.sync.pinAdminKey(keyA.json)).toBe(keyA.fingerprint);
    expect(await k.ops.sync.pinAdminKey(keyX.json)).toBe(keyX.fingerprint);
    expect(await k.ops.sync.pinAdminKey(keyX.json)).toBe(keyX.fingerprint); // again: no second pin, no second entry
    expect((await k.ops.sync.trustedKeys()).admins).toEqual([keyA.fingerprint, keyX.fingerprint]);
    await k.ops.sync.unpinAdminKey(keyX.fingerprint);
    expect((await k.ops.sync.trustedKeys()).admins).toEqual([keyA.fingerprint]);
    expect(await expectCode(k.ops.sync.unpinAdminKey(keyX.fingerprint), 'INPUT_INVALID')).toMatchObject({ field: 'key', rule: 'keyUnknown' });
    expect(await expectCode(importFile(k, fromX.bytes), 'BUNDLE_SIGNATURE')).toMatchObject({ reason: 'unknown-issuer' });
    expect(k.app.listSubjects()).toEqual([]);
    const fromA = await a.ops.sync.exportWatchlist({ sitePassphrase: SITE });
    expect(await importFile(k, fromA.bytes)).toMatchObject({ version: fromA.version, kind: 'full', issuer: keyA.fingerprint });
    await k.app.watchlistSettled();
    expect(k.app.listSubjects().map((s) => s.label)).toEqual(['Person A']);

    // The LAN pull, the receiver's answer handed to fetch: installed through the same path, and audited too. A pull
    // carries no passphrase, so the bundle is encrypted to K's key (A adds K as a recipient first).
    await a.vault.enrol({ label: 'Person A2', list: 'allow', plates: [], templates: { fr_feature: [tpl(512, 77)] } });
    await a.app.watchlistSettled();
    await a.ops.sync.addRecipient((await k.ops.sync.kioskPublicKey()).json);
    const full = await a.ops.sync.exportWatchlist({});
    const realFetch = globalThis.fetch.bind(globalThis);
    const served = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) =>
      String(input instanceof Request ? input.url : input).includes('/watchlist/bundle')
        ? Promise.resolve(new Response(full.bytes, { status: 200, headers: { 'content-type': BUNDLE_MIME } }))
        : realFetch(input, init),
    );
    const status = await k.ops.sync.pullNow();
    expect(status.error).toBeNull();
    expect(status.syncedVersion).toBe(full.version);
    expect(served).toHaveBeenCalled();
    await k.app.watchlistSettled();
    expect(k.app.listSubjects().map((s) => s.label).sort()).toEqual(['Person A', 'Person A2']);

    // (e) The audit: every trust and removal, both installs with version, kind and issuer; nothing for the preview.
    const kioskId = k.app.snapshot.settings.kioskId;
    const got = (await systemEntries(k)).map((e) => ({ outcome: e.outcome, reason: e.reason, subjectId: e.subjectId, kiosk: e.kiosk }));
    expect(got).toEqual(
      [
        ['key-trusted', `admin ${keyA.fingerprint}`],
        ['key-trusted', `admin ${keyX.fingerprint}`],
        ['key-removed', `admin ${keyX.fingerprint}`],
        ['watchlist-installed', `v${fromA.version} full, signed by ${keyA.fingerprint}`],
        ['watchlist-installed', `v${full.version} full, signed by ${keyA.fingerprint}`],
      ].map(([outcome, reason]) => ({ outcome, reason, subjectId: 'unknown', kiosk: kioskId })),
    );
    // The admin reads them in words, in English and in Chinese (not as "stored setting repaired", as before).
    const installedWords = `watchlist v${fromA.version} installed (whole list), signed by admin key ${keyA.fingerprint}`;
    expect(await auditRows(k)).toEqual(expect.arrayContaining([['watchlist-installed', 'watchlist installed', installedWords]]));
    setLang('zh');
    try {
      expect(await auditRows(k)).toEqual(
        expect.arrayContaining([
          ['watchlist-installed', '名单已安装', `已安装名单 v${fromA.version}（完整名单），由管理员密钥 ${keyA.fingerprint} 签名`],
          ['key-removed', '密钥已移除', `已移除管理员公钥 ${keyX.fingerprint}：拒绝其签名的名单包`],
        ]),
      );
    } finally {
      setLang('en');
    }
  }, 240_000);

  it('a removed recipient gets no later export; a replacement desk’s first bundle is newer than the old desk’s', async () => {
    const clock = new AdjustableClock();
    const a = await tablet('versions-a', clock, 'Person A');
    const k = await tablet('versions-k', clock);
    const keyA = await a.ops.sync.adminPublicKey();
    const keyK = await k.ops.sync.kioskPublicKey();
    const outsider = await outsiderKioskKey();

    // (c) Add K and an outsider's kiosk: both get the export; remove the outsider: the next one is K's only.
    expect(await a.ops.sync.addRecipient(keyK.json)).toBe(keyK.fingerprint);
    expect(await a.ops.sync.addRecipient(outsider.json)).toBe(outsider.fingerprint);
    expect((await a.ops.sync.trustedKeys()).recipients).toEqual([keyK.fingerprint, outsider.fingerprint]);
    const before = Math.floor(clock.wall() / 1000);
    const v1 = await a.ops.sync.exportWatchlist({});
    expect(recipientsOf(v1.bytes).sort()).toEqual([keyK.fingerprint, outsider.fingerprint].sort());
    await a.ops.sync.removeRecipient(outsider.fingerprint);
    expect((await a.ops.sync.trustedKeys()).recipients).toEqual([keyK.fingerprint]);
    expect(await expectCode(a.ops.sync.removeRecipient(outsider.fingerprint), 'INPUT_INVALID')).toMatchObject({ field: 'key', rule: 'keyUnknown' });
    const v2 = await a.ops.sync.exportWatchlist({});
    expect(recipientsOf(v2.bytes)).toEqual([keyK.fingerprint]);
    const pinnedA = await importAdminPublicKey((JSON.parse(keyA.json) as { jwk: JsonWebKey }).jwk);
    const asOutsider = { pinnedAdminKeys: [pinnedA], installedVersion: 0, kioskPrivateKey: outsider.pair.privateKey, kioskPublicKey: outsider.pair.publicKey };
    expect((await openBundle(v1.bytes, asOutsider)).version).toBe(v1.version); // before the removal it could read it
    await expect(openBundle(v2.bytes, asOutsider)).rejects.toMatchObject({ code: 'BUNDLE_NOT_FOR_KIOSK' });
    expect((await systemEntries(a)).map((e) => [e.outcome, e.reason])).toEqual([
      ['key-trusted', `kiosk ${keyK.fingerprint}`],
      ['key-trusted', `kiosk ${outsider.fingerprint}`],
      ['key-removed', `kiosk ${outsider.fingerprint}`],
    ]);

    // (d) A third export; every version is newer than the last and at least the wall clock in seconds. K installs it.
    const v3 = await a.ops.sync.exportWatchlist({});
    expect(v2.version).toBeGreaterThan(v1.version);
    expect(v3.version).toBeGreaterThan(v2.version);
    expect(v1.version).toBeGreaterThanOrEqual(before);
    await k.ops.sync.pinAdminKey(keyA.json);
    await k.ops.sync.importWatchlist(new Blob([v3.bytes]));
    expect(await k.vault.watchlistVersion()).toBe(v3.version);

    // The desk is lost and replaced an hour later: a fresh admin key, no export counter. K pins it next to A's. An
    // hour on the wall clock ends every admin session (idle rules read both clocks), so K's admin logs in again.
    clock.setWall(clock.wall() + 60 * 60_000);
    await expectCode(k.ops.sync.pinAdminKey(keyA.json), 'STORE_ADMIN_REQUIRED');
    await k.ops.unlock(PASS);
    const b = await tablet('versions-b', clock, 'Person B');
    const keyB = await b.ops.sync.adminPublicKey();
    await b.ops.sync.addRecipient(keyK.json);
    await k.ops.sync.pinAdminKey(keyB.json);
    const replacedAt = Math.floor(clock.wall() / 1000);
    const first = await b.ops.sync.exportWatchlist({});
    expect(first.version).toBeGreaterThan(v3.version);
    expect(first.version).toBeGreaterThanOrEqual(replacedAt);
    expect(await k.ops.sync.importWatchlist(new Blob([first.bytes]))).toMatchObject({ version: first.version, issuer: keyB.fingerprint });
    await k.app.watchlistSettled();
    expect(k.app.listSubjects().map((s) => s.label)).toEqual(['Person B']);
    // The rotation ends: A's key dropped, so a bundle the old desk made (even a newer one) is refused.
    await k.ops.sync.unpinAdminKey(keyA.fingerprint);
    clock.setWall(clock.wall() + 60 * 60_000);
    await a.ops.unlock(PASS);
    await k.ops.unlock(PASS);
    const late = await a.ops.sync.exportWatchlist({});
    await expectCode(k.ops.sync.importWatchlist(new Blob([late.bytes])), 'BUNDLE_SIGNATURE');

    // A clock so far ahead that the version would pass the format's 2^53−1: refused on the desk, nothing written.
    clock.setWall(2 ** 53 * 1000);
    await b.ops.unlock(PASS);
    expect(await expectCode(b.ops.sync.exportWatchlist({}), 'INPUT_INVALID')).toMatchObject({ reason: 'version-exhausted', rule: 'versionExhausted' });
  }, 240_000);

  it("the admin's signing pair opens only in the admin's session, not with the device unlock; a swapped audit key is repaired at unlock", async () => {
    // Unattended restart unwraps the data key with no passphrase, and the sync record (data key) held the admin's
    // signing pair: a copy of such a desk's profile, or anyone at it, signed bundles every kiosk pinned to it would
    // install (attacker review, session 26). The pair is now sealed to the audit key, which only the passphrase opens.
    const clock = new AdjustableClock();
    const name = uniqueName('sign-sealed');
    const desk = await openKiosk('', clock, { name });
    await desk.ops.setup(PASS, { role: 'guard' }); // unattended restart on (the set-up default)
    await desk.vault.enrol({ label: 'Ada', list: 'allow', plates: [], templates: { fr_feature: [tpl(512, 3)] } });
    const { fingerprint } = await desk.ops.sync.adminPublicKey();
    const { json: kioskKey } = await (await tablet('sign-sealed-kiosk', clock)).ops.sync.kioskPublicKey();
    await desk.ops.sync.addRecipient(kioskKey);
    desk.app.stop();
    desk.vault.close();

    // The same profile opened again, device unlock only (what a restart, or a copied profile, gets).
    const copy = await openKiosk('', clock, { name });
    await copy.app.resumeVault();
    expect(copy.vault.state).toMatchObject({ status: 'unlocked', admin: false });
    const sync = (await copy.vault.keys.get('sync')) as Record<string, unknown>;
    expect(sync['recipients']).toHaveLength(1); // the device-readable part is there…
    expect(sync['admin']).toBeUndefined(); // …the signing pair is not
    await expectCode(copy.vault.keys.get('sync-admin'), 'STORE_ADMIN_REQUIRED');
    await expectCode(copy.vault.keys.getAdmin('sync-admin'), 'STORE_ADMIN_REQUIRED');
    expect(await copy.vault.keys.unsealed()).toEqual([]); // no key object kept beside a seal either
    // With the passphrase: the same pair, so kiosks that pinned it keep installing what this desk signs.
    await copy.ops.unlock(PASS);
    expect((await copy.ops.sync.adminPublicKey()).fingerprint).toBe(fingerprint);
    const bundle = await copy.ops.sync.exportWatchlist({ sitePassphrase: SITE });
    expect(fingerprintOf(inspectBundle(bundle.bytes).issuerKeyId)).toBe(fingerprint);

    // What whoever holds the device unlock can write in its place is not signed with. The data key stands for what
    // they hold (a copied profile with unattended restart on opens it).
    const dataKey = (copy.vault as unknown as { core: { dataKey: CryptoKey } }).core.dataKey;
    const db = await openDB(name);
    let current = '';
    try {
      // 1. A record marked admin-only, sealed under a key they can compute: refused and kept in the quarantine, and
      //    no new pair is made silently (it would replace the key every kiosk pinned) until the admin clears it.
      const planted = await generateAdminKeyPair();
      const json = JSON.stringify({ admin: { publicKey: { $sealedKey: { jwk: await crypto.subtle.exportKey('jwk', planted.publicKey), algorithm: planted.publicKey.algorithm, usages: ['verify'] } } } });
      const box = await seal(dataKey, new TextEncoder().encode(json), bindingData('secrets', 'admin', 'sync-admin', RECORD_FORMAT));
      await db.put('secrets', { f: RECORD_FORMAT, keys: [], box, admin: true }, 'sync-admin');
      await expectCode(copy.ops.sync.adminPublicKey(), 'STORE_CORRUPT_RECORD');
      expect((await copy.vault.listQuarantine()).map((q) => `${q.store}/${q.key}`)).toContain('secrets/sync-admin');
      expect(await expectCode(copy.ops.sync.exportWatchlist({ sitePassphrase: SITE }), 'STORE_CORRUPT_RECORD')).toMatchObject({ reason: 'admin-key-quarantined' });
      await copy.ops.maintenance.clearQuarantine();
      current = (await copy.ops.sync.adminPublicKey()).fingerprint;
      expect(current).not.toBe(await keyFingerprint(planted.publicKey));
      // 2. The audit key's public half swapped for theirs (what an admin-only record is sealed under would then be a
      //    key they can compute): the admin secrets key is refused, nothing is sealed or signed.
      const theirs = await generateAuditKeyPair();
      const pub = await seal(dataKey, new Uint8Array(await crypto.subtle.exportKey('raw', theirs.publicKey)), bindingData('keyring', 'audit-public', RECORD_FORMAT));
      const stored = (await db.get('keyring', 'audit-public')) as Record<string, unknown>;
      await db.put('keyring', { ...stored, box: pub }, 'audit-public');
      expect(await expectCode(copy.ops.sync.adminPublicKey(), 'STORE_CORRUPT_RECORD')).toMatchObject({ store: 'keyring', key: 'audit-public' });
    } finally {
      db.close();
    }
    // 3. The desk restarts with the swapped half in place: what it audits in the kiosk session is sealed to them. The
    //    next admin unlock finds the pair mismatched and writes the public half again from the passphrase-wrapped
    //    private one, before its own entry: the signing pair opens again (the same key the kiosks pinned), the repair
    //    is audited and worded, and the entry sealed in between is counted as quarantined, not read.
    copy.app.stop();
    copy.vault.close();
    const again = await openKiosk('', clock, { name });
    await again.app.resumeVault();
    await again.vault.audit.append({ at: clock.wall(), outcome: 'deny-unknown', subjectId: 'unknown', kiosk: 'desk', mode: 'face' });
    await again.ops.unlock(PASS);
    expect((await again.ops.sync.adminPublicKey()).fingerprint).toBe(current);
    expect(fingerprintOf(inspectBundle((await again.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes).issuerKeyId)).toBe(current);
    const log = await again.vault.audit.read();
    expect(log.quarantined).toBeGreaterThanOrEqual(1);
    expect(log.entries.filter((e) => e.outcome === 'deny-unknown')).toEqual([]);
    const rows = await auditRows(again);
    expect(rows).toContainEqual(['vault-maintained', 'stored data maintained', expect.stringMatching(/^the audit log’s public key on this tablet had been replaced/)]);
    // Repaired once: the next unlock finds the pair matching and audits no second repair.
    again.ops.lock();
    await again.ops.unlock(PASS);
    expect((await auditRows(again)).filter((r) => r[2]?.startsWith('the audit log’s public key'))).toHaveLength(1);

    // A pair in the old sync record — a desk's from before session 26, or one planted there, since the device unlock
    // writes that record — is dropped at the next admin unlock and never signs: moved, a planted pair became the
    // desk's key (review, session 26). The desk makes a new one.
    const oldName = uniqueName('sign-legacy');
    const old = await openKiosk('', clock, { name: oldName });
    await old.ops.setup(PASS, { role: 'attended' });
    await old.vault.enrol({ label: 'Ada', list: 'allow', plates: [], templates: { fr_feature: [tpl(512, 3)] } });
    const { fingerprint: genuine } = await old.ops.sync.adminPublicKey();
    const db2 = await openDB(oldName);
    await db2.delete('secrets', 'sync-admin'); // the admin-only record deleted (no quarantine entry left) …
    db2.close();
    const pair = await generateAdminKeyPair();
    await old.vault.keys.put('sync', { admin: pair }); // … and a pair planted where the device unlock writes
    old.ops.lock();
    await old.ops.unlock(PASS);
    expect(((await old.vault.keys.get('sync')) as Record<string, unknown>)['admin']).toBeUndefined();
    const next = (await old.ops.sync.adminPublicKey()).fingerprint;
    expect(next).not.toBe(await keyFingerprint(pair.publicKey));
    expect(next).not.toBe(genuine);
    expect(fingerprintOf(inspectBundle((await old.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes).issuerKeyId)).toBe(next);
  });

  it('the sync card trusts a pasted key only on confirm, lists and removes trusted keys; the audit card words them', async () => {
    const clock = new AdjustableClock();
    const k = await tablet('card-k', clock);
    const admin = await generateAdminKeyPair();
    const adminJson = JSON.stringify({ kind: 'entrance-kiosk-admin-key', jwk: await exportPublicKey(admin.publicKey, 'jwk') });
    const adminFp = await keyFingerprint(admin.publicKey);
    const outsider = await outsiderKioskKey();
    const card = syncCard(k.ops.sync);
    document.body.append(card);
    mounted.push(card);
    const q = (id: string) => card.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
    const click = async (id: string) => {
      const out = q('sync-message');
      delete out.dataset['tone'];
      q(id).click();
      await vi.waitFor(() => expect(['ok', 'bad']).toContain(out.dataset['tone']), { timeout: 10_000 });
      return { tone: out.dataset['tone'], code: out.dataset['code'], text: out.textContent ?? '' };
    };
    const listed = () => [...q('trusted-keys').querySelectorAll('li[data-kind]')].map((li) => `${(li as HTMLElement).dataset['kind']} ${(li as HTMLElement).dataset['fingerprint']}`);
    await vi.waitFor(() => expect(q('trusted-keys').querySelector('[data-testid="trusted-none"]')).not.toBeNull());
    expect(q('key-confirm').hidden).toBe(true);

    // Pasted, checked, fingerprint shown — not trusted; cancel leaves nothing.
    (q('pin-admin-json') as HTMLTextAreaElement).value = adminJson;
    expect(await click('pin-admin-submit')).toMatchObject({ tone: 'ok', text: `Compare with the other tablet’s screen: ${adminFp}` });
    expect(q('key-confirm').hidden).toBe(false);
    expect(q('confirm-fingerprint').textContent).toBe(adminFp);
    expect(await k.ops.sync.trustedKeys()).toEqual({ admins: [], recipients: [] });
    expect(await click('cancel-key')).toMatchObject({ tone: 'ok', text: 'Not trusted: nothing was saved.' });
    expect(q('key-confirm').hidden).toBe(true);
    expect(await k.ops.sync.trustedKeys()).toEqual({ admins: [], recipients: [] });

    // Confirmed: pinned, listed. The same for a kiosk to export to.
    await click('pin-admin-submit');
    expect(await click('confirm-key')).toMatchObject({ tone: 'ok', text: `Pinned: ${adminFp}` });
    expect(q('key-confirm').hidden).toBe(true);
    (q('recipient-json') as HTMLTextAreaElement).value = outsider.json;
    expect((await click('recipient-submit')).text).toContain(outsider.fingerprint);
    expect((await k.ops.sync.trustedKeys()).recipients).toEqual([]);
    expect(await click('confirm-key')).toMatchObject({ tone: 'ok', text: `Added: ${outsider.fingerprint}` });
    await vi.waitFor(() => expect(listed()).toEqual([`admin ${adminFp}`, `kiosk ${outsider.fingerprint}`]));
    expect(await k.ops.sync.trustedKeys()).toEqual({ admins: [adminFp], recipients: [outsider.fingerprint] });

    // A second kiosk key read and waiting; then the wrong kind pasted in the admin box: refused in words, and the
    // key that waited is dropped with it — its confirm button must not stay under the error.
    const another = await outsiderKioskKey();
    (q('recipient-json') as HTMLTextAreaElement).value = another.json;
    await click('recipient-submit');
    expect(q('key-confirm').hidden).toBe(false);
    (q('pin-admin-json') as HTMLTextAreaElement).value = outsider.json;
    const wrong = await click('pin-admin-submit');
    expect(wrong).toMatchObject({ tone: 'bad', code: 'INPUT_INVALID' });
    expect(wrong.text).toMatch(/^The input is not valid\. Public key: this is not the kind of key asked for here/);
    expect(q('key-confirm').hidden).toBe(true);
    expect(await click('confirm-key')).toMatchObject({ tone: 'ok', text: 'Not trusted: nothing was saved.' });
    expect((await k.ops.sync.trustedKeys()).recipients).toEqual([outsider.fingerprint]);

    // A scan is cancelled from the card: nothing trusted, the camera tap released.
    const scanning = (async () => {
      const out = q('sync-message');
      delete out.dataset['tone'];
      q('scan-admin-key').click();
      await vi.waitFor(() => expect(q('cancel-scan').hidden).toBe(false));
      await vi.waitFor(() => expect(k.app.frameTap).not.toBeNull());
      q('cancel-scan').click();
      await vi.waitFor(() => expect(['ok', 'bad']).toContain(out.dataset['tone']));
      return out.textContent;
    })();
    expect(await scanning).toBe('Scan cancelled: nothing was saved.');
    expect(q('cancel-scan').hidden).toBe(true);
    expect(k.app.frameTap).toBeNull();

    // Remove the admin key from the list: gone from the vault and from the list.
    const adminRow = q('trusted-keys').querySelector<HTMLElement>('li[data-kind="admin"]')!;
    const out = q('sync-message');
    delete out.dataset['tone'];
    adminRow.querySelector<HTMLButtonElement>('[data-testid="remove-key"]')!.click();
    await vi.waitFor(() => expect(out.dataset['tone']).toBe('ok'));
    expect(out.textContent).toBe(`Removed: ${adminFp}`);
    await vi.waitFor(() => expect(listed()).toEqual([`kiosk ${outsider.fingerprint}`]));
    expect((await k.ops.sync.trustedKeys()).admins).toEqual([]);

    // The audit card words each entry (the raw reason is only what the service wrote).
    const rows = await auditRows(k);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['key-trusted', 'key trusted', `admin key ${adminFp} pinned: bundles it signs are accepted`],
        ['key-trusted', 'key trusted', `kiosk key ${outsider.fingerprint} added: exports are encrypted to it`],
        ['key-removed', 'key removed', `admin key ${adminFp} removed: bundles it signs are refused`],
      ]),
    );
    expect(rows.filter((r) => r[0] === 'key-trusted')).toHaveLength(2);
  }, 180_000);

  it('a paste ends a running scan, so a QR code read later replaces nothing; trust goes by the fingerprint shown', async () => {
    const clock = new AdjustableClock();
    const k = await tablet('card-race', clock);
    const desk = await generateAdminKeyPair();
    const deskJson = JSON.stringify({ kind: 'entrance-kiosk-admin-key', jwk: await exportPublicKey(desk.publicKey, 'jwk') });
    const deskFp = await keyFingerprint(desk.publicKey);
    const intruder = await generateAdminKeyPair();
    const intruderJson = JSON.stringify({ kind: 'entrance-kiosk-admin-key', jwk: await exportPublicKey(intruder.publicKey, 'jwk') });
    const intruderFp = await keyFingerprint(intruder.publicKey);
    const card = syncCard(k.ops.sync);
    document.body.append(card);
    mounted.push(card);
    const q = (id: string) => card.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;

    // The admin starts a scan, then pastes the desk's key instead and compares its fingerprint.
    q('scan-admin-key').click();
    await vi.waitFor(() => expect(k.app.frameTap).not.toBeNull());
    const tap = k.app.frameTap!;
    (q('pin-admin-json') as HTMLTextAreaElement).value = deskJson;
    q('pin-admin-submit').click();
    await vi.waitFor(() => expect(q('confirm-fingerprint').textContent).toBe(deskFp));

    // Meanwhile someone holds the intruder's QR code up to the camera: the frame reaches the scan's tap (as one being
    // decoded when the paste came would). The pasted key stays the one to compare and to trust.
    const m = qrMatrix(intruderJson);
    const canvas = new OffscreenCanvas((m.length + 8) * 6, (m.length + 8) * 6);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#000';
    m.forEach((row, y) => row.forEach((dark, x) => dark && ctx.fillRect((x + 4) * 6, (y + 4) * 6, 6, 6)));
    await tap(await createImageBitmap(canvas));
    await new Promise((r) => setTimeout(r, 300));
    expect(q('confirm-fingerprint').textContent).toBe(deskFp);
    // The paste ended the scan: the camera is no longer read for keys.
    expect(q('cancel-scan').hidden).toBe(true);
    expect(k.app.frameTap).toBeNull();
    const out = q('sync-message');
    delete out.dataset['tone'];
    q('confirm-key').click();
    await vi.waitFor(() => expect(out.dataset['tone']).toBe('ok'));
    expect(out.textContent).toBe(`Pinned: ${deskFp}`);
    expect(await k.ops.sync.trustedKeys()).toEqual({ admins: [deskFp], recipients: [] });

    // The service pins only the key whose fingerprint was shown: another key is refused and nothing is saved.
    expect(await expectCode(k.ops.sync.pinAdminKey(intruderJson, deskFp), 'INPUT_INVALID')).toMatchObject({ field: 'key', rule: 'keyChanged' });
    const kiosk = await outsiderKioskKey();
    expect(await expectCode(k.ops.sync.addRecipient(kiosk.json, intruderFp), 'INPUT_INVALID')).toMatchObject({ field: 'key', rule: 'keyChanged' });
    expect(await k.ops.sync.trustedKeys()).toEqual({ admins: [deskFp], recipients: [] });
    expect((await auditRows(k)).filter((r) => r[0] === 'key-trusted')).toHaveLength(1);
  }, 120_000);
});
