/**
 * Issue 19: the admin key moves between two tablets by QR code. Profile A shows its admin public key as a QR code;
 * a screenshot of that code becomes profile B's camera (Chromium's fake camera, a .y4m made here from the
 * screenshot); B's "scan admin key" reads it with the kiosk's own camera path and shows A's fingerprint to compare —
 * and trusts nothing yet (the trusted-keys list stays empty: a code held up by anyone during a scan is not pinned).
 * Only "Fingerprints match — trust this key" pins it, and the list then shows it. The reader used (BarcodeDetector
 * or jsQR) is recorded: Debian's Chromium on Linux has no BarcodeDetector, so this proves the jsQR path there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { makeFeed } from '../helpers/make-feed.mjs';
import { launch, startKiosk, type Browser } from './harness';
import { outcome, setupKiosk } from './flows';

describe('QR exchange between two tablets', () => {
  it("pins tablet A's admin key on tablet B by B's camera reading A's screen, once the admin confirms", { timeout: 360_000 }, async () => {
    const server = await startKiosk(inject('distDir'));
    const dir = mkdtempSync(join(tmpdir(), 'qr-'));
    let a: Browser | undefined;
    let b: Browser | undefined;
    const t0 = Date.now();
    const step = (what: string) => console.log(`qr-exchange: ${what} at ${Math.round((Date.now() - t0) / 1000)} s`);
    try {
      a = await launch();
      await setupKiosk(a.page, server.url);
      step('A set up');
      await a.page.getByTestId('show-admin-key').click();
      const qr = a.page.getByTestId('key-qr');
      await qr.waitFor({ state: 'visible' });
      const fingerprintA = (await a.page.getByTestId('key-fingerprint').innerText()).trim();
      expect(fingerprintA).toMatch(/\S{8,}/);
      const png = join(dir, 'admin-key-qr.png');
      await qr.screenshot({ path: png });
      const feed = makeFeed(png, join(dir, 'admin-key-qr.y4m'), { seconds: 2 });

      step('A shows its QR code');
      b = await launch({ fakeCamera: feed });
      await setupKiosk(b.page, server.url);
      step('B set up');
      const reader = await b.page.evaluate(async () => {
        const BD = (globalThis as { BarcodeDetector?: { getSupportedFormats(): Promise<string[]> } }).BarcodeDetector;
        return BD && (await BD.getSupportedFormats()).includes('qr_code') ? 'BarcodeDetector' : 'jsQR';
      });
      console.log(`qr-exchange: reader on this Chromium: ${reader}`);
      const trusted = b.page.getByTestId('trusted-keys');
      await trusted.getByTestId('trusted-none').waitFor();
      await b.page.evaluate(() => document.querySelector('[data-testid="sync-message"]')?.removeAttribute('data-tone'));
      await b.page.getByTestId('scan-admin-key').click();
      const r = await outcome(b.page, 'sync-message');
      step('B scanned');
      expect(r.tone, r.text).toBe('ok');
      expect(r.text).toBe(`Compare with the other tablet’s screen: ${fingerprintA}`);
      expect((await b.page.getByTestId('confirm-fingerprint').innerText()).trim()).toBe(fingerprintA);
      // Read, not trusted: nothing is pinned before the admin confirms.
      expect(await trusted.locator('li[data-kind]').count()).toBe(0);
      expect(await trusted.getByTestId('trusted-none').isVisible()).toBe(true);
      expect(await b.page.getByTestId('cancel-scan').isVisible()).toBe(false);
      await b.page.evaluate(() => document.querySelector('[data-testid="sync-message"]')?.removeAttribute('data-tone'));
      await b.page.getByTestId('confirm-key').click();
      const pinned = await outcome(b.page, 'sync-message');
      expect(pinned).toMatchObject({ tone: 'ok', text: `Pinned: ${fingerprintA}` });
      expect(await b.page.getByTestId('key-confirm').isVisible()).toBe(false);
      expect(await trusted.locator('li[data-kind]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind')} ${e.getAttribute('data-fingerprint')}`))).toEqual([`admin ${fingerprintA}`]);
      // The pinned key is A's: B's kiosk key is a different key with a different fingerprint.
      await b.page.getByTestId('show-kiosk-key').click();
      await b.page.waitForFunction((fp) => !['', fp].includes((document.querySelector('[data-testid="key-fingerprint"]')?.textContent ?? '').trim()), fingerprintA);
      expect(a.pageErrors).toEqual([]);
      expect(b.pageErrors).toEqual([]);
    } finally {
      await a?.close();
      await b?.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
