/**
 * Pure planning of a watchlist change: from the installed watchlist and a verified bundle, the complete new
 * subject set and the puts/deletes that produce it; and, on the admin side, the delta between two versions.
 *
 * No I/O, no crypto, no clock: the store calls applyPlan with what it read inside the transaction that will
 * write the result, so the version check and the write happen against the same state (docs/sync.md lists what
 * the store must guarantee). applyPlan refuses anything that is not a forward step from exactly what is
 * installed, and never mutates its inputs.
 */
import { foldIdenticalGlyphs, normalisePlate } from '../matching/plates';
import { KioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import type { BundleContents, DeltaChanges, InstalledWatchlist, WatchlistPlan } from './types';

function byId(a: Subject, b: Subject): number {
  // Code-unit order, not localeCompare: the same set sorts the same on every device and locale.
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function indexById(subjects: readonly Subject[], onDuplicate: () => KioskError): Map<string, Subject> {
  const map = new Map<string, Subject>();
  for (const s of subjects) {
    if (map.has(s.id)) throw onDuplicate();
    map.set(s.id, s);
  }
  return map;
}

/**
 * The complete change a verified bundle makes to the installed watchlist. Throws BUNDLE_ROLLBACK when the bundle
 * is not newer than what is installed or is a delta from another base, BUNDLE_INVALID when its contents
 * contradict themselves (duplicate ids, an id both upserted and deleted), INPUT_INVALID for a bad installed state.
 */
export function applyPlan(current: InstalledWatchlist, contents: BundleContents): WatchlistPlan {
  const installed = current.version;
  if (!Number.isSafeInteger(installed) || installed < 0)
    throw new KioskError('INPUT_INVALID', { reason: 'installed-version' });
  if (!(contents.version > installed)) {
    throw new KioskError('BUNDLE_ROLLBACK', { reason: 'not-newer', installed, bundle: contents.version });
  }
  const installedById = indexById(
    current.subjects,
    () => new KioskError('INPUT_INVALID', { reason: 'installed-duplicate-id' }),
  );
  const dup = () => new KioskError('BUNDLE_INVALID', { reason: 'payload', field: 'duplicate-id' });

  if (contents.kind === 'full') {
    const next = indexById(contents.subjects, dup);
    return {
      kind: 'full',
      fromVersion: installed,
      toVersion: contents.version,
      subjects: [...contents.subjects].sort(byId),
      puts: [...contents.subjects],
      deletes: [...installedById.keys()].filter((id) => !next.has(id)).sort(),
    };
  }

  if (contents.baseVersion !== installed) {
    throw new KioskError('BUNDLE_ROLLBACK', { reason: 'base-mismatch', installed, base: contents.baseVersion });
  }
  const upserts = indexById(contents.upserts, dup);
  const deletions = new Set<string>();
  for (const id of contents.deletions) {
    if (deletions.has(id)) throw dup();
    if (upserts.has(id)) throw new KioskError('BUNDLE_INVALID', { reason: 'payload', field: 'upsert-and-delete' });
    deletions.add(id);
  }
  const next = new Map(installedById);
  // Deleting an id that is not installed is already the wanted end state, so it is not an error.
  const deletes = [...deletions].filter((id) => next.delete(id)).sort();
  for (const [id, s] of upserts) next.set(id, s);
  return {
    kind: 'delta',
    fromVersion: installed,
    toVersion: contents.version,
    subjects: [...next.values()].sort(byId),
    puts: [...contents.upserts],
    deletes,
  };
}

/**
 * A revocation an admin made on this tablet (deleted, moved to the deny list, or ended): `deny` or an end `until`
 * (ms) that a bundle must not undo. Kept until the admin re-allows the person here. `keep`: the person was enrolled
 * on the deny list here, so no desk's bundle lists them; a bundle that leaves them out does not delete them (since
 * session 34 a `deny` hold keeps an installed record too, so `keep` adds to it only on an upgraded tablet's first
 * installs, holdsForInstall).
 */
export interface LocalRevocation {
  deny?: true;
  until?: number;
  keep?: true;
}

/**
 * `s` under hold `h`: on the deny list if it holds a deny, else ended by its end if that is sooner (the same object if
 * neither changes it). A record on the deny list is never given an end: a plate ban is checked for validity, so an end
 * lifted it (review, session 34). Its own dates (the desk's) are kept, so re-allowing here brings them back; an end
 * the desk gave the record itself still ends its plate ban then, as it does a desk's ban (faces ignore validity).
 */
function restricted(s: Subject, h: LocalRevocation): Subject {
  if (h.deny) return s.list === 'deny' ? s : { ...s, list: 'deny' };
  if (h.until === undefined || s.list === 'deny') return s;
  // Never valid when it had not begun by then (validUntil is exclusive), as "Expire" does.
  const end = s.validFrom !== undefined && s.validFrom > h.until ? s.validFrom : h.until;
  // Already ended by then: the same object, so an install does not rewrite (and count) it every time.
  return s.validUntil !== undefined && s.validUntil <= end ? s : { ...s, validUntil: end };
}

/** Both revocations at once: a deny if either is, the earlier end. */
function both(a: LocalRevocation | undefined, b: LocalRevocation | undefined): LocalRevocation | undefined {
  if (!a || !b) return a ?? b;
  const until = Math.min(a.until ?? Infinity, b.until ?? Infinity);
  return { ...(a.deny || b.deny ? { deny: true as const } : {}), ...(until !== Infinity ? { until } : {}) };
}

/**
 * A cheap key for a template's exact bytes (the embedder's name, length and two 32-bit hashes); equal keys are then
 * compared bit for bit.
 */
function templateKey(name: string, t: Float32Array): string {
  const w = new Uint32Array(t.buffer, t.byteOffset, t.length);
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < w.length; i++) {
    a = Math.imul(a ^ w[i]!, 0x01000193);
    b = Math.imul(b ^ w[i]!, 0x85ebca6b) ^ (b >>> 15);
  }
  return `${name}/${t.length}/${a >>> 0}/${b >>> 0}`;
}

/** A plate as the desk's uniqueness check compares it (people.ts plateHolder): normalised, look-alike glyphs folded. */
const plateKey = (p: string): string => foldIdenticalGlyphs(normalisePlate(p));
/** Plate keys worth comparing: a plate that normalises to nothing is no one's (as plateHolder skips it). */
const plateKeys = (s: Subject): string[] => s.plates.map(plateKey).filter((k) => k.length > 0);

/**
 * Which installed records revoked here have a face or plate listed under another record too, and what that record
 * takes on: a template of another record the same bit for bit as one of a carrier's, or, from a record ended here, the
 * same plate (a merge or "add photos" copies templates, a merge moves plates; the bundle codec and the store keep
 * their bytes, and a plate is listed on one record at a time). Another record revoked here is looked at too (its own
 * hold may be weaker). Returns the carrier ids with a copy listed, and for each other record the revocations it
 * shares (deny if any carrier's is, the earliest end).
 */
function copiesOfRevokedFaces(
  carriers: readonly Subject[],
  others: readonly Subject[],
  holds: Readonly<Record<string, LocalRevocation>>,
): { copied: Set<string>; shared: Map<string, LocalRevocation> } {
  const copied = new Set<string>();
  const shared = new Map<string, LocalRevocation>();
  if (!carriers.length) return { copied, shared };
  const index = new Map<string, { id: string; t: Float32Array }[]>();
  const plates = new Map<string, string[]>();
  for (const c of carriers) {
    for (const [name, list] of Object.entries(c.templates))
      for (const t of list) {
        const k = templateKey(name, t);
        index.set(k, [...(index.get(k) ?? []), { id: c.id, t }]);
      }
    // A plate spreads only from a record ended here: one denied here stays installed when the desk deletes it, and its
    // plate ban outranks any other record's (src/matching/plates/decide.ts); spread, a plate reissued later to
    // someone else put that person's face on the deny list too (review, session 34).
    if (!holds[c.id]?.deny) for (const k of plateKeys(c)) plates.set(k, [...(plates.get(k) ?? []), c.id]);
  }
  const share = (from: string, to: string) => {
    copied.add(from);
    shared.set(to, both(shared.get(to), holds[from])!);
  };
  for (const o of others) {
    for (const [name, list] of Object.entries(o.templates))
      for (const t of list)
        for (const hit of index.get(templateKey(name, t)) ?? [])
          if (hit.id !== o.id && sameFloats(hit.t, t)) share(hit.id, o.id);
    for (const k of plateKeys(o)) for (const id of plates.get(k) ?? []) if (id !== o.id) share(id, o.id);
  }
  return { copied, shared };
}

/**
 * Ids of the records in `among` that an install would restrict by `of`'s hold: they hold a copy of one of its
 * templates (the same bit for bit) or, when the hold is an end and no deny, its plate. Pure.
 */
export function copiesOfFace(of: Subject, among: readonly Subject[], hold: LocalRevocation): string[] {
  return [...copiesOfRevokedFaces([of], among, { [of.id]: hold }).shared.keys()].sort();
}

/**
 * The plan with this tablet's own revocations kept: a record the bundle writes for a person revoked here goes in
 * on the deny list, or ended by the revocation's time, whichever the revocation was (a deleted person comes back
 * ended, so the admin sees them and can decide). Without it, the next bundle from a desk that had not heard of the
 * revocation — a scheduled pull, an old file — gave the person their access back without a word (attacker review,
 * session 25). A deny-listed record enrolled here (`keep`) stays when the bundle leaves it out: a full bundle
 * deleted it, and a look-alike record of the same person on the desk's allow list then matched alone (attacker
 * review, session 33).
 *
 * Holds follow ids, and a desk that merges a person revoked here into their other record deletes the revoked id and
 * sends the other, allowed, with the revoked face's templates and plates: the person walked in (review, session 34).
 * So a face revoked here stays revoked under whichever record holds a copy of it, and so does the plate of someone
 * ended here (copiesOfRevokedFaces): that record goes in on the deny list when the face was denied here, ended by the
 * end given here when it was ended. An installed record denied here that the bundle deletes stays installed (a ban
 * made here is this tablet's to lift; its match vetoes a grant to a re-enrolled record of the same face, and its
 * plate ban outranks another record's plate); one ended here stays while a copy of it is listed (it is what the next
 * bundle finds the copy by). A ban is never given an end (restricted). A person deleted here has no record left to
 * find a copy by (a deletion forgets the face; the deny list is how to ban).
 * `installed`: the watchlist the plan was made from. Pure; returns the ids it changed.
 */
export function keepLocalRevocations(
  plan: WatchlistPlan,
  holds: Readonly<Record<string, LocalRevocation>>,
  installed: readonly Subject[],
): { plan: WatchlistPlan; kept: string[] } {
  const kept: string[] = [];
  const holdFor = (id: string) => (Object.hasOwn(holds, id) ? holds[id] : undefined);
  // Installed records revoked here (denied or ended) whose face or plate may be listed under another record too.
  const carriers = installed.filter((s) => {
    const h = holdFor(s.id);
    return h !== undefined && (h.deny === true || h.until !== undefined);
  });
  const { copied, shared } = copiesOfRevokedFaces(carriers, plan.subjects, holds);
  // A record's own hold and what it shares with a copy, applied as one (so a deny is never followed by an end).
  const held = (s: Subject): Subject => {
    const h = both(holdFor(s.id), shared.get(s.id));
    const out = h ? restricted(s, h) : s;
    if (out !== s) kept.push(s.id);
    return out;
  };
  let subjects = plan.subjects.map(held);
  const changed = new Map(subjects.filter((x, i) => x !== plan.subjects[i]).map((x) => [x.id, x]));
  // Every record changed is written: a delta's puts, and an installed record a copy now restricts.
  const written = new Set(plan.puts.map((p) => p.id));
  let puts = [
    ...plan.puts.map((p) => changed.get(p.id) ?? p),
    ...[...changed.values()].filter((c) => !written.has(c.id)),
  ];
  let deletes = plan.deletes;
  const listed = new Set(subjects.map((s) => s.id));
  const gone = new Set(deletes);
  const stay = installed.filter(
    (s) =>
      !listed.has(s.id) &&
      ((s.list === 'deny' && holdFor(s.id)?.keep) ||
        (gone.has(s.id) && (copied.has(s.id) || holdFor(s.id)?.deny === true))),
  );
  if (stay.length) {
    const ids = new Set(stay.map((s) => s.id));
    kept.push(...ids);
    deletes = deletes.filter((id) => !ids.has(id));
    const staying = stay.map((s) => {
      const h = holdFor(s.id);
      return h ? restricted(s, h) : s;
    });
    subjects = [...subjects, ...staying].sort(byId);
    // A full plan is written as its subjects (replacing all); a delta as its puts, which need not rewrite them; a
    // record kept with a hold it did not yet show is written too.
    const rewrite = staying.filter((s, i) => plan.kind === 'full' || s !== stay[i]);
    puts = [...puts, ...rewrite];
  }
  return {
    plan: { ...plan, puts, subjects, deletes },
    kept: [...new Set(kept)].sort(),
  };
}

/** A deleted subject remembered by the admin's store, with the watchlist version that deleted it. */
export interface Tombstone {
  id: string;
  version: number;
}

/**
 * Delta since `baseVersion` when each Subject.version holds the watchlist version of its last change and the
 * admin's store keeps tombstones for deletions: what changed after the base, and what was deleted after it.
 */
export function changesSince(
  subjects: readonly Subject[],
  tombstones: readonly Tombstone[],
  baseVersion: number,
): DeltaChanges {
  const upserts = subjects.filter((s) => s.version > baseVersion);
  const live = new Set(subjects.map((s) => s.id));
  const deletions = [
    ...new Set(tombstones.filter((t) => t.version > baseVersion && !live.has(t.id)).map((t) => t.id)),
  ].sort();
  return { upserts, deletions };
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  // Bit patterns, not values: -0 vs 0 or two NaNs must count as a change if the bytes differ.
  const x = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const y = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return x.every((v, i) => v === y[i]);
}

/** True when two subjects would encode to the same bundle bytes. */
export function sameSubject(a: Subject, b: Subject): boolean {
  if (
    a.id !== b.id ||
    a.label !== b.label ||
    a.list !== b.list ||
    !Object.is(a.validFrom, b.validFrom) ||
    !Object.is(a.validUntil, b.validUntil) ||
    !Object.is(a.createdAt, b.createdAt) ||
    !Object.is(a.updatedAt, b.updatedAt) ||
    !Object.is(a.version, b.version) ||
    a.plates.length !== b.plates.length ||
    a.plates.some((p, i) => p !== b.plates[i])
  ) {
    return false;
  }
  const ka = Object.keys(a.templates).sort();
  const kb = Object.keys(b.templates).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  for (const k of ka) {
    const ta = a.templates[k]!;
    const tb = b.templates[k]!;
    if (ta.length !== tb.length || ta.some((t, i) => !sameFloats(t, tb[i]!))) return false;
  }
  return true;
}

/** Delta between two snapshots of the watchlist (for an admin store that keeps the exported snapshot). */
export function diffWatchlists(base: readonly Subject[], next: readonly Subject[]): DeltaChanges {
  const before = new Map(base.map((s) => [s.id, s]));
  const after = new Set(next.map((s) => s.id));
  const upserts = next.filter((s) => {
    const old = before.get(s.id);
    return !old || !sameSubject(old, s);
  });
  const deletions = [...before.keys()].filter((id) => !after.has(id)).sort();
  return { upserts, deletions };
}
