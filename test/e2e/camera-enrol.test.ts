/**
 * Issue 19, item 5: camera enrolment coaches and holds the door's standard. The fake camera shows person A the way
 * the door sees her (the personAOther feed, which test/e2e/face-recognition.test.ts grants at the door); enrolling
 * her from that camera collects five good frames with a progress bar and the "stay like this" hint, stores one
 * person, and the door then grants her.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, startKiosk } from './harness';
import { outcome, peopleCount, setPadPolicy, setupKiosk, waitForGuardOutcome } from './flows';

describe('camera enrolment', () => {
  it('enrols from the feed the door recognises, with progress and hints, and the door grants the person', { timeout: 300_000 }, async () => {
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-camenrol-'));
    const server = await startKiosk(inject('distDir'));
    const b = await launch({ fakeCamera: inject('feeds').personAOther, userDataDir: profile });
    try {
      await setupKiosk(b.page, server.url, { role: 'guard' });
      await setPadPolicy(b.page, 'off');
      const card = b.page.getByTestId('section-enrol-camera');
      await card.getByTestId('camera-enrol-label').fill('Person A');
      await card.getByTestId('camera-enrol-submit').click();
      const r = await outcome(b.page, 'camera-enrol-message');
      expect(r.tone, r.text).toBe('ok');
      const bar = card.getByTestId('camera-enrol-progress');
      expect(await bar.evaluate((e) => [(e as HTMLProgressElement).value, (e as HTMLProgressElement).max])).toEqual([5, 5]);
      expect(await card.getByTestId('camera-enrol-count').innerText()).toBe('5/5 good frames');
      expect(await card.getByTestId('camera-enrol-hint').innerText()).toBe('Good — stay like this');
      expect(await peopleCount(b.page)).toBe(1);
      await b.page.goto(`${server.url}#/guard`);
      expect(await waitForGuardOutcome(b.page, 'grant', 120_000)).toContain('Person A');
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
