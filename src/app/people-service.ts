/**
 * The people list's operations: edit a person (name, list, validity, plates), expire them now, delete them, and
 * merge two records of one person into one.
 *
 * Owns these edits; it reads and writes the stored record through the vault (never a copy in memory, so an edit
 * keeps the faces exactly as stored) and waits until the watchlist service has the change in force. Every
 * operation asks the authority for `edit` first. The rules (who holds a plate, what a merge keeps) are the pure
 * functions of src/app/people.ts; it never renders anything.
 */
import { KioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import type { SubjectInput } from '../store';
import { checkLabel, checkPlates } from './input-rules';
import type { Capability } from './authority';
import type { KioskController } from './controller';
import type { WatchSubject } from './watchlist';
import { assertPlatesFree, mergedRecord } from './people';

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
    const s = await this.vault.subjects.putAndDelete(mergedRecord(keep, other), otherId);
    await this.app.watchlistSettled();
    return s;
  }

  async updateSubject(
    id: string,
    patch: Partial<Pick<Subject, 'label' | 'list' | 'validFrom' | 'validUntil' | 'plates'>>,
  ): Promise<void> {
    this.require('edit');
    // The stored record (with its templates), not a copy in memory: the edit keeps the faces exactly as stored.
    const cur = await this.vault.subjects.get(id);
    if (!cur) throw new KioskError('INPUT_INVALID', { field: 'id' });
    const next: SubjectInput = {
      id,
      label: checkLabel(patch.label ?? cur.label),
      list: patch.list ?? cur.list,
      templates: cur.templates,
      plates: checkPlates(patch.plates ?? cur.plates),
    };
    if (patch.plates) assertPlatesFree(this.app.listSubjects(), next.plates, id);
    const vf = 'validFrom' in patch ? patch.validFrom : cur.validFrom;
    const vu = 'validUntil' in patch ? patch.validUntil : cur.validUntil;
    if (vf !== undefined) next.validFrom = vf;
    if (vu !== undefined) next.validUntil = vu;
    await this.vault.subjects.put(next);
    await this.app.watchlistSettled();
  }

  /** Expire now: the person stays listed (for the audit trail) but no longer matches. */
  expireSubject(id: string): Promise<void> {
    return this.updateSubject(id, { validUntil: this.app.clock.wall() });
  }

  async deleteSubject(id: string): Promise<void> {
    this.require('edit');
    await this.vault.subjects.delete(id);
    await this.app.watchlistSettled();
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
