/**
 * The vault's IndexedDB schema: one typed interface used end to end (a store or index typo fails to compile) and
 * the versioned upgrade steps. Owns record shapes as they sit on disk; what is sealed inside each `box` is owned by
 * the module that writes it (codec.ts/subjects.ts for subject pages, settings.ts, audit.ts, outbox.ts,
 * secrets.ts, vault.ts for the keyring).
 *
 * What is on disk in clear, on purpose: record keys and versions (page numbers and the random subject ids they
 * hold, outbox sequence numbers, audit timestamps for the retention purge), the lock-out counter, the retention
 * period, KDF parameters, delivery attempt counters, and CryptoKey objects (structured clone: see vault.ts on
 * what that means). No label, plate, template, decision body, setting, audit content or sync metadata is ever in
 * clear.
 */
import { KioskError } from '../shared/errors';
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';

/** Bump when a store or index is added or changed; add the step to MIGRATIONS. */
export const DB_VERSION = 2;
/**
 * The sealed-record format version. It is part of every record's additional data, so an old-format record cannot
 * be passed off as a new one; a schema upgrade that leaves record formats alone does not have to re-encrypt.
 */
export const RECORD_FORMAT = 1;
export const DEFAULT_DB_NAME = 'entrance-kiosk-vault';

export interface PassphraseKeyRecord {
  kind: 'passphrase';
  f: number;
  kdf: { name: 'PBKDF2'; hash: 'SHA-256'; iterations: number; salt: Uint8Array<ArrayBuffer> };
  /** The data key wrapped under the passphrase key (iv || wrapped || tag). */
  dataKey: ArrayBuffer;
  /** The audit private key (PKCS#8) wrapped under the passphrase key. */
  auditKey: ArrayBuffer;
  createdAt: number;
}

export interface DeviceKeyRecord {
  kind: 'device';
  f: number;
  /** Non-extractable AES-GCM key (wrapKey/unwrapKey), stored as a structured-cloned CryptoKey. */
  key: CryptoKey;
  dataKey: ArrayBuffer;
  createdAt: number;
}

export interface AuditPublicRecord {
  kind: 'audit-public';
  f: number;
  /** The audit public key, sealed under the data key so nobody without it can swap in their own. */
  box: ArrayBuffer;
}

export type KeyringRecord = PassphraseKeyRecord | DeviceKeyRecord | AuditPublicRecord;
export type KeyringKey = KeyringRecord['kind'];

export interface VaultMetaRecord {
  kind: 'vault';
  f: number;
  createdAt: number;
  /** Whether a device-wrapped data key exists (unattended restart). */
  unattended: boolean;
  /**
   * Audit retention in clear, so the purge also runs while the vault is locked (a kiosk waiting for its admin
   * after a restart must still forget yesterday). Tampering with it needs write access, which can delete anyway.
   */
  auditRetentionMs: number;
}

export interface LockoutRecord {
  kind: 'lockout';
  failures: number;
  lockedUntil: number;
  lastAttemptAt: number;
}

/**
 * The guard-PIN lock-out: one counter for every guard account on this device (a guesser needs any PIN), split by
 * the account each failure was aimed at (its random guard id, or '?' for a name nobody has) so that a guard's own
 * right PIN clears only their own slips, not the guesses at a colleague's PIN (src/store/guards.ts).
 */
export interface GuardLockoutRecord {
  kind: 'guard-lockout';
  failures: number;
  lockedUntil: number;
  lastAttemptAt: number;
  /** Failures per target; absent in records written before session 20 (then all count as '?'). */
  byTarget?: Record<string, number>;
}

/**
 * Recent manual overrides per actor (guard id or 'admin'), wall-clock times only, for the override rate limit. In
 * clear like the lock-out counters: times and random ids, no reason, name or decision (those are in the audit).
 */
export interface OverrideLogRecord {
  kind: 'override-log';
  byActor: Record<string, number[]>;
}

/**
 * The signature counter of the last accepted assertion per guard security key (credential id, a random id), for
 * spotting a copied key (src/store/guards.ts verifyPasskey). In clear like the lock-out counters, and written on a
 * guard's login, which has no admin session to write the sealed guards secret with.
 */
export interface PasskeyCountsRecord {
  kind: 'passkey-counts';
  byCredential: Record<string, number>;
}

export type MetaRecord = VaultMetaRecord | LockoutRecord | GuardLockoutRecord | OverrideLogRecord | PasskeyCountsRecord;

/**
 * Subjects are stored and sealed in pages of about PAGE_TARGET_BYTES (the page is one AES-GCM box bound to
 * (store, page, format, version)). Measured here: Chromium's IndexedDB costs ~70 us per record read whatever its
 * size, and each WebCrypto call ~45 us of main-thread time; with one record and one box per subject, 100k subjects
 * spent most of their load in those fixed costs (13 s), with 256 KB pages ~40x fewer of each.
 * `ids` lists the page's subject ids in clear (random ids, a locator hint only: the sealed page is authoritative).
 */
