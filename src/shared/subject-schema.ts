/**
 * The one subject schema: the limits and the validation of an enrolled person, used by every path a subject takes
 * into the kiosk — the vault's codec (src/store/codec.ts), the bundle payload writer and reader
 * (src/sync/payload.ts) and the CSV bulk import (src/app/csv-import.ts) — so a subject one path accepts is never
 * refused half-way by another (a verified bundle cannot fail while it is applied). The shared test vectors
 * (test/fixtures/subjects/vectors.json) hold every path to the same answers.
 *
 * Pure data rules: no I/O, no storage format. Errors are INPUT_INVALID with the field at fault (and, where the caller
 * gives one, the index or line), never the value (it may be a name or a plate); bad templates are
 * MATCH_VECTOR_INVALID / MATCH_VECTOR_LENGTH as everywhere else.
 */
import { KioskError } from './errors';
import type { ListKind, Subject } from './types';

export const SUBJECT_LIMITS = {
  /** UTF-16 code units of an id (the vault's are 32 hex characters). */
  idChars: 128,
  /** A label is a name shown to guards: 1..200 characters, not only spaces. */
  labelChars: 200,
  plates: 32,
  plateChars: 32,
  embedders: 8,
  embedderNameChars: 64,
  templatesPerEmbedder: 64,
  templateDim: 4096,
} as const;

/** Starts with a letter or digit, so `__proto__` and friends can never become a templates key. */
export const EMBEDDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The fields every path checks (a full Subject or a SubjectInput fits; id set = an existing subject). */
export type SubjectFields = Pick<Subject, 'label' | 'list' | 'validFrom' | 'validUntil' | 'templates' | 'plates'> & {
  id?: string;
};

type Where = Record<string, string | number>;

function invalid(field: string, where: Where): KioskError {
  return new KioskError('INPUT_INVALID', { field, ...where });
}

export function checkId(id: unknown, where: Where = {}): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > SUBJECT_LIMITS.idChars) throw invalid('id', where);
  return id;
}

export function checkLabel(label: unknown, where: Where = {}): string {
  if (typeof label !== 'string' || label.trim().length === 0 || label.length > SUBJECT_LIMITS.labelChars) {
    throw invalid('label', where);
  }
  return label;
}

export function checkList(list: unknown, where: Where = {}): ListKind {
  if (list !== 'allow' && list !== 'deny') throw invalid('list', where);
  return list;
}

export function checkPlates(plates: unknown, where: Where = {}): string[] {
  if (!Array.isArray(plates) || plates.length > SUBJECT_LIMITS.plates) throw invalid('plates', where);
  for (const p of plates) {
    if (typeof p !== 'string' || p.length === 0 || p.length > SUBJECT_LIMITS.plateChars) throw invalid('plates', where);
  }
  return plates as string[];
}

export function checkValidity(validFrom: unknown, validUntil: unknown, where: Where = {}): void {
  for (const [k, v] of [['validFrom', validFrom], ['validUntil', validUntil]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw invalid(k, where);
  }
  if (validFrom !== undefined && validUntil !== undefined && (validFrom as number) > (validUntil as number)) {
    throw invalid('validUntil', where);
  }
}

export function checkTemplates(templates: unknown, where: Where = {}): void {
  if (typeof templates !== 'object' || templates === null || Array.isArray(templates)) throw invalid('templates', where);
  const names = Object.keys(templates);
  if (names.length > SUBJECT_LIMITS.embedders) throw invalid('templates', where);
  for (const name of names) {
    const list = (templates as Record<string, unknown>)[name];
    if (!EMBEDDER_NAME.test(name) || name.length > SUBJECT_LIMITS.embedderNameChars || !Array.isArray(list)) {
      throw invalid('templates', where);
    }
    if (list.length > SUBJECT_LIMITS.templatesPerEmbedder) throw invalid('templates', { ...where, embedder: name });
    const dim = (list[0] as Float32Array | undefined)?.length ?? 0;
    for (const t of list) {
      if (!(t instanceof Float32Array) || t.length === 0 || t.length > SUBJECT_LIMITS.templateDim) {
        throw new KioskError('MATCH_VECTOR_INVALID', { embedder: name, ...where });
      }
      if (t.length !== dim) throw new KioskError('MATCH_VECTOR_LENGTH', { embedder: name, ...where });
      let norm = 0;
      for (let i = 0; i < t.length; i++) {
        const x = t[i]!;
        if (!Number.isFinite(x)) throw new KioskError('MATCH_VECTOR_INVALID', { embedder: name, ...where });
        norm += x * x;
      }
      if (norm === 0) throw new KioskError('MATCH_VECTOR_INVALID', { embedder: name, ...where });
    }
  }
}

/** The whole subject, field by field in a fixed order (so every path names the same field for the same input). */
export function validateSubject(s: SubjectFields, where: Where = {}): void {
  if (typeof s !== 'object' || s === null) throw invalid('subject', where);
  if (s.id !== undefined) checkId(s.id, where);
  checkLabel(s.label, where);
  checkList(s.list, where);
  checkValidity(s.validFrom, s.validUntil, where);
  checkPlates(s.plates, where);
  checkTemplates(s.templates, where);
}
