/**
 * The plaintext layout of subjects inside a sealed page, and validation of what an admin or a bundle hands in.
 * Pure functions (no IndexedDB, no WebCrypto) so they are unit-tested in Node.
 *
 * Layout of one subject: [u32 LE header length][header JSON, UTF-8][zero padding to a multiple of 4][float32 LE
 * templates]. The header carries label, list, validity, plates, timestamps and, per embedder, (name, count,
 * dimension). Templates stay float32 (no quantisation, so matching sees exactly what was enrolled) and decode as zero-copy Float32Array
 * views into the decrypted page buffer: one allocation per page of subjects, which keeps a 100k watchlist
 * loadable. Several subjects form a page (format below), the unit that is sealed and stored.
 */
import { SUBJECT_LIMITS, checkId, validateSubject, type SubjectFields } from '../shared/subject-schema';
import type { ListKind, Subject } from '../shared/types';

/**
 * What a caller supplies to create or replace a subject (the one schema's fields; id set = replace that subject):
 * id, timestamps and version are the vault's.
 */
export type SubjectInput = SubjectFields;

/** The one subject schema's limits (src/shared/subject-schema.ts). */
export const LIMITS = SUBJECT_LIMITS;

interface Header {
  l: string;
  k: ListKind;
  vf?: number;
  vu?: number;
  p: string[];
  c: number;
  u: number;
  /** [embedder name, template count, dimension] */
  t: [string, number, number][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** little-endian check once: Float32Array views use platform order, the format is LE (every target CPU is). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function validateId(id: unknown): string {
  return checkId(id);
}

/** Rejects bad input at the boundary with the field at fault (never the value: it may be a name or plate). */
export function validateSubjectInput(s: SubjectInput): void {
  validateSubject(s);
}

/** Encodes a subject's sealed part. `id` and `version` live outside (record key, and index/additional data). */
export function encodeSubject(s: Omit<Subject, 'id' | 'version'>): Uint8Array<ArrayBuffer> {
  const t: [string, number, number][] = [];
  let floats = 0;
  for (const [name, list] of Object.entries(s.templates)) {
    const dim = list[0]?.length ?? 0;
    t.push([name, list.length, dim]);
    floats += list.length * dim;
  }
  const header: Header = { l: s.label, k: s.list, p: s.plates, c: s.createdAt, u: s.updatedAt, t };
  if (s.validFrom !== undefined) header.vf = s.validFrom;
  if (s.validUntil !== undefined) header.vu = s.validUntil;
  const head = encoder.encode(JSON.stringify(header));
  const floatsAt = (4 + head.byteLength + 3) & ~3;
  const out = new Uint8Array(floatsAt + floats * 4);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 4);
  let at = floatsAt;
  for (const list of Object.values(s.templates)) {
    for (const tpl of list) {
      if (LITTLE_ENDIAN) {
        out.set(new Uint8Array(tpl.buffer, tpl.byteOffset, tpl.byteLength), at);
      } else {
        const dv = new DataView(out.buffer, at, tpl.byteLength);
        for (let i = 0; i < tpl.length; i++) dv.setFloat32(i * 4, tpl[i] ?? 0, true);
      }
      at += tpl.byteLength;
    }
  }
  return out;
}

/** Thrown for a box that authenticated but does not parse: written by a buggy build, quarantined like a bad tag. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
}

/**
 * Decodes the subject encoded in `buf` at [offset, offset + length) (offset must be a multiple of 4). Templates
 * are views into `buf`, not copies: the caller hands the buffer over.
 */
export function decodeSubject(
  buf: ArrayBuffer,
  id: string,
  version: number,
  offset = 0,
  length = buf.byteLength - offset,
): Subject {
  try {
    if (length < 4 || offset % 4 !== 0 || offset + length > buf.byteLength) throw new MalformedRecordError('bounds');
    const end = offset + length;
    const headLen = new DataView(buf, offset, 4).getUint32(0, true);
    if (4 + headLen > length) throw new MalformedRecordError('header length');
    const h = JSON.parse(decoder.decode(new Uint8Array(buf, offset + 4, headLen))) as Header;
    let at = offset + ((4 + headLen + 3) & ~3);
    const templates: Record<string, Float32Array[]> = {};
    for (const [name, count, dim] of h.t) {
      const list: Float32Array[] = [];
      for (let i = 0; i < count; i++) {
        if (at + dim * 4 > end) throw new MalformedRecordError('templates');
        const from = at;
        list.push(
          LITTLE_ENDIAN
            ? new Float32Array(buf, from, dim)
            : Float32Array.from({ length: dim }, (_, j) => new DataView(buf).getFloat32(from + j * 4, true)),
        );
        at += dim * 4;
      }
      templates[name] = list;
    }
    const s: Subject = {
      id,
      label: h.l,
      list: h.k,
      templates,
      plates: h.p,
      createdAt: h.c,
      updatedAt: h.u,
      version,
    };
    if (h.vf !== undefined) s.validFrom = h.vf;
    if (h.vu !== undefined) s.validUntil = h.vu;
    return s;
  } catch (e) {
    if (e instanceof MalformedRecordError) throw e;
    throw new MalformedRecordError('unparseable', { cause: e });
  }
}

// --- pages ------------------------------------------------------------------------------------------------------
// A page is the plaintext of one sealed subjects record: several encoded subjects back to back.
//   [u32 count] then per entry: [u32 id bytes][u32 version][u32 payload bytes][id UTF-8][pad to 4][payload][pad to 4]
// Every payload starts on a multiple of 4, so its float32 templates decode as views into the decrypted page.

/** One subject inside a page: its id, version (generation of its last write) and encoded bytes. */
export interface PageEntry {
  id: string;
  v: number;
  payload: Uint8Array;
}

const pad4 = (n: number): number => (n + 3) & ~3;

export function encodePage(entries: readonly PageEntry[]): Uint8Array<ArrayBuffer> {
  const ids = entries.map((e) => encoder.encode(e.id));
  let size = 4;
  entries.forEach((e, i) => {
    size += 12 + pad4(ids[i]?.byteLength ?? 0) + pad4(e.payload.byteLength);
  });
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, entries.length, true);
  let at = 4;
  entries.forEach((e, i) => {
    const id = ids[i] ?? new Uint8Array(0);
    dv.setUint32(at, id.byteLength, true);
    dv.setUint32(at + 4, e.v, true);
    dv.setUint32(at + 8, e.payload.byteLength, true);
    at += 12;
    out.set(id, at);
    at += pad4(id.byteLength);
    out.set(e.payload, at);
    at += pad4(e.payload.byteLength);
  });
  return out;
}

