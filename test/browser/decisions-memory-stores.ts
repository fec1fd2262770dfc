/**
 * In-memory stand-ins for the store's OutboxBackend and DecisionKeyStore, for decision tests until src/store
 * lands (then the browser harness should switch to the real IndexedDB store).
 *
 * They keep the contracts' promises that matter to delivery: put rejects a duplicate seq, list is oldest
 * (lowest seq) first, update keeps an entry where it was, and records are copied in and out so a caller cannot
 * mutate stored state by holding a reference (CryptoKeys are shared, as structured clone would keep the same key).
 * Lives under test/browser/ because it is browser-typed code the app tsconfig must compile; unit tests import it too.
 */
import type { DecisionKeyRecord, DecisionKeyStore } from '../../src/shared/decision-keys';
import type { OutboxBackend, OutboxEntry } from '../../src/shared/outbox';

export class MemoryOutbox implements OutboxBackend {
  private readonly entries = new Map<number, OutboxEntry>();
  /** Every operation in order, for tests that check what the sender did. */
  readonly ops: string[] = [];

  async put(entry: OutboxEntry): Promise<void> {
    this.ops.push(`put ${entry.seq}`);
    if (this.entries.has(entry.seq)) throw new Error(`duplicate seq ${entry.seq}`);
    this.entries.set(entry.seq, { ...entry });
  }

  async list(limit?: number): Promise<OutboxEntry[]> {
    const all = [...this.entries.values()].sort((a, b) => a.seq - b.seq).map((e) => ({ ...e }));
    return limit === undefined ? all : all.slice(0, limit);
  }

  async update(entry: OutboxEntry): Promise<void> {
    this.ops.push(`update ${entry.seq}`);
    if (!this.entries.has(entry.seq)) throw new Error(`no entry ${entry.seq}`);
    this.entries.set(entry.seq, { ...entry });
  }

  async remove(seq: number): Promise<void> {
    this.ops.push(`remove ${seq}`);
    this.entries.delete(seq);
  }

  async count(): Promise<number> {
    return this.entries.size;
  }

  async purgeOlderThan(maxAgeMs: number, now = Date.now()): Promise<number> {
    let n = 0;
    for (const [seq, e] of this.entries) {
      if (now - e.createdAt > maxAgeMs) {
        this.entries.delete(seq);
        n++;
      }
    }
    if (n) this.ops.push(`purge ${n}`);
    return n;
  }
}

export class MemoryKeyStore implements DecisionKeyStore {
  private record: DecisionKeyRecord | undefined;
  saves = 0;

  async load(): Promise<DecisionKeyRecord | undefined> {
    return this.record ? { ...this.record } : undefined;
  }

  async save(record: DecisionKeyRecord): Promise<void> {
    this.saves++;
    this.record = { ...record };
  }
}
