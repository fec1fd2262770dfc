/**
 * The persisted decision outbox contract (the workbox background-sync queue model).
 *
 * src/store implements it (only the store opens IndexedDB); src/decisions uses it to deliver in order, exactly
 * once per sequence number. Entries hold only the signed decision envelope that is allowed to leave the device.
 */

export interface OutboxEntry {
  /** The decision's sequence number: strictly increasing per kiosk; the primary key. */
  seq: number;
  /** When the decision was made (ms since epoch). */
  createdAt: number;
  /** The exact bytes to POST (a signed decision envelope, JSON text). */
  body: string;
  /** Delivery attempts so far. */
  attempts: number;
  /** Last delivery error code, if any (shown to the guard). */
  lastError?: string;
}

export interface OutboxBackend {
  /** Append atomically; rejects if seq already exists (never double-queue). */
  put(entry: OutboxEntry): Promise<void>;
  /** Oldest first. */
  list(limit?: number): Promise<OutboxEntry[]>;
  /** Update attempts/lastError of an entry that failed delivery (it stays where it was). */
  update(entry: OutboxEntry): Promise<void>;
  /** Remove after the receiver acknowledged it. */
  remove(seq: number): Promise<void>;
  count(): Promise<number>;
  /** Drop entries older than maxAgeMs (retention limit); returns how many were dropped. */
  purgeOlderThan(maxAgeMs: number, now?: number): Promise<number>;
}
