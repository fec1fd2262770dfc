/**
 * "Export changes only" between two kiosks over the real app layer in real Chromium (two vaults in IndexedDB,
 * real WebCrypto signing and encryption): tablet A exports the whole list, B installs it; A renames one person,
 * deletes one and enrols one; A's changes bundle carries exactly those three, names its base, and B applies it to
 * match A. The same changes bundle again, or a changes bundle on a kiosk not on its base, is refused with B's
 * watchlist intact; before any full export there is no base to export changes from.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { installBundle } from '../../src/app/bundle-apply';
import { localRevocations, noteEnrolledDeny } from '../../src/app/local-revocations';
import { PASS, expectCode, pageOf, rawDelete, rawDump, rawPages, rawPut, tpl, uniqueName } from './vault-helpers';

const SITE = 'Site passphrase for deltas 42';
afterEach(closeKiosks);

const labels = (k: { app: { listSubjects(): { label: string }[] } }) => k.app.listSubjects().map((s) => s.label).sort();

/** A desk (a) and a kiosk (b, in database `bName` when given) that pins the desk's admin key, both attended tablets. */
async function deskAndKiosk(prefix: string, clock: AdjustableClock, bName?: string) {
  const a = await openKiosk(`${prefix}-a`, clock);
  const b = await openKiosk(`${prefix}-b`, clock, bName === undefined ? {} : { name: bName });
  await a.ops.setup(PASS, { role: 'attended' });
  await b.ops.setup(PASS, { role: 'attended' });
  await b.ops.sync.pinAdminKey((await a.ops.sync.adminPublicKey()).json);
  return { a, b };
}

type Kiosk = Awaited<ReturnType<typeof openKiosk>>;

