/**
 * Encoding of the bundle payload (the plaintext inside AES-GCM): subjects for a full bundle, upserts and deletions
 * for a delta. Layout in docs/sync.md.
 *
 * Pure and runtime-neutral. The writer validates every Subject and refuses what a kiosk would refuse
 * (INPUT_INVALID, with the field and index, never the value); the reader is only ever given plaintext that
 * decrypted under a verified signature, yet it still parses strictly (bounds, limits, duplicate ids, trailing
 * bytes) because a buggy admin build must not be able to install a half-parsed watchlist. Templates travel as
 * their exact Float32 bit patterns; timestamps and versions as float64, the only encoding that round-trips every
 * JS number.
 */
import { KioskError, isKioskError } from '../shared/errors';
import type { ListKind, Subject } from '../shared/types';
import type { BundleKind, DeltaChanges } from './types';
import { ByteReader, ByteWriter, invalid, strictUtf8 } from './bytes';
import { validateSubject } from '../shared/subject-schema';

/**
 * The wire format's own ceilings (what a reader will parse at all). What a subject may hold is the one schema's
 * (src/shared/subject-schema.ts), which is stricter and is checked on both sides.
 */
export const LIMITS = {
  idBytes: 256,
  labelBytes: 1024,
  embedders: 16,
  embedderNameBytes: 64,
  templateDim: 4096,
  templatesPerEmbedder: 1024,
  plates: 256,
  plateBytes: 64,
} as const;

/** Starts with a letter or digit, so `__proto__` and friends can never become a templates key. */
const EMBEDDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const LIST_CODE: Record<ListKind, number> = { allow: 0, deny: 1 };
const LIST_BY_CODE: Record<number, ListKind> = { 0: 'allow', 1: 'deny' };

const FLAG_VALID_FROM = 1;
const FLAG_VALID_UNTIL = 2;

/** Fewest bytes one encoded subject can take (1-byte id, empty label, nothing optional): bounds allocation. */
const MIN_SUBJECT_BYTES = 2 + 1 + 2 + 1 + 1 + 8 * 3 + 1 + 2;

function bad(field: string, index: number): KioskError {
  return new KioskError('INPUT_INVALID', { reason: 'subject', field, index });
}

function textField(value: unknown, field: string, index: number, min: number, max: number): Uint8Array<ArrayBuffer> {
  if (typeof value !== 'string') throw bad(field, index);
  const bytes = strictUtf8(value);
  if (!bytes || bytes.length < min || bytes.length > max) throw bad(field, index);
  return bytes;
}

function finite(value: unknown, field: string, index: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(field, index);
  return value;
}

/** The one subject schema, its refusal restated in this layer's error (the field at fault, never the value). */
function schema(s: Subject, err: (field: string) => KioskError): void {
  try {
    validateSubject(s);
  } catch (e) {
    if (!isKioskError(e)) throw e;
    const f = e.details?.['field'];
    const field = typeof f === 'string' ? f : 'templates';
    throw err(field);
  }
}

