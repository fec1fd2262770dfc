/**
 * NOT YET IN THE SUITE (named .pending.ts so vitest does not collect it): written at the end of issue 17 and run only
 * as far as the foreign-signed refusal on a shared, loaded machine; rename to .test.ts once it has passed whole.
 * Issue 17's LAN pull end to end: the built kiosk in Chromium, the real reference receiver over loopback.
 * Tablet A (the admin desk) exports signed bundles to kiosk B's key; tablet C, another admin, signs one of its own.
 * B pins A's key and sets a pull schedule of one minute. The real receiver refuses to publish anything not signed
 * by the admin key it pins and never offers a version older than the kiosk asks for, so the bad bundles come from a
 * hostile or stale server on the receiver's address (the only origin the kiosk's CSP lets it ask): C's bundle is
 * refused (BUNDLE_SIGNATURE), installs nothing, and the admin card and guard screen say why. Then the real receiver
 * (pinning A's key) gets A's newer bundle, and B installs it at its next scheduled pull, shown as "last synced v2"
 * on both screens. Finally A's older bundle from the stale server is refused (BUNDLE_ROLLBACK) and the watchlist
 * stays as it was.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { BUNDLE_MIME } from '../../receiver/bundles.mjs';
import { E2E_RECEIVER_PORT } from '../helpers/e2e-env.mjs';
import { bearer, startReceiver, until, type ReceiverProcess } from '../receiver/helpers';
import { launch, startKiosk, type Browser } from './harness';
import { enrolPhotos, openGuardScreen, outcome, peopleCount, savedDownload, setPadPolicy, setupKiosk, unlockAdmin } from './flows';

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

async function submit(page: Page, input: string, button: string, value: string): Promise<void> {
  const sync = page.getByTestId('section-sync');
  await page.evaluate(() => document.querySelector('[data-testid="sync-message"]')?.removeAttribute('data-tone'));
  await sync.getByTestId(input).fill(value);
  await sync.getByTestId(button).click();
  const r = await outcome(page, 'sync-message');
  expect(r.tone, r.text).toBe('ok');
}

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

async function pullStatus(page: Page): Promise<{ synced: string; error: string | null }> {
  const card = page.getByTestId('section-pull');
  return {
    synced: await card.getByTestId('pull-synced').innerText(),
    error: (await card.getByTestId('pull-error').count()) ? await card.getByTestId('pull-error').getAttribute('data-code') : null,
  };
}

describe('watchlist pull from the receiver', () => {
  it('pulls a newer bundle on schedule; a foreign-signed or older one is refused and shown', async () => {
    const photos = inject('photos');
    const feeds = inject('feeds');
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-pull-'));
    const server = await startKiosk(inject('distDir'));
    const origin = new URL(server.url).origin;
    let receiver: ReceiverProcess | null = null;
    let rogue: Server | null = null;
    /** A server on the receiver's address that answers every pull with `bytes` (CORS for the kiosk, no cache). */
    const serveRogue = async (bytes: Buffer) => {
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
      rogue = srv;
    };
    const stopRogue = async () => {
      const r = rogue;
      rogue = null;
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

      const a = await launch({ fakeCamera: feeds.noFace, userDataDir: join(dir, 'a') });
      browsers.push(a);
      await setupKiosk(a.page, server.url);
      expect((await enrolPhotos(a.page, 'Person A', 'allow', [photos.personA])).tone).toBe('ok');
      await submit(a.page, 'recipient-json', 'recipient-submit', kioskKey);
      const adminKeyA = await showKey(a.page, 'admin');
      const v1 = await exportBundle(a.page, dir, 'v1.kwb');
      const v2 = await exportBundle(a.page, dir, 'v2.kwb');
      await a.close(); // two cores: only the tablets in use keep running

      const c = await launch({ fakeCamera: feeds.noFace, userDataDir: join(dir, 'c') });
      browsers.push(c);
      await setupKiosk(c.page, server.url);
      expect((await enrolPhotos(c.page, 'Intruder', 'allow', [photos.personB])).tone).toBe('ok');
      await submit(c.page, 'recipient-json', 'recipient-submit', kioskKey);
      const foreign = await exportBundle(c.page, dir, 'foreign.kwb');
      await c.close();

      // B trusts A only. C's bundle is what the server on the receiver's address hands out: B's first scheduled
      // pull (right after saving the schedule) refuses it.
      await submit(b.page, 'pin-admin-json', 'pin-admin-submit', adminKeyA);
      await serveRogue(foreign);
      const card = b.page.getByTestId('section-pull');
      await card.getByTestId('pull-minutes').fill('1');
      await card.getByTestId('pull-save').click();
      await until(async () => (await pullStatus(b.page)).error, 60_000, 'the foreign bundle refused');
      expect(await pullStatus(b.page)).toEqual({ synced: 'never', error: 'BUNDLE_SIGNATURE' });
      expect(await b.page.getByTestId('people-empty').isVisible()).toBe(true);
      await stopRogue();

      // The real receiver, pinning A's key, gets A's newer bundle: B installs it at its next scheduled pull,
      // with no one pressing anything.
      const keyFile = join(dir, 'admin-a.jwk');
      // The receiver takes the bare JWK inside the admin screen's key text.
      writeFileSync(keyFile, JSON.stringify((JSON.parse(adminKeyA) as { jwk: unknown }).jwk));
      receiver = await startReceiver([
        '--host', '127.0.0.1', '--port', String(E2E_RECEIVER_PORT), '--data', join(dir, 'receiver'), '--origin', origin,
        '--admin-key', keyFile,
      ]);
      await publish(receiver, v2);
      const installed = await until(async () => {
        const s = await pullStatus(b.page);
        return s.synced.endsWith('v2') && s.error === null ? s : null;
      }, 120_000, 'v2 installed by the schedule');
      expect(installed.synced).toMatch(/· v2$/);
      await until(async () => ((await peopleCount(b.page)) === 1 ? true : null), 30_000, 'Person A listed');
      await openGuardScreen(b.page, server.url);
      expect(await b.page.getByTestId('status-synced').innerText()).toMatch(/v2/);
      expect(await b.page.getByTestId('status-synced').getAttribute('data-tone')).toBe('ok');

      // A stale server on the receiver's address offers A's older bundle: refused, shown, nothing changed.
      await receiver.stop();
      receiver = null;
      await serveRogue(v1);
      await unlockAdmin(b.page, server.url);
      await b.page.getByTestId('section-pull').getByTestId('pull-now').click();
      await until(async () => ((await pullStatus(b.page)).error === 'BUNDLE_ROLLBACK' ? true : null), 60_000, 'the older bundle refused');
      expect((await pullStatus(b.page)).synced).toMatch(/· v2$/);
      expect(await peopleCount(b.page)).toBe(1);
      await openGuardScreen(b.page, server.url);
      expect(await b.page.getByTestId('status-synced').innerText()).toContain('BUNDLE_ROLLBACK');
      expect(await b.page.getByTestId('status-synced').getAttribute('data-tone')).toBe('bad');
    } finally {
      for (const br of browsers) await br.close().catch(() => undefined);
      await receiver?.stop();
      await stopRogue();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
