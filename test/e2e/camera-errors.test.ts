/**
 * Camera failure screens: permission denied and no camera at all each give a clear message (stable code on the
 * error panel) and no uncaught page error.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, startKiosk, type KioskServer } from './harness';

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
});
