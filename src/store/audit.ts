/**
 * The encrypted audit log: one sealed entry per decision, override or recorded change (time, outcome, subject id or
 * "unknown", score, kiosk, mode, short reason, actor id), never an image, never a name or template. Owns append,
 * admin read, the retention purge and the admin's encrypted export; what a change entry says is src/app's
 * (change-audit.ts, sync-service.ts), including that a new retention's entry is written before it is stored and
 * purges (here by setRetention, or with the settings that name it: src/store/settings.ts).
 *
 * Entries are sealed to the audit public key (see src/crypto/keys.ts): the unattended kiosk appends but cannot
 * read back; only an admin session, holding the passphrase-unwrapped audit private key, can. The entry time is in
 * clear (indexed) so the purge runs without any key; nothing else is.
 *
 * Not defended: someone with write access can delete entries (the log is not hash-chained), and within a running
 * session the writer key could decrypt that session's entries if the page itself were compromised.
 */
import { KioskError } from '../shared/errors';
import { AUDIT_MODES, AUDIT_OUTCOMES, type AuditEntry } from '../shared/types';
import { bindingData, open, randomBytes, seal, toHex } from '../crypto/aead';
import { auditReaderKey, importAuditPublicKey, newAuditSessionKey } from '../crypto/keys';
import { checkPassphrase } from '../crypto/passphrase';
import { sealExportFile } from '../crypto/export-file';
import type { QuarantineItem, VaultCore } from './core';
import { RECORD_FORMAT, type AuditRecord, type VaultMetaRecord } from './schema';

/** Rotate the writer key this often, bounding what a compromised live page could read back. */
const WRITER_MAX_AGE_MS = 60 * 60_000;
const WRITER_MAX_ENTRIES = 1000;
export const MIN_RETENTION_MS = 60_000;
export const MAX_RETENTION_MS = 366 * 24 * 60 * 60_000;
const MAX_REASON_CHARS = 200;

