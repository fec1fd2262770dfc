/**
 * A guard's override ends what the kiosk was about to decide: real vault (IndexedDB, WebCrypto), the real face
 * worker, the controller's own frame path fed a real photo (@vladmandic/face-api's sample3, the centre woman).
 *
 * Found by an attacker review: after a guard pressed "deny" on someone showing an enrolled person's photo, the frames
 * collected before the override (or, on an unattended kiosk, the running challenge) went on, and the same photo was
 * granted once the result hold ended. Now an override starts a presence like any decision: nothing more is decided
 * about whoever stands there until they leave the view (or the cool-down passes); the next person is decided.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';
import { herPhoto } from './watchlist-people';

afterEach(closeKiosks);

async function blankFrame(): Promise<ImageBitmap> {
  const c = new OffscreenCanvas(640, 480);
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = '#777';
  ctx.fillRect(0, 0, 640, 480);
  return createImageBitmap(c);
}

/**
 * An attended kiosk (PAD off) with her enrolled on the allow list, the admin logged in; `feed` gives the controller
 * `n` frames 200 ms apart, `photo` a frame of her.
 */
async function herAtAttendedKiosk(tag: string, settings: { overrideLimit?: number } = {}) {
  const clock = new AdjustableClock();
  const { app, ops } = await openKiosk(tag, clock);
  await ops.setup(PASS, { role: 'attended' });
  await ops.settings.saveSettings({ pad: 'off', ...settings });
  const blob = await herPhoto();
  const [her] = await ops.enrolment.enrolPhotos([
    { file: new File([blob], 'her.jpg', { type: 'image/jpeg' }), label: 'Her', list: 'allow' },
  ]);
  expect(her?.ok).toBe(true);
  await app.watchlistSettled();
  const feed = async (n: number, frame: () => Promise<ImageBitmap>) => {
    for (let i = 0; i < n; i++) {
      clock.advance(200);
      await app.feedFrame(await frame(), clock.monotonic());
    }
  };
  return { app, clock, feed, photo: () => createImageBitmap(blob) };
}

describe('guard override', () => {
  it('a deny stops the grant the kiosk was collecting frames for; she is decided again only after leaving', async () => {
    const { app, clock, feed, photo } = await herAtAttendedKiosk('override-pending');
    // Two frames of her: one short of a decision (k = 3).
    await feed(2, photo);
    expect(app.snapshot.decisions).toHaveLength(0);

    await app.override('deny', 'a photo held up');
    expect(app.guardLog().map((d) => d.outcome)).toEqual(['override-deny']);
    // Past the result hold, the same face still in view: no grant behind the guard's back.
    clock.advance(3_500);
    await feed(10, photo);
    expect(app.guardLog().map((d) => d.outcome)).toEqual(['override-deny']);

    // She leaves the view (nobody for longer than the leave time) and comes back: decided as anyone would be.
    await feed(10, blankFrame);
    await feed(6, photo);
    expect(app.guardLog().map((d) => d.outcome)).toEqual(['grant', 'override-deny']);
  });

  it('a deny refused for its window still stops the grant the kiosk was collecting frames for', async () => {
    // Denies need no proof, so anyone at an attended kiosk's screen can use up the guard's deny window; the guard's
    // next deny is then refused, and it used to be refused before it stopped anything (attacker review, session 27).
    const { app, clock, feed, photo } = await herAtAttendedKiosk('override-pending-limited', { overrideLimit: 1 });

    await app.override('deny', 'tapped by a visitor'); // the window's one deny, nobody in view
    clock.advance(60_000); // well past the result hold and any presence it began
    await feed(10, blankFrame);
    await feed(2, photo); // one frame short of a decision (k = 3)
    expect(app.guardLog().map((d) => d.outcome)).toEqual(['override-deny']);
    await expect(app.override('deny', 'a photo held up')).rejects.toMatchObject({ code: 'OVERRIDE_RATE_LIMITED' });
    clock.advance(3_500);
    await feed(10, photo);
    expect(app.guardLog().map((d) => d.outcome)).toEqual(['override-deny']);

    // The same with no reason typed, in the hurry: refused for the reason, and still nothing granted behind it.
    clock.advance(60_000);
    await feed(10, blankFrame);
    await feed(2, photo);
    await expect(app.override('deny', '')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    clock.advance(3_500);
    await feed(10, photo);
    expect(app.guardLog().map((d) => d.outcome)).toEqual(['override-deny']);
  });
});
