/**
 * The watchlist service in real Chromium: real vault (IndexedDB, WebCrypto), the real face worker (MediaPipe,
 * fr_feature on onnxruntime-web WASM), the controller's own frame path fed a real photo (@vladmandic/face-api's
 * sample3, the centre woman) — no camera, no mocks.
 *
 * 1,000 people are enrolled: the woman in the photo and 999 others (random unit templates: strangers to her).
 * Expiring her must make the very next decision a refusal, through a small update (no full reload of the
 * watchlist) and without loading the face models again; deleting another person and saving unchanged face
 * settings must not load them either. Door frames must not bring templates back to the main thread.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';
import { herPhoto, seeded, strangerTemplate } from './watchlist-people';

afterEach(closeKiosks);

describe('watchlist service', () => {
  it('expire one of 1,000 people: the next decision refuses her, by a small update, with no model reload', async () => {
    const clock = new AdjustableClock();
    const { vault, app, ops } = await openKiosk('watchlist', clock);
    await ops.setup(PASS, { role: 'attended' });
    await ops.settings.saveSettings({ pad: 'off' });

    const blob = await herPhoto();
    const [her] = await ops.enrolment.enrolPhotos([{ file: new File([blob], 'her.jpg', { type: 'image/jpeg' }), label: 'Her', list: 'allow' }]);
    expect(her?.ok).toBe(true);
    const next = seeded(1);
    await vault.subjects.putMany(
      Array.from({ length: 999 }, (_, i) => ({
        label: `Person ${i}`,
        list: 'allow' as const,
        templates: { fr_feature: [strangerTemplate(next)] },
        plates: [],
      })),
    );
    await app.watchlistSettled();
    expect(app.snapshot.watchlist.subjects).toBe(1000);
    expect(app.snapshot.watchlist.templates).toBe(1000);
    const herId = app.listSubjects().find((s) => s.label === 'Her')!.id;

    // Frames of her, through the controller's own loop, until it decides.
    // Frame times come from the kiosk's clock, which the test moves on (the policy's window reads it too).
    const decide = async () => {
      const before = app.snapshot.lastResult?.n ?? 0;
      for (let i = 0; i < 12 && (app.snapshot.lastResult?.n ?? 0) === before; i++) {
        clock.advance(200);
        await app.feedFrame(await createImageBitmap(blob), clock.monotonic());
      }
      expect(app.snapshot.lastResult?.n ?? 0).toBeGreaterThan(before);
      clock.advance(4_000); // past the result hold
      return app.guardLog()[0]!;
    };
    const first = await decide();
    expect(first).toMatchObject({ outcome: 'grant', subjectId: herId, label: 'Her' });

    // A door frame: the worker answers with the match; the template stays in the worker.
    const door = await app.faces.analyse(undefined, await createImageBitmap(blob));
    expect(door.faces[0]).toMatchObject({ embedded: true, match: { best: { subjectId: herId } } });
    expect(door.faces[0]!.template).toBeUndefined();

    const loads = app.faces.modelLoads;
    const full = app.watchlist.updates.full;
    const t0 = performance.now();
    await ops.people.expireSubject(herId);
    const editMs = performance.now() - t0;
    const second = await decide();
    expect(second.outcome).toBe('deny-unknown');
    expect(second.reason).toBe('enrolled but not valid at this time');
    // A small update, not a reload; no face model loaded again.
    expect(app.watchlist.updates.full).toBe(full);
    expect(app.faces.modelLoads).toBe(loads);
    expect(app.listSubjects().find((s) => s.id === herId)?.validUntil).toBeLessThanOrEqual(clock.wall());

    // Deleting someone else and saving the same face settings load nothing either.
    const other = app.listSubjects().find((s) => s.label === 'Person 5')!.id;
    await ops.people.deleteSubject(other);
    expect(app.snapshot.watchlist.subjects).toBe(999);
    await ops.settings.saveSettings({ face: app.snapshot.settings.face ?? {} });
    expect(app.faces.modelLoads).toBe(loads);
    // Back on the list (validity cleared): granted again, still without a reload.
    await ops.people.updateSubject(herId, { validUntil: undefined });
    expect((await decide()).outcome).toBe('grant');
    expect(app.faces.modelLoads).toBe(loads);
    console.info(`expire edit with 1,000 people: ${editMs.toFixed(1)} ms until in force`);
  }, 180_000);
});
