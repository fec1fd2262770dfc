/**
 * The admin's camera steps (camera enrolment, the QR key scan) refuse at once with the camera's own error when the
 * camera cannot give frames, in real Chromium with the controller's real camera: a camera that is not there (a device
 * id no camera has: Chromium's own OverconstrainedError → CAMERA_ABSENT), access denied (getUserMedia rejecting
 * with NotAllowedError, as Chromium does: the browser project's fake-UI flag grants every prompt, so the rejection is
 * injected) and the permission revoked during the wait (CDP Browser.setPermission: Chromium ends the live track →
 * CAMERA_LOST). They used to wait out their 20 s / 30 s and then say "No face was found" / "No matching QR code".
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cdp } from 'vitest/browser';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode } from './vault-helpers';

let revoked = false;
afterEach(async () => {
  vi.restoreAllMocks();
  if (revoked) await cdp().send('Browser.resetPermissions', { browserContextId: await contextId() });
  revoked = false;
  closeKiosks();
});

async function contextId(): Promise<string> {
  return ((await cdp().send('Target.getTargetInfo', {})) as { targetInfo: { browserContextId: string } }).targetInfo.browserContextId;
}

async function revokeCamera(): Promise<void> {
  revoked = true;
  await cdp().send('Browser.setPermission', { permission: { name: 'camera' }, setting: 'denied', origin: location.origin, browserContextId: await contextId() });
}

/** Rejects with `code`, in well under the step's own timeout (15 s here). */
async function refusedFast(p: Promise<unknown>, code: string): Promise<void> {
  const t0 = performance.now();
  await expectCode(p, code as never);
  expect(performance.now() - t0).toBeLessThan(5_000);
}

async function kiosk(tag: string) {
  const k = await openKiosk(tag, new AdjustableClock());
  await k.ops.setup(PASS, { role: 'attended' });
  return k;
}

describe('camera steps refuse with the camera’s error', () => {
  it('no such camera: enrolment and the QR scan say CAMERA_ABSENT at once; nothing is stored', async () => {
    const { app, ops } = await kiosk('cam-absent');
    await app.startCamera('no-such-camera');
    expect(app.snapshot.camera.status).toBe('error');
    expect(app.snapshot.camera.error?.code).toBe('CAMERA_ABSENT');
    await refusedFast(ops.enrolment.enrolFromCamera('Ann', 'allow', { timeoutMs: 15_000 }), 'CAMERA_ABSENT');
    await refusedFast(ops.sync.scanAdminKey({ timeoutMs: 15_000 }), 'CAMERA_ABSENT');
    expect(app.frameTap).toBeNull();
    expect(app.listSubjects()).toEqual([]);
  });

  it('camera denied: CAMERA_DENIED at once', async () => {
    const { app, ops } = await kiosk('cam-denied');
    vi.spyOn(navigator.mediaDevices, 'getUserMedia').mockRejectedValue(new DOMException('Permission denied', 'NotAllowedError'));
    await app.startCamera();
    expect(app.snapshot.camera.error?.code).toBe('CAMERA_DENIED');
    await refusedFast(ops.enrolment.enrolFromCamera('Ann', 'allow', { timeoutMs: 15_000 }), 'CAMERA_DENIED');
    await refusedFast(ops.sync.scanAdminKey({ timeoutMs: 15_000 }), 'CAMERA_DENIED');
  });

  it('the permission revoked during the wait: CAMERA_LOST at once, for enrolment and for the QR scan', async () => {
    const { app, ops } = await kiosk('cam-lost');
    await app.startCamera();
    expect(app.snapshot.camera.status).toBe('live');
    const enrol = ops.enrolment.enrolFromCamera('Ann', 'allow', { timeoutMs: 15_000 });
    const refused = refusedFast(enrol, 'CAMERA_LOST');
    await new Promise((r) => setTimeout(r, 200));
    await revokeCamera();
    await refused;
    expect(app.frameTap).toBeNull();
    expect(app.listSubjects()).toEqual([]);

    // The controller retries the camera after 3 s (the fake-UI flag grants it again): once live, the scan waits
    // for frames; revoked again, it stops with the loss.
    await cdp().send('Browser.resetPermissions', { browserContextId: await contextId() });
    await vi.waitFor(() => expect(app.snapshot.camera.status).toBe('live'), { timeout: 10_000 });
    const scan = refusedFast(ops.sync.scanAdminKey({ timeoutMs: 15_000 }), 'CAMERA_LOST');
    await new Promise((r) => setTimeout(r, 200));
    await revokeCamera();
    await scan;
    expect(app.frameTap).toBeNull();
    await cdp().send('Browser.resetPermissions', { browserContextId: await contextId() });
    revoked = false;
    // Let the controller's retry run before the kiosk is closed (it would reopen the camera after close otherwise).
    await vi.waitFor(() => expect(app.snapshot.camera.status).toBe('live'), { timeout: 10_000 });
  });
});