function writeSubject(w: ByteWriter, s: Subject, index: number): void {
  if (typeof s !== 'object' || s === null) throw bad('subject', index);
  // The one schema first: a bundle carries only subjects every kiosk's vault accepts.
  schema(s, (field) => bad(field, index));
  w.str(textField(s.id, 'id', index, 1, LIMITS.idBytes));
  w.str(textField(s.label, 'label', index, 0, LIMITS.labelBytes));
  const list = LIST_CODE[s.list];
  if (list === undefined) throw bad('list', index);
  w.u8(list);
  const hasFrom = s.validFrom !== undefined;
  const hasUntil = s.validUntil !== undefined;
  w.u8((hasFrom ? FLAG_VALID_FROM : 0) | (hasUntil ? FLAG_VALID_UNTIL : 0));
  if (hasFrom) w.f64(finite(s.validFrom, 'validFrom', index));
  if (hasUntil) w.f64(finite(s.validUntil, 'validUntil', index));
  w.f64(finite(s.createdAt, 'createdAt', index));
  w.f64(finite(s.updatedAt, 'updatedAt', index));
  w.f64(finite(s.version, 'version', index));

  if (typeof s.templates !== 'object' || s.templates === null) throw bad('templates', index);
  const embedders = Object.keys(s.templates).sort();
  if (embedders.length > LIMITS.embedders) throw bad('templates', index);
  w.u8(embedders.length);
  for (const name of embedders) {
    if (!EMBEDDER_NAME.test(name)) throw bad('templates', index);
    w.str(textField(name, 'templates', index, 1, LIMITS.embedderNameBytes));
    const list = s.templates[name];
    if (!Array.isArray(list) || list.length > LIMITS.templatesPerEmbedder) throw bad('templates', index);
    const first = list[0];
    // An embedder with no templates keeps its (empty) key; its dimension is written as 0.
    const dim = first instanceof Float32Array ? first.length : 0;
    if (list.length > 0 && (dim < 1 || dim > LIMITS.templateDim)) throw bad('templates', index);
    w.u16(dim);
    w.u32(list.length);
    for (const t of list) {
      if (!(t instanceof Float32Array) || t.length !== dim) throw bad('templates', index);
      w.float32(t);
    }
  }

  if (!Array.isArray(s.plates) || s.plates.length > LIMITS.plates) throw bad('plates', index);
  w.u16(s.plates.length);
  for (const p of s.plates) w.str(textField(p, 'plates', index, 1, LIMITS.plateBytes));
}

function readSubject(r: ByteReader): Subject {
  const id = r.str('id', LIMITS.idBytes);
  if (id.length === 0) throw invalid('payload', { field: 'id' });
  const label = r.str('label', LIMITS.labelBytes);
  const list = LIST_BY_CODE[r.u8('list')];
  if (!list) throw invalid('payload', { field: 'list' });
  const flags = r.u8('flags');
  if (flags & ~(FLAG_VALID_FROM | FLAG_VALID_UNTIL)) throw invalid('payload', { field: 'flags' });
  const validFrom = flags & FLAG_VALID_FROM ? r.f64('validFrom') : undefined;
  const validUntil = flags & FLAG_VALID_UNTIL ? r.f64('validUntil') : undefined;
  const createdAt = r.f64('createdAt');
  const updatedAt = r.f64('updatedAt');
  const version = r.f64('version');
  for (const [field, v] of [
    ['validFrom', validFrom ?? 0],
    ['validUntil', validUntil ?? 0],
    ['createdAt', createdAt],
    ['updatedAt', updatedAt],
    ['version', version],
  ] as const) {
    if (!Number.isFinite(v)) throw invalid('payload', { field });
  }

  const embedders = r.u8('embedder-count');
  if (embedders > LIMITS.embedders) throw invalid('payload', { field: 'embedder-count' });
  const templates: Record<string, Float32Array[]> = {};
  for (let e = 0; e < embedders; e++) {
    const name = r.str('embedder', LIMITS.embedderNameBytes);
    if (!EMBEDDER_NAME.test(name) || Object.hasOwn(templates, name)) throw invalid('payload', { field: 'embedder' });
    const dim = r.u16('template-dim');
    const count = r.u32('template-count');
    if (
      count > LIMITS.templatesPerEmbedder ||
      (count > 0 && (dim < 1 || dim > LIMITS.templateDim)) ||
      (count === 0 && dim !== 0)
    ) {
      throw invalid('payload', { field: 'templates' });
    }
    const list: Float32Array[] = [];
    for (let t = 0; t < count; t++) list.push(r.float32(dim, 'template'));
    templates[name] = list;
  }

  const plateCount = r.u16('plate-count');
  if (plateCount > LIMITS.plates) throw invalid('payload', { field: 'plate-count' });
  const plates: string[] = [];
  for (let p = 0; p < plateCount; p++) {
    const plate = r.str('plate', LIMITS.plateBytes);
    if (plate.length === 0) throw invalid('payload', { field: 'plate' });
    plates.push(plate);
  }

  const subject: Subject = { id, label, list, templates, plates, createdAt, updatedAt, version };
  if (validFrom !== undefined) subject.validFrom = validFrom;
  if (validUntil !== undefined) subject.validUntil = validUntil;
  // Refused here, before anything is applied, rather than half-way through writing the vault.
  schema(subject, (field) => invalid('payload', { field }));
  return subject;
}

