/**
 * What an admin does to the stored data, to the pairing and with exports is in the audit log (audit gaps after the
 * change-audit review), in real Chromium over the real app layer (vault in IndexedDB, WebCrypto, controller, admin
 * operations; the receiver's pairing route answered in the page, as the receiver would). Each is one 'system' entry
 * by the admin with a machine-readable reason the audit card words in English and Chinese:
 * - 'vault-maintained': the index rebuilt (how many people count now; also when the kiosk was not running), the
 *   quarantine cleared (how many records; refused whole when that entry cannot be written), unattended restart
 *   turned off and on (a wrong passphrase changes nothing and is no such entry);
 * - 'receiver-paired' (the fingerprint of this kiosk's key as the receiver registered it, and the receiver's origin)
 *   and 'pairing-failed' (the error code and the check's or the receiver's word), never the code typed;
 * - 'data-exported': a whole watchlist and its changes (version, people, kiosk keys, site passphrase or not; refused,
 *   with nothing stored, when the entry cannot be written) and the audit log; a new subject-reference key is a
 *   'settings-changed' entry.
 * No entry holds a name, a plate, a passphrase or a pairing code.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdminOps } from '../../src/app/admin-ops';
import { KioskController } from '../../src/app/controller';
import { jwkThumbprint, type PublicJwk } from '../../src/decisions/signer';
import { AdjustableClock } from '../../src/shared/clock';
import { KioskError } from '../../src/shared/errors';
import type { Vault } from '../../src/store';
import { exportPublicKey, generateKioskKeyPair } from '../../src/sync';
import { setLang } from '../../src/ui/i18n';
import { auditRows, expectNothingTyped, said, since, systemEntries, unmountAuditCards } from './audit-helpers';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode, openVault, pageOf, rawDump, rawEditPages, rawPut, uniqueName } from './vault-helpers';

/** Kiosks opened on a named vault (reopened after an attacker's hand), one person per watchlist page. */
const named: { vault: Vault; app: KioskController }[] = [];
function closeNamed(): void {
  for (const o of named.splice(0)) {
    o.app.stop();
    o.app.faces.terminate();
    o.vault.close();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  unmountAuditCards();
  setLang('en');
  closeNamed();
  closeKiosks();
});

async function namedKiosk(
  name: string,
  clock: AdjustableClock,
): Promise<{ vault: Vault; app: KioskController; ops: AdminOps }> {
  const vault = await openVault(name, {
    pageTargetBytes: 1,
    now: () => clock.wall(),
    monotonic: () => clock.monotonic(),
  });
  const app = new KioskController({ vault, video: document.createElement('video'), clock });
  named.push({ vault, app });
  return { vault, app, ops: new AdminOps(app) };
}

/** Flip one bit of a sealed record's box: the attacker cannot make a valid one without the key. */
function flip(box: ArrayBuffer, at: number): ArrayBuffer {
  const b = new Uint8Array(box.slice(0));
  const i = at < 0 ? b.length + at : at;
  b[i] = (b[i] ?? 0) ^ 1;
  return b.buffer;
}

const SITE = 'Site-Lantern 61 orchard';
const AUDIT_PASS = 'Audit-Lantern 73 meadow';

