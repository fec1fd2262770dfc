/**
 * Photos becoming one person, in real Chromium: real vault (IndexedDB, WebCrypto), the real
 * face worker, a real photo (@vladmandic/face-api's sample3, the centre woman).
 *
 * Found by an attacker review (session 19): an admin enrolling someone on the deny list whose face already matches an
 * allowed person is offered "Add to <them>" first; the photos were added and the allowed record kept its list, so the
 * face the admin meant to refuse stayed allowed. The list and validity chosen for the new photos now merge as two
 * people's do: deny wins, the narrower period wins. And photos given under one name (a CSV's rows, the photo card's
 * files) must show one person — person A is @vladmandic/face-api's sample1 and sample3, person B sample6 — and their
 * rows' plates and end dates are pooled (the first row's alone used to win).
 */
import s1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import s6 from '@vladmandic/face-api/demo/sample6.jpg?url';
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';
import { herPhoto } from './watchlist-people';

afterEach(closeKiosks);

/** Crops as in test/browser/camera-enrol-consistency.test.ts (A in sample1 and sample3; B in sample6), as JPEG files. */
const CROPS = {
  a1: { url: s1, x: 1250, y: 0, w: 670, h: 800 },
  a3: { url: s3, x: 850, y: 50, w: 600, h: 750 },
  b: { url: s6, x: 1000, y: 250, w: 440, h: 480 },
};
async function photoFile(who: keyof typeof CROPS): Promise<File> {
  const c = CROPS[who];
  const src = await createImageBitmap(await (await fetch(c.url)).blob());
  const canvas = new OffscreenCanvas(c.w, c.h);
  canvas.getContext('2d')!.drawImage(src, c.x, c.y, c.w, c.h, 0, 0, c.w, c.h);
  src.close();
  return new File([await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.92 })], `${who}.jpg`, {
    type: 'image/jpeg',
  });
}