function readCount(r: ByteReader, what: string, minBytesEach: number): number {
  const n = r.u32(what);
  // A count the remaining bytes cannot possibly hold is refused before anything is allocated for it.
  if (n * minBytesEach > r.remaining) throw invalid('payload', { field: what });
  return n;
}

function uniqueIds(ids: Iterable<string>, what: string, errorFor: (field: string) => KioskError): Set<string> {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw errorFor(what);
    seen.add(id);
  }
  return seen;
}

/** A guess of the encoded size so the writer rarely grows; must not throw on input that validation will refuse. */
function sizeHint(subjects: readonly Subject[]): number {
  let n = 64;
  for (const s of subjects) {
    n += 256;
    const templates: unknown = s?.templates;
    if (typeof templates !== 'object' || templates === null) continue;
    for (const list of Object.values(templates)) {
      if (Array.isArray(list)) for (const t of list) n += t instanceof Float32Array ? t.byteLength : 0;
    }
  }
  return n;
}

export function encodeFullPayload(subjects: readonly Subject[]): Uint8Array<ArrayBuffer> {
  if (!Array.isArray(subjects)) throw new KioskError('INPUT_INVALID', { reason: 'subjects' });
  uniqueIds(
    subjects.map((s) => s?.id),
    'duplicate-id',
    (field) => new KioskError('INPUT_INVALID', { reason: field }),
  );
  const w = new ByteWriter(sizeHint(subjects));
  w.u32(subjects.length);
  subjects.forEach((s, i) => writeSubject(w, s, i));
  return w.finish();
}

export function encodeDeltaPayload(changes: DeltaChanges): Uint8Array<ArrayBuffer> {
  if (!changes || !Array.isArray(changes.upserts) || !Array.isArray(changes.deletions)) {
    throw new KioskError('INPUT_INVALID', { reason: 'changes' });
  }
  const err = (field: string) => new KioskError('INPUT_INVALID', { reason: field });
  const up = uniqueIds(
    changes.upserts.map((s) => s?.id),
    'duplicate-id',
    err,
  );
  uniqueIds(changes.deletions, 'duplicate-id', err);
  if (changes.deletions.some((id) => up.has(id))) throw err('upsert-and-delete');
  const w = new ByteWriter(sizeHint(changes.upserts));
  w.u32(changes.upserts.length);
  changes.upserts.forEach((s, i) => writeSubject(w, s, i));
  w.u32(changes.deletions.length);
  changes.deletions.forEach((id, i) => w.str(textField(id, 'deletion', i, 1, LIMITS.idBytes)));
  return w.finish();
}

export type DecodedPayload = { kind: 'full'; subjects: Subject[] } | ({ kind: 'delta' } & DeltaChanges);

/** Parse a decrypted payload of the kind the (verified) header declares. Throws BUNDLE_INVALID. */
export function decodePayload(kind: BundleKind, bytes: Uint8Array<ArrayBuffer>): DecodedPayload {
  const r = new ByteReader(bytes);
  const err = (field: string) => invalid('payload', { field });
  const subjects: Subject[] = [];
  const n = readCount(r, 'subject-count', MIN_SUBJECT_BYTES);
  for (let i = 0; i < n; i++) subjects.push(readSubject(r));
  const ids = uniqueIds(
    subjects.map((s) => s.id),
    'duplicate-id',
    err,
  );
  if (kind === 'full') {
    r.expectEnd('payload');
    return { kind, subjects };
  }
  const deletions: string[] = [];
  const d = readCount(r, 'deletion-count', 3);
  for (let i = 0; i < d; i++) {
    const id = r.str('deletion', LIMITS.idBytes);
    if (id.length === 0) throw err('deletion');
    deletions.push(id);
  }
  uniqueIds(deletions, 'duplicate-id', err);
  if (deletions.some((id) => ids.has(id))) throw err('upsert-and-delete');
  r.expectEnd('payload');
  return { kind, upserts: subjects, deletions };
}
