/**
 * A person is one record: the rules that keep it so when an admin enrols, adds to or merges people.
 *
 * Owns: finding who already holds a plate (the same plate after normalisation and folding of glyphs that are the
 * same on a plate, O/0 and I/1 style), finding an enrolled person a new face matches at or above the accept threshold
 * (the door would take the new photo for them), and what a merge of two records keeps. Pure functions over subject
 * records (the watchlist service's list, or the vault's records where templates are needed); they never read the store or touch a runtime.
 * Must never: weaken a record by merging (a person on the deny list stays on it; the narrower validity wins).
 */
import { cosineSimilarity } from '../matching/face/similarity';
import { foldIdenticalGlyphs, normalisePlate } from '../matching/plates';
import { KioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import type { SubjectInput } from '../store';
import { sameSubject } from '../sync/plan';

/** The person (other than `except`) who already holds `plate`, if any. */
export function plateHolder<S extends Pick<Subject, 'id' | 'plates'>>(subjects: readonly S[], plate: string, except?: string): S | undefined {
  const want = foldIdenticalGlyphs(normalisePlate(plate));
  if (!want) return undefined;
  return subjects.find((s) => s.id !== except && s.plates.some((p) => foldIdenticalGlyphs(normalisePlate(p)) === want));
}

/** Refuses a plate another person already holds with ENROL_PLATE_TAKEN naming the holder by id (the screen names them). */
export function assertPlatesFree(subjects: readonly Pick<Subject, 'id' | 'plates'>[], plates: readonly string[], owner?: string): void {
  for (const p of plates) {
    const holder = plateHolder(subjects, p, owner);
    if (holder) throw new KioskError('ENROL_PLATE_TAKEN', { plate: p, holderId: holder.id });
  }
}

export interface FaceDuplicate {
  subject: Subject;
  score: number;
}

/**
 * The enrolled person (other than `except`) whom any of `templates` matches best at or above `accept`, for the
 * embedder the templates were made with; undefined when the faces are new.
 */
export function faceDuplicate(
  subjects: readonly Subject[],
  templates: readonly Float32Array[],
  embedder: string,
  accept: number,
  except?: string,
): FaceDuplicate | undefined {
  let best: FaceDuplicate | undefined;
  for (const s of subjects) {
    if (s.id === except) continue;
    for (const enrolled of s.templates[embedder] ?? []) {
      for (const t of templates) {
        if (t.length !== enrolled.length) continue;
        const score = cosineSimilarity(t, enrolled);
        if (score >= accept && (!best || score > best.score)) best = { subject: s, score };
      }
    }
  }
  return best;
}

/**
 * One record from two: `keep`'s id and label; every template and plate of both; the deny list if either was on it;
 * the later start and the earlier end of their validity periods (the narrower one).
 */
export function mergedRecord(keep: Subject, other: Subject): SubjectInput {
  const templates: Record<string, Float32Array[]> = {};
  for (const s of [keep, other]) for (const [name, list] of Object.entries(s.templates)) templates[name] = [...(templates[name] ?? []), ...list];
  const plates = [...keep.plates];
  for (const p of other.plates) if (!plates.some((q) => foldIdenticalGlyphs(q) === foldIdenticalGlyphs(p))) plates.push(p);
  const pick = (a: number | undefined, b: number | undefined, f: (x: number, y: number) => number) =>
    a === undefined ? b : b === undefined ? a : f(a, b);
  const validFrom = pick(keep.validFrom, other.validFrom, Math.max);
  const validUntil = pick(keep.validUntil, other.validUntil, Math.min);
  return {
    id: keep.id,
    label: keep.label,
    list: keep.list === 'deny' || other.list === 'deny' ? 'deny' : 'allow',
    templates,
    plates,
    ...(validFrom !== undefined ? { validFrom } : {}),
    ...(validUntil !== undefined ? { validUntil } : {}),
  };
}

/**
 * Refuses (STORE_CONFLICT) an edit built from `read` when the stored record is no longer that: called inside the
 * edit's `asOneChange`, after a bundle install (which holds the same lock) may have moved or deleted the person.
 * An edit read before the install and written after it put the old record back: a person the desk had just moved to
 * the deny list or deleted was allowed again, faces and all (attacker review, session 33).
 */
export async function assertUnchanged(get: (id: string) => Promise<Subject | null | undefined>, read: Subject): Promise<void> {
  const now = await get(read.id);
  if (!now || !sameSubject(now, read)) throw new KioskError('STORE_CONFLICT', { id: read.id, reason: now ? 'changed' : 'deleted' });
}
