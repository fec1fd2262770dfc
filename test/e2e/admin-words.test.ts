/**
 * Issue 19 (words, files): the admin screen as a new admin meets it, in the built kiosk in real Chromium.
 * - The passphrase rules show before anyone types; a weak passphrase is refused with the rules it misses.
 * - Settings show the values in force (no blank embedder or threshold); "Save" says what changed or that nothing
 *   did; an out-of-range value is refused with the field and the range named.
 * - Refusals name the field and rule (empty name, 5,000-character name with the limit, lower-case "wipe", a bad
 *   CSV row by number, a pasted key that is not JSON or of the wrong kind — and then nothing waits to be trusted);
 *   the code is only in the small details line; plates are previewed as they will be saved.
 * - The audit export downloads as .ekaudit and the same screen reads it back (in Chinese too: outcome words and
 *   an Intl date); the lock-out shows a countdown and keeps the unlock button disabled until it ends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { launch, startKiosk } from './harness';
import { PASS, outcome, savedDownload, unlockAdmin } from './flows';

const AUDIT_PASS = 'Audit-Export 2026 harbour';

async function act(page: Page, section: string, button: string, message: string) {
  await page.evaluate((m) => document.querySelector(`[data-testid="${m}"]`)?.removeAttribute('data-tone'), message);
  await page.getByTestId(section).getByTestId(button).click();
  const r = await outcome(page, message);
  const details = await page.getByTestId(message).locator('[data-testid="error-details"]').allInnerTexts();
  // What the person reads is the message without the details line.
  const text = r.text.replace(details[0] ?? '\u0000', '').trim();
  return { ...r, text, details: details[0] ?? '' };
}

describe('admin screen words and files', () => {
  it('says what rule, field and row, shows values in force, and reads its own audit export back', async () => {
    const server = await startKiosk(inject('distDir'));
    const dir = mkdtempSync(join(tmpdir(), 'admin-words-'));
    const b = await launch();
    const page = b.page;
    try {
      // --- set-up: the rules are on the screen before typing; a weak passphrase names what it misses ---
      await page.goto(`${server.url}#/admin`);
      const rules = page.getByTestId('setup-rules');
      await rules.waitFor({ state: 'visible', timeout: 60_000 });
      expect(await rules.innerText()).toContain('at least 12 characters');
      await page.getByTestId('setup-passphrase').fill('password');
      expect(await rules.locator('li[data-rule="too-short"]').getAttribute('data-met')).toBe('false');
      await page.getByTestId('setup-passphrase-again').fill('password');
      await page.getByTestId('setup-submit').click();
      const weak = await outcome(page, 'setup-message');
      expect(weak.code).toBe('STORE_WEAK_PASSPHRASE');
      expect(weak.text).toContain('Still missing: at least 12 characters');
      expect(weak.text).toContain('not a well-known password');
      await page.getByTestId('setup-passphrase').fill(PASS);
      expect(await rules.locator('li[data-rule="too-short"]').getAttribute('data-met')).toBe('true');
      await page.getByTestId('setup-passphrase-again').fill(PASS);
      await page.evaluate(() => document.querySelector('[data-testid="setup-message"]')?.removeAttribute('data-tone'));
      await page.getByTestId('setup-submit').click();
      await page.getByTestId('admin-console').waitFor({ state: 'visible', timeout: 60_000 });

      // --- settings: values in force, what changed, out-of-range refused with the field ---
      const settings = page.getByTestId('section-settings');
      expect(await settings.getByTestId('setting-embedder').inputValue()).toBe('fr_feature');
      const accept = await settings.getByTestId('setting-accept').inputValue();
      expect(Number(accept)).toBeGreaterThan(0);
      expect(Number(await settings.getByTestId('setting-live-threshold').inputValue())).toBeGreaterThan(0);
      // The role's idle default and the door the receiver will use are shown, not "0" and a blank box.
      const idleBox = settings.getByTestId('setting-idle');
      expect(await idleBox.inputValue()).toBe('');
      expect(await idleBox.getAttribute('placeholder')).toBe('Default for this kiosk: 60');
      await settings.getByTestId('setting-role').selectOption('guard');
      expect(await idleBox.getAttribute('placeholder')).toBe('Default for this kiosk: 900');
      await settings.getByTestId('setting-role').selectOption('visitor');
      expect(await settings.getByTestId('setting-door').getAttribute('placeholder')).toMatch(/^Kiosk id: \S+/);
      expect(await act(page, 'section-settings', 'settings-save', 'settings-message')).toMatchObject({ tone: 'ok', text: 'Nothing changed.' });
      await settings.getByTestId('setting-retention').fill('48');
      expect(await act(page, 'section-settings', 'settings-save', 'settings-message')).toMatchObject({ tone: 'ok', text: 'Saved. Changed: Audit retention (hours).' });
      expect(await settings.getByTestId('setting-retention').inputValue()).toBe('48');
      expect(await settings.getByTestId('setting-accept').inputValue()).toBe(accept); // still the default, still shown
      await settings.getByTestId('setting-idle').fill('99999');
      const range = await act(page, 'section-settings', 'settings-save', 'settings-message');
      expect(range).toMatchObject({ tone: 'bad', code: 'CONFIG_INVALID' });
      expect(range.text).toBe('A setting is not valid. Log out after idle seconds: must be between 10 and 3600.');
      expect(range.details).toMatch(/^CONFIG_INVALID · field=sessionIdleSeconds/);
      await settings.getByTestId('setting-idle').fill('3600');
      // A free-text setting refused with its shape, and a number with the field named (it said only "choose one of
      // the offered values" / "must be between 5 and 3600", hand check stop 31).
      await settings.getByTestId('setting-door').fill('no spaces <b>');
      const door = await act(page, 'section-settings', 'settings-save', 'settings-message');
      expect(door.text).toBe('A setting is not valid. Door / lane id: up to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit.');
      await settings.getByTestId('setting-door').fill('');
      await settings.getByTestId('setting-presence-cooldown').fill('-1');
      const cooldown = await act(page, 'section-settings', 'settings-save', 'settings-message');
      expect(cooldown.text).toBe('A setting is not valid. Seconds before the same person is decided again: must be between 5 and 3600.');
      await settings.getByTestId('setting-presence-cooldown').fill('30');
      // An accept threshold under the reject threshold: refused naming the field the admin sees and its real range.
      await settings.getByTestId('setting-accept').fill('0.1');
      const low = await act(page, 'section-settings', 'settings-save', 'settings-message');
      expect(low).toMatchObject({ tone: 'bad', code: 'CONFIG_INVALID' });
      expect(low.text).toBe('A setting is not valid. Accept threshold: must be between 0.3 and 1.');
      await settings.getByTestId('setting-accept').fill(accept);

      // --- names and plates: refused with field, rule and limit; the plate is previewed as stored ---
      const plates = page.getByTestId('section-plates');
      await plates.getByTestId('plate-numbers').fill('ÄÖÜ-123, <b>X1</b>');
      expect(await plates.getByTestId('plate-preview').innerText()).toBe('Will be saved as: AOU123, BX1B');
      const empty = await act(page, 'section-plates', 'plate-submit', 'plate-message');
      expect(empty).toMatchObject({ tone: 'bad', code: 'INPUT_REQUIRED', text: 'A required field is empty. Name: must not be empty.' });
      expect(empty.text).not.toContain('INPUT_');
      await plates.getByTestId('plate-label').fill('x'.repeat(5000));
      expect((await plates.getByTestId('plate-label').inputValue()).length).toBe(5000); // the browser cuts nothing
      const long = await act(page, 'section-plates', 'plate-submit', 'plate-message');
      expect(long).toMatchObject({ code: 'INPUT_TOO_LONG' });
      expect(long.text).toContain('Name: at most 200 characters (this one has 5000)');
      // The same 5,000-character name on a photo: refused, and the report line shows it shortened, with its length.
      const photoCard = page.getByTestId('section-enrol-photos');
      await photoCard.getByTestId('enrol-label').fill('y'.repeat(5000));
      writeFileSync(join(dir, 'not-a-photo.jpg'), 'not an image');
      await photoCard.getByTestId('enrol-files').setInputFiles(join(dir, 'not-a-photo.jpg'));
      await act(page, 'section-enrol-photos', 'enrol-submit', 'enrol-message');
      const line = await photoCard.getByTestId('enrol-reports').locator('li').first().innerText();
      expect(line).toContain(`not-a-photo.jpg → ${'y'.repeat(60)}… (5000)`);
      expect(line.length).toBeLessThan(400);
      // Nothing was enrolled: the chosen photo stays chosen, to correct the name and press Enrol again.
      expect(await photoCard.getByTestId('enrol-files').evaluate((e: HTMLInputElement) => e.files?.length)).toBe(1);
      await plates.getByTestId('plate-label').fill('Van Lee');
      const saved = await act(page, 'section-plates', 'plate-submit', 'plate-message');
      expect(saved).toMatchObject({ tone: 'ok', text: 'Enrolled. plates: AOU123, BX1B' });

      // --- keys and bundles between tablets: what to paste, what to add first (it said only "The input is not valid.") ---
      const sync = page.getByTestId('section-sync');
      const noRecipient = await act(page, 'section-sync', 'export-bundle', 'sync-message');
      expect(noRecipient).toMatchObject({ tone: 'bad', code: 'INPUT_INVALID' });
      expect(noRecipient.text).toBe('The input is not valid. Add at least one receiving tablet’s kiosk key first, or give a site passphrase.');
      await sync.getByTestId('pin-admin-json').fill('nope');
      const badKey = await act(page, 'section-sync', 'pin-admin-submit', 'sync-message');
      expect(badKey.text).toBe('The input is not valid. Public key: paste the whole key text the other tablet shows, from { to }.');
      await sync.getByTestId('pin-admin-json').fill('{"kind":"entrance-kiosk-kiosk-key","jwk":{}}');
      const wrongKind = await act(page, 'section-sync', 'pin-admin-submit', 'sync-message');
      expect(wrongKind.text).toMatch(/^The input is not valid\. Public key: this is not the kind of key asked for here/);
      // A refused key leaves nothing waiting to be trusted: no fingerprint to confirm, nothing in the trusted list.
      expect(await sync.getByTestId('key-confirm').isVisible()).toBe(false);
      expect(await sync.getByTestId('trusted-keys').locator('li[data-kind]').count()).toBe(0);

      // --- the wipe word, and a CSV's bad row ---
      await page.getByTestId('wipe-confirm').fill('wipe');
      const wipe = await act(page, 'section-wipe', 'wipe-submit', 'wipe-message');
      expect(wipe).toMatchObject({ code: 'INPUT_CONFIRMATION' });
      expect(wipe.text).toContain('type WIPE in capital letters');
      const csv = join(dir, 'people.csv');
      writeFileSync(csv, 'file,label,list\na.jpg,Ann,allow\nb.jpg,Bob,maybe\n');
      await page.getByTestId('bulk-csv').setInputFiles(csv);
      const bulk = await act(page, 'section-bulk', 'bulk-submit', 'bulk-message');
      expect(bulk).toMatchObject({ code: 'INPUT_CSV_ROW' });
      expect(bulk.text).toContain('CSV row 3, column List: must be allow or deny');

      // --- an override to audit, then the audit export as a file the same screen reads back ---
      await page.goto(`${server.url}#/guard`);
      // Never paired: the guard's upstream line says so as a fault, not "idle" in green.
      const upstream = page.getByTestId('status-upstream');
      expect(await upstream.innerText()).toContain('not paired');
      expect(await upstream.getAttribute('data-tone')).toBe('bad');
      // A face kiosk with only a plate enrolled can grant nobody: its watchlist line is a warning, not green.
      expect(await page.getByTestId('status-watchlist').getAttribute('data-tone')).toBe('warn');
      await page.getByTestId('override-reason').fill('courier at the gate');
      // A visitor kiosk: the admin's grant needs the passphrase again (session 26).
      await page.getByTestId('override-pin').fill(PASS);
      await page.getByTestId('override-grant').click();
      await page.waitForFunction(() => /logged/i.test(document.querySelector('[data-testid="override-message"]')?.textContent ?? ''));
      // This kiosk was never paired: the override is audited here, but nothing went upstream and the door did not
      // open — the guard is told so, in the refusal colour, not "sent".
      const overrideMsg = page.getByTestId('override-message');
      expect(await overrideMsg.innerText()).toContain('NOT sent');
      expect(await overrideMsg.getAttribute('data-tone')).toBe('bad');
      await unlockAdmin(page, server.url);
      await page.getByTestId('audit-passphrase').fill(AUDIT_PASS);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export').click()]);
      expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d\d-\d\d\.ekaudit$/);
      const file = join(dir, download.suggestedFilename());
      writeFileSync(file, await savedDownload(download));
      await page.getByTestId('audit-read-file').setInputFiles(file);
      await page.getByTestId('audit-read-passphrase').fill('Not-The 2026 passphrase');
      const wrong = await act(page, 'section-audit', 'audit-read', 'audit-read-message');
      expect(wrong).toMatchObject({ tone: 'bad', code: 'EXPORT_FILE_NOT_OPENED', text: 'Wrong passphrase, or the file is damaged (cut short or changed). If the passphrase is right, copy the file again.' });
      await page.getByTestId('audit-read-passphrase').fill(AUDIT_PASS);
      // The override and the admin's own entries (set-up, settings saved, people enrolled, logins): a count, not one.
      expect(await act(page, 'section-audit', 'audit-read', 'audit-read-message')).toMatchObject({ tone: 'ok', text: expect.stringMatching(/^\d+ entries$/) });
      const row = page.getByTestId('audit-read-entries').locator('tr[data-outcome="override-grant"]');
      expect(await row.innerText()).toContain('override: opened');

      // --- the same in Chinese: outcome words, an Intl date, the settings line ---
      await page.getByTestId('section-settings').getByTestId('setting-lang').selectOption('zh');
      // A new language rebuilds every screen (a reload; staff log in again), so nothing is left in the old one: the
      // navigation and cards other than the settings card stayed English when the card switched the language itself.
      await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.getByTestId('section-settings').getByTestId('settings-save').click()]);
      await page.waitForFunction(() => document.documentElement.lang === 'zh-CN', undefined, { timeout: 60_000 });
      await unlockAdmin(page, server.url);
      expect(await page.getByTestId('nav-logout').innerText()).toBe('退出登录');
      expect(await page.getByTestId('nav-guard').innerText()).toBe('保安');
      expect(await page.getByTestId('section-guards').locator('h2').first().innerText()).toBe('保安账户');
      expect(await page.getByTestId('section-pairing').locator('h2').first().innerText()).toBe('接收端配对');
      await page.getByTestId('audit-read-file').setInputFiles(file);
      await page.getByTestId('audit-read-passphrase').fill(AUDIT_PASS);
      expect(await act(page, 'section-audit', 'audit-read', 'audit-read-message')).toMatchObject({ tone: 'ok', text: expect.stringMatching(/^\d+ 条记录$/) });
      const zhRow = await page.getByTestId('audit-read-entries').locator('tr[data-outcome="override-grant"]').innerText();
      expect(zhRow).toContain('人工干预：开门');
      expect(zhRow).toMatch(/\d{4}年\d{1,2}月\d{1,2}日/);
      expect(zhRow).not.toMatch(/AM|PM/);
      // The browser's own controls speak the browser's language (English here): the file pickers and the validity
      // read-back under each date control speak the screen's.
      const enrolPicker = page.getByTestId('section-enrol-photos');
      expect(await enrolPicker.locator('.file-choose').innerText()).toBe('选择文件…');
      expect(await enrolPicker.getByTestId('enrol-files-chosen').innerText()).toBe('未选择文件');
      const firstRow = page.locator('[data-testid="people-table"] tbody tr').first();
      await firstRow.getByTestId('edit-valid-until').fill('2030-01-01T10:00');
      expect(await firstRow.getByTestId('edit-valid-until-read').innerText()).toBe('有效期至：2030年1月1日 10:00');
      // The models' licences and sources are manifest records shown word for word: said so, and marked as English.
      await page.getByTestId('model-records-note').waitFor();
      expect(await page.getByTestId('model-records-note').innerText()).toMatch(/^许可与来源为模型清单/);
      const recordLangs = await page.getByTestId('model-licences').locator('tbody td[lang]').evaluateAll((tds) => [...new Set(tds.map((td) => td.getAttribute('lang')))]);
      expect(recordLangs).toEqual(['en']);
      // A refused enrolment's summary line is Chinese too (it carried the error's English message).
      const zhPhotos = page.getByTestId('section-enrol-photos');
      await zhPhotos.getByTestId('enrol-label').fill('王伟');
      await zhPhotos.getByTestId('enrol-files').setInputFiles(join(dir, 'not-a-photo.jpg'));
      const zhEnrol = await act(page, 'section-enrol-photos', 'enrol-submit', 'enrol-message');
      expect(zhEnrol.tone).toBe('bad');
      expect(zhEnrol.text).toMatch(/^✕?\s*未登记任何人：/);
      expect(zhEnrol.text).not.toMatch(/[A-Za-z]{3,}/);
      expect(await act(page, 'section-settings', 'settings-save', 'settings-message')).toMatchObject({ tone: 'ok', text: '没有任何更改。' });
      // The navigation's switch changes this screen's language only: saving another field afterwards does not
      // change the stored language with it (it said "Changed: role, language" after a role change, stop 29).
      const toggle = async () => {
        page.once('dialog', (d) => void d.accept()); // staff are logged in: the switch asks first
        await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.getByTestId('lang-toggle').click()]);
        await unlockAdmin(page, server.url);
      };
      await toggle();
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
      await page.getByTestId('section-settings').getByTestId('setting-retention').fill('72');
      expect(await act(page, 'section-settings', 'settings-save', 'settings-message')).toMatchObject({ tone: 'ok', text: 'Saved. Changed: Audit retention (hours).' });
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
      // Choosing in settings the language already stored (Chinese) while this screen shows English: nothing is saved,
      // and every screen follows the choice (it said "Nothing changed." and stayed English, stop 29).
      await page.getByTestId('section-settings').getByTestId('setting-lang').selectOption('zh');
      await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.getByTestId('section-settings').getByTestId('settings-save').click()]);
      await unlockAdmin(page, server.url);
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
      await page.getByTestId('wipe-confirm').fill('wipe');
      const zhWipe = await act(page, 'section-wipe', 'wipe-submit', 'wipe-message');
      expect(zhWipe.text).toBe('确认词不匹配。确认：请输入大写的 WIPE。');

      // --- lock-out: a countdown, and the unlock button disabled until it ends ---
      await page.getByTestId('admin-lock').click();
      await page.goto(`${server.url}#/admin`);
      for (let i = 0; i < 6; i++) {
        const submit = page.getByTestId('unlock-submit');
        await submit.waitFor({ state: 'visible' });
        if (await submit.isDisabled()) break;
        await page.getByTestId('unlock-passphrase').fill(`wrong guess number ${i}`);
        await page.evaluate(() => document.querySelector('[data-testid="unlock-message"]')?.removeAttribute('data-tone'));
        await submit.click();
        await outcome(page, 'unlock-message');
      }
      const submit = page.getByTestId('unlock-submit');
      expect(await submit.isDisabled()).toBe(true);
      const msg = page.getByTestId('unlock-message');
      expect(await msg.getAttribute('data-code')).toBe('STORE_LOCKED_OUT');
      const first = Number(await msg.getAttribute('data-remaining-ms'));
      expect(first).toBeGreaterThan(1000);
      expect(await msg.innerText()).toMatch(/请稍后再试：\s*\d+ 秒|请稍后再试：\s*\d+ 分钟/);
      await page.waitForFunction((f) => Number(document.querySelector('[data-testid="unlock-message"]')?.getAttribute('data-remaining-ms')) < f - 1500, first, { timeout: 10_000 });
      expect(await submit.isDisabled()).toBe(true);
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