export interface SubjectPageRecord {
  page: number;
  /** The generation that last wrote this page; bound into the additional data and listed in the sealed root. */
  v: number;
  f: number;
  ids: string[];
  box: ArrayBuffer;
}

/** New subjects go to the last page until it holds this many bytes; an edit rewrites one page. */
export const PAGE_TARGET_BYTES = 256 * 1024;

/** The sealed root ('root'): {generation, page versions, settings version, next page}. */
export interface IndexRecord {
  /** The generation, bumped by every watchlist or settings change. */
  v: number;
  f: number;
  box: ArrayBuffer;
}

export interface SettingsRecord {
  v: number;
  f: number;
  box: ArrayBuffer;
}

export interface AuditRecord {
  id?: number;
  at: number;
  /** Random per entry; with `at` it is the entry's binding (the auto-increment key is unknown before the write). */
  uid: string;
  /** The writer session's ephemeral ECDH public key (raw P-256 point). */
  epk: ArrayBuffer;
  f: number;
  box: ArrayBuffer;
}

export interface OutboxRecord {
  seq: number;
  createdAt: number;
  attempts: number;
  lastError?: string;
  f: number;
  /** The envelope body, sealed under the data key. */
  box: ArrayBuffer;
}

/**
 * Key material other modules keep (decision signing keys, sync keys), sealed as JSON: keys inside the seal as JWK
 * (src/store/secrets.ts). `keys` holds only CryptoKeys that could not be sealed (non-extractable ones, e.g. from
 * records written before session 24), structured-cloned, with placeholders in the JSON where they go.
 */
export interface SecretRecord {
  f: number;
  keys: CryptoKey[];
  box: ArrayBuffer;
  /** A record only the admin may open (secrets.ts putAdmin): the box is sealed under the admin secrets key. */
  admin?: true;
}

export interface QuarantineRecord {
  id?: number;
  at: number;
  store: string;
  key: string;
  reason: string;
  /** The record exactly as it was found (still sealed; nothing is decrypted into quarantine). */
  raw: unknown;
}

export interface VaultDB extends DBSchema {
  keyring: { key: KeyringKey; value: KeyringRecord };
  meta: { key: MetaRecord['kind']; value: MetaRecord };
  subjects: { key: number; value: SubjectPageRecord };
  index: { key: string; value: IndexRecord };
  settings: { key: 'settings'; value: SettingsRecord };
  audit: { key: number; value: AuditRecord; indexes: { at: number } };
  outbox: { key: number; value: OutboxRecord; indexes: { createdAt: number } };
  quarantine: { key: number; value: QuarantineRecord };
  secrets: { key: string; value: SecretRecord };
}

export type VaultStore = StoreNames<VaultDB>;
export const ALL_STORES: VaultStore[] = [
  'keyring',
  'meta',
  'subjects',
  'index',
  'settings',
  'audit',
  'outbox',
  'quarantine',
  'secrets',
];

type UpgradeTx = IDBPTransaction<VaultDB, VaultStore[], 'versionchange'>;

/**
 * MIGRATIONS[n] takes the database from version n to n+1. Steps only change structure: no WebCrypto can run inside
 * a versionchange transaction (it would commit while the promise is pending), which is why RECORD_FORMAT is separate.
 */
const MIGRATIONS: ((db: IDBPDatabase<VaultDB>, tx: UpgradeTx) => void)[] = [
  (db) => {
    db.createObjectStore('keyring');
    db.createObjectStore('meta');
    db.createObjectStore('subjects', { keyPath: 'page' });
    db.createObjectStore('index');
    db.createObjectStore('settings');
    db.createObjectStore('audit', { keyPath: 'id', autoIncrement: true }).createIndex('at', 'at');
    db.createObjectStore('outbox', { keyPath: 'seq' }).createIndex('createdAt', 'createdAt');
    db.createObjectStore('quarantine', { keyPath: 'id', autoIncrement: true });
  },
  // 1 -> 2: key material of the decision and sync modules
  (db) => {
    db.createObjectStore('secrets');
  },
];

/** Runs the migrations from `from` to `to` (tests use it to build an older database the way older code did). */
export function migrate(db: IDBPDatabase<VaultDB>, from: number, to: number, tx: UpgradeTx): void {
  for (let v = from; v < to; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new KioskError('INTERNAL', { reason: 'no migration', from: v });
    step(db, tx);
  }
}

export function upgrade(db: IDBPDatabase<VaultDB>, oldVersion: number, newVersion: number | null, tx: UpgradeTx): void {
  migrate(db, oldVersion, newVersion ?? DB_VERSION, tx);
}
