/**
 * Issue 17's LAN pull end to end: the built kiosk in Chromium, the real reference receiver over loopback.
 * Tablet C, another site's admin, signs a bundle of its own for kiosk B (a kiosk's public key is no secret); then
 * tablet A (the admin desk) exports two signed bundles to B's key (versions follow the wall clock, so A's, made
 * later, are newer than C's — the receiver publishes a full bundle only if it is newer than every one it has). B, not yet
 * paired with the receiver, is refused its first pull (the receiver serves paired kiosks only) and told so; paired, it
 * pins A's key only (fingerprint shown, then confirmed) and sets a pull schedule of one minute. The receiver is shared
 * with C's site, so it pins both admin keys and publishes both admins' bundles: what it accepts is no authority for
 * the kiosk. C's bundle is refused at B's first scheduled pull (BUNDLE_SIGNATURE), installs nothing, and the admin
 * card says why. A's second bundle, published next, is installed at B's following scheduled pull with no one
 * pressing anything, shown as "last synced v<its version>" on both screens. The real receiver never offers a version
 * older than the kiosk asks for (`since`), so the older bundle comes from a stale server on the receiver's address
 * (the only origin the kiosk's CSP lets it ask): A's first is refused (BUNDLE_ROLLBACK), shown on both screens, and
 * the watchlist stays as it was. Unpaired by the receiver's admin (a lost tablet), B gets nothing more and says why.
 *
 * The receiver's port is the one the e2e build's CSP allows (E2E_RECEIVER_PORT), so this file cannot pick its own.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { BUNDLE_MIME } from '../../receiver/bundles.mjs';
import { E2E_RECEIVER_PORT } from '../helpers/e2e-env.mjs';
import { bearer, journal, startReceiver, until, type ReceiverProcess } from '../receiver/helpers';
import { launch, startKiosk, type Browser } from './harness';
import {
  enrolPhotos,
  openGuardScreen,
  outcome,
  pairWithCode,
  peopleCount,
  savedDownload,
  setPadPolicy,
  setupKiosk,
  unlockAdmin,
} from './flows';

async function showKey(page: Page, which: 'admin' | 'kiosk'): Promise<string> {
  const sync = page.getByTestId('section-sync');
  // The key box is read-only: empty it in the page, so the wait below sees the key just asked for.
  await page.evaluate(() => {
    const box = document.querySelector<HTMLTextAreaElement>('[data-testid="key-json"]');
    if (box) box.value = '';
  });
  await sync.getByTestId(which === 'admin' ? 'show-admin-key' : 'show-kiosk-key').click();
  await page.waitForFunction(() => (document.querySelector<HTMLTextAreaElement>('[data-testid="key-json"]')?.value ?? '') !== '');
  return sync.getByTestId('key-json').inputValue();
}

/** Paste a key, see its fingerprint to compare, then confirm it (the only step that trusts it). */
async function submit(page: Page, input: string, button: string, value: string): Promise<void> {
  const sync = page.getByTestId('section-sync');
  const clear = () => page.evaluate(() => document.querySelector('[data-testid="sync-message"]')?.removeAttribute('data-tone'));
  await clear();
  await sync.getByTestId(input).fill(value);
  await sync.getByTestId(button).click();
  const read = await outcome(page, 'sync-message');
  expect(read.tone, read.text).toBe('ok');
  expect(read.text).toMatch(/^Compare with the other tablet’s screen: /);
  await clear();
  await sync.getByTestId('confirm-key').click();
  const trusted = await outcome(page, 'sync-message');
  expect(trusted.tone, trusted.text).toBe('ok');
  expect(trusted.text).toBe(`${input === 'pin-admin-json' ? 'Pinned' : 'Added'}: ${read.text.split(': ')[1]}`);
}

/** The watchlist version in a bundle's header (u64 little-endian at offset 12, docs/sync.md). */
const versionOf = (bytes: Buffer): number => Number(bytes.readBigUInt64LE(12));

/** Export to the added recipients (a site passphrase too, as the export card asks for one or the other). */
async function exportBundle(page: Page, dir: string, name: string): Promise<Buffer> {
  const sync = page.getByTestId('section-sync');
  await page.evaluate(() => document.querySelector('[data-testid="sync-message"]')?.removeAttribute('data-tone'));
  await sync.getByTestId('site-passphrase').fill('site passphrase for the pull test');
  const [download] = await Promise.all([page.waitForEvent('download'), sync.getByTestId('export-bundle').click()]);
  expect((await outcome(page, 'sync-message')).tone).toBe('ok');
  const path = join(dir, name);
  writeFileSync(path, await savedDownload(download));
  return readFileSync(path);
}

