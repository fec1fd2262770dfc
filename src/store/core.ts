/**
 * The vault's shared internals: the one IndexedDB connection and its lifecycle (blocked, versionchange,
 * terminated), the session keys, access guards, transactions, cross-tab locks, quarantine and change events.
 * Every other file in src/store works through this; nothing outside src/store imports it.
 *
 * Rules kept here: one readwrite transaction per logical change, and nothing but IndexedDB requests awaited
 * inside it (a pending WebCrypto promise would let the transaction auto-commit half-done), so all sealing happens
 * before the transaction opens. A failed transaction is aborted and mapped to a KioskError; QuotaExceededError
 * becomes STORE_QUOTA plus a visible `quotaExceeded` state. Keys live only in this object's fields, as
 * non-extractable CryptoKeys, and are dropped on lock, close, version change and wipe.
 */
import { wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { idleSince, stampOf, type Stamp } from '../shared/clock';
import { KioskError, type ErrorCode } from '../shared/errors';
import type { Subject } from '../shared/types';
import { DEFAULT_LOCKOUT_POLICY, type LockoutPolicy } from './lockout';
import { DB_VERSION, DEFAULT_DB_NAME, upgrade, type VaultDB, type VaultStore, type QuarantineRecord } from './schema';
import { PBKDF2_DEFAULT_ITERATIONS } from '../crypto/keys';
import type { IndexSnapshot } from './snapshot';

export const DEFAULT_AUDIT_RETENTION_MS = 24 * 60 * 60_000;

export interface VaultOptions {
  /** IndexedDB database name (tests and benchmarks use their own). */
  name?: string;
  /** Wall clock for lock-out, retention and record times (tests pass their own; never a browser API mock). */
  now?: () => number;
  /**
   * Monotonic clock for the admin idle timeout, read with `now` (src/shared/clock.ts idleSince: neither a sleep nor
   * a wall clock set back may extend a session).
   */
  monotonic?: () => number;
  lockoutPolicy?: LockoutPolicy;
  /** Admin unlock expires after this much time without an admin action. Default 5 min. */
  adminIdleMs?: number;
  /** Give up on an open that another tab blocks after this long (STORE_BLOCKED). Default 10 s. */
  openTimeoutMs?: number;
  /** Audit retention purge interval; 0 turns the timer off (the purge at open still runs). Default 10 min. */
  retentionTimerMs?: number;
  /** PBKDF2 iterations for new passphrase keys (>= 600,000). */
  pbkdf2Iterations?: number;
  /** Ask for persistent storage at open. Default true. */
  requestPersistence?: boolean;
  /**
   * The IndexedDB to live in: the page's (default) or a Storage Bucket's, e.g.
   * `(await navigator.storageBuckets.open('vault', { persisted: true, quota })).indexedDB`, which gives the vault
   * its own eviction policy and quota (the quota test uses one with a tiny quota to hit a real QuotaExceededError).
   */
  indexedDB?: IDBFactory;
  /** Subject page size target (default PAGE_TARGET_BYTES); tests use tiny pages to get one subject per page. */
  pageTargetBytes?: number;
}

interface OpenCallbacks {
  upgrade: typeof upgrade;
  blocked: () => void;
  blocking: () => void;
  terminated: () => void;
}

/** idb's openDB, but on a given IDBFactory (idb's always uses the global one). */
function openWith(
  factory: IDBFactory,
  name: string,
  version: number,
  cb: OpenCallbacks,
): Promise<IDBPDatabase<VaultDB>> {
  const request = factory.open(name, version);
  const opening = wrap(request) as unknown as Promise<IDBPDatabase<VaultDB>>;
  request.addEventListener('upgradeneeded', (e) => {
    cb.upgrade(
      wrap(request.result) as unknown as IDBPDatabase<VaultDB>,
      e.oldVersion,
      e.newVersion,
      wrap(request.transaction as IDBTransaction) as unknown as Parameters<typeof upgrade>[3],
    );
  });
  request.addEventListener('blocked', () => cb.blocked());
  opening.then(
    (db) => {
      db.addEventListener('close', () => cb.terminated());
      db.addEventListener('versionchange', () => cb.blocking());
    },
    () => undefined,
  );
  return opening;
}

export type VaultStatus =
  'uninitialised' | 'locked' | 'unlocked' | 'blocked' | 'version-changed' | 'terminated' | 'wiped' | 'closed';

export interface VaultState {
  status: VaultStatus;
  /** The admin passphrase was entered in this session (and has not idled out). */
  admin: boolean;
  /** A device-wrapped data key exists: the kiosk restarts unattended. */
  unattended: boolean;
  /** navigator.storage.persisted(); null when the browser has no answer. */
  persisted: boolean | null;
  /** The last write failed for lack of space; cleared by the next successful write. */
  quotaExceeded: boolean;
  failures: number;
  lockedUntil: number;
  /** Records in quarantine (tampered or corrupt), as of the last count. */
  quarantined: number;
  lastError: ErrorCode | null;
}

export type ChangedStore = 'subjects' | 'settings' | 'audit' | 'outbox' | 'quarantine' | 'keys';
export type VaultEvent =
  | { type: 'state'; state: Readonly<VaultState> }
  | {
      type: 'change';
      store: ChangedStore;
      ids?: readonly string[];
      /**
       * For a subjects write: the subjects as just committed (memory only, for the app's watchlist service, which
       * then need not decrypt them again); ids without an entry here were deleted.
       */
      subjects?: readonly Subject[];
    };

export interface QuarantineItem {
  store: 'subjects' | 'audit' | 'outbox' | 'settings' | 'secrets';
  key: string | number;
  reason: string;
  /** The record as read; it is moved only if the stored one still has the same box (no race with a rewrite). */
  raw: { box: ArrayBuffer };
}

const sameBytes = (a: ArrayBuffer, b: ArrayBuffer): boolean => {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
};

export class VaultCore {
  readonly name: string;
  readonly now: () => number;
  readonly monotonic: () => number;
  /** Both clocks, for the admin idle rule. */
  private readonly clocks: { monotonic: () => number; wall: () => number };
  readonly lockoutPolicy: LockoutPolicy;
  readonly adminIdleMs: number;
  readonly openTimeoutMs: number;
  readonly retentionTimerMs: number;
  readonly pbkdf2Iterations: number;
  readonly requestPersistence: boolean;
  readonly factory: IDBFactory;
  readonly pageTargetBytes: number | undefined;

  db: IDBPDatabase<VaultDB> | null = null;
  /** The data key, non-extractable; set by device or admin unlock. */
  dataKey: CryptoKey | null = null;
  /** The verified manifest as of our last read or write (null = read it again before trusting it). */
  index: IndexSnapshot | null = null;
  /** The audit private key, non-extractable; admin only. */
  auditPrivate: CryptoKey | null = null;
  /** This session's audit writer key (derived from an ephemeral key pair whose private half is already gone). */
  auditWriter: { epk: ArrayBuffer; key: CryptoKey; since: number; count: number } | null = null;
  /** Bumped when the audit public half is rewritten (vault.ts repairAuditPublic): a writer derived before from the
   * old half, by an append already under way, is not kept. */
  auditWriterGeneration = 0;
  /** Mirrors meta.auditRetentionMs. */
  auditRetentionMs = DEFAULT_AUDIT_RETENTION_MS;
  /** The admin's last operation on both clocks (null: no admin session); see idleSince. */
  private adminActive: Stamp | null = null;
  private readonly listeners = new Set<(e: VaultEvent) => void>();
  private localLock: Promise<unknown> = Promise.resolve();
  private localChangeLock: Promise<unknown> = Promise.resolve();

  state: VaultState = {
    status: 'closed',
    admin: false,
    unattended: false,
    persisted: null,
    quotaExceeded: false,
    failures: 0,
    lockedUntil: 0,
    quarantined: 0,
    lastError: null,
  };

  constructor(opts: VaultOptions = {}) {
    this.name = opts.name ?? DEFAULT_DB_NAME;
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.clocks = { monotonic: () => this.monotonic(), wall: () => this.now() };
    this.lockoutPolicy = opts.lockoutPolicy ?? DEFAULT_LOCKOUT_POLICY;
    this.adminIdleMs = opts.adminIdleMs ?? 5 * 60_000;
    this.openTimeoutMs = opts.openTimeoutMs ?? 10_000;
    this.retentionTimerMs = opts.retentionTimerMs ?? 10 * 60_000;
    this.pbkdf2Iterations = opts.pbkdf2Iterations ?? PBKDF2_DEFAULT_ITERATIONS;
    this.requestPersistence = opts.requestPersistence ?? true;
    this.factory = opts.indexedDB ?? globalThis.indexedDB;
    this.pageTargetBytes = opts.pageTargetBytes;
  }

  // --- events -------------------------------------------------------------------------------------------------

  subscribe(fn: (e: VaultEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: VaultEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // a broken listener must not break a write that already committed
      }
    }
  }

  setState(patch: Partial<VaultState>): void {
    this.state = { ...this.state, ...patch };
    this.emit({ type: 'state', state: this.state });
  }

  // --- connection lifecycle -----------------------------------------------------------------------------------

  /** Opens the database; rejects STORE_BLOCKED if another tab holds an older version open past the timeout. */
  async connect(): Promise<void> {
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const opening = openWith(this.factory, this.name, DB_VERSION, {
      upgrade,
      blocked: () => {
        this.setState({ status: 'blocked', lastError: 'STORE_BLOCKED' });
      },
      blocking: () => {
        // Another tab wants a newer schema (or is deleting the vault): step aside at once, and say so.
        this.dropConnection('version-changed', 'STORE_VERSION_CHANGED');
      },
      terminated: () => {
        this.dropConnection('terminated', 'STORE_UNAVAILABLE');
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new KioskError('STORE_BLOCKED', { waitedMs: this.openTimeoutMs }));
      }, this.openTimeoutMs);
    });
    try {
      this.db = await Promise.race([opening, timeout]);
      // provisional, without an event: the caller reads the meta record next and publishes the real status
      this.state = { ...this.state, status: 'locked' };
    } catch (e) {
      // A late success after we gave up must not leave a connection that blocks the other tab forever.
      if (timedOut)
        void opening.then(
          (db) => db.close(),
          () => undefined,
        );
      const err = this.toKioskError(e);
      this.setState({ status: err.code === 'STORE_BLOCKED' ? 'blocked' : this.state.status, lastError: err.code });
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  dropConnection(status: VaultStatus, code: ErrorCode | null): void {
    try {
      this.db?.close();
    } catch {
      // already closed
    }
    this.db = null;
    this.dropKeys();
    this.setState({ status, admin: false, lastError: code });
  }

  dropKeys(): void {
    this.dataKey = null;
    this.index = null;
    this.auditPrivate = null;
    this.auditWriter = null;
    this.adminActive = null;
  }

  // --- guards -------------------------------------------------------------------------------------------------

  requireOpen(): IDBPDatabase<VaultDB> {
    const s = this.state.status;
    if (s === 'wiped') throw new KioskError('STORE_WIPED');
    if (s === 'version-changed') throw new KioskError('STORE_VERSION_CHANGED');
    if (s === 'terminated' || s === 'closed') throw new KioskError('STORE_UNAVAILABLE', { status: s });
    if (s === 'blocked' || !this.db) throw new KioskError('STORE_BLOCKED');
    return this.db;
  }

  requireInitialised(): IDBPDatabase<VaultDB> {
    const db = this.requireOpen();
    if (this.state.status === 'uninitialised') throw new KioskError('STORE_NOT_INITIALISED');
    return db;
  }

  requireUnlocked(): { db: IDBPDatabase<VaultDB>; dataKey: CryptoKey } {
    const db = this.requireInitialised();
    if (!this.dataKey) throw new KioskError('STORE_LOCKED');
    return { db, dataKey: this.dataKey };
  }

  /** `activity: false`: a check only (a screen that re-renders by itself), which keeps nothing alive. */
  requireAdmin(opts: { activity?: boolean } = {}): { db: IDBPDatabase<VaultDB>; dataKey: CryptoKey; auditPrivate: CryptoKey } {
    const { db, dataKey } = this.requireUnlocked();
    if (!this.auditPrivate || !this.state.admin) throw new KioskError('STORE_ADMIN_REQUIRED');
    if (!this.adminActive || idleSince(this.clocks, this.adminActive) > this.adminIdleMs) {
      this.endAdmin();
      throw new KioskError('STORE_ADMIN_REQUIRED', { reason: 'idle' });
    }
    if (opts.activity !== false) this.adminActive = stampOf(this.clocks);
    return { db, dataKey, auditPrivate: this.auditPrivate };
  }

  beginAdmin(dataKey: CryptoKey, auditPrivate: CryptoKey): void {
    this.dataKey = dataKey;
    this.auditPrivate = auditPrivate;
    this.adminActive = stampOf(this.clocks);
    this.setState({ status: 'unlocked', admin: true });
  }

  endAdmin(): void {
    this.auditPrivate = null;
    this.adminActive = null;
    if (this.state.admin) this.setState({ admin: false });
  }

  // --- transactions and errors --------------------------------------------------------------------------------

  toKioskError(e: unknown): KioskError {
    if (e instanceof KioskError) return e;
    const name = (e as { name?: unknown } | null)?.name;
    switch (name) {
      case 'QuotaExceededError':
        return new KioskError('STORE_QUOTA', {}, { cause: e });
      case 'VersionError':
        return new KioskError('STORE_VERSION_CHANGED', {}, { cause: e });
      case 'ConstraintError':
        return new KioskError('STORE_DUPLICATE', {}, { cause: e });
      case 'InvalidStateError':
      case 'TransactionInactiveError':
        if (this.state.status === 'version-changed') return new KioskError('STORE_VERSION_CHANGED', {}, { cause: e });
        if (this.state.status === 'wiped') return new KioskError('STORE_WIPED', {}, { cause: e });
        return new KioskError('STORE_UNAVAILABLE', { name }, { cause: e });
      case 'UnknownError':
        return new KioskError('STORE_UNAVAILABLE', { name }, { cause: e });
      default:
        return new KioskError(
          'INTERNAL',
          { where: 'store', name: typeof name === 'string' ? name : 'unknown' },
          { cause: e },
        );
    }
  }

  /** Records the error in the visible state and returns it, ready to throw. */
  fail(e: unknown): KioskError {
    const err = this.toKioskError(e);
    if (err.code === 'STORE_QUOTA') this.setState({ quotaExceeded: true, lastError: err.code });
    else if (err.code !== 'STORE_DUPLICATE' && err.code !== 'STORE_CONFLICT') this.setState({ lastError: err.code });
    return err;
  }

  /**
   * One logical change = one readwrite transaction. `fn` may await only requests of `tx`. Any failure aborts the
   * whole transaction, so the previous state is what remains.
   */
  async writeTx<const S extends readonly VaultStore[], T>(
    stores: S,
    fn: (tx: IDBPTransaction<VaultDB, S, 'readwrite'>) => Promise<T>,
    durability: 'default' | 'strict' = 'default',
  ): Promise<T> {
    const db = this.requireOpen();
    let tx: IDBPTransaction<VaultDB, S, 'readwrite'>;
    try {
      tx = db.transaction(stores, 'readwrite', { durability });
    } catch (e) {
      throw this.fail(e);
    }
    try {
      const [result] = await Promise.all([fn(tx), tx.done]);
      if (this.state.quotaExceeded) this.setState({ quotaExceeded: false });
      return result;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // already committed or aborted
      }
      throw this.fail(e);
    }
  }

  /** Reads with errors mapped like writes. */
  async read<T>(fn: (db: IDBPDatabase<VaultDB>) => Promise<T>): Promise<T> {
    const db = this.requireOpen();
    try {
      return await fn(db);
    } catch (e) {
      throw this.fail(e);
    }
  }

  /**
   * Serialises watchlist/settings writers across tabs (Web Locks); loads take the shared mode so a load never
   * sees half of another tab's batch. Not re-entrant: public methods take it, internal helpers never do.
   */
  withLock<T>(mode: 'exclusive' | 'shared', fn: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (locks) return locks.request(`${this.name}/watchlist`, { mode }, fn);
    const run = this.localLock.then(fn, fn);
    this.localLock = run.catch(() => undefined);
    return run;
  }

  /**
   * The callers' lock around a read and the write that depends on it (Vault.asOneChange): apart from the write lock
   * the vault's own methods take inside, so holding it never blocks them. Not re-entrant.
   */
  withChangeLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (locks) return locks.request(`${this.name}/change`, { mode: 'exclusive' }, fn);
    const run = this.localChangeLock.then(fn, fn);
    this.localChangeLock = run.catch(() => undefined);
    return run;
  }

  /** A separate lock for passphrase attempts, so parallel attempts are counted one after another. */
  withAuthLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (locks) return locks.request(`${this.name}/auth`, { mode: 'exclusive' }, fn);
    return this.withLock('exclusive', fn);
  }

  // --- quarantine ---------------------------------------------------------------------------------------------

  /** Moves records that failed authentication out of their store, in one transaction, and reports them. */
  async quarantine(items: QuarantineItem[]): Promise<number> {
    if (items.length === 0) return 0;
    const stores = [...new Set(items.map((i) => i.store))];
    const moved = await this.writeTx([...stores, 'quarantine'], async (tx) => {
      let n = 0;
      const q = tx.objectStore('quarantine');
      for (const item of items) {
        const store = tx.objectStore(item.store);
        const key = item.key as never;
        const current = (await store.get(key)) as { box?: unknown } | undefined;
        if (!current || !(current.box instanceof ArrayBuffer) || !sameBytes(current.box, item.raw.box)) continue;
        const rec: QuarantineRecord = {
          at: this.now(),
          store: item.store,
          key: String(item.key),
          reason: item.reason,
          raw: current,
        };
        await q.add(rec);
        await store.delete(key);
        n++;
      }
      return n;
    });
    await this.refreshQuarantineCount();
    this.emit({ type: 'change', store: 'quarantine', ids: items.map((i) => String(i.key)) });
    return moved;
  }

  async refreshQuarantineCount(): Promise<void> {
    const n = await this.read((db) => db.count('quarantine'));
    if (n !== this.state.quarantined) this.setState({ quarantined: n });
  }
}
