/**
 * The vault in real Chromium: real IndexedDB, real WebCrypto. Round trip, what is on disk (nothing readable),
 * the admin/device split, passphrase change without re-encryption, strict (no unattended) mode, change events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Vault, openExportFile, type AuditExportPayload, type VaultEvent } from '../../src/store';
import type { Subject } from '../../src/shared/types';
import {
  PASS,
  concat,
  containsBytes,
  expectCode,
  openVault,
  rawDump,
  serialise,
  tpl,
  uniqueName,
} from './vault-helpers';

const opened: Vault[] = [];
async function open(name: string, opts = {}): Promise<Vault> {
  const v = await openVault(name, opts);
  opened.push(v);
  return v;
}
afterEach(() => {
  for (const v of opened.splice(0)) v.close();
});

const people = [
  { label: 'Ada Lovelace', list: 'allow' as const, plates: ['LOVE-1815'], seed: 1 },
  {
    label: 'Grace Hopper',
    list: 'allow' as const,
    plates: [],
    seed: 2,
    validFrom: 1_700_000_000_000,
    validUntil: 1_900_000_000_000,
  },
  { label: 'Mallory Intruder', list: 'deny' as const, plates: ['BAD-666', 'EVL-007'], seed: 3 },
];

function input(p: (typeof people)[number]) {
  return {
    label: p.label,
    list: p.list,
    plates: p.plates,
    templates: {
      fr_feature: [tpl(512, p.seed), tpl(512, p.seed + 100), tpl(512, p.seed + 200)],
      dlib: [tpl(128, p.seed + 300)],
    },
    ...(p.validFrom ? { validFrom: p.validFrom, validUntil: p.validUntil } : {}),
  };
}

function expectSameSubject(a: Subject, b: Subject): void {
  expect({ ...a, templates: undefined }).toEqual({ ...b, templates: undefined });
  expect(Object.keys(a.templates).sort()).toEqual(Object.keys(b.templates).sort());
  for (const [k, list] of Object.entries(a.templates)) {
    const other = b.templates[k] ?? [];
    expect(other.length).toBe(list.length);
    list.forEach((t, i) =>
      expect(
        new Uint8Array(other[i]?.buffer ?? new ArrayBuffer(0), other[i]?.byteOffset, other[i]?.byteLength),
      ).toEqual(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)),
    );
  }
}

describe('vault round trip', () => {
  it('subjects, settings, audit and outbox survive a restart; device unlock is enough to match', async () => {
    const name = uniqueName('roundtrip');
    const v = await open(name);
    expect(v.state.status).toBe('uninitialised');
    await v.setup(PASS);
    expect(v.state).toMatchObject({ status: 'unlocked', admin: true, unattended: true });
    const enrolled = await v.subjects.putMany(people.map(input));
    await v.settings.put({ kioskId: 'front-door', faceThreshold: 0.42, upstream: 'http://127.0.0.1:8787' });
    const at = Date.now();
    await v.audit.append({
      at,
      outcome: 'grant',
      subjectId: enrolled[0]!.id,
      score: 0.81,
      kiosk: 'front-door',
      mode: 'face',
    });
    await v.audit.append({
      at: at + 1,
      outcome: 'deny-unknown',
      subjectId: 'unknown',
      kiosk: 'front-door',
      mode: 'plate',
      reason: 'no match',
    });
    await v.outbox.put({ seq: 1, createdAt: at, body: '{"decision":"grant","sig":"x"}', attempts: 0 });
    v.close();

    const k = await open(name);
    expect(k.state.status).toBe('locked');
    await k.unlockDevice();
    expect(k.state).toMatchObject({ status: 'unlocked', admin: false });
    const { subjects, report } = await k.loadWatchlist();
    expect(report).toMatchObject({
      total: 3,
      loaded: 3,
      quarantined: [],
      missingPages: [],
      unverified: [],
      issues: [],
    });
    const byId = new Map(subjects.map((s) => [s.id, s]));
    for (const s of enrolled) expectSameSubject(byId.get(s.id)!, s);
    expect(await k.settings.get()).toEqual({
      kioskId: 'front-door',
      faceThreshold: 0.42,
      upstream: 'http://127.0.0.1:8787',
    });
    expect(await k.outbox.list()).toEqual([
      { seq: 1, createdAt: at, body: '{"decision":"grant","sig":"x"}', attempts: 0 },
    ]);

    // the unattended kiosk can append to the audit log but not read it, nor change the watchlist
    await k.audit.append({ at: at + 2, outcome: 'no-face', subjectId: 'unknown', kiosk: 'front-door', mode: 'face' });
    await expectCode(k.audit.read(), 'STORE_ADMIN_REQUIRED');
    await expectCode(k.enrol(input(people[0]!)), 'STORE_ADMIN_REQUIRED');
    await expectCode(k.subjects.delete(enrolled[0]!.id), 'STORE_ADMIN_REQUIRED');
    await expectCode(k.settings.put({}), 'STORE_ADMIN_REQUIRED');
    await expectCode(k.wipe('WIPE'), 'STORE_ADMIN_REQUIRED');

    await k.unlockAdmin(PASS);
    const { entries } = await k.audit.read();
    expect(entries.map((e) => [e.outcome, e.subjectId, e.score, e.reason])).toEqual([
      ['grant', enrolled[0]!.id, 0.81, undefined],
      ['deny-unknown', 'unknown', undefined, 'no match'],
      ['no-face', 'unknown', undefined, undefined],
    ]);

    // edit keeps id and createdAt, bumps version; delete removes
    const edited = await k.enrol({ ...input(people[1]!), id: enrolled[1]!.id, label: 'Grace B. Hopper' });
    expect(edited.id).toBe(enrolled[1]!.id);
    expect(edited.createdAt).toBe(enrolled[1]!.createdAt);
    expect(edited.version).toBeGreaterThan(enrolled[1]!.version);
    await k.subjects.delete(enrolled[2]!.id);
    await expectCode(k.subjects.delete(enrolled[2]!.id), 'STORE_NOT_FOUND');
    const again = await k.loadWatchlist();
    expect(again.subjects.map((s) => s.label).sort()).toEqual(['Ada Lovelace', 'Grace B. Hopper']);
    expect(again.report.quarantined).toEqual([]);
    expect(await k.subjects.get(enrolled[1]!.id)).toMatchObject({ label: 'Grace B. Hopper' });
    expect(await k.subjects.get('no-such-id')).toBeNull();
  });

  it('exports the audit log as an encrypted file only the export passphrase opens', async () => {
    const v = await open(uniqueName('export'));
    await v.setup(PASS);
    const at = Date.now();
    await v.audit.append({ at, outcome: 'deny-listed', subjectId: 'abc', score: 0.9, kiosk: 'k1', mode: 'face' });
    await expectCode(v.audit.exportEncrypted('short'), 'STORE_WEAK_PASSPHRASE');
    const blob = await v.audit.exportEncrypted('Auditor-Only Copy 7');
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect(new TextDecoder().decode(bytes)).not.toContain('deny-listed');
    await expectCode(openExportFile(bytes, PASS), 'EXPORT_FILE_NOT_OPENED');
    const payload = JSON.parse(
      new TextDecoder().decode(await openExportFile(bytes, 'Auditor-Only Copy 7')),
    ) as AuditExportPayload;
    expect(payload).toMatchObject({ format: 'entrance-kiosk-audit', version: 1, retentionMs: 24 * 3600_000 });
    expect(payload.entries).toMatchObject([
      { at, outcome: 'deny-listed', subjectId: 'abc', score: 0.9, kiosk: 'k1', mode: 'face' },
    ]);
  });

  it('refuses a weak admin passphrase with reasons, and a second set-up', async () => {
    const v = await open(uniqueName('weak'));
    const d = await expectCode(v.setup('password1234'), 'STORE_WEAK_PASSPHRASE');
    expect(String(d.reasons)).toContain('common');
    expect(v.state.status).toBe('uninitialised');
    await v.setup(PASS);
    await expectCode(v.setup(PASS), 'STORE_ALREADY_INITIALISED');
  });
});

describe('nothing readable at rest', () => {
  it('a raw read of every IndexedDB value holds no label, plate, template float, setting, body or audit text', async () => {
    const name = uniqueName('raw');
    const logs: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        logs.push(args.map(String).join(' '));
      }),
    );
    const v = await open(name);
    await v.setup(PASS);
    const enrolled = await v.subjects.putMany(people.map(input));
    await v.settings.put({ kioskId: 'SECRET-KIOSK-ID', upstream: 'http://door.example:9999' });
    await v.audit.append({
      at: Date.now(),
      outcome: 'grant',
      subjectId: enrolled[0]!.id,
      kiosk: 'SECRET-KIOSK-ID',
      mode: 'face',
      reason: 'AUDIT-REASON-TEXT',
    });
    await v.outbox.put({ seq: 7, createdAt: Date.now(), body: 'OUTBOX-BODY-TEXT', attempts: 0 });
    await v.loadWatchlist();
    v.close();
    for (const s of spies) s.mockRestore();

    const dump = await rawDump(name);
    expect(new Set(dump.map((r) => r.store))).toEqual(
      new Set(['keyring', 'meta', 'subjects', 'index', 'settings', 'audit', 'outbox']),
    );
    const hay = concat(dump.flatMap((r) => serialise([r.key, r.value])));
    const enc = new TextEncoder();
    const secrets = [
      'Ada Lovelace',
      'Grace Hopper',
      'Mallory',
      'LOVE-1815',
      'BAD-666',
      'EVL-007',
      'SECRET-KIOSK-ID',
      'door.example',
      'AUDIT-REASON-TEXT',
      'OUTBOX-BODY-TEXT',
      'fr_feature',
      'dlib',
    ];
    for (const s of secrets) expect(containsBytes(hay, enc.encode(s)), s).toBe(false);
    // positive controls: the search does find what is stored in clear (random ids, KDF name)
    expect(containsBytes(hay, enc.encode(enrolled[0]!.id))).toBe(true);
    expect(containsBytes(hay, enc.encode('PBKDF2'))).toBe(true);
    // Template floats: any 8 consecutive bytes (two floats) at several offsets of every template, and the
    // decimal text of the first values (as JSON would store them).
    let probes = 0;
    for (const s of enrolled) {
      for (const list of Object.values(s.templates)) {
        for (const t of list) {
          const bytes = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
          for (const off of [0, 64, 200, bytes.length - 8]) {
            const probe = bytes.subarray(off, off + 8);
            expect(containsBytes(concat(serialise(s.templates)), probe)).toBe(true); // control
            expect(containsBytes(hay, probe)).toBe(false);
            probes++;
          }
          expect(containsBytes(hay, enc.encode(String(t[0]).slice(0, 10)))).toBe(false);
        }
      }
    }
    expect(probes).toBeGreaterThan(40);
    // The device key is stored as a non-extractable CryptoKey: not even this origin's scripts can export it.
    const device = dump.find((r) => r.store === 'keyring' && r.key === 'device')?.value as { key: CryptoKey };
    expect(device.key).toBeInstanceOf(CryptoKey);
    expect(device.key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', device.key)).rejects.toThrow();
    // Nothing on the side: no localStorage, sessionStorage, Cache API entries, or console output with data.
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(await caches.keys()).toEqual([]);
    for (const s of secrets) expect(logs.join('\n')).not.toContain(s);
  });
});

describe('keys', () => {
  it('a passphrase change re-wraps the key only: records stay byte-identical, the old passphrase stops working', async () => {
    const name = uniqueName('rewrap');
    const v = await open(name);
    await v.setup(PASS);
    await v.subjects.putMany(people.map(input));
    await v.audit.append({ at: Date.now(), outcome: 'grant', subjectId: 'x', kiosk: 'k', mode: 'face' });
    const before = await rawDump(name);
    const NEXT = 'Fresh-Harbour 77 lantern';
    await expectCode(v.changePassphrase(PASS, 'weakweak'), 'STORE_WEAK_PASSPHRASE');
    await expectCode(v.changePassphrase('Not-The-Pass 123', NEXT), 'STORE_WRONG_PASSPHRASE');
    await v.changePassphrase(PASS, NEXT);
    const after = await rawDump(name);
    const pick = (d: typeof before, store: string) =>
      d.filter((r) => r.store === store).map((r) => serialise([r.key, r.value]));
    for (const store of ['subjects', 'index', 'audit', 'settings'])
      expect(pick(after, store)).toEqual(pick(before, store));
    const kr = (d: typeof before) =>
      d.find((r) => r.store === 'keyring' && r.key === 'passphrase')?.value as { dataKey: ArrayBuffer };
    expect(new Uint8Array(kr(after).dataKey)).not.toEqual(new Uint8Array(kr(before).dataKey));
    v.close();

    const w = await open(name);
    await expectCode(w.unlockAdmin(PASS), 'STORE_WRONG_PASSPHRASE');
    await w.unlockAdmin(NEXT);
    expect((await w.audit.read()).entries).toHaveLength(1);
    expect((await w.loadWatchlist()).subjects).toHaveLength(3);
    w.close();
    const d = await open(name);
    await d.unlockDevice(); // the device wrap was not touched
    expect((await d.loadWatchlist()).subjects).toHaveLength(3);
  });

  it('strict mode keeps no device key: after a restart only the passphrase unlocks', async () => {
    const name = uniqueName('strict');
    const v = await open(name);
    await v.setup(PASS, { unattended: false });
    await v.enrol(input(people[0]!));
    expect((await rawDump(name)).some((r) => r.store === 'keyring' && r.key === 'device')).toBe(false);
    v.close();
    const w = await open(name);
    expect(w.state.unattended).toBe(false);
    await expectCode(w.unlockDevice(), 'STORE_LOCKED');
    await expectCode(w.loadWatchlist(), 'STORE_LOCKED');
    await w.unlockAdmin(PASS);
    await w.setUnattended(true, PASS);
    w.close();
    const x = await open(name);
    await x.unlockDevice();
    expect((await x.loadWatchlist()).subjects).toHaveLength(1);
    await x.unlockAdmin(PASS);
    await x.setUnattended(false, PASS);
    expect((await rawDump(name)).some((r) => r.store === 'keyring' && r.key === 'device')).toBe(false);
    x.close();
    const y = await open(name);
    await expectCode(y.unlockDevice(), 'STORE_LOCKED');
  });

  it('admin unlock idles out on either clock (a sleep ends it, a clock set back extends nothing); lockAdmin and lock end sessions', async () => {
    let mono = 1_000;
    let wall = Date.now();
    const v = await open(uniqueName('idle'), { now: () => wall, monotonic: () => mono, adminIdleMs: 60_000 });
    await v.setup(PASS);
    await v.enrol(input(people[0]!));
    // A wall clock set back (NTP, a test-driven clock) does not extend the session: the monotonic clock still counts.
    wall -= 3_600_000;
    mono += 59_000;
    await v.enrol(input(people[1]!)); // refreshes the idle timer
    wall -= 3_600_000;
    mono += 61_000;
    await expectCode(v.enrol(input(people[2]!)), 'STORE_ADMIN_REQUIRED');
    expect(v.state.admin).toBe(false);
    // A tablet asleep: the wall clock runs on, the monotonic clock (performance.now() in Chromium) stands still.
    await v.unlockAdmin(PASS);
    wall += 61_000;
    await expectCode(v.enrol(input(people[2]!)), 'STORE_ADMIN_REQUIRED');
    expect(v.state.admin).toBe(false);
    expect((await v.loadWatchlist()).subjects).toHaveLength(2); // still matching
    await v.unlockAdmin(PASS);
    v.lockAdmin();
    await expectCode(v.audit.read(), 'STORE_ADMIN_REQUIRED');
    v.lock();
    await expectCode(v.loadWatchlist(), 'STORE_LOCKED');
  });
});

describe('change events', () => {
  it('tells subscribers what changed, in memory', async () => {
    const v = await open(uniqueName('events'));
    const seen: VaultEvent[] = [];
    const off = v.subscribe((e) => seen.push(e));
    await v.setup(PASS);
    const s = await v.enrol(input(people[0]!));
    await v.settings.put({ a: 1 });
    await v.outbox.put({ seq: 1, createdAt: Date.now(), body: 'b', attempts: 0 });
    off();
    await v.enrol(input(people[1]!));
    const changes = seen.filter((e) => e.type === 'change');
    expect(changes).toEqual([
      { type: 'change', store: 'keys' },
      // The write hands its committed records to in-page subscribers (the watchlist service), never off the page.
      { type: 'change', store: 'subjects', ids: [s.id], subjects: [expect.objectContaining({ id: s.id, label: s.label, version: s.version })] },
      { type: 'change', store: 'settings' },
      { type: 'change', store: 'outbox', ids: ['1'] },
    ]);
    expect(seen.some((e) => e.type === 'state' && e.state.status === 'unlocked')).toBe(true);
  });
});

describe('two tabs', () => {
  it('writers in two vault instances serialise and neither loses the other’s subject', async () => {
    const name = uniqueName('tabs');
    const a = await open(name);
    await a.setup(PASS);
    const b = await open(name);
    await b.unlockAdmin(PASS);
    await b.loadWatchlist(); // b caches the manifest
    await a.enrol(input(people[0]!)); // a moves the generation: b's cache is stale
    const [x, y] = await Promise.all([b.enrol(input(people[1]!)), a.enrol(input(people[2]!))]);
    const { subjects, report } = await a.loadWatchlist();
    expect(report.quarantined).toEqual([]);
    expect(subjects.map((s) => s.id).sort()).toEqual(
      [x.id, y.id, subjects.find((s) => s.label === 'Ada Lovelace')!.id].sort(),
    );
  });
});