/** Splits a decrypted page into entries; payloads are views into `buf` (no copy). */
export function decodePage(buf: ArrayBuffer): PageEntry[] {
  try {
    const dv = new DataView(buf);
    const count = dv.getUint32(0, true);
    const out: PageEntry[] = [];
    let at = 4;
    for (let i = 0; i < count; i++) {
      const idLen = dv.getUint32(at, true);
      const v = dv.getUint32(at + 4, true);
      const len = dv.getUint32(at + 8, true);
      at += 12;
      const id = decoder.decode(new Uint8Array(buf, at, idLen));
      at += pad4(idLen);
      if (at + len > buf.byteLength) throw new MalformedRecordError('page entry');
      out.push({ id, v, payload: new Uint8Array(buf, at, len) });
      at += pad4(len);
    }
    return out;
  } catch (e) {
    if (e instanceof MalformedRecordError) throw e;
    throw new MalformedRecordError('page', { cause: e });
  }
}

/** Decodes one page entry into a Subject whose templates are views into the page buffer. */
export function decodeEntry(e: PageEntry): Subject {
  return decodeSubject(e.payload.buffer as ArrayBuffer, e.id, e.v, e.payload.byteOffset, e.payload.byteLength);
}

/** Random 128-bit id, hex: carries nothing about the person. */
export function newSubjectId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
