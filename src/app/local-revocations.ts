/**
 * This tablet's own revocations, kept over bundles: who an admin deleted, moved to the deny list or ended here.
 * A bundle from a desk that has not heard of the change (a scheduled pull, an old file) rewrites the person as the
 * desk has them; without this record it gave a person revoked at this kiosk their access back without a word
 * (attacker review, session 25). installBundle applies them to every bundle (src/sync/plan.ts keepLocalRevocations);
 * the admin re-allowing the person here (allow list, a later or no end) is what lifts one. Deleting or merging away a
 * revoked record here passes its revocation on to the records holding copies of it (passOnRevocation).
 *
 * Owns the sealed `local-revocations` record in the vault's secrets (written in an admin session, read with the
 * device unlock). Never sent anywhere: bundles go from desks to kiosks only.
 */
import { copiesOfFace, type LocalRevocation } from '../sync';
import { KioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import { loadIncomplete, type Vault } from '../store';

const NAME = 'local-revocations';

export type LocalRevocations = Record<string, LocalRevocation>;

/** The hold kept for `id` (a copy; empty when there is none). */
const holdOf = (all: LocalRevocations, id: string): LocalRevocation => ({ ...(Object.hasOwn(all, id) ? all[id] : {}) });

/**
 * This tablet's revocations; none when the record was never written. A record that failed its check waits in the
 * quarantine, and read as none it let the next bundle (a scheduled pull) give everyone revoked here their access
 * back (attacker review, session 33): while it is there, installs and edits refuse (STORE_CORRUPT_RECORD). Clearing
 * the quarantine (the storage card, audited) is the admin's decision to go on without them.
 */
export async function localRevocations(vault: Vault): Promise<LocalRevocations> {
  const held = (await vault.keys.get(NAME)) as LocalRevocations | undefined;
  if (held) return held;
  if ((await vault.listQuarantine()).some((q) => q.store === 'secrets' && q.key === NAME))
    throw new KioskError('STORE_CORRUPT_RECORD', { store: 'secrets', key: NAME, reason: 'local-revocations-quarantined' });
  return {};
}

/**
 * A person enrolled here on the deny list: kept over bundles that leave them out (src/sync/plan.ts
 * keepLocalRevocations), until deleted or moved to the allow list here. Call inside the same `asOneChange` as the
 * enrolment, so no install plans between the two. Admin session.
 */
export async function noteEnrolledDeny(vault: Vault, id: string): Promise<void> {
  const all = await localRevocations(vault);
  await vault.keys.put(NAME, { ...all, [id]: { ...holdOf(all, id), deny: true, keep: true } });
}

/**
 * Before a person revoked here (denied or ended) is deleted here: other records holding a copy of their face, or of
 * the plate of someone ended here (a desk merged them into one, and installs carried the revocation over by the copy,
 * src/sync/plan.ts keepLocalRevocations) take the revocation as holds of their own. Once the record is gone the next
 * bundle has nothing to find the copy by, and deleting an old record would have lifted the ban on the face (review,
 * session 34). A record not revoked passes nothing on (deleting someone is not ending their other record). The
 * watchlist is read only when there is something to pass on. Call inside the deletion's (or merge's) `asOneChange`,
 * before noteChange. Admin session.
 */
export async function passOnRevocation(vault: Vault, before: Subject): Promise<void> {
  const all = await localRevocations(vault);
  const h = holdOf(all, before.id);
  if (!h.deny && h.until === undefined) return;
  const { subjects: listed, report } = await vault.loadWatchlist();
  // A copy on a lost page would be missed, and the ban lifted with the deletion: refuse until the rebuild.
  if (loadIncomplete(report)) throw new KioskError('STORE_CORRUPT_RECORD', { reason: 'pass-on-incomplete' });
  const heirs = copiesOfFace(before, listed, h);
  if (!heirs.length) return;
  const next: LocalRevocations = { ...all };
  for (const id of heirs) {
    const cur = holdOf(all, id);
    // As an install passes it on. An end is kept for a record on the deny list too: installs give a ban no end, but
    // if the desk lifts its ban the end applies (review, session 34).
    if (h.deny) cur.deny = true;
    if (h.until !== undefined) cur.until = Math.min(cur.until ?? Infinity, h.until);
    next[id] = cur;
  }
  if (JSON.stringify(next) !== JSON.stringify(all)) await vault.keys.put(NAME, next);
}

/** Written once every installed deny record has a keep hold (markKeepHolds): the mark of a tablet set up since. */
const KEEP_MARK = 'local-revocations-keep';

/**
 * The holds an install plans with. Before session 33 a deny enrolment here wrote no keep hold, and a record enrolled
 * here cannot be told from one a desk sent; until an admin session has marked them (markKeepHolds), every installed
 * deny record counts as kept, so the first scheduled pull after an upgrade deletes no ban made here (review of the
 * keep holds, session 33). Device unlock.
 */
export async function holdsForInstall(vault: Vault, installed: readonly PersonState[]): Promise<LocalRevocations> {
  const holds = await localRevocations(vault);
  if ((await vault.keys.get(KEEP_MARK)) !== undefined) return holds;
  return withKeep(holds, installed);
}

function withKeep(holds: LocalRevocations, installed: readonly PersonState[]): LocalRevocations {
  const out: LocalRevocations = { ...holds };
  for (const p of installed) if (p.list === 'deny') out[p.id] = { ...holdOf(holds, p.id), keep: true };
  return out;
}

/**
 * Once per tablet, in an admin session (set-up and each unlock until it is done): every installed deny record gets a
 * keep hold, then the mark. Kept over bundles from then on: a ban the desk lifts by deleting the record stays on this
 * tablet until deleted here (a ban lifted by moving the person to the allow list reaches it as before). Set up since,
 * a tablet has nothing installed to mark.
 */
export async function markKeepHolds(vault: Vault): Promise<void> {
  if ((await vault.keys.get(KEEP_MARK)) !== undefined) return;
  await vault.asOneChange(async () => {
    const { subjects, report } = await vault.loadWatchlist();
    // A list that lost pages would mark too few and write the mark anyway: a ban on a page that came back later had
    // no hold (review, session 33). Installs wait for the rebuild too; the next unlock tries again.
    if (loadIncomplete(report)) throw new KioskError('STORE_CORRUPT_RECORD', { reason: 'keep-holds-incomplete' });
    const holds = await localRevocations(vault);
    const next = withKeep(holds, subjects);
    if (JSON.stringify(next) !== JSON.stringify(holds)) await vault.keys.put(NAME, next);
    await vault.keys.put(KEEP_MARK, { v: 1 });
  });
}

/** What noteChange needs of a person before and after a change. */
export type PersonState = Pick<Subject, 'id' | 'list' | 'validUntil'>;

/**
 * What a change of one person here does to their revocation, recorded BEFORE the change is written (a hold for
 * someone still listed does no harm; a change written without its hold would be undone by the next bundle):
 * `after` undefined is a deletion (revoked from `now`); a move from the allow to the deny list, or an earlier end,
 * adds to it; a move to the allow list, or an end that is none or still ahead of `now`, lifts that part (the admin
 * re-allowed the person here). An end moved but still past keeps the person revoked, from that end. Admin session
 * (the caller's edit already asked for it).
 */
export async function noteChange(vault: Vault, before: PersonState | undefined, after: PersonState | undefined, now: number): Promise<void> {
  const id = before?.id ?? after?.id;
  if (!id) return;
  const all = await localRevocations(vault);
  const cur = holdOf(all, id);
  if (!after) {
    cur.until = Math.min(cur.until ?? Infinity, now);
    // Deleted here: nothing of theirs is kept over a bundle that leaves them out.
    delete cur.keep;
  } else {
    // Only a move onto the deny list made here is held: someone the desk listed as denied is the desk's to re-allow.
    if (after.list === 'allow') {
      delete cur.deny;
      delete cur.keep;
    } else if (before?.list !== 'deny') cur.deny = true;
    const ends = after.validUntil;
    const earlier = ends !== undefined && (before?.validUntil === undefined || ends < before.validUntil);
    if (earlier) cur.until = Math.min(cur.until ?? Infinity, ends);
    // Re-allowed here until a later end: the hold moves to that end (deleting it let a bundle with no end for the
    // person give them access for good; attacker review, session 33). With no end, it is lifted.
    else if (cur.until !== undefined && ends === undefined) delete cur.until;
    else if (cur.until !== undefined && ends !== undefined) cur.until = ends;
  }
  const next: LocalRevocations = { ...all };
  if (cur.deny || cur.until !== undefined || cur.keep) next[id] = cur;
  else delete next[id];
  if (JSON.stringify(next) !== JSON.stringify(all)) await vault.keys.put(NAME, next);
}