/** A second later the desk renames `touch` (a newer list), exports its whole list, and the kiosk installs it. */
async function installFresh(a: Kiosk, b: Kiosk, clock: AdjustableClock, touch: string) {
  clock.advance(1000);
  await a.ops.people.updateSubject(touch, { label: `Touched at ${clock.wall()}` });
  await a.app.watchlistSettled();
  const bytes = (await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes;
  const r = await b.ops.sync.importWatchlist(new Blob([bytes]), { sitePassphrase: SITE });
  await b.app.watchlistSettled();
  return r;
}

/** Holds the kiosk's next install just before it writes its plan (its revocations read by then), until `release`. */
function holdInstallAtWrite(b: Kiosk): { atApply: Promise<void>; release: () => void } {
  let reached!: () => void;
  const atApply = new Promise<void>((r) => (reached = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const apply = b.vault.applyWatchlistPlan.bind(b.vault);
  b.vault.applyWatchlistPlan = async (plan) => {
    reached();
    await gate;
    return apply(plan);
  };
  return { atApply, release };
}

describe('changes-only export', () => {
  it('carries exactly what changed since the last export and applies only on its base', async () => {
    const clock = new AdjustableClock();
    const a = await openKiosk('delta-a', clock);
    const b = await openKiosk('delta-b', clock);
    await a.ops.setup(PASS, { role: 'attended' });
    await b.ops.setup(PASS, { role: 'attended' });
    await expectCode(a.ops.sync.exportChanges({ sitePassphrase: SITE }), 'INPUT_INVALID');
    await b.ops.sync.pinAdminKey((await a.ops.sync.adminPublicKey()).json);

    const p = [1, 2, 3].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } }));
    const [p1, p2] = await Promise.all(p);
    await a.app.watchlistSettled();
    const full = await a.ops.sync.exportWatchlist({ sitePassphrase: SITE });
    await b.ops.sync.importWatchlist(new Blob([full.bytes]), { sitePassphrase: SITE });
    expect(labels(b)).toEqual(['Person 1', 'Person 2', 'Person 3']);

    clock.advance(1000);
    await a.ops.people.updateSubject(p1!.id, { label: 'Person 1 renamed' });
    await a.ops.people.deleteSubject(p2!.id);
    await a.vault.enrol({ label: 'Person 4', list: 'allow', plates: [], templates: { fr_feature: [tpl(512, 4)] } });
    await a.app.watchlistSettled();
    const delta = await a.ops.sync.exportChanges({ sitePassphrase: SITE });
    // Newer than the base, and (docs/sync.md) at least the wall clock in seconds: the clock moved on a second.
    expect(delta).toMatchObject({ baseVersion: full.version, upserts: 2, deletions: 1 });
    expect(delta.version).toBeGreaterThan(full.version);
    expect(delta.version).toBeGreaterThanOrEqual(Math.floor((clock.wall() - 1000) / 1000));
    expect(delta.fileName).toBe(`watchlist-v${delta.version}-from-v${full.version}.kwb`);
    // Smaller than the whole list: only two people's templates travel.
    expect(delta.bytes.byteLength).toBeLessThan(full.bytes.byteLength);

    await b.ops.sync.importWatchlist(new Blob([delta.bytes]), { sitePassphrase: SITE });
    await b.app.watchlistSettled();
    expect(labels(b)).toEqual(labels(a));
    expect(labels(b)).toEqual(['Person 1 renamed', 'Person 3', 'Person 4']);

    // The same changes again: refused (not newer than what B has), B unchanged.
    await expect(b.ops.sync.importWatchlist(new Blob([delta.bytes]), { sitePassphrase: SITE })).rejects.toMatchObject({ code: expect.stringMatching(/^BUNDLE_/) });
    expect(labels(b)).toEqual(['Person 1 renamed', 'Person 3', 'Person 4']);

    // A kiosk still on nothing (C) cannot take a changes bundle: it needs the whole list; its watchlist stays empty.
    const c = await openKiosk('delta-c', clock);
    await c.ops.setup(PASS, { role: 'attended' });
    await c.ops.sync.pinAdminKey((await a.ops.sync.adminPublicKey()).json);
    await expect(c.ops.sync.importWatchlist(new Blob([delta.bytes]), { sitePassphrase: SITE })).rejects.toMatchObject({ code: expect.stringMatching(/^BUNDLE_/) });
    expect(labels(c)).toEqual([]);
  }, 180_000);

  it('keeps people revoked on the kiosk revoked when a bundle from a desk that has not heard of it arrives', async () => {
    // Attacker review (session 25): deleting, denying or ending someone at the kiosk was undone, without a word, by the
    // next scheduled pull or an old file from the desk, which still had them allowed.
    const clock = new AdjustableClock();
    const { a, b } = await deskAndKiosk('revoked-here', clock);
    const [gone, denied, ended, kept] = await Promise.all(
      [1, 2, 3, 4].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    const install = async (bytes: Uint8Array<ArrayBuffer>) => {
      const r = await b.ops.sync.importWatchlist(new Blob([bytes]), { sitePassphrase: SITE });
      await b.app.watchlistSettled();
      return r;
    };
    expect(await install((await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes)).toMatchObject({ keptRevoked: 0 });
    // At the kiosk: one deleted, one moved to the deny list, one ended.
    clock.advance(1000);
    const revokedFrom = clock.wall();
    await b.ops.people.deleteSubject(gone!.id);
    await b.ops.people.updateSubject(denied!.id, { list: 'deny' });
    await b.ops.people.expireSubject(ended!.id);
    const endedAt = clock.wall();
    // The desk, not told, exports again (its whole list, then its changes): both arrive with everyone allowed.
    clock.advance(1000);
    await a.ops.people.updateSubject(kept!.id, { label: 'Person 4 renamed' });
    await a.app.watchlistSettled();
    const full = await a.ops.sync.exportWatchlist({ sitePassphrase: SITE });
    expect(await install(full.bytes)).toMatchObject({ keptRevoked: 3 });
    const byId = () => new Map(b.app.listSubjects().map((x) => [x.id, x]));
    const at = expect.toSatisfy((v: unknown) => typeof v === 'number' && v >= revokedFrom && v <= endedAt);
    const revokedState = () => {
      const m = byId();
      return [m.get(gone!.id)?.validUntil, m.get(denied!.id)?.list, m.get(ended!.id)?.validUntil, m.get(kept!.id)?.list];
    };
    // The deleted person comes back ended at their deletion (the admin sees them), the others as revoked here.
    expect(revokedState()).toEqual([at, 'deny', at, 'allow']);
    expect(byId().get(kept!.id)?.label).toBe('Person 4 renamed');
    // The audit says so, in words.
    const audit = await b.ops.audit.readAudit(20);
    expect(audit.find((e) => e.outcome === 'watchlist-installed' && /kept 3 revoked here$/.test(e.reason ?? ''))).toBeDefined();
    // The admin here re-allows one: that lifts its hold, and the next bundle installs it as the desk has it.
    await b.ops.people.updateSubject(denied!.id, { list: 'allow' });
    clock.advance(1000);
    await a.ops.people.updateSubject(kept!.id, { label: 'Person 4' });
    await a.app.watchlistSettled();
    expect(await install((await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes)).toMatchObject({ keptRevoked: 2 });
    expect(revokedState()).toEqual([at, 'allow', at, 'allow']);
  }, 180_000);

  it('keeps a person enrolled on the deny list here over a full bundle, and a pass given here ends when it was given to', async () => {
    // Attacker review (session 33): (1) "Bob (banned)", enrolled on the deny list at the kiosk (the enrolment service
    // writes the hold in one change with it, test/unit/bulk-import.test.ts), was deleted by the desk's next full
    // bundle, which cannot list him, and Bob's allow record then matched alone. (2) Expired here, then given a pass for
    // an hour: the hold was lifted, and the desk's bundle (no end for him) gave him access for good.
    const clock = new AdjustableClock();
    const { a, b } = await deskAndKiosk('kept-here', clock);
    const [bob, cy] = await Promise.all(
      [1, 2].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    const install = () => installFresh(a, b, clock, cy!.id);
    await install();
    const banned = await b.vault.asOneChange(async () => {
      // Another photo of Person 1 (the same photo would be their face listed twice: the next test).
      const m = await b.vault.enrol({ label: 'Person 1 (banned)', list: 'deny', plates: [], templates: { fr_feature: [tpl(512, 3)] } });
      await noteEnrolledDeny(b.vault, m.id);
      return m;
    });
    await b.app.watchlistSettled();
    await b.ops.people.expireSubject(bob!.id);
    const passUntil = clock.wall() + 3_600_000;
    await b.ops.people.updateSubject(bob!.id, { validUntil: passUntil });
    expect(await install()).toMatchObject({ keptRevoked: 2 });
    const byId = new Map(b.app.listSubjects().map((x) => [x.id, x]));
    expect(byId.get(banned.id)).toMatchObject({ label: 'Person 1 (banned)', list: 'deny' });
    expect(byId.get(bob!.id)).toMatchObject({ list: 'allow', validUntil: passUntil });
    // Deleted here, the banned record is the admin's to drop: the next full bundle removes nothing else and it is gone.
    await b.ops.people.deleteSubject(banned.id);
    await install();
    expect(b.app.listSubjects().map((x) => x.id)).not.toContain(banned.id);
  }, 180_000);

  it('a face denied or ended here stays so under the record the desk merged it into, bundle after bundle', async () => {
    // Review (session 34): holds follow ids. The desk, not told that Bob was denied here, merged Bob into his newer
    // record: its bundle deleted Bob's id and sent the newer record allowed, with Bob's templates, and Bob walked in.
    const clock = new AdjustableClock();
    const { a, b } = await deskAndKiosk('merged-on-desk', clock);
    const [bob, bobNew, cy, cyNew, dee] = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    await installFresh(a, b, clock, dee!.id);
    // At the kiosk: Bob denied, Cy ended.
    await b.ops.people.updateSubject(bob!.id, { list: 'deny' });
    await b.ops.people.expireSubject(cy!.id);
    const cyEnd = new Map(b.app.listSubjects().map((x) => [x.id, x])).get(cy!.id)?.validUntil;
    expect(cyEnd).toEqual(expect.any(Number));
    // At the desk: each merged into their newer record, which keeps its id and gets both photos.
    clock.advance(1000);
    await a.ops.people.mergeSubjects(bobNew!.id, bob!.id);
    await a.ops.people.mergeSubjects(cyNew!.id, cy!.id);
    const state = () => {
      const m = new Map(b.app.listSubjects().map((x) => [x.id, x]));
      return [bob, bobNew, cy, cyNew, dee].map((p) => [m.get(p!.id)?.list, m.get(p!.id)?.validUntil]);
    };
    const want = [['deny', undefined], ['deny', undefined], ['allow', cyEnd], ['allow', cyEnd], ['allow', undefined]];
    expect(await installFresh(a, b, clock, dee!.id)).toMatchObject({ keptRevoked: 4 });
    expect(state()).toEqual(want);
    // The next bundle finds the copies again by the records kept here (a scheduled pull, nothing changed here).
    await installFresh(a, b, clock, dee!.id);
    expect(state()).toEqual(want);
    // The admin here deletes the old records: the faces are still on the newer records, and so are the revocations.
    await b.ops.people.deleteSubject(bob!.id);
    await installFresh(a, b, clock, dee!.id);
    expect(state().slice(1)).toEqual(want.slice(1));
    // Moved to the allow list here, the newer record is re-allowed: the next bundle installs it as the desk has it.
    await b.ops.people.updateSubject(bobNew!.id, { list: 'allow' });
    await installFresh(a, b, clock, dee!.id);
    expect(state()[1]).toEqual(['allow', undefined]);
    // Merged here into the newer record (the old one gone), the end stays with the newer one.
    await b.ops.people.mergeSubjects(cyNew!.id, cy!.id);
    await installFresh(a, b, clock, dee!.id);
    expect(state().slice(2)).toEqual([[undefined, undefined], ['allow', cyEnd], ['allow', undefined]]);
  }, 180_000);

  it('a tablet upgraded with bans made before keep holds keeps them over the first pull, and marks them at the next unlock', async () => {
    // Review (session 33): keep holds are written at enrolment only, so a deny record enrolled here before them had
    // none, and the first full bundle after the upgrade deleted it all the same.
    const clock = new AdjustableClock();
    const name = uniqueName('keep-upgrade-b');
    const { a, b } = await deskAndKiosk('keep-upgrade', clock, name);
    const [cy] = await Promise.all(
      [1, 2].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    await installFresh(a, b, clock, cy!.id);
    // As an older version left it: a ban enrolled here with no hold, and no mark.
    const banned = await b.vault.enrol({ label: 'Person 1 (banned)', list: 'deny', plates: [], templates: { fr_feature: [tpl(512, 1)] } });
    await rawDelete(name, 'secrets', 'local-revocations-keep');
    expect(await localRevocations(b.vault)).toEqual({});
    await b.app.watchlistSettled();
    // The scheduled pull comes before any admin unlock (a device-unlocked kiosk, the pull's own install path): the
    // ban stays.
    b.ops.lock();
    clock.advance(1000);
    await a.ops.people.updateSubject(cy!.id, { label: 'Person 2, pulled' });
    await a.app.watchlistSettled();
    const pulled = (await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes;
    expect(await installBundle(b.vault, pulled, { sitePassphrase: SITE, now: clock.wall() })).toMatchObject({ keptRevoked: 1 });
    const stored = new Map((await b.vault.loadWatchlist()).subjects.map((x) => [x.id, x]));
    expect(stored.get(banned.id)?.list).toBe('deny');
    expect(stored.get(cy!.id)?.label).toBe('Person 2, pulled');
    // An unlock while the list has lost a page (here: the ban's) marks nothing: it would mark too few.
    const page = pageOf(await rawPages(name), banned.id);
    await rawDelete(name, 'subjects', page.page);
    await b.ops.unlock(PASS);
    expect(await b.vault.keys.get('local-revocations-keep')).toBeUndefined();
    expect(await localRevocations(b.vault)).toEqual({});
    // The page back, the next admin unlock marks it, and from then on it is kept like any ban made here.
    await rawPut(name, 'subjects', [{ key: page.page, value: page }]);
    b.ops.lock();
    await b.ops.unlock(PASS);
    expect(await localRevocations(b.vault)).toEqual({ [banned.id]: { keep: true } });
    expect(await installFresh(a, b, clock, cy!.id)).toMatchObject({ keptRevoked: 1 });
    expect(b.app.listSubjects().find((x) => x.id === banned.id)?.list).toBe('deny');
  }, 180_000);

  it("installs no bundle while this tablet's revocations are in quarantine: a damaged record read as none gave access back", async () => {
    // Attacker review (session 33): a damaged `local-revocations` record failed its check once (that install was
    // refused) and was quarantined; the next scheduled pull found no record and installed the desk's list, with the
    // person deleted here allowed again.
    const clock = new AdjustableClock();
    const name = uniqueName('revocations-damaged-b');
    const { a, b } = await deskAndKiosk('revocations-damaged', clock, name);
    const [gone] = await Promise.all(
      [1, 2].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    const install = () => installFresh(a, b, clock, gone!.id);
    await install();
    await b.ops.people.deleteSubject(gone!.id);
    const raw = (await rawDump(name)).find((r) => r.store === 'secrets' && r.key === 'local-revocations')!;
    const value = raw.value as { box: ArrayBuffer };
    const box = new Uint8Array(value.box.slice(0));
    box[15] = (box[15] ?? 0) ^ 1;
    await rawPut(name, 'secrets', [{ key: 'local-revocations', value: { ...value, box: box.buffer } }]);
    const ids = () => b.app.listSubjects().map((x) => x.id);
    expect(ids()).not.toContain(gone!.id);
    // The first install finds the damage and quarantines the record; the next one, with no record left, still refuses.
    for (let i = 0; i < 2; i++) await expectCode(install(), 'STORE_CORRUPT_RECORD');
    expect((await b.vault.listQuarantine()).map((q) => [q.store, q.key])).toEqual([['secrets', 'local-revocations']]);
    expect(ids()).not.toContain(gone!.id);
    // An edit here (which would write a fresh record without the old holds) refuses too.
    await expectCode(b.ops.people.updateSubject(b.app.listSubjects()[0]!.id, { list: 'deny' }), 'STORE_CORRUPT_RECORD');
    // Clearing the quarantine is the admin's decision to go on without them: the desk's list is then installed as is.
    await b.ops.maintenance.clearQuarantine();
    await install();
    expect(ids()).toContain(gone!.id);
  }, 180_000);

  it('a deletion made while a bundle is being installed stays a deletion', async () => {
    // The install read this tablet's revocations, the admin's delete (its revocation, then the delete) committed, and
    // the install then wrote the desk's list with the person in it, allowed again (review, session 27).
    const clock = new AdjustableClock();
    const { a, b } = await deskAndKiosk('revoked-racing', clock);
    const person = await a.vault.enrol({ label: 'Person 1', list: 'allow', plates: [], templates: { fr_feature: [tpl(512, 1)] } });
    await a.app.watchlistSettled();
    const bundle = async () => new Blob([(await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes]);
    await b.ops.sync.importWatchlist(await bundle(), { sitePassphrase: SITE });
    await b.app.watchlistSettled();
    clock.advance(1000);
    const next = await bundle(); // the desk, not told of the delete to come, exports again
    // The install is held just before it writes its plan (the revocations are read by then).
    const { atApply, release } = holdInstallAtWrite(b);
    const installing = b.ops.sync.importWatchlist(next, { sitePassphrase: SITE });
    await atApply;
    const deleting = b.ops.people.deleteSubject(person.id);
    // Time for the delete to go through, if nothing makes it wait for the install.
    await Promise.race([deleting, new Promise((r) => setTimeout(r, 500))]);
    release();
    await installing;
    await deleting;
    await b.app.watchlistSettled();
    const after = b.app.listSubjects().find((x) => x.id === person.id);
    expect(after === undefined || (after.validUntil !== undefined && after.validUntil <= clock.wall()), JSON.stringify(after)).toBe(true);
  }, 120_000);

  it('an edit read before a bundle installs is refused after it, not written over the desk\'s deny or delete', async () => {
    // Attacker review (session 33): the edit read the person (allowed), waited for the install to finish, and wrote
    // the old record back: the desk had just moved them to the deny list (or deleted them), and they were allowed.
    const clock = new AdjustableClock();
    const { a, b } = await deskAndKiosk('edit-racing', clock);
    const [bob, cy] = await Promise.all(
      [1, 2].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    await installFresh(a, b, clock, cy!.id);
    // The desk denies Bob and deletes Cy, and exports; the kiosk's install is held just before it writes its plan.
    clock.advance(1000);
    await a.ops.people.updateSubject(bob!.id, { list: 'deny' });
    await a.ops.people.deleteSubject(cy!.id);
    await a.app.watchlistSettled();
    const next = new Blob([(await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes]);
    const { atApply, release } = holdInstallAtWrite(b);
    const installing = b.ops.sync.importWatchlist(next, { sitePassphrase: SITE });
    await atApply;
    // The admin at the kiosk saves a label edit of each meanwhile (read now, written once the install is done).
    const edits = [b.ops.people.updateSubject(bob!.id, { label: 'Bob, reception' }), b.ops.people.updateSubject(cy!.id, { label: 'Cy, reception' })];
    await Promise.race([Promise.allSettled(edits), new Promise((r) => setTimeout(r, 500))]);
    release();
    await installing;
    for (const e of edits) await expectCode(e, 'STORE_CONFLICT');
    await b.app.watchlistSettled();
    const byId = new Map(b.app.listSubjects().map((x) => [x.id, x]));
    expect(byId.get(bob!.id)?.list).toBe('deny');
    expect(byId.has(cy!.id)).toBe(false);
    // Tried again, on what is stored now, the edit goes through and keeps the desk's list.
    await b.ops.people.updateSubject(bob!.id, { label: 'Bob, reception' });
    expect(b.app.listSubjects().find((x) => x.id === bob!.id)).toMatchObject({ label: 'Bob, reception', list: 'deny' });
    // The people card sends every field of the row as drawn, with the version it showed: a row drawn before the desk's
    // next change (here: Bob's end) cannot write its old list and end back over it.
    const row = b.app.listSubjects().find((x) => x.id === bob!.id)!;
    const ends = clock.wall() + 60_000;
    await a.ops.people.updateSubject(bob!.id, { validUntil: ends });
    await installFresh(a, b, clock, bob!.id);
    const asDrawn = { label: 'Bob at the desk', list: 'allow' as const, validFrom: row.validFrom, validUntil: row.validUntil, seenVersion: row.version };
    await expectCode(b.ops.people.updateSubject(bob!.id, asDrawn), 'STORE_CONFLICT');
    expect(b.app.listSubjects().find((x) => x.id === bob!.id)).toMatchObject({ list: 'deny', validUntil: ends });
    // Drawn again (the version now shown), the admin's edit is theirs to make.
    const redrawn = b.app.listSubjects().find((x) => x.id === bob!.id)!;
    await b.ops.people.updateSubject(bob!.id, { label: 'Bob at the desk', seenVersion: redrawn.version });
    expect(b.app.listSubjects().find((x) => x.id === bob!.id)?.label).toBe('Bob at the desk');
  }, 120_000);

  it('a merge made on the kiosk is kept over the next bundle: the merged record stays denied (review, session 25)', async () => {
    const clock = new AdjustableClock();
    const { a, b } = await deskAndKiosk('merge-here', clock);
    const allowed = await a.vault.enrol({ label: 'Kim', list: 'allow', plates: [], templates: { fr_feature: [tpl(512, 1)] } });
    const denied = await a.vault.enrol({ label: 'Kim (banned)', list: 'deny', plates: [], templates: { fr_feature: [tpl(512, 2)] } });
    await a.app.watchlistSettled();
    const install = async () => {
      await b.ops.sync.importWatchlist(new Blob([(await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes]), { sitePassphrase: SITE });
      await b.app.watchlistSettled();
    };
    await install();
    // The same person twice: merged at the kiosk, the deny list wins.
    await b.ops.people.mergeSubjects(allowed.id, denied.id);
    expect(b.app.listSubjects().map((x) => [x.id, x.list])).toEqual([[allowed.id, 'deny']]);
    clock.advance(1000);
    await install();
    const after = new Map(b.app.listSubjects().map((x) => [x.id, x]));
    expect(after.get(allowed.id)?.list).toBe('deny');
    // The desk's ban comes back as the desk has it: a deletion here does not give a ban an end (session 34: an end
    // lifted a plate ban).
    expect(after.get(denied.id)).toMatchObject({ list: 'deny' });
    expect(after.get(denied.id)?.validUntil).toBeUndefined();
  }, 180_000);

  it('is not installed on a kiosk whose stored list lost a page, and no edit arms the held-back people meanwhile', async () => {
    // Review (session 24): planned from a list missing a page, a delta's deletion of a person on that page was dropped
    // as "not installed" while the version moved on, so after the admin's rebuild the revoked person was back.
    const clock = new AdjustableClock();
    const a = await openKiosk('delta-damaged-a', clock);
    const bName = uniqueName('delta-damaged-b');
    const b = await openKiosk('delta-damaged-b', clock, { name: bName, pageTargetBytes: 1 });
    await a.ops.setup(PASS, { role: 'attended' });
    await b.ops.setup(PASS, { role: 'attended' });
    await b.ops.sync.pinAdminKey((await a.ops.sync.adminPublicKey()).json);
    const people = await Promise.all(
      [1, 2, 3].map((i) => a.vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i)] } })),
    );
    await a.app.watchlistSettled();
    await b.ops.sync.importWatchlist(new Blob([(await a.ops.sync.exportWatchlist({ sitePassphrase: SITE })).bytes]), { sitePassphrase: SITE });
    await b.app.watchlistSettled();
    expect(labels(b)).toEqual(['Person 1', 'Person 2', 'Person 3']);

    // Person 2's page disappears from B's storage (no key needed); A revokes person 2.
    await rawDelete(bName, 'subjects', pageOf(await rawPages(bName), people[1]!.id).page);
    await b.app.watchlist.reload();
    expect(labels(b)).toEqual([]); // the allow list waits for the admin
    clock.advance(1000);
    await a.ops.people.deleteSubject(people[1]!.id);
    await a.app.watchlistSettled();
    const delta = await a.ops.sync.exportChanges({ sitePassphrase: SITE });
    const version = await b.vault.watchlistVersion();
    const refused = await expectCode(b.ops.sync.importWatchlist(new Blob([delta.bytes]), { sitePassphrase: SITE }), 'STORE_CORRUPT_RECORD');
    expect(refused).toMatchObject({ reason: 'install-incomplete' });
    expect(await b.vault.watchlistVersion()).toBe(version);

    // An edit meanwhile does not put one allow-list person back in force on their own.
    await b.ops.people.updateSubject(people[0]!.id, { label: 'Person 1 renamed' });
    await b.app.watchlistSettled();
    expect(labels(b)).toEqual([]);
    expect(b.app.snapshot.watchlist).toMatchObject({ damaged: true, heldBack: 2 });
    // Deleting someone revoked here waits too: a copy of their face on the lost page would not take their revocation.
    await b.ops.people.updateSubject(people[2]!.id, { list: 'deny' });
    expect(await expectCode(b.ops.people.deleteSubject(people[2]!.id), 'STORE_CORRUPT_RECORD')).toMatchObject({ reason: 'pass-on-incomplete' });
    // So is merging them away, and the refused merge leaves no revocation behind on the record it would have kept.
    const holdsBefore = await localRevocations(b.vault);
    expect(await expectCode(b.ops.people.mergeSubjects(people[0]!.id, people[2]!.id), 'STORE_CORRUPT_RECORD')).toMatchObject({
      reason: 'pass-on-incomplete',
    });
    expect(await localRevocations(b.vault)).toEqual(holdsBefore);

    // The admin rebuilds the index (accepting the loss); then the delta installs and B matches A.
    await b.vault.subjects.rebuildIndex();
    await b.app.watchlistSettled();
    await b.ops.sync.importWatchlist(new Blob([delta.bytes]), { sitePassphrase: SITE });
    await b.app.watchlistSettled();
    expect(labels(b)).toEqual(['Person 1 renamed', 'Person 3']);
  }, 180_000);
});
