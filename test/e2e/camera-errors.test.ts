/**
 * Camera failure screens: permission denied and no camera at all each give a clear message (stable code on the
 * error panel) and no uncaught page error. Camera enrolment with the camera really denied (Chromium's own
 * NotAllowedError, no fake-UI flag) refuses at once with the camera's words and stores nobody; it used to wait out
 * its 20 s and say "No face was found" (review, session 20; test/browser/camera-refusal.test.ts has absent and lost).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, startKiosk, type KioskServer } from './harness';
import { outcome, peopleCount, setupKiosk } from './flows';

let server: KioskServer;
beforeAll(async () => {
  server = await startKiosk(inject('distDir'));
});
afterAll(async () => {
  await server.close();
});

async function errorPanel(denyCamera: boolean): Promise<{ code: string | undefined; text: string; errors: string[] }> {
  const b = await launch({ denyCamera, fakeCamera: null });
  try {
    await b.page.goto(server.url);
    const panel = b.page.getByTestId('error-panel');
    await panel.waitFor({ state: 'visible', timeout: 30_000 });
    return {
      code: (await panel.getAttribute('data-code')) ?? undefined,
      text: await panel.innerText(),
      errors: b.pageErrors,
    };
  } finally {
    await b.close();
  }
}

describe('camera errors', () => {
  it('camera denied → clear message, no uncaught error', async () => {
    const r = await errorPanel(true);
    expect(r.code).toBe('CAMERA_DENIED');
    expect(r.text).toMatch(/denied/i);
    expect(r.errors).toEqual([]);
  });

  it('no camera → clear message, no uncaught error', async () => {
    const r = await errorPanel(false);
    expect(r.code).toBe('CAMERA_ABSENT');
    expect(r.text).toMatch(/no camera/i);
    expect(r.errors).toEqual([]);
  });

  it('camera denied → camera enrolment refuses at once with CAMERA_DENIED and stores nobody', { timeout: 240_000 }, async () => {
    const b = await launch({ denyCamera: true, fakeCamera: null });
    try {
      await setupKiosk(b.page, server.url, { role: 'guard' });
      const card = b.page.getByTestId('section-enrol-camera');
      await card.getByTestId('camera-enrol-label').fill('Person A');
      const t0 = Date.now();
      await card.getByTestId('camera-enrol-submit').click();
      const r = await outcome(b.page, 'camera-enrol-message');
      expect(Date.now() - t0, r.text).toBeLessThan(10_000);
      expect(r).toMatchObject({ tone: 'bad', code: 'CAMERA_DENIED' });
      expect(r.text).toMatch(/denied/i);
      expect(await peopleCount(b.page)).toBe(0);
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
