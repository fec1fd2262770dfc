/**
 * Who changed the kiosk is in the audit log (security review), in real Chromium over the real app layer (vault in
 * IndexedDB, WebCrypto, the controller and the admin operations; the face worker only where photos or frames are
 * enrolled). After each operation there is its 'system' entry: people enrolled (plates, photos, a CSV, the camera),
 * edited, expired, merged and deleted (subject = the person's id); guard accounts created, disabled, enabled and
 * deleted (subject = the guard's id); settings saved (the field names); the admin session started; a wrong guard
 * PIN or unknown name, a disabled account's PIN and the failure that starts the lock-out (subject 'unknown', nothing
 * typed). No entry holds a name, a plate, a PIN or a passphrase. A shorter retention is recorded before its purge
 * and refused whole if that entry cannot be written; any other change stands when its entry cannot be written. The
 * audit card words the entries in English and Chinese, naming people and guards who still exist.
 */
import s1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import s6 from '@vladmandic/face-api/demo/sample6.jpg?url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { KioskError } from '../../src/shared/errors';
import { setLang } from '../../src/ui/i18n';
import { auditRows, expectNothingTyped, said, since, systemEntries, unmountAuditCards } from './audit-helpers';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode } from './vault-helpers';
import { herPhoto } from './watchlist-people';

afterEach(() => {
  vi.restoreAllMocks();
  unmountAuditCards();
  setLang('en');
  closeKiosks();
});

const PIN = '135790';
const OTHER_PIN = '246802';
const WRONG_PIN = '975318';

async function crop(url: string, x: number, y: number, w: number, h: number): Promise<Blob> {
  const src = await createImageBitmap(await (await fetch(url)).blob());
  const c = new OffscreenCanvas(w, h);
  c.getContext('2d')!.drawImage(src, x, y, w, h, 0, 0, w, h);
  src.close();
  return c.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
}