describe('the audit log records stored-data maintenance, pairing and exports', () => {
  it('index rebuilt, quarantine cleared (only once on record), unattended restart off and on', async () => {
    const clock = new AdjustableClock();
    const name = uniqueName('admin-audit-maint');
    let k = await namedKiosk(name, clock);
    await k.ops.setup(PASS, { role: 'attended' });
    const kioskId = k.app.snapshot.settings.kioskId;
    const people = [
      await k.ops.enrolment.addPlates('Anna Alphaname', ['AA111AA'], 'allow'),
      await k.ops.enrolment.addPlates('Bert Betaname', ['BB222BB'], 'allow'),
      await k.ops.enrolment.addPlates('Cara Gammaname', ['CC333CC'], 'deny'),
    ];
    await k.app.watchlistSettled();

    // Off, an attacker damages Anna's page and the index root: after the restart the kiosk does not run.
    closeNamed();
    await rawEditPages(name, (pages) => {
      const p = pageOf(pages, people[0]!.id);
      p.box = flip(p.box, 20);
    });
    const root = (await rawDump(name)).find((r) => r.store === 'index' && r.key === 'root')!.value as {
      box: ArrayBuffer;
    };
    await rawPut(name, 'index', [{ key: 'root', value: { ...root, box: flip(root.box, -1) } }]);
    k = await namedKiosk(name, clock);
    await expectCode(k.ops.unlock(PASS), 'STORE_CORRUPT_RECORD');
    expect(k.app.snapshot.phase).not.toBe('running');
    await k.ops.maintenance.check();
    expect(await k.vault.listQuarantine()).toHaveLength(1);
    const n = (await systemEntries(k.ops)).length;

    // Rebuilt: the kiosk starts with the two whose pages authenticate; the entry carries this kiosk's id.
    await k.ops.maintenance.rebuildIndex();
    expect(k.app.snapshot.phase).toBe('running');
    expect(k.app.listSubjects()).toHaveLength(2);

    // Clearing the quarantine destroys what is left of the tampering: not without its entry, written first.
    const append = vi.spyOn(k.vault.audit, 'append');
    const clear = vi.spyOn(k.vault, 'clearQuarantine');
    append.mockRejectedValueOnce(new KioskError('STORE_QUOTA'));
    expect(await expectCode(k.ops.maintenance.clearQuarantine(), 'AUDIT_NOT_WRITTEN')).toMatchObject({
      outcome: 'vault-maintained',
      cause: 'STORE_QUOTA',
    });
    expect(clear).not.toHaveBeenCalled();
    expect(await k.vault.listQuarantine()).toHaveLength(1);
    await k.ops.maintenance.clearQuarantine();
    expect(await k.vault.listQuarantine()).toHaveLength(0);
    const entry = append.mock.calls.findLastIndex(([e]) => e.outcome === 'vault-maintained');
    expect(entry).toBeGreaterThanOrEqual(0);
    expect(append.mock.invocationCallOrder[entry]!).toBeLessThan(clear.mock.invocationCallOrder[0]!);
    // An empty quarantine cleared is still the admin's act: recorded with its count.
    await k.ops.maintenance.clearQuarantine();

    // Unattended restart: a wrong passphrase changes nothing and is no maintenance entry; off, then on again.
    await expectCode(k.ops.maintenance.setUnattended(false, 'Wrong-Lantern 42 harbour'), 'STORE_WRONG_PASSPHRASE');
    expect(k.vault.state.unattended).toBe(true);
    expect(await k.ops.maintenance.setUnattended(false, PASS)).toBe(false);
    expect(await k.ops.maintenance.setUnattended(true, PASS)).toBe(true);

    const entries = await since(k.ops, n);
    expect(said(entries)).toEqual([
      ['vault-maintained', 'unknown', 'index-rebuilt 2', 'admin'],
      ['vault-maintained', 'unknown', 'quarantine-cleared 1', 'admin'],
      ['vault-maintained', 'unknown', 'quarantine-cleared 0', 'admin'],
      ['vault-maintained', 'unknown', 'unattended off', 'admin'],
      ['vault-maintained', 'unknown', 'unattended on', 'admin'],
    ]);
    expect(new Set(entries.map((e) => `${e.mode} ${e.kiosk}`))).toEqual(new Set([`system ${kioskId}`]));
    expectNothingTyped(await systemEntries(k.ops), [
      PASS,
      'Wrong-Lantern',
      'Anna',
      'Bert',
      'Cara',
      'AA111AA',
      'BB222BB',
      'CC333CC',
    ]);
    // Nor whose page was damaged or quarantined: counts only (their ids are in their own enrolment entries).
    expectNothingTyped(
      entries,
      people.map((p) => p.id),
    );

    const rows = (await auditRows(k.ops)).filter((r) => r[0] === 'vault-maintained');
    expect(rows).toEqual(
      expect.arrayContaining([
        [
          'vault-maintained',
          'stored data maintained',
          'index rebuilt: 2 people count from the records that read correctly',
        ],
        ['vault-maintained', 'stored data maintained', 'quarantine cleared: 1 records deleted'],
        ['vault-maintained', 'stored data maintained', 'unattended restart turned off'],
        ['vault-maintained', 'stored data maintained', 'unattended restart turned on'],
      ]),
    );
    setLang('zh');
    expect((await auditRows(k.ops)).filter((r) => r[0] === 'vault-maintained')).toEqual(
      expect.arrayContaining([
        ['vault-maintained', '存储数据已维护', '索引已重建：按可正确读取的记录，2 人生效'],
        ['vault-maintained', '存储数据已维护', '隔离区已清空：已删除 1 条记录'],
        ['vault-maintained', '存储数据已维护', '已关闭无人值守重启'],
        ['vault-maintained', '存储数据已维护', '已开启无人值守重启'],
      ]),
    );
  }, 120_000);

  it('a pairing and failed pairings: fingerprint and origin, or the error code; never the code typed', async () => {
    const clock = new AdjustableClock();
    const { ops, app } = await openKiosk('admin-audit-pair', clock);
    await ops.setup(PASS, { role: 'attended' });
    const kioskId = app.snapshot.settings.kioskId;

    // The receiver's pairing route, answered in the page: refused, unreachable, then accepted (the key id it
    // registered is the thumbprint of the key in the signed request, as the receiver computes it).
    const realFetch = globalThis.fetch.bind(globalThis);
    let answer: 'refuse' | 'unreachable' | 'accept' = 'refuse';
    const pairRequests: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!new URL(url).pathname.endsWith('/pair')) return realFetch(input, init);
      pairRequests.push(String(init?.body));
      if (answer === 'unreachable') throw new TypeError('Failed to fetch');
      if (answer === 'refuse') return Response.json({ ok: false, reason: 'bad_code' }, { status: 403 });
      const payload = JSON.parse((JSON.parse(String(init?.body)) as { payload: string }).payload) as { key: PublicJwk };
      return Response.json({ ok: true, kid: await jwkThumbprint(payload.key) });
    });

    const n = (await systemEntries(ops)).length;
    await expectCode(ops.device.pair('nope'), 'UPSTREAM_PAIRING_FAILED'); // refused before anything is sent
    await expectCode(ops.device.pair('QWERT-23456'), 'UPSTREAM_PAIRING_FAILED');
    answer = 'unreachable';
    await expectCode(ops.device.pair('ZXCVB-34567'), 'UPSTREAM_PAIRING_FAILED');
    answer = 'accept';
    const { fingerprint } = await ops.device.pair('HJKMN-45678');
    expect(pairRequests).toHaveLength(3);
    const origin = app.decisions!.pairedWith!.origin;
    expect(origin).toMatch(/^https?:\/\/[^/]+$/);
    // A new subject-reference key: a settings change by name.
    await ops.device.rotateSubjectKey();

    const entries = await since(ops, n);
    expect(said(entries)).toEqual([
      ['pairing-failed', 'unknown', 'UPSTREAM_PAIRING_FAILED code_format', 'admin'],
      ['pairing-failed', 'unknown', 'UPSTREAM_PAIRING_FAILED bad_code', 'admin'],
      ['pairing-failed', 'unknown', 'UPSTREAM_PAIRING_FAILED network', 'admin'],
      ['receiver-paired', 'unknown', `${fingerprint} ${origin}`, 'admin'],
      ['settings-changed', 'unknown', 'subjectKey', 'admin'],
    ]);
    expect(new Set(entries.map((e) => `${e.mode} ${e.kiosk}`))).toEqual(new Set([`system ${kioskId}`]));
    // No code in any spelling (as typed, without the dash, lower case), nor the proof the request carried.
    const proofs = pairRequests.map(
      (b) => (JSON.parse((JSON.parse(b) as { payload: string }).payload) as { proof: string }).proof,
    );
    expectNothingTyped(await systemEntries(ops), [
      'nope',
      'QWERT',
      '23456',
      'ZXCVB',
      '34567',
      'HJKMN',
      '45678',
      PASS,
      ...proofs,
    ]);

    const rows = await auditRows(ops);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['pairing-failed', 'pairing failed', 'pairing with the receiver failed (UPSTREAM_PAIRING_FAILED: bad_code)'],
        ['pairing-failed', 'pairing failed', 'pairing with the receiver failed (UPSTREAM_PAIRING_FAILED: network)'],
        [
          'receiver-paired',
          'paired with the receiver',
          `paired with the receiver at ${origin}; this kiosk's key fingerprint ${fingerprint}`,
        ],
        ['settings-changed', 'settings changed', 'changed: subject reference key (new)'],
      ]),
    );
    setLang('zh');
    expect(await auditRows(ops)).toEqual(
      expect.arrayContaining([
        ['pairing-failed', '配对失败', '与接收端配对失败（UPSTREAM_PAIRING_FAILED：code_format）'],
        ['receiver-paired', '已与接收端配对', `已与 ${origin} 的接收端配对；本终端密钥指纹 ${fingerprint}`],
        ['settings-changed', '设置已更改', '已更改：人员引用密钥（已更换）'],
      ]),
    );
  }, 120_000);

  it('watchlist exports (whole, changes) only once on record; the audit log export; counts, never names or passphrases', async () => {
    const clock = new AdjustableClock();
    const { ops, app } = await openKiosk('admin-audit-export', clock);
    await ops.setup(PASS, { role: 'attended' });
    const kioskId = app.snapshot.settings.kioskId;
    const dora = await ops.enrolment.addPlates('Dora Deltaname', ['DD444DD'], 'allow');
    await ops.enrolment.addPlates('Emil Epsname', ['EE555EE'], 'deny');
    const n = (await systemEntries(ops)).length;

    // Nowhere to encrypt to: refused as before, and no export entry.
    await expectCode(ops.sync.exportWatchlist({}), 'INPUT_INVALID');
    // Whole, to the site passphrase only.
    const whole = await ops.sync.exportWatchlist({ sitePassphrase: SITE });

    // A kiosk to export to (its own 'key-trusted' entry), one person more and one deleted: the changes, to the kiosk.
    const kioskKey = await generateKioskKeyPair();
    await ops.sync.addRecipient(
      JSON.stringify({ kind: 'entrance-kiosk-kiosk-key', jwk: await exportPublicKey(kioskKey.publicKey, 'jwk') }),
    );
    await ops.enrolment.addPlates('Fritz Phiname', ['FF666FF'], 'allow');
    await ops.people.deleteSubject(dora.id);

    // The entry cannot be written: no bytes, and nothing stored (the next changes are still on the whole export).
    const append = vi.spyOn(app.vault.audit, 'append');
    append.mockRejectedValueOnce(new KioskError('STORE_QUOTA'));
    expect(await expectCode(ops.sync.exportChanges({ sitePassphrase: SITE }), 'AUDIT_NOT_WRITTEN')).toMatchObject({
      outcome: 'data-exported',
      cause: 'STORE_QUOTA',
    });
    clock.advance(2_000);
    const changes = await ops.sync.exportChanges({});
    expect(changes.baseVersion).toBe(whole.version);
    expect([changes.upserts, changes.deletions]).toEqual([1, 1]);
    // Both a kiosk and the site passphrase.
    clock.advance(2_000);
    const both = await ops.sync.exportWatchlist({ sitePassphrase: SITE });

    // The audit log, to an export passphrase (best effort: see audit-service.ts).
    const exported = await ops.audit.exportAudit(AUDIT_PASS);
    expect(exported.blob.size).toBeGreaterThan(0);

    const entries = (await since(ops, n)).filter((e) => e.outcome === 'data-exported');
    expect(said(entries)).toEqual([
      ['data-exported', 'unknown', `watchlist v${whole.version} people 2 kiosks 0 passphrase`, 'admin'],
      [
        'data-exported',
        'unknown',
        `changes v${changes.version} base v${whole.version} people 1 deleted 1 kiosks 1 no-passphrase`,
        'admin',
      ],
      ['data-exported', 'unknown', `watchlist v${both.version} people 2 kiosks 1 passphrase`, 'admin'],
      ['data-exported', 'unknown', 'audit', 'admin'],
    ]);
    expect(new Set(entries.map((e) => `${e.mode} ${e.kiosk}`))).toEqual(new Set([`system ${kioskId}`]));
    expectNothingTyped(await systemEntries(ops), [
      SITE,
      AUDIT_PASS,
      PASS,
      'Dora',
      'Emil',
      'Fritz',
      'DD444DD',
      'EE555EE',
      'FF666FF',
    ]);

    const rows = (await auditRows(ops)).filter((r) => r[0] === 'data-exported');
    expect(rows).toEqual(
      expect.arrayContaining([
        [
          'data-exported',
          'data exported',
          `whole watchlist v${whole.version} exported: 2 people, encrypted to a site passphrase`,
        ],
        [
          'data-exported',
          'data exported',
          `watchlist changes v${changes.version} (on v${whole.version}) exported: 1 people added or changed, 1 deleted, encrypted to 1 kiosk keys`,
        ],
        [
          'data-exported',
          'data exported',
          `whole watchlist v${both.version} exported: 2 people, encrypted to 1 kiosk keys and a site passphrase`,
        ],
        ['data-exported', 'data exported', 'audit log exported, encrypted to an export passphrase'],
      ]),
    );
    setLang('zh');
    expect((await auditRows(ops)).filter((r) => r[0] === 'data-exported')).toEqual(
      expect.arrayContaining([
        ['data-exported', '数据已导出', `已导出完整名单 v${whole.version}：2 人，使用站点口令加密`],
        [
          'data-exported',
          '数据已导出',
          `已导出名单变更 v${changes.version}（基于 v${whole.version}）：新增或修改 1 人，删除 1 人，加密给 1 个终端密钥`,
        ],
        ['data-exported', '数据已导出', '已导出审计日志，使用导出口令加密'],
      ]),
    );
  }, 120_000);
});
