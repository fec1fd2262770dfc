/**
 * The persisted decision outbox (src/shared/outbox.ts contract), kept in the vault because only the store opens
 * IndexedDB. Owns the outbox records: sequence number, creation time and delivery counters in clear (they order
 * and expire the queue without a key), the envelope body sealed under the data key and bound to (seq, createdAt).
 * The body is what may leave the device anyway; it is sealed so the local disk does not keep a readable history
 * of who came and went.
 */
import { isKioskError, KioskError } from '../shared/errors';
import type { OutboxBackend, OutboxEntry } from '../shared/outbox';
import { bindingData, open, seal } from '../crypto/aead';
import type { QuarantineItem, VaultCore } from './core';
import { RECORD_FORMAT, type OutboxRecord } from './schema';

/** A signed decision is a few hundred bytes; refuse anything that could be an image. */
export const MAX_OUTBOX_BODY_CHARS = 16 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const outboxAad = (seq: number, createdAt: number): Uint8Array<ArrayBuffer> =>
  bindingData('outbox', seq, RECORD_FORMAT, createdAt);

function validSeq(seq: unknown): number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    throw new KioskError('INPUT_INVALID', { field: 'seq' });
  return seq;
}

export class VaultOutbox implements OutboxBackend {
  constructor(private readonly core: VaultCore) {}

  async put(entry: OutboxEntry): Promise<void> {
    const seq = validSeq(entry.seq);
    if (!Number.isFinite(entry.createdAt)) throw new KioskError('INPUT_INVALID', { field: 'createdAt' });
    if (typeof entry.body !== 'string' || entry.body.length > MAX_OUTBOX_BODY_CHARS) {
      throw new KioskError('INPUT_INVALID', { field: 'body' });
    }
    const { dataKey } = this.core.requireUnlocked();
    const rec: OutboxRecord = {
      seq,
      createdAt: entry.createdAt,
      attempts: entry.attempts,
      f: RECORD_FORMAT,
      box: await seal(dataKey, encoder.encode(entry.body), outboxAad(seq, entry.createdAt)),
    };
    if (entry.lastError !== undefined) rec.lastError = entry.lastError;
    try {
      // add(), not put(): an existing seq makes the transaction fail instead of overwriting a queued decision.
      await this.core.writeTx(['outbox'], (tx) => tx.store.add(rec));
    } catch (e) {
      if (isKioskError(e, 'STORE_DUPLICATE')) throw new KioskError('STORE_DUPLICATE', { store: 'outbox', seq });
      throw e;
    }
    this.core.emit({ type: 'change', store: 'outbox', ids: [String(seq)] });
  }

  /** Oldest first (by seq). Entries that fail authentication are quarantined and skipped. */
  async list(limit?: number): Promise<OutboxEntry[]> {
    const { dataKey } = this.core.requireUnlocked();
    const recs = await this.core.read((db) => db.getAll('outbox', undefined, limit));
    const bad: QuarantineItem[] = [];
    const opened = await Promise.all(
      recs.map(async (r): Promise<OutboxEntry | null> => {
        try {
          if (r.f !== RECORD_FORMAT) throw new Error('format');
          const body = decoder.decode(await open(dataKey, r.box, outboxAad(r.seq, r.createdAt)));
          const e: OutboxEntry = { seq: r.seq, createdAt: r.createdAt, body, attempts: r.attempts };
          if (r.lastError !== undefined) e.lastError = r.lastError;
          return e;
        } catch {
          bad.push({ store: 'outbox', key: r.seq, reason: 'integrity', raw: r });
          return null;
        }
      }),
    );
    if (bad.length) await this.core.quarantine(bad);
    return opened.filter((e): e is OutboxEntry => e !== null);
  }

  /** Updates delivery attempts and last error only; the body and times are never rewritten. */
  async update(entry: OutboxEntry): Promise<void> {
    const seq = validSeq(entry.seq);
    if (!Number.isSafeInteger(entry.attempts) || entry.attempts < 0)
      throw new KioskError('INPUT_INVALID', { field: 'attempts' });
    this.core.requireInitialised();
    await this.core.writeTx(['outbox'], async (tx) => {
      const cur = await tx.store.get(seq);
      if (!cur) throw new KioskError('STORE_NOT_FOUND', { store: 'outbox', seq });
      const next: OutboxRecord = { ...cur, attempts: entry.attempts };
      if (entry.lastError === undefined) delete next.lastError;
      else next.lastError = String(entry.lastError).slice(0, 64);
      await tx.store.put(next);
    });
    this.core.emit({ type: 'change', store: 'outbox', ids: [String(seq)] });
  }

  /** Idempotent: removing an entry that is already gone is not an error (an ack may arrive twice). */
  async remove(seq: number): Promise<void> {
    validSeq(seq);
    this.core.requireInitialised();
    await this.core.writeTx(['outbox'], (tx) => tx.store.delete(seq));
    this.core.emit({ type: 'change', store: 'outbox', ids: [String(seq)] });
  }

  async count(): Promise<number> {
    this.core.requireInitialised();
    return this.core.read((db) => db.count('outbox'));
  }

  async purgeOlderThan(maxAgeMs: number, now: number = this.core.now()): Promise<number> {
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) throw new KioskError('INPUT_INVALID', { field: 'maxAgeMs' });
    this.core.requireInitialised();
    const n = await this.core.writeTx(['outbox'], async (tx) => {
      const keys = await tx.store.index('createdAt').getAllKeys(IDBKeyRange.upperBound(now - maxAgeMs, true));
      await Promise.all(keys.map((k) => tx.store.delete(k)));
      return keys.length;
    });
    if (n > 0) this.core.emit({ type: 'change', store: 'outbox' });
    return n;
  }
}
