/**
 * The people list's operations: edit a person (name, list, validity, plates), expire them now, delete them, and
 * merge two records of one person into one.
 *
 * Owns these edits; it reads and writes the stored record through the vault (never a copy in memory, so an edit
 * keeps the faces exactly as stored) and waits until the watchlist service has the change in force. Every
 * operation asks the authority for `edit` first and is audited once done (src/app/change-audit.ts: the person's id,
 * which fields changed or the other id of a merge; never a name). The rules (who holds a plate, what a merge keeps)
 * are the pure functions of src/app/people.ts; it never renders anything.
 */
import { KioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import type { SubjectInput } from '../store';
import { checkLabel, checkPlates } from './input-rules';
import type { Capability } from './authority';
import type { KioskController } from './controller';
import type { WatchSubject } from './watchlist';
import { assertPlatesFree, assertUnchanged, mergedRecord } from './people';
import { noteChange, passOnRevocation } from './local-revocations';
import {
  changedPersonFields,
  deletedReason,
  editedReason,
  mergedReason,
  recordChange,
  type EditVia,
} from './change-audit';

/**
 * What the people list may change of a person. `seenVersion`: the record's `version` as the form that sends every field showed it; a record stored since
 * (a bundle installed, another tab) refuses the edit (STORE_CONFLICT) rather than write the form's old list or end
 * back over it (attacker review, session 33).
 */
export type SubjectPatch = Partial<Pick<Subject, 'label' | 'list' | 'validFrom' | 'validUntil' | 'plates'>> & { seenVersion?: number };

export class PeopleService {
  constructor(private readonly app: KioskController) {}

  private get vault() {
    return this.app.vault;
  }

  /** Everyone enrolled, without templates (what the people list shows). */
  list(): WatchSubject[] {
    return this.app.listSubjects();
  }

  /**
   * Merges `otherId` into `keepId` (one transaction: the merged record is written and the other deleted, or
   * neither). The result keeps every photo and plate, stays on the deny list if either was, and takes the narrower
   * validity (src/app/people.ts).
   */
  async mergeSubjects(keepId: string, otherId: string): Promise<Subject> {
    this.require('edit');
    if (keepId === otherId) throw new KioskError('INPUT_INVALID', { field: 'merge' });
    const keep = await this.vault.subjects.get(keepId);
    const other = await this.vault.subjects.get(otherId);
    if (!keep || !other) throw new KioskError('INPUT_INVALID', { field: 'merge' });
    const merged = mergedRecord(keep, other);
    // Held over the next bundle like any revocation here: the merged record may be denied or end sooner than `keep`
    // was, and `other` is gone from this kiosk (a desk's bundle brought both back as they were).
    const s = await this.vault.asOneChange(async () => {
      const get = (id: string) => this.vault.subjects.get(id);
      await assertUnchanged(get, keep);
      await assertUnchanged(get, other);
      // A copy of `other`'s revoked face on `keep` (a desk merged them once) takes its revocation; first, since it
      // may refuse (a list with lost pages) and nothing written before a refusal is taken back (review, session 34).
      await passOnRevocation(this.vault, other);
      await noteChange(this.vault, keep, { id: keepId, list: merged.list, validUntil: merged.validUntil }, this.app.clock.wall());
      await noteChange(this.vault, other, undefined, this.app.clock.wall());
      return this.vault.subjects.putAndDelete(merged, otherId);
    });
    await recordChange(this.app, {
      outcome: 'people-merged',
      subjectId: keepId,
      reason: mergedReason(otherId),
      actor: 'admin',
    });
    await this.app.watchlistSettled();
    return s;
  }

  updateSubject(id: string, patch: SubjectPatch): Promise<void> {
    return this.update(id, patch, 'edit');
  }

  /**
   * Expire now: the person stays listed (for the audit trail) but no longer matches. The end is now, or earlier: an
   * end already past stays where it was (expiring again must not move it), and a visitor whose validity has not begun
   * ends at their start (validUntil is exclusive: never valid). That case was refused before (INPUT_INVALID, a start
   * after the end), so "Expire" failed on the very people registered for tomorrow.
   */
  async expireSubject(id: string): Promise<void> {
    this.require('edit');
    const cur = await this.vault.subjects.get(id);
    if (!cur) throw new KioskError('INPUT_INVALID', { field: 'id' });
    const end = Math.min(this.app.clock.wall(), cur.validUntil ?? Infinity);
    return this.update(
      id,
      { validUntil: cur.validFrom !== undefined && cur.validFrom > end ? cur.validFrom : end },
      'expire',
    );
  }

  async deleteSubject(id: string): Promise<void> {
    this.require('edit');
    // The list they were on, from the watchlist in memory: deleting someone from the deny list is what matters here.
    const list = this.app.listSubjects().find((s) => s.id === id)?.list;
    // Kept over the next bundle (recorded first): a desk that has not heard of it must not bring the person back.
    // One change with the delete: a bundle installing meanwhile plans against the revocations before or after both.
    await this.vault.asOneChange(async () => {
      // Read inside the lock: an install just before may have changed the record whose copies are looked for.
      const before = await this.vault.subjects.get(id);
      if (before) {
        await passOnRevocation(this.vault, before);
        await noteChange(this.vault, before, undefined, this.app.clock.wall());
      }
      await this.vault.subjects.delete(id);
    });
    await recordChange(this.app, {
      outcome: 'person-deleted',
      subjectId: id,
      reason: deletedReason(list),
      actor: 'admin',
    });
    await this.app.watchlistSettled();
  }

  /** An edit; audited with the fields that changed (nothing is recorded for a save that changed nothing). */
  private async update(id: string, patch: SubjectPatch, via: EditVia): Promise<void> {
    this.require('edit');
    // The stored record (with its templates), not a copy in memory: the edit keeps the faces exactly as stored.
    const cur = await this.vault.subjects.get(id);
    if (!cur) throw new KioskError('INPUT_INVALID', { field: 'id' });
    if (patch.seenVersion !== undefined && patch.seenVersion !== cur.version) throw new KioskError('STORE_CONFLICT', { id, reason: 'stale-form' });
    const next: SubjectInput = {
      id,
      label: checkLabel(patch.label ?? cur.label),
      list: patch.list ?? cur.list,
      templates: cur.templates,
      // Stored plates are kept as they are unless the edit is of plates: a plate listed before an input rule was
      // added (PLATE_MIN_CHARS) must not stop an admin from expiring the person or moving them to the deny list.
      plates: patch.plates ? checkPlates(patch.plates) : cur.plates,
    };
    if (patch.plates) assertPlatesFree(this.app.listSubjects(), next.plates, id);
    const vf = 'validFrom' in patch ? patch.validFrom : cur.validFrom;
    const vu = 'validUntil' in patch ? patch.validUntil : cur.validUntil;
    if (vf !== undefined) next.validFrom = vf;
    if (vu !== undefined) next.validUntil = vu;
    const after = await this.vault.asOneChange(async () => {
      await assertUnchanged((i) => this.vault.subjects.get(i), cur);
      await noteChange(this.vault, cur, { id, list: next.list, validUntil: next.validUntil }, this.app.clock.wall());
      return this.vault.subjects.put(next);
    });
    const fields = changedPersonFields(cur, after);
    if (fields.length)
      await recordChange(this.app, {
        outcome: 'person-edited',
        subjectId: id,
        reason: editedReason(via, fields),
        actor: 'admin',
      });
    await this.app.watchlistSettled();
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
