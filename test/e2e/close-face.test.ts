/**
 * Issue 19, item 9: a face that fills the frame is found and recognised. The fake camera shows person A's photo
 * cropped tight to her face (test/fixtures/feeds.mjs personAClose; hairline to chin is nearly the frame's height),
 * the kind of frame BlazeFace alone misses; the face worker's padded second pass finds it and the enrolled person is
 * granted.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, startKiosk } from './harness';
import { enrolPhotos, setPadPolicy, setupKiosk, waitForGuardOutcome } from './flows';

describe('a face filling the frame', () => {
  it('is found and the enrolled person is granted', { timeout: 300_000 }, async () => {
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-close-'));
    const server = await startKiosk(inject('distDir'));
    const b = await launch({ fakeCamera: inject('feeds').personAClose, userDataDir: profile });
    try {
      await setupKiosk(b.page, server.url, { role: 'guard' });
      await setPadPolicy(b.page, 'off');
      expect((await enrolPhotos(b.page, 'Person A', 'allow', [inject('photos').personA])).tone).toBe('ok');
      await b.page.goto(`${server.url}#/guard`);
      const granted = await waitForGuardOutcome(b.page, 'grant', 120_000);
      expect(granted).toContain('Person A');
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