/** INPUT_INVALID unless `ms` is a retention the vault keeps (setup, setRetention, a settings save carrying one). */
export function checkRetentionMs(ms: number): void {
  if (!Number.isFinite(ms) || ms < MIN_RETENTION_MS || ms > MAX_RETENTION_MS) {
    throw new KioskError('INPUT_INVALID', { field: 'auditRetentionMs', min: MIN_RETENTION_MS, max: MAX_RETENTION_MS });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const auditAad = (uid: string, at: number): Uint8Array<ArrayBuffer> =>
  bindingData('audit', uid, RECORD_FORMAT, at);
export const auditPublicAad = (): Uint8Array<ArrayBuffer> => bindingData('keyring', 'audit-public', RECORD_FORMAT);

export interface AuditQuery {
  from?: number;
  to?: number;
  limit?: number;
}

/** The export file's payload (JSON inside the format described in src/crypto/export-file.ts). */
export interface AuditExportPayload {
  format: 'entrance-kiosk-audit';
  version: 1;
  exportedAt: number;
  from: number | null;
  to: number | null;
  retentionMs: number;
  entries: AuditEntry[];
}

const OUTCOMES = new Set<AuditEntry['outcome']>(AUDIT_OUTCOMES);
const MODES = new Set<AuditEntry['mode']>(AUDIT_MODES);

/** Copies only the known fields: a caller cannot smuggle anything else (an image, a name) into the log. */
function cleanEntry(e: Omit<AuditEntry, 'id'>): Omit<AuditEntry, 'id'> {
  const bad = (field: string): KioskError => new KioskError('INPUT_INVALID', { field: `audit.${field}` });
  if (!Number.isFinite(e.at)) throw bad('at');
  if (!OUTCOMES.has(e.outcome)) throw bad('outcome');
  if (typeof e.subjectId !== 'string' || e.subjectId.length === 0 || e.subjectId.length > 128) throw bad('subjectId');
  if (typeof e.kiosk !== 'string' || e.kiosk.length === 0 || e.kiosk.length > 128) throw bad('kiosk');
  if (!MODES.has(e.mode)) throw bad('mode');
  if (e.score !== undefined && !Number.isFinite(e.score)) throw bad('score');
  if (e.reason !== undefined && (typeof e.reason !== 'string' || e.reason.length > MAX_REASON_CHARS))
    throw bad('reason');
  const out: Omit<AuditEntry, 'id'> = {
    at: e.at,
    outcome: e.outcome,
    subjectId: e.subjectId,
    kiosk: e.kiosk,
    mode: e.mode,
  };
  if (e.actor !== undefined && (typeof e.actor !== 'string' || !/^(admin|g-[0-9a-f]{16})$/.test(e.actor))) throw bad('actor');
  if (e.score !== undefined) out.score = e.score;
  if (e.reason !== undefined) out.reason = e.reason;
  if (e.actor !== undefined) out.actor = e.actor;
  return out;
}

export class AuditApi {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly core: VaultCore) {}

  /** Appends one entry (device unlock is enough). Returns its id. */
  async append(entry: Omit<AuditEntry, 'id'>): Promise<number> {
    const { dataKey } = this.core.requireUnlocked();
    const clean = cleanEntry(entry);
    const writer = await this.writer(dataKey);
    const uid = toHex(randomBytes(16));
    const rec: AuditRecord = {
      at: clean.at,
      uid,
      epk: writer.epk,
      f: RECORD_FORMAT,
      box: await seal(writer.key, encoder.encode(JSON.stringify(clean)), auditAad(uid, clean.at)),
    };
    const id = await this.core.writeTx(['audit'], (tx) => tx.store.add(rec));
    writer.count++;
    this.core.emit({ type: 'change', store: 'audit', ids: [String(id)] });
    return id;
  }

  /** Decrypts entries in [from, to] (admin). Entries that fail authentication are quarantined and counted. */
  async read(q: AuditQuery = {}): Promise<{ entries: AuditEntry[]; quarantined: number }> {
    const { auditPrivate } = this.core.requireAdmin();
    const range =
      q.from !== undefined && q.to !== undefined
        ? IDBKeyRange.bound(q.from, q.to)
        : q.from !== undefined
          ? IDBKeyRange.lowerBound(q.from)
          : q.to !== undefined
            ? IDBKeyRange.upperBound(q.to)
            : undefined;
    const recs = await this.core.read((db) => db.getAllFromIndex('audit', 'at', range, q.limit));
    const keys = new Map<string, Promise<CryptoKey | null>>();
    const keyFor = (epk: ArrayBuffer): Promise<CryptoKey | null> => {
      const hex = toHex(new Uint8Array(epk));
      let k = keys.get(hex);
      if (!k) {
        k = auditReaderKey(auditPrivate, epk).catch(() => null);
        keys.set(hex, k);
      }
      return k;
    };
    const bad: QuarantineItem[] = [];
    const entries: AuditEntry[] = [];
    await Promise.all(
      recs.map(async (r) => {
        try {
          const key = r.epk instanceof ArrayBuffer ? await keyFor(r.epk) : null;
          if (!key || r.f !== RECORD_FORMAT) throw new Error('no key');
          const e = JSON.parse(decoder.decode(await open(key, r.box, auditAad(r.uid, r.at)))) as AuditEntry;
          entries.push({ ...e, id: r.id });
        } catch {
          if (r.id !== undefined) bad.push({ store: 'audit', key: r.id, reason: 'integrity', raw: r });
        }
      }),
    );
    entries.sort((a, b) => a.at - b.at || (a.id ?? 0) - (b.id ?? 0));
    if (bad.length) await this.core.quarantine(bad);
    return { entries, quarantined: bad.length };
  }

  /** Deletes entries older than the retention period. Needs no key: runs at open even while locked. */
  async purge(now: number = this.core.now()): Promise<number> {
    this.core.requireInitialised();
    const cutoff = now - this.core.auditRetentionMs;
    const n = await this.core.writeTx(['audit'], async (tx) => {
      const keys = await tx.store.index('at').getAllKeys(IDBKeyRange.upperBound(cutoff, true));
      await Promise.all(keys.map((k) => tx.store.delete(k)));
      return keys.length;
    });
    if (n > 0) this.core.emit({ type: 'change', store: 'audit' });
    return n;
  }

  retentionMs(): number {
    return this.core.auditRetentionMs;
  }

  /** Sets the retention period (admin) and purges at once. */
  async setRetention(ms: number): Promise<void> {
    checkRetentionMs(ms);
    this.core.requireAdmin();
    await this.core.writeTx(['meta'], async (tx) => {
      const meta = await tx.store.get('vault');
      if (!meta || meta.kind !== 'vault') throw new KioskError('STORE_NOT_INITIALISED');
      const next: VaultMetaRecord = { ...meta, auditRetentionMs: ms };
      await tx.store.put(next, 'vault');
    });
    this.core.auditRetentionMs = ms;
    await this.purge();
  }

  /** The audit log (within retention) as an encrypted file for the admin; see src/crypto/export-file.ts. */
  async exportEncrypted(exportPassphrase: string, q: AuditQuery = {}): Promise<Blob> {
    const check = checkPassphrase(exportPassphrase);
    if (!check.ok) throw new KioskError('STORE_WEAK_PASSPHRASE', { reasons: check.reasons.join(',') });
    this.core.requireAdmin();
    const { entries } = await this.read(q);
    const payload: AuditExportPayload = {
      format: 'entrance-kiosk-audit',
      version: 1,
      exportedAt: this.core.now(),
      from: q.from ?? null,
      to: q.to ?? null,
      retentionMs: this.core.auditRetentionMs,
      entries,
    };
    const file = await sealExportFile(
      encoder.encode(JSON.stringify(payload)),
      exportPassphrase,
      this.core.pbkdf2Iterations,
    );
    return new Blob([file], { type: 'application/octet-stream' });
  }

  startTimer(intervalMs: number): void {
    this.stopTimer();
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.purge().catch((e: unknown) => {
        // state.lastError already carries it (writeTx), the timer must keep running
        this.core.fail(e);
      });
    }, intervalMs);
  }

  stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async writer(
    dataKey: CryptoKey,
  ): Promise<{ epk: ArrayBuffer; key: CryptoKey; since: number; count: number }> {
    const w = this.core.auditWriter;
    const now = this.core.now();
    if (w && now - w.since < WRITER_MAX_AGE_MS && w.count < WRITER_MAX_ENTRIES) return w;
    const generation = this.core.auditWriterGeneration;
    const s = await newAuditSessionKey(await readAuditPublic(this.core, dataKey));
    const next = { ...s, since: now, count: 0 };
    // The public half was rewritten while this one was derived (a repair at admin unlock): derive again from it.
    if (generation !== this.core.auditWriterGeneration) return this.writer(dataKey);
    this.core.auditWriter = next;
    return next;
  }
}

/**
 * The audit key pair's public half (device unlock): what audit entries, and the secrets only the admin may read
 * (secrets.ts `putAdmin`), are sealed to. STORE_CORRUPT_RECORD if its record is missing or tampered.
 */
export async function readAuditPublic(core: VaultCore, dataKey: CryptoKey): Promise<CryptoKey> {
  const rec = await core.read((db) => db.get('keyring', 'audit-public'));
  if (!rec || rec.kind !== 'audit-public') throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'audit-public' });
  try {
    return await importAuditPublicKey(await open(dataKey, rec.box, auditPublicAad()));
  } catch (e) {
    throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'audit-public' }, { cause: e });
  }
}