describe('the audit log records who changed the kiosk', () => {
  it('people, guard accounts, settings and the admin session: one entry each, ids and field names only', async () => {
    const clock = new AdjustableClock();
    const k = await openKiosk('change-audit', clock);
    const { ops, app } = k;
    await ops.setup(PASS, { role: 'attended' });
    const kioskId = app.snapshot.settings.kioskId;
    expect(said(await systemEntries(k.ops))).toEqual([['admin-unlocked', 'unknown', 'setup', 'admin']]);

    // People (plates need no face model): enrolled, edited, an edit that changes nothing, plates added, expired,
    // merged, deleted.
    let n = (await systemEntries(k.ops)).length;
    const vera = await ops.enrolment.addPlates('Vera Vanname', ['AB123CD'], 'allow');
    const olga = await ops.enrolment.addPlates('Olga Othername', ['XY987ZW'], 'allow');
    expect(said(await since(k.ops, n))).toEqual([
      ['person-enrolled', vera.id, 'plates allow', 'admin'],
      ['person-enrolled', olga.id, 'plates allow', 'admin'],
    ]);
    n += 2;
    await ops.people.updateSubject(vera.id, { label: 'Vera Renamed', list: 'deny' });
    await ops.people.updateSubject(vera.id, { label: 'Vera Renamed' });
    await ops.enrolment.addPlates('', ['CD456EF'], 'deny', { addTo: vera.id });
    await ops.people.expireSubject(olga.id);
    await ops.people.mergeSubjects(vera.id, olga.id);
    await ops.people.deleteSubject(vera.id);
    expect(app.listSubjects()).toEqual([]);
    expect(said(await since(k.ops, n))).toEqual([
      ['person-edited', vera.id, 'edit label,list', 'admin'],
      ['person-edited', vera.id, 'add-plates plates', 'admin'],
      ['person-edited', olga.id, 'expire validUntil', 'admin'],
      ['people-merged', vera.id, `from ${olga.id}`, 'admin'],
      ['person-deleted', vera.id, 'deny', 'admin'],
    ]);
    n += 5;

    // Guard accounts: created, disabled, enabled, deleted — by id.
    const g = await ops.createGuard('Night Desk Nadia', PIN);
    await ops.setGuardDisabled(g.id, true);
    await ops.setGuardDisabled(g.id, false);
    await ops.deleteGuard(g.id);
    expect(said(await since(k.ops, n))).toEqual(
      ['created', 'disabled', 'enabled', 'deleted'].map((r) => ['guard-changed', g.id, r, 'admin']),
    );
    n += 4;

    // Settings: the names of the fields that changed; a save that changes nothing is not an entry. The passphrase
    // changed, and the admin session started again with it (a wrong one first: a refused login, with its count).
    await ops.settings.saveSettings({ showNames: true, pad: 'off' });
    await ops.settings.saveSettings({ showNames: true });
    const NEW_PASS = 'Another-Lantern 77 estuary';
    await ops.changePassphrase(PASS, NEW_PASS);
    ops.lock();
    await expectCode(ops.unlock('Wrong-Lantern 42 harbour'), 'STORE_WRONG_PASSPHRASE');
    await ops.unlock(NEW_PASS);
    const last = await since(k.ops, n);
    expect(last.map((e) => e.outcome)).toEqual([
      'settings-changed',
      'settings-changed',
      'login-failed',
      'admin-unlocked',
    ]);
    expect(last[0]!.reason!.split(',').sort()).toEqual(['pad', 'showNames']);
    expect(said(last.slice(1))).toEqual([
      ['settings-changed', 'unknown', 'passphrase', 'admin'],
      ['login-failed', 'unknown', 'passphrase 1', ''],
      ['admin-unlocked', 'unknown', 'passphrase', 'admin'],
    ]);

    // Every one is a 'system' entry of this kiosk, and nothing typed is in any of them.
    const all = await systemEntries(k.ops);
    expect(new Set(all.map((e) => `${e.mode} ${e.kiosk}`))).toEqual(new Set([`system ${kioskId}`]));
    expectNothingTyped(all, [
      'Vera',
      'Olga',
      'Vanname',
      'Nadia',
      'AB123CD',
      'XY987ZW',
      'CD456EF',
      PIN,
      PASS,
      NEW_PASS,
      'Wrong-Lantern',
    ]);

    // The card words them; a person or guard who is gone is named by id.
    const rows = await auditRows(k.ops);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['person-enrolled', 'person enrolled', `person ${vera.id} enrolled from plates only, on the allow list`],
        ['person-edited', 'person changed', `person ${vera.id}: edited; changed: Name, List`],
        ['person-edited', 'person changed', `person ${vera.id}: plates added; changed: Plates`],
        ['people-merged', 'people merged', `person ${olga.id} merged into person ${vera.id}`],
        ['person-deleted', 'person deleted', `person ${vera.id} deleted (was on the deny list)`],
        ['guard-changed', 'guard account changed', `guard ${g.id}: account disabled`],
        ['settings-changed', 'settings changed', 'changed: Passphrase'],
        ['login-failed', 'login refused', 'wrong admin passphrase (1 in a row)'],
        ['admin-unlocked', 'admin logged in', 'admin session started with the passphrase'],
      ]),
    );
    setLang('zh');
    expect(await auditRows(k.ops)).toEqual(
      expect.arrayContaining([
        ['person-enrolled', '人员已登记', `人员 ${vera.id} 已通过仅车牌登记，列入允许名单`],
        ['person-deleted', '人员已删除', `人员 ${vera.id} 已删除（原在禁止名单）`],
        ['guard-changed', '保安账户已变更', `保安 ${g.id}：账户已删除`],
        ['login-failed', '登录被拒绝', '管理员口令错误（连续第 1 次）'],
        ['admin-unlocked', '管理员已登录', '管理员使用口令开始会话'],
      ]),
    );
  }, 180_000);

  it('a wrong guard PIN or unknown name and the failure that starts the lock-out are entries; nothing typed is', async () => {
    const clock = new AdjustableClock();
    const k = await openKiosk('change-audit-pin', clock);
    const { ops, app } = k;
    await ops.setup(PASS, { role: 'attended' });
    const gate = await ops.createGuard('Gate Guard Gustav', PIN);
    const old = await ops.createGuard('Former Guard Fiona', OTHER_PIN);
    await ops.setGuardDisabled(old.id, true);
    const n = (await systemEntries(k.ops)).length;
    ops.lock();

    const auth = app.authority;
    await expectCode(auth.loginPinByName('Nobody Nameless', PIN), 'GUARD_WRONG_PIN');
    await expectCode(auth.loginPinByName('Gate Guard Gustav', WRONG_PIN), 'GUARD_WRONG_PIN');
    await expectCode(auth.loginPin(gate.id, WRONG_PIN), 'GUARD_WRONG_PIN');
    // A disabled account's right PIN opens nothing (and stays counted): refused, and recorded as such.
    await expectCode(auth.loginPinByName('Former Guard Fiona', OTHER_PIN), 'GUARD_DISABLED');
    const fifth = await expectCode(auth.loginPinByName('gate guard gustav', WRONG_PIN), 'GUARD_WRONG_PIN');
    expect(fifth['failures']).toBe(5);
    expect(fifth['waitMs']).toBeGreaterThan(0);
    // Taps during the lock-out are refused before any check: not entries (anyone could fill the log with them).
    await expectCode(auth.loginPinByName('Gate Guard Gustav', PIN), 'GUARD_LOCKED_OUT');
    await expectCode(auth.loginPinByName('Gate Guard Gustav', PIN), 'GUARD_LOCKED_OUT');
    expect(auth.session.kind).toBe('none');

    await ops.unlock(PASS);
    const failed = (await since(k.ops, n)).filter((e) => e.outcome === 'login-failed');
    expect(said(failed.slice(0, 4))).toEqual([
      ['login-failed', 'unknown', 'pin 1', ''],
      ['login-failed', 'unknown', 'pin 2', ''],
      ['login-failed', 'unknown', 'pin 3', ''],
      ['login-failed', 'unknown', 'pin disabled', ''],
    ]);
    expect(failed).toHaveLength(5);
    const lockout = /^pin 5 lockout (\d+)s$/.exec(failed[4]!.reason ?? '');
    expect(lockout, failed[4]!.reason).not.toBeNull();
    expect(Number(lockout![1])).toBeGreaterThan(50);
    expect(Number(lockout![1])).toBeLessThanOrEqual(60);
    expectNothingTyped(await systemEntries(k.ops), ['Nobody', 'Gustav', 'Fiona', PIN, OTHER_PIN, WRONG_PIN]);

    const rows = (await auditRows(k.ops)).filter((r) => r[0] === 'login-failed').map((r) => r[2]);
    expect(rows).toEqual(
      expect.arrayContaining([
        'wrong guard name or PIN (1 in a row)',
        "a disabled guard account's PIN: refused",
        expect.stringMatching(/^wrong guard name or PIN \(5 in a row\); guard logins paused for (1 min 00 s|5\d s)$/),
      ]),
    );
    // A guard who still exists is named on the card (the log itself holds the id).
    expect(await auditRows(k.ops)).toEqual(
      expect.arrayContaining([
        ['guard-changed', 'guard account changed', 'guard Former Guard Fiona: account disabled'],
      ]),
    );
    setLang('zh');
    const zh = (await auditRows(k.ops)).filter((r) => r[0] === 'login-failed').map((r) => r[2]);
    expect(zh).toEqual(
      expect.arrayContaining([
        '保安姓名或 PIN 错误（连续第 1 次）',
        expect.stringMatching(/^保安姓名或 PIN 错误（连续第 5 次）；保安登录暂停 /),
      ]),
    );
  }, 120_000);

  it('a new retention is recorded before its purge, and not made at all when that entry cannot be written', async () => {
    const clock = new AdjustableClock();
    const k = await openKiosk('change-audit-retention', clock);
    const { ops, app, vault } = k;
    await ops.setup(PASS, { role: 'attended' });
    const kiosk = app.snapshot.settings.kioskId;
    const now = clock.wall();
    // Two decisions: three hours ago and half an hour ago (24 h retention: both kept).
    await vault.audit.append({
      at: now - 3 * 3_600_000,
      outcome: 'grant',
      subjectId: 'three-hours-ago',
      kiosk,
      mode: 'face',
    });
    await vault.audit.append({
      at: now - 1_800_000,
      outcome: 'grant',
      subjectId: 'half-an-hour-ago',
      kiosk,
      mode: 'face',
    });
    const decisions = async () =>
      (await ops.audit.readAudit(1000))
        .filter((e) => e.mode === 'face')
        .map((e) => e.subjectId)
        .sort();

    // The entry cannot be written (a full disk, say): nothing is saved, nothing is purged.
    const append = vi.spyOn(vault.audit, 'append');
    append.mockRejectedValueOnce(new KioskError('STORE_QUOTA'));
    expect(await expectCode(ops.settings.saveSettings({ retentionHours: 1 }), 'AUDIT_NOT_WRITTEN')).toMatchObject({
      outcome: 'settings-changed',
      cause: 'STORE_QUOTA',
    });
    expect(await decisions()).toEqual(['half-an-hour-ago', 'three-hours-ago']);
    expect(app.snapshot.settings.retentionHours).toBe(24);
    expect((await vault.settings.get())['retentionHours']).toBe(24);
    expect(vault.audit.retentionMs()).toBe(24 * 3_600_000);

    // Written: the entry first, then the retention (stored with the settings), then the purge; the three-hour-old
    // decision is gone, the entry and the recent one stay.
    const put = vi.spyOn(vault.settings, 'put');
    const purge = vi.spyOn(vault.audit, 'purge');
    await ops.settings.saveSettings({ retentionHours: 1 });
    expect(put).toHaveBeenCalledWith(expect.objectContaining({ retentionHours: 1 }), { auditRetentionMs: 3_600_000 });
    const entryCall = append.mock.calls.findLastIndex(([e]) => e.outcome === 'settings-changed');
    expect(entryCall).toBeGreaterThanOrEqual(0);
    expect(append.mock.invocationCallOrder[entryCall]!).toBeLessThan(put.mock.invocationCallOrder[0]!);
    expect(put.mock.invocationCallOrder[0]!).toBeLessThan(purge.mock.invocationCallOrder[0]!);
    expect(await decisions()).toEqual(['half-an-hour-ago']);
    const changes = (await systemEntries(k.ops)).filter((e) => e.outcome === 'settings-changed');
    expect(said(changes)).toEqual([['settings-changed', 'unknown', 'retentionHours', 'admin']]);
    expect(vault.audit.retentionMs()).toBe(3_600_000);

    // Any other change stands when its entry cannot be written (logged, not thrown): settings, a deletion.
    append.mockRejectedValueOnce(new KioskError('STORE_QUOTA'));
    await ops.settings.saveSettings({ showNames: true });
    expect(app.snapshot.settings.showNames).toBe(true);
    const p = await ops.enrolment.addPlates('Paula Plate', ['PL123AB'], 'allow');
    append.mockRejectedValueOnce(new KioskError('STORE_QUOTA'));
    await ops.people.deleteSubject(p.id);
    expect(app.listSubjects()).toEqual([]);
    expect(said((await systemEntries(k.ops)).filter((e) => e.subjectId === p.id))).toEqual([
      ['person-enrolled', p.id, 'plates allow', 'admin'],
    ]);
  }, 120_000);

  it('photos, a CSV import and the camera: one entry per person stored (real face worker)', async () => {
    const clock = new AdjustableClock();
    const k = await openKiosk('change-audit-faces', clock);
    const { ops, app } = k;
    await ops.setup(PASS, { role: 'attended' });
    const n = (await systemEntries(k.ops)).length;
    // Person A (the centre woman of sample3, and of sample1) by photo; person B (sample6) by a CSV import.
    const her = new File([await herPhoto()], 'her.jpg', { type: 'image/jpeg' });
    const [photo] = await ops.enrolment.enrolPhotos([{ file: her, label: 'Hanna Photoname', list: 'allow' }]);
    expect(photo?.ok).toBe(true);
    const b = new File([await crop(s6, 1000, 250, 440, 480)], 'b.jpg', { type: 'image/jpeg' });
    const csv = await ops.enrolment.bulkImport([b], 'file,label,list\nb.jpg,Bruno Csvname,deny\n');
    expect(csv.map((r) => r.ok)).toEqual([true]);
    const hanna = app.listSubjects().find((s) => s.label === 'Hanna Photoname')!.id;
    const bruno = app.listSubjects().find((s) => s.label === 'Bruno Csvname')!.id;

    // Frames of A from the camera, added to her record.
    const a1 = await createImageBitmap(await crop(s1, 1250, 0, 670, 800));
    const a3 = await createImageBitmap(await herPhoto());
    const done = ops.enrolment.enrolFromCamera('Hanna Photoname', 'allow', {
      frames: 3,
      timeoutMs: 120_000,
      addTo: hanna,
    });
    for (const f of [a3, a1, a3]) {
      clock.advance(200);
      await app.feedFrame(await createImageBitmap(f), clock.monotonic());
    }
    expect((await done).id).toBe(hanna);

    expect(said(await since(k.ops, n))).toEqual([
      ['person-enrolled', hanna, 'photos allow', 'admin'],
      ['person-enrolled', bruno, 'csv deny', 'admin'],
      ['person-edited', hanna, 'add-camera faces', 'admin'],
    ]);
    expectNothingTyped(await systemEntries(k.ops), ['Hanna', 'Bruno', 'her.jpg', 'b.jpg']);
    expect(await auditRows(k.ops)).toEqual(
      expect.arrayContaining([
        ['person-enrolled', 'person enrolled', 'person Bruno Csvname enrolled from a CSV import, on the deny list'],
        ['person-edited', 'person changed', 'person Hanna Photoname: camera frames added; changed: face photos'],
      ]),
    );
  }, 240_000);
});