async function publish(receiver: ReceiverProcess, bytes: Buffer): Promise<void> {
  const res = await fetch(`${receiver.url}/watchlist/bundle`, {
    method: 'PUT',
    headers: { 'content-type': BUNDLE_MIME, ...bearer(receiver.adminToken) },
    body: new Uint8Array(bytes),
  });
  expect(res.status, await res.text()).toBe(201);
}

/**
 * The pull card's status, read in one go: the card re-renders whenever a scheduled pull starts or ends, so reading
 * its rows one locator at a time could see a refusal row that the next render has already removed.
 */
async function pullStatus(page: Page): Promise<{ synced: string; error: string | null }> {
  return page.evaluate(() => {
    const card = document.querySelector('[data-testid="section-pull"]');
    return {
      synced: card?.querySelector('[data-testid="pull-synced"]')?.textContent ?? '',
      error: card?.querySelector('[data-testid="pull-error"]')?.getAttribute('data-code') ?? null,
    };
  });
}

/**
 * The refusal as an admin reads it: words, with the code only in the small details line (issue 19: codes are for
 * support), and when the last check was, in the chosen language's format (Intl, en-GB for English: "5 Dec 2026,
 * 13:20"), not the browser's ("12/5/2026, 1:20:00 PM" in this en-US Chromium).
 */
async function pullWords(page: Page): Promise<{ words: string; details: string; checked: string }> {
  return page.evaluate(() => {
    const card = document.querySelector('[data-testid="section-pull"]');
    const dd = card?.querySelector('[data-testid="pull-error"]');
    const details = dd?.querySelector('[data-testid="error-details"]')?.textContent ?? '';
    return {
      words: (dd?.textContent ?? '').replace(details, ''),
      details,
      checked: card?.querySelector('[data-testid="pull-checked"]')?.textContent ?? '',
    };
  });
}

