/**
 * "Add photos" to an enrolled person (src/app/enrolment.ts, target addTo), with a stand-in app: the face worker gives
 * the template the test chooses, the vault holds Bob (allowed) and Carol (deny-listed).
 * A face close enough to Bob but closer to Carol is refused as hers (ENROL_DUPLICATE_FACE): added to Bob it would have
 * opened his door for her. The real-photo case (someone else's face refused as ENROL_PHOTOS_DIFFER) is in
 * test/browser/enrol-add-to.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { KioskController } from '../../src/app/controller';
import { EnrolmentService } from '../../src/app/enrolment';
import type { Subject } from '../../src/shared/types';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return new Float32Array(v.map((x) => x / n));
};
const bob: Subject = {
  id: 'bob',
  label: 'Bob',
  list: 'allow',
  plates: [],
  templates: { fr_feature: [unit(1, 0, 0, 0)] },
} as unknown as Subject;
const carol: Subject = {
  id: 'carol',
  label: 'Carol',
  list: 'deny',
  plates: [],
  templates: { fr_feature: [unit(0.3, 0.95, 0, 0)] },
} as unknown as Subject;

function standIn(template: Float32Array | Float32Array[], openSetThreshold?: number) {
  const next = Array.isArray(template) ? [...template] : null;
  const put: Subject[] = [];
  const app = {
    authority: { require: () => undefined },
    snapshot: {
      settings: { kioskId: 'kiosk-test' },
      openSet: openSetThreshold === undefined ? null : { threshold: openSetThreshold },
    },
    clock: { wall: () => Date.UTC(2026, 0, 1) },
    faces: { enrolFromImage: async () => ({ template: next ? next.shift()! : template }) },
    listSubjects: () => [bob, carol].map((s) => ({ id: s.id, label: s.label, list: s.list, plates: s.plates })),
    vault: {
      subjects: {
        get: async (id: string) => [bob, carol].find((s) => s.id === id),
        put: async (s: Subject) => (put.push(s), s),
      },
      loadWatchlist: async () => ({ subjects: [bob, carol] }),
      enrol: async (input: Subject) => (put.push({ ...input, id: 'new' }), { ...input, id: 'new' }),
      audit: { append: async () => undefined },
      // The sealed local-revocations record (src/app/local-revocations.ts): none yet.
      keys: { get: async () => undefined, put: async () => undefined },
      listQuarantine: async () => [],
      // One change at a time (the vault's Web Lock; nothing runs beside this test).
      asOneChange: <T>(fn: () => Promise<T>) => fn(),
    },
    watchlistSettled: async () => undefined,
  };
  return { enrolment: new EnrolmentService(app as unknown as KioskController), put };
}

const photo = () => new File([new Uint8Array([1])], 'p.jpg', { type: 'image/jpeg' });

describe('add photos to a person', () => {
  it('refuses a face that matches another enrolled person (deny-listed Carol) too', async () => {
    const { enrolment, put } = standIn(unit(0.7, 0.7, 0, 0)); // cos 0.71 to Bob, 0.88 to Carol
    const [r] = await enrolment.enrolPhotos([{ file: photo(), label: 'Bob', list: 'allow' }], undefined, {
      addTo: 'bob',
    });
    expect(r).toMatchObject({ ok: false, code: 'ENROL_DUPLICATE_FACE', holderId: 'carol' });
    expect(put).toEqual([]);
  });

  it('refuses a face that is not theirs, and adds one that is', async () => {
    const other = standIn(unit(0, 0, 1, 0));
    const [r] = await other.enrolment.enrolPhotos([{ file: photo(), label: 'Bob', list: 'allow' }], undefined, {
      addTo: 'bob',
    });
    expect(r).toMatchObject({ ok: false, code: 'ENROL_PHOTOS_DIFFER' });
    expect(other.put).toEqual([]);
    const own = standIn(unit(1, 0.05, 0.02, 0)); // Bob again (cos 0.999); 0.34 to Carol
    const [ok] = await own.enrolment.enrolPhotos([{ file: photo(), label: 'Bob', list: 'allow' }], undefined, {
      addTo: 'bob',
    });
    expect(ok?.ok).toBe(true);
    expect(own.put.map((s) => [s.id, s.templates['fr_feature']?.length])).toEqual([['bob', 2]]);
  });
});

describe('the bar for the same face', () => {
  it("is the door's open-set threshold when a large gallery has raised it above the embedder's accept", async () => {
    // cos 0.50 to Bob: above fr_feature's accept, below a door that asks 0.55 (a large gallery).
    const stranger = unit(0.5, 0, Math.sqrt(0.75), 0);
    const raised = standIn(stranger, 0.55);
    const [r] = await raised.enrolment.enrolPhotos([{ file: photo(), label: 'Bob', list: 'allow' }], undefined, {
      addTo: 'bob',
    });
    expect(r).toMatchObject({ ok: false, code: 'ENROL_PHOTOS_DIFFER' });
    expect(raised.put).toEqual([]);
    // The same photo with a small gallery (the door at the embedder's accept) is taken, as before.
    const small = standIn(stranger);
    const [ok] = await small.enrolment.enrolPhotos([{ file: photo(), label: 'Bob', list: 'allow' }], undefined, {
      addTo: 'bob',
    });
    expect(ok?.ok).toBe(true);
  });

  it('holds several photos of one new person to that bar too', async () => {
    // Two photos given as one new person, cos 0.5 to each other and nobody's: one person at fr_feature's accept, two
    // at a door that asks 0.55.
    const pair = () => [unit(0, 0, 1, 0), unit(0, 0, 0.5, Math.sqrt(0.75))];
    const items = () => [1, 2].map(() => ({ file: photo(), label: 'Dana', list: 'allow' as const }));
    const raised = standIn(pair(), 0.55);
    const refused = await raised.enrolment.enrolPhotos(items());
    expect(refused.every((r) => !r.ok && r.code === 'ENROL_PHOTOS_DIFFER')).toBe(true);
    expect(raised.put).toEqual([]);
    const small = standIn(pair());
    expect((await small.enrolment.enrolPhotos(items())).every((r) => r.ok)).toBe(true);
  });
});

describe('enrol as a new person anyway', () => {
  it('is refused for a deny-listed face on the allow list, and allowed for the deny list or an allowed namesake', async () => {
    // A second record of a deny-listed person on the allow list was how they got a yes (session 23).
    const caroline = standIn(unit(0.3, 0.95, 0, 0)); // Carol's face
    const [asAllowed] = await caroline.enrolment.enrolPhotos(
      [{ file: photo(), label: 'Caroline', list: 'allow' }],
      undefined,
      { allowDuplicate: true },
    );
    expect(asAllowed).toMatchObject({
      ok: false,
      code: 'ENROL_DUPLICATE_FACE',
      holderId: 'carol',
      details: { holderList: 'deny' },
    });
    expect(caroline.put).toEqual([]);
    const [asDenied] = await caroline.enrolment.enrolPhotos(
      [{ file: photo(), label: 'Caroline', list: 'deny' }],
      undefined,
      { allowDuplicate: true },
    );
    expect(asDenied?.ok).toBe(true);
    const twin = standIn(unit(1, 0, 0, 0)); // Bob's face, allowed: the admin's call
    const [namesake] = await twin.enrolment.enrolPhotos([{ file: photo(), label: 'Rob', list: 'allow' }], undefined, {
      allowDuplicate: true,
    });
    expect(namesake?.ok).toBe(true);
    const [warned] = await twin.enrolment.enrolPhotos([{ file: photo(), label: 'Rob', list: 'allow' }]);
    expect(warned).toMatchObject({ ok: false, code: 'ENROL_DUPLICATE_FACE', holderId: 'bob' });
  });
});
