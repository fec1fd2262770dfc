/**
 * This tablet's own revocations, kept over bundles: who an admin deleted, moved to the deny list or ended here.
 * A bundle from a desk that has not heard of the change (a scheduled pull, an old file) rewrites the person as the
 * desk has them; without this record it gave a person revoked at this kiosk their access back without a word
 * (attacker review, session 25). installBundle applies them to every bundle (src/sync/plan.ts keepLocalRevocations);
 * the admin re-allowing the person here (allow list, a later or no end) is what lifts one.
 *
 * Owns the sealed `local-revocations` record in the vault's secrets (written in an admin session, read with the
 * device unlock). Never sent anywhere: bundles go from desks to kiosks only.
 */
import type { LocalRevocation } from '../sync';
import type { Subject } from '../shared/types';
import type { Vault } from '../store';

const NAME = 'local-revocations';

export type LocalRevocations = Record<string, LocalRevocation>;

export async function localRevocations(vault: Vault): Promise<LocalRevocations> {
  return ((await vault.keys.get(NAME)) as LocalRevocations | undefined) ?? {};
}

/**
 * What a change of one person here does to their revocation: `after` undefined is a deletion (revoked from `now`);
 * a move to the deny list or an earlier end adds to it; the allow list, or an end later than the held one (or none),
 * lifts that part. Admin session (the caller's edit already asked for it).
 */
export async function noteChange(vault: Vault, before: Subject | undefined, after: Subject | undefined, now: number): Promise<void> {
  const id = before?.id ?? after?.id;
  if (!id) return;
  const all = await localRevocations(vault);
  const cur: LocalRevocation = { ...(Object.hasOwn(all, id) ? all[id] : {}) };
  if (!after) {
    cur.until = Math.min(cur.until ?? Infinity, now);
  } else {
    if (after.list === 'deny') cur.deny = true;
    else delete cur.deny;
    const ends = after.validUntil;
    const earlier = ends !== undefined && (before?.validUntil === undefined || ends < before.validUntil);
    if (earlier) cur.until = Math.min(cur.until ?? Infinity, ends);
    else if (cur.until !== undefined && (ends === undefined || ends > cur.until)) delete cur.until;
  }
  const next: LocalRevocations = { ...all };
  if (cur.deny || cur.until !== undefined) next[id] = cur;
  else delete next[id];
  if (JSON.stringify(next) !== JSON.stringify(all)) await vault.keys.put(NAME, next);
}
