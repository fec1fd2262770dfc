/**
 * Reading an audit export back (the admin screen's "read an exported audit file"): decrypt with the export
 * passphrase (src/crypto/export-file.ts owns the byte format), then accept only the payload src/store/audit.ts
 * writes, entry by entry, so a hand-edited or foreign file is refused with AUDIT_FILE_INVALID instead of being
 * half shown. It reads; it never writes to the vault or keeps the file. The file's name does not matter
 * (AUDIT_EXPORT_EXTENSION is what the kiosk saves as). scripts/audit-read.mjs is the same reader for support staff
 * without a kiosk, pinned to this one by test/unit/audit-read.test.ts.
 */
import { KioskError, isKioskError } from '../shared/errors';
import { AUDIT_MODES, AUDIT_OUTCOMES, type AuditEntry } from '../shared/types';
import { openExportFile, type AuditExportPayload } from '../store';

export const AUDIT_EXPORT_EXTENSION = '.ekaudit';
export const AUDIT_EXPORT_MIME = 'application/vnd.entrance-kiosk.audit-export';

/**
 * No audit export is larger: the kiosk builds the payload as one JavaScript string (V8 holds at most ~512 Mi
 * characters). A bigger file is not one, and reading it whole could fail with a RangeError or take the tab down.
 */
export const AUDIT_FILE_MAX_BYTES = 512 * 1024 * 1024;

/**
 * The bytes of a chosen audit file: AUDIT_FILE_INVALID (part size) above AUDIT_FILE_MAX_BYTES, before anything is
 * read; FILE_UNREADABLE when the browser cannot read it (changed, moved or removed since it was chosen).
 */
export async function readAuditFileBytes(file: Blob): Promise<Uint8Array> {
  if (file.size > AUDIT_FILE_MAX_BYTES) throw new KioskError('AUDIT_FILE_INVALID', { part: 'size', size: file.size, max: AUDIT_FILE_MAX_BYTES });
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    throw new KioskError('FILE_UNREADABLE', { reason: e instanceof Error ? e.name : 'read' }, { cause: e });
  }
  if (bytes.length !== file.size) throw new KioskError('FILE_UNREADABLE', { reason: 'size-changed' });
  return bytes;
}

export function auditExportFileName(at: number): string {
  return `audit-${new Date(at).toISOString().slice(0, 10)}${AUDIT_EXPORT_EXTENSION}`;
}

const OUTCOMES = new Set<string>(AUDIT_OUTCOMES);
const MODES = new Set<string>(AUDIT_MODES);

function validEntry(e: unknown): e is AuditEntry {
  const o = e as Partial<Record<keyof AuditEntry, unknown>>;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.at === 'number' &&
    Number.isFinite(o.at) &&
    typeof o.outcome === 'string' &&
    OUTCOMES.has(o.outcome) &&
    typeof o.mode === 'string' &&
    MODES.has(o.mode) &&
    typeof o.kiosk === 'string' &&
    typeof o.subjectId === 'string' &&
    (o.score === undefined || typeof o.score === 'number') &&
    (o.reason === undefined || typeof o.reason === 'string') &&
    (o.actor === undefined || typeof o.actor === 'string')
  );
}

/** Decrypts and checks an audit export; entries newest first. EXPORT_FILE_NOT_OPENED or AUDIT_FILE_INVALID. */
export async function readAuditExport(bytes: Uint8Array, passphrase: string): Promise<Omit<AuditExportPayload, 'entries'> & { entries: AuditEntry[] }> {
  let plain: Uint8Array;
  try {
    plain = await openExportFile(bytes, passphrase);
  } catch (e) {
    if (isKioskError(e, 'INPUT_INVALID')) throw new KioskError('AUDIT_FILE_INVALID', { part: String(e.details?.['field'] ?? 'file') }, { cause: e });
    throw e;
  }
  let p: Partial<AuditExportPayload>;
  try {
    p = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain)) as Partial<AuditExportPayload>;
  } catch (e) {
    throw new KioskError('AUDIT_FILE_INVALID', { part: 'json' }, { cause: e });
  }
  if (p?.format !== 'entrance-kiosk-audit' || p.version !== 1 || !Array.isArray(p.entries)) throw new KioskError('AUDIT_FILE_INVALID', { part: 'payload' });
  const bad = p.entries.findIndex((e) => !validEntry(e));
  if (bad >= 0) throw new KioskError('AUDIT_FILE_INVALID', { part: 'entry', index: bad });
  return {
    format: p.format,
    version: p.version,
    exportedAt: Number(p.exportedAt),
    from: p.from ?? null,
    to: p.to ?? null,
    retentionMs: Number(p.retentionMs),
    entries: [...p.entries].sort((a, b) => b.at - a.at),
  };
}