describe('enrolment: add to an existing person', () => {
  it('photos enrolled for the deny list and added to an allowed person make that person denied; a shorter validity narrows', async () => {
    const clock = new AdjustableClock();
    const { app, ops } = await openKiosk('enrol-add-to', clock);
    await ops.setup(PASS, { role: 'attended' });
    const blob = await herPhoto();
    const file = () => new File([blob], 'her.jpg', { type: 'image/jpeg' });
    const [first] = await ops.enrolment.enrolPhotos([{ file: file(), label: 'Bob', list: 'allow' }]);
    expect(first?.ok).toBe(true);
    await app.watchlistSettled();
    const bob = app.listSubjects().find((s) => s.label === 'Bob')!;

    // The same face for the deny list: refused as a duplicate naming Bob, the first choice being "add to Bob".
    const [dup] = await ops.enrolment.enrolPhotos([{ file: file(), label: 'Mallory', list: 'deny' }]);
    expect(dup).toMatchObject({ ok: false, code: 'ENROL_DUPLICATE_FACE', holderId: bob.id });
    const until = clock.wall() + 86_400_000;
    const [added] = await ops.enrolment.enrolPhotos(
      [{ file: file(), label: 'Mallory', list: 'deny', validUntil: until }],
      undefined,
      { addTo: bob.id },
    );
    expect(added?.ok).toBe(true);
    await app.watchlistSettled();
    const after = app.listSubjects().filter((s) => s.label === 'Bob' || s.label === 'Mallory');
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: bob.id, list: 'deny', validUntil: until });
  });

  it('a photo of someone else is not added to a person (it would open their door for that face)', async () => {
    // "Add photos" stored any face: one wrong photo, or a deny-listed person's, got this person's access (session 23).
    const clock = new AdjustableClock();
    const { app, ops } = await openKiosk('enrol-add-other', clock);
    await ops.setup(PASS, { role: 'attended' });
    const [ann] = await ops.enrolment.enrolPhotos([{ file: await photoFile('a1'), label: 'Ann', list: 'allow' }]);
    expect(ann?.ok).toBe(true);
    await app.watchlistSettled();
    const id = app.listSubjects().find((s) => s.label === 'Ann')!.id;
    const [other] = await ops.enrolment.enrolPhotos(
      [{ file: await photoFile('b'), label: 'Ann', list: 'allow' }],
      undefined,
      { addTo: id },
    );
    expect(other).toMatchObject({ ok: false, code: 'ENROL_PHOTOS_DIFFER' });
    await app.watchlistSettled();
    expect(app.listSubjects().find((s) => s.id === id)).toMatchObject({ templateCounts: { fr_feature: 1 } });
    // Her own second photo is added.
    const [own] = await ops.enrolment.enrolPhotos(
      [{ file: await photoFile('a3'), label: 'Ann', list: 'allow' }],
      undefined,
      { addTo: id },
    );
    expect(own?.ok).toBe(true);
    await app.watchlistSettled();
    expect(app.listSubjects().find((s) => s.id === id)).toMatchObject({ templateCounts: { fr_feature: 2 } });
  });

  it("a deny-listed person's photo is not added to an allowed entry that has plates only", async () => {
    // A plates-only entry has no face to compare the photos with; they were stored unchecked, and the deny-listed face
    // had that entry's access — only the door's runner-up veto stood in the way (attacker review, session 25).
    const clock = new AdjustableClock();
    const { app, ops } = await openKiosk('enrol-add-plates-only', clock);
    await ops.setup(PASS, { role: 'attended' });
    const [mallory] = await ops.enrolment.enrolPhotos([{ file: await photoFile('a1'), label: 'Mallory', list: 'deny' }]);
    expect(mallory?.ok).toBe(true);
    await ops.enrolment.addPlates('Delivery van', ['XYZ 987'], 'allow');
    await app.watchlistSettled();
    const van = app.listSubjects().find((s) => s.label === 'Delivery van')!;
    const deniedId = app.listSubjects().find((s) => s.label === 'Mallory')!.id;
    const [added] = await ops.enrolment.enrolPhotos(
      [{ file: await photoFile('a3'), label: 'Delivery van', list: 'allow' }],
      undefined,
      { addTo: van.id },
    );
    expect(added).toMatchObject({ ok: false, code: 'ENROL_DUPLICATE_FACE', holderId: deniedId });
    await app.watchlistSettled();
    expect(app.listSubjects().find((s) => s.id === van.id)).toMatchObject({ list: 'allow', templateCounts: {} });
    // A face nobody has is added to it.
    const [driver] = await ops.enrolment.enrolPhotos(
      [{ file: await photoFile('b'), label: 'Delivery van', list: 'allow' }],
      undefined,
      { addTo: van.id },
    );
    expect(driver?.ok).toBe(true);
    await app.watchlistSettled();
    expect(app.listSubjects().find((s) => s.id === van.id)).toMatchObject({ templateCounts: { fr_feature: 1 } });
  });

  it('photos under one name must show one person; their plates and end dates are pooled', async () => {
    const clock = new AdjustableClock();
    const { app, ops } = await openKiosk('enrol-one-name', clock);
    await ops.setup(PASS, { role: 'attended' });
    // Two different people under one name: refused, nothing stored.
    const mixed = await ops.enrolment.enrolPhotos([
      { file: await photoFile('a1'), label: 'John Smith', list: 'allow' },
      {
        file: await photoFile('b'),
        label: 'John Smith',
        list: 'allow',
        validUntil: clock.wall() + 3_600_000,
        plates: ['XYZ 987'],
      },
    ]);
    expect(mixed.map((r) => [r.ok, r.code])).toEqual([
      [false, 'ENROL_PHOTOS_DIFFER'],
      [false, 'ENROL_PHOTOS_DIFFER'],
    ]);
    await app.watchlistSettled();
    expect(app.listSubjects()).toHaveLength(0);
    // One person's two photos, the end date and a plate given on the second row only: both are kept.
    const until = clock.wall() + 86_400_000;
    const same = await ops.enrolment.enrolPhotos([
      { file: await photoFile('a1'), label: 'Ann', list: 'allow', plates: ['ABC 123'] },
      { file: await photoFile('a3'), label: 'Ann', list: 'allow', validUntil: until, plates: ['abc-123', 'XYZ 987'] },
    ]);
    expect(same.every((r) => r.ok)).toBe(true);
    await app.watchlistSettled();
    const ann = app.listSubjects();
    expect(ann).toHaveLength(1);
    expect(ann[0]).toMatchObject({ label: 'Ann', validUntil: until, templateCounts: { fr_feature: 2 } });
    expect([...ann[0]!.plates].sort()).toEqual(['ABC123', 'XYZ987']);
  });
});
