/**
 * One window runs the kiosk (src/app/instance-lock.ts). Two windows of the app on one browser profile each held
 * their own watchlist, guard session and decision sequence: a person deleted or a guard disabled in one was still
 * granted, or still overrode, in the other until it reloaded. Here, in real Chromium with one persistent profile: a
 * reload keeps the kiosk; a second tab stops before the store (no passphrase gate, no console) and says so in words;
 * "use it here" moves the kiosk to that tab and the first one, reloaded, shows the notice instead.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launch, startKiosk } from './harness';
import { setupKiosk } from './flows';

/** Which of the two start states the page settles in: the notice, or the app's admin gate. */
async function settled(page: Page): Promise<'notice' | 'app'> {
  const h = await page.waitForFunction(
    () => {
      if (document.querySelector('[data-testid="instance-elsewhere"]')) return 'notice';
      const gate = document.querySelector<HTMLElement>(
        '[data-testid="unlock-passphrase"], [data-testid="admin-console"]',
      );
      return gate && gate.offsetParent !== null ? 'app' : false;
    },
    undefined,
    { timeout: 60_000, polling: 100 },
  );
  return (await h.jsonValue()) as 'notice' | 'app';
}

describe('one window runs the kiosk', () => {
  it(
    'a second tab waits with a notice; "use it here" moves the kiosk and the first tab stops',
    { timeout: 300_000 },
    async () => {
      const profile = mkdtempSync(join(tmpdir(), 'kiosk-one-window-'));
      const server = await startKiosk(inject('distDir'));
      const b = await launch({ fakeCamera: inject('feeds').noFace, userDataDir: profile });
      try {
        await setupKiosk(b.page, server.url, { role: 'guard' });
        // A reload is not a second window: the kiosk comes back (the old page's lock is let go in time).
        await b.page.reload();
        await b.page.goto(`${server.url}#/admin`);
        expect(await settled(b.page)).toBe('app');

        const second = await b.context.newPage();
        const secondErrors: string[] = [];
        second.on('pageerror', (e) => secondErrors.push(e.message));
        await second.goto(`${server.url}#/admin`);
        expect(await settled(second)).toBe('notice');
        const words = await second.getByTestId('instance-elsewhere').innerText();
        expect(words).toContain('already open in another window or tab');
        // Nothing of the kiosk started behind the notice: no store, no screens.
        expect(await second.evaluate(() => performance.getEntriesByName('cold:store-open').length)).toBe(0);
        expect(await second.locator('[data-testid="unlock-passphrase"]').count()).toBe(0);
        // Still the first tab's kiosk after a while (the second does not take it by waiting).
        await second.waitForTimeout(4000);
        expect(await second.locator('[data-testid="instance-elsewhere"]').count()).toBe(1);

        await second.getByTestId('instance-take').click();
        expect(await settled(second)).toBe('app');
        // The first tab lost the lock: it reloaded and now waits behind the notice itself.
        await b.page.waitForSelector('[data-testid="instance-elsewhere"]', { timeout: 60_000 });
        expect(await b.page.locator('[data-testid="unlock-passphrase"]').count()).toBe(0);
        expect(secondErrors).toEqual([]);
        expect(b.pageErrors).toEqual([]);
      } finally {
        await b.close();
        await server.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
  );
});