/** The names in the admin's people list. */
function labels(page: Page): Promise<string[]> {
  return page.locator('[data-testid="people-table"] [data-testid="edit-label"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
}

describe('watchlist pull from the receiver', () => {
  it('pulls a newer bundle on schedule; a foreign-signed or older one is refused and shown', async () => {
    const photos = inject('photos');
    const feeds = inject('feeds');
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-pull-'));
    const server = await startKiosk(inject('distDir'));
    const origin = new URL(server.url).origin;
    let receiver: ReceiverProcess | null = null;
    let stale: Server | null = null;
    /** A server on the receiver's address that answers every pull with `bytes` (CORS for the kiosk, no cache). */
    const serveStale = async (bytes: Buffer) => {
      const srv = createServer((req, res) => {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('cache-control', 'no-store');
        if (req.url?.startsWith('/watchlist/bundle')) {
          res.writeHead(200, { 'content-type': BUNDLE_MIME, 'content-length': bytes.length });
          res.end(bytes);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((ok, fail) => {
        srv.once('error', fail);
        srv.listen(E2E_RECEIVER_PORT, '127.0.0.1', ok);
      });
      stale = srv;
    };
    const stopStale = async () => {
      const r = stale;
      stale = null;
      if (r) await new Promise((done) => r.close(done));
    };
    const browsers: Browser[] = [];
    try {
      // Kiosk B first: its receiving key is what A and C export to.
      const b = await launch({ fakeCamera: feeds.noFace, userDataDir: join(dir, 'b') });
      browsers.push(b);
      await setupKiosk(b.page, server.url, { role: 'attended' });
      await setPadPolicy(b.page, 'off');
      const kioskKey = await showKey(b.page, 'kiosk');

      /** An admin desk: set up, one person enrolled, B added as a recipient; its page and public admin key. */
      const adminDesk = async (profile: string, label: string, photo: string) => {
        const desk = await launch({ fakeCamera: feeds.noFace, userDataDir: join(dir, profile) });
        browsers.push(desk);
        await setupKiosk(desk.page, server.url);
        expect((await enrolPhotos(desk.page, label, 'allow', [photo])).tone).toBe('ok');
        await submit(desk.page, 'recipient-json', 'recipient-submit', kioskKey);
        return { desk, adminKey: await showKey(desk.page, 'admin') };
      };
      const { desk: c, adminKey: adminKeyC } = await adminDesk('c', 'Intruder', photos.personB);
      const foreign = await exportBundle(c.page, dir, 'foreign.kwb');
      await c.close(); // two cores: only the tablets in use keep running
      const { desk: a, adminKey: adminKeyA } = await adminDesk('a', 'Person A', photos.personA);
      const v1 = await exportBundle(a.page, dir, 'v1.kwb');
      const v2 = await exportBundle(a.page, dir, 'v2.kwb');
      await a.close();
      const [foreignVersion, older, newer] = [foreign, v1, v2].map(versionOf);
      expect(foreignVersion).toBeLessThan(older!);
      expect(older).toBeLessThan(newer!);

      // The receiver C's site shares: it pins both admins' keys (bare JWKs, as inside the admin screen's key text).
      const keyFiles = [adminKeyA, adminKeyC].map((json, i) => {
        const file = join(dir, `admin-${i}.jwk`);
        writeFileSync(file, JSON.stringify((JSON.parse(json) as { jwk: unknown }).jwk));
        return file;
      });
      receiver = await startReceiver([
        '--host', '127.0.0.1', '--port', String(E2E_RECEIVER_PORT), '--data', join(dir, 'receiver'), '--origin', origin,
        ...keyFiles.flatMap((f) => ['--admin-key', f]),
      ]);
      await publish(receiver, foreign);

      // The receiver serves paired kiosks only: B, not yet paired, is told so in words and gets no bundle bytes.
      const card = b.page.getByTestId('section-pull');
      await card.getByTestId('pull-now').click();
      const unpaired = await outcome(b.page, 'pull-out');
      expect(unpaired).toMatchObject({ tone: 'bad', code: 'UPSTREAM_NOT_PAIRED' });
      expect(unpaired.text).toMatch(/^The receiver gives watchlists only to kiosks paired with it/);
      // Named by its title, not by where it sits (the pairing card is below this one; the guard screen shows it too).
      expect(unpaired.text).toContain("on the admin screen's Receiver pairing card");
      const refusedPull = (await journal(receiver.url, receiver.adminToken)).filter((e) => e.route === '/watchlist/bundle');
      expect(refusedPull.map((e) => [e.status, e.reason])).toEqual([[403, 'not_paired']]);
      const kioskB = refusedPull[0]!.kiosk!; // the id B signs its pulls as
      await b.page.evaluate(() => document.querySelector('[data-testid="pull-out"]')?.removeAttribute('data-tone'));
      expect((await pullStatus(b.page)).error).toBe('UPSTREAM_NOT_PAIRED');
      await pairWithCode(b.page, receiver.pairingCode);
      // Paired now: the card no longer says "not paired" under the pairing it asked for (no schedule yet, so no pull).
      await until(async () => ((await pullStatus(b.page)).error === null ? true : null), 10_000, 'the stale refusal dropped');

      // B trusts A only: its first scheduled pull (right after saving the schedule) refuses C's bundle.
      await submit(b.page, 'pin-admin-json', 'pin-admin-submit', adminKeyA);
      // An empty box is refused with the field and range (it was saved as 0, "off").
      await card.getByTestId('pull-minutes').fill('');
      await card.getByTestId('pull-save').click();
      const empty = await outcome(b.page, 'pull-out');
      expect(empty).toMatchObject({ tone: 'bad', code: 'CONFIG_INVALID' });
      expect(empty.text).toMatch(/^A setting is not valid\. Pull every \(minutes\): must be between 0 and 1440\./);
      await b.page.evaluate(() => document.querySelector('[data-testid="pull-out"]')?.removeAttribute('data-tone'));
      await card.getByTestId('pull-minutes').fill('1');
      await card.getByTestId('pull-save').click();
      expect(await outcome(b.page, 'pull-out')).toMatchObject({ tone: 'ok', text: 'Saved.' });
      await until(async () => (await pullStatus(b.page)).error, 60_000, 'the foreign bundle refused');
      expect(await pullStatus(b.page)).toEqual({ synced: 'never', error: 'BUNDLE_SIGNATURE' });
      const refused = await pullWords(b.page);
      expect(refused.words).toMatch(/not signed/i);
      expect(refused.words).not.toContain('BUNDLE_SIGNATURE');
      expect(refused.details).toBe('BUNDLE_SIGNATURE');
      expect(refused.checked).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$/);
      expect(await b.page.getByTestId('people-empty').isVisible()).toBe(true);

      // A's newer bundle: B installs it at its next scheduled pull, with no one pressing anything.
      await publish(receiver, v2);
      const installed = await until(async () => {
        const s = await pullStatus(b.page);
        return s.synced.endsWith(`v${newer}`) && s.error === null ? s : null;
      }, 120_000, 'v2 installed by the schedule');
      expect(installed.synced).toMatch(new RegExp(`· v${newer}$`));
      await until(async () => ((await peopleCount(b.page)) === 1 ? true : null), 30_000, 'Person A listed');
      expect(await labels(b.page)).toEqual(['Person A']);
      await openGuardScreen(b.page, server.url);
      expect(await b.page.getByTestId('status-synced').innerText()).toContain(`v${newer}`);
      expect(await b.page.getByTestId('status-synced').getAttribute('data-tone')).toBe('ok');

      // The receiver's admin unpairs B (a lost tablet): its next pull gets nothing and says why; v2 stays installed.
      await unlockAdmin(b.page, server.url);
      const revoke = await fetch(`${receiver.url}/admin/kiosks/${kioskB}/revoke`, {
        method: 'POST',
        headers: bearer(receiver.adminToken),
      });
      expect(revoke.status, await revoke.text()).toBe(200);
      await b.page.evaluate(() => document.querySelector('[data-testid="pull-out"]')?.removeAttribute('data-tone'));
      await b.page.getByTestId('section-pull').getByTestId('pull-now').click();
      const revoked = await outcome(b.page, 'pull-out');
      expect(revoked).toMatchObject({ tone: 'bad', code: 'UPSTREAM_REJECTED' });
      expect(revoked.text).toMatch(/^The receiver's admin has unpaired this kiosk/);
      expect(await b.page.getByTestId('section-pull').getByTestId('pull-status').innerText()).toContain('Last check failed');
      expect((await pullStatus(b.page)).synced).toMatch(new RegExp(`· v${newer}$`));
      expect(await labels(b.page)).toEqual(['Person A']);

      // The receiver down: "Pull now" says so on the card, as a failed check (not as a refused bundle, and not in
      // the decision sender's words about queued decisions); v2 stays installed.
      await receiver.stop();
      receiver = null;
      await b.page.evaluate(() => document.querySelector('[data-testid="pull-out"]')?.removeAttribute('data-tone'));
      await b.page.getByTestId('section-pull').getByTestId('pull-now').click();
      const down = await outcome(b.page, 'pull-out');
      expect(down).toMatchObject({ tone: 'bad', code: 'UPSTREAM_UNREACHABLE' });
      expect(down.text).toMatch(/^The receiver could not be reached\. The watchlist installed stays in force/);
      expect(down.text).not.toMatch(/queued/);
      expect(await b.page.getByTestId('section-pull').getByTestId('pull-status').innerText()).toContain('Last check failed');
      expect((await pullStatus(b.page)).synced).toMatch(new RegExp(`· v${newer}$`));

      // A stale server on the receiver's address offers A's older bundle: refused, shown, nothing changed.
      await serveStale(v1);
      await b.page.evaluate(() => document.querySelector('[data-testid="pull-out"]')?.removeAttribute('data-tone'));
      await b.page.getByTestId('section-pull').getByTestId('pull-now').click();
      expect(await outcome(b.page, 'pull-out')).toMatchObject({ tone: 'bad', code: 'BUNDLE_ROLLBACK' });
      await until(async () => ((await pullStatus(b.page)).error === 'BUNDLE_ROLLBACK' ? true : null), 60_000, 'the older bundle refused');
      expect((await pullStatus(b.page)).synced).toMatch(new RegExp(`· v${newer}$`));
      expect(await labels(b.page)).toEqual(['Person A']);
      await openGuardScreen(b.page, server.url);
      // The guard reads why in words; the code is for support (the row's title), as for the upstream's problems.
      const guardRow = b.page.getByTestId('status-synced');
      expect(await guardRow.innerText()).toMatch(/older than/i);
      expect(await guardRow.innerText()).not.toContain('BUNDLE_ROLLBACK');
      expect(await guardRow.getAttribute('title')).toBe('BUNDLE_ROLLBACK');
      expect(await guardRow.getAttribute('data-tone')).toBe('bad');
    } finally {
      for (const br of browsers) await br.close().catch(() => undefined);
      await receiver?.stop();
      await stopStale();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
