/**
 * The vault: the kiosk's only door to IndexedDB. Owns the key hierarchy, unlock and lock-out, set-up, passphrase
 * change, unattended mode, panic wipe and the lifecycle; subjects, settings, audit, outbox and other modules' key
 * material (secrets.ts) hang off it. It must never write a label, plate, template, setting or decision in clear,
 * never log them, and never hand out key bytes.
 *
 * Keys. A random AES-256-GCM data key seals every record. It is stored only wrapped: (1) under a key derived from
 * the admin passphrase (PBKDF2-SHA-256, salt, >= 600,000 iterations) and (2) under a non-extractable device key
 * kept as a CryptoKey in IndexedDB (unattended mode). The audit log is sealed to an ECDH public key whose private
 * half is wrapped by the passphrase key only. Unlocking with the device key gives the "kiosk" session: load the
 * watchlist for matching, read settings, append audit entries, use the outbox. Admin actions (enrol, edit,
 * delete, settings, retention, export, wipe, passphrase change, unattended on/off) also need the passphrase in
 * this session, which idles out after `adminIdleMs`.
 *
 * Threat model, honestly:
 * - The device key is non-extractable: no script, ours included, can export its bytes through WebCrypto. But
 *   Chromium keeps its key material inside the profile's IndexedDB files, unprotected by any OS keystore. So in
 *   unattended mode a stolen tablet without disk encryption, or a full copy of the browser profile, can be
 *   opened in a browser at this origin and the watchlist, settings and outbox read. Unattended restart and
 *   "a copied profile reveals nothing" cannot both hold without hardware-backed keys; use the platform's disk
 *   encryption, and turn unattended mode off (`setUnattended(false, ...)`, the admin's maintenance card) where
 *   someone is present at boot.
 * - What the split does buy in every mode: the audit log (who came when) needs the passphrase, so a copied
 *   profile does not reveal the history; nor does it hold the admin's bundle-signing key (sealed under a key
 *   derived from the audit private key, secrets.ts `putAdmin`, session 26), so it cannot sign — or plant — a
 *   watchlist signing key the kiosks would trust; a partial copy (any store without the keyring) reveals nothing; a wipe
 *   makes everything undecryptable by destroying the wrapped keys; and walk-up use of the kiosk cannot enrol,
 *   export or wipe. With unattended mode off, a stolen device or copied profile reveals nothing without the
 *   passphrase: offline guessing then faces PBKDF2 plus the strength rule (the lock-out only slows guessing
 *   through this code). That includes other modules' keys (decision signing, admin and kiosk sync keys): they are
 *   sealed inside the data key's seal as well (secrets.ts), not kept as CryptoKey objects in clear (except keys
 *   from before session 24, which cannot be sealed afterwards: a wipe and a new set-up replaces them).
 * - A script running in this origin (XSS, a hostile dependency) acts as the page: it can call the vault while it
 *   is unlocked. Non-extractable keys mean it must exfiltrate decrypted data live; the CSP limits where to. The
 *   admin gate is enforced by this code, not by cryptography, except for the audit log and the admin-only secrets.
 * - Wipe overwrites the key records, clears every store and deletes the database. IndexedDB's LevelDB files may
 *   keep stale copies until compaction; only full-disk encryption makes the old bytes unreadable.
 */
import { KioskError, isKioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import { bindingData, randomBytes, seal } from '../crypto/aead';
import {
  PBKDF2_MIN_ITERATIONS,
  auditPairMatches,
  auditPublicOf,
  derivePassphraseKey,
  exportPublicKey,
  generateAuditKeyPair,
  generateDataKey,
  generateDeviceKey,
  newSalt,
  unwrapAuditPrivateKey,
  unwrapDataKey,
  wrapWith,
} from '../crypto/keys';
import { MAX_PASSPHRASE_LENGTH, checkPassphrase } from '../crypto/passphrase';
import { AuditApi, auditPublicAad, checkRetentionMs, readAuditPublic } from './audit';
import type { SubjectInput } from './codec';
import { DEFAULT_AUDIT_RETENTION_MS, VaultCore, type VaultEvent, type VaultOptions, type VaultState } from './core';
import { NO_LOCKOUT, beforeAttempt, rebase, waitMs } from './lockout';
import { emptySnapshot, prepareRoot } from './manifest';
import { VaultOutbox } from './outbox';
import {
  ALL_STORES,
  RECORD_FORMAT,
  type DeviceKeyRecord,
  type KeyringRecord,
  type LockoutRecord,
  type PassphraseKeyRecord,
  type VaultMetaRecord,
} from './schema';
import { SettingsApi, encodeSettings, sealSettings, type SettingsValues } from './settings';
import { SecretsApi } from './secrets';
import { GuardsApi } from './guards';
import { SubjectsApi, type WatchlistLoad, type WatchlistPlanLike } from './subjects';
import type { DecisionKeyStore } from '../shared/decision-keys';
import { wrap } from 'idb';

/** What an admin types to confirm a panic wipe (the UI shows it; a stray click cannot match it). */
export const WIPE_CONFIRMATION = 'WIPE';

const aadPassDataKey = (): Uint8Array<ArrayBuffer> => bindingData('keyring', 'passphrase', 'dataKey', RECORD_FORMAT);
const aadPassAuditKey = (): Uint8Array<ArrayBuffer> => bindingData('keyring', 'passphrase', 'auditKey', RECORD_FORMAT);
const aadDeviceDataKey = (): Uint8Array<ArrayBuffer> => bindingData('keyring', 'device', 'dataKey', RECORD_FORMAT);

export interface SetupOptions {
  /** Keep a device-wrapped data key so the kiosk restarts without the admin. Default true. */
  unattended?: boolean;
  auditRetentionMs?: number;
  /**
   * The first settings (the kiosk's id, its role...), stored in the set-up transaction: a vault never exists
   * without them, as it would if a second write were cut off (a new kiosk id at every start, the role lost).
   */
  settings?: SettingsValues;
}

export interface QuarantineSummary {
  id: number;
  at: number;
  store: string;
  key: string;
  reason: string;
}

function weak(passphrase: string): KioskError | null {
  const c = checkPassphrase(passphrase);
  return c.ok ? null : new KioskError('STORE_WEAK_PASSPHRASE', { reasons: c.reasons.join(',') });
}

export class Vault {
  readonly subjects: SubjectsApi;
  readonly settings: SettingsApi;
  readonly audit: AuditApi;
  readonly outbox: VaultOutbox;
  /** Key material of other modules (get: device unlock; put: admin). */
  readonly keys: SecretsApi;
  /** The decision module's signing record (src/shared/decision-keys.ts), device unlock. */
  readonly decisionKeys: DecisionKeyStore;
  /** Guard accounts, PIN lock-out and the override window (src/store/guards.ts). */
  readonly guards: GuardsApi;

  private constructor(private readonly core: VaultCore) {
    this.subjects = new SubjectsApi(core);
    this.audit = new AuditApi(core);
    this.settings = new SettingsApi(core, this.audit);
    this.outbox = new VaultOutbox(core);
    this.keys = new SecretsApi(core);
    this.decisionKeys = this.keys.decisionKeys;
    this.guards = new GuardsApi(core, this.keys);
  }

  /**
   * Opens (and creates or upgrades) the database, requests persistent storage, purges expired audit entries and
   * starts the retention timer. The vault starts locked (or uninitialised).
   */
  static async open(opts: VaultOptions = {}): Promise<Vault> {
    const v = new Vault(new VaultCore(opts));
    const core = v.core;
    await core.connect();
    await v.refreshMeta();
    if (core.requestPersistence) await v.requestPersistence();
    if (core.state.status !== 'uninitialised') {
      try {
        await v.audit.purge();
      } catch {
        // visible in state.lastError; a failed purge must not keep the kiosk from starting
      }
      await core.refreshQuarantineCount();
    }
    v.audit.startTimer(core.retentionTimerMs);
    core.subscribe((e) => {
      if (e.type === 'state' && ['version-changed', 'terminated', 'wiped', 'closed'].includes(e.state.status))
        v.audit.stopTimer();
    });
    return v;
  }

  get state(): Readonly<VaultState> {
    return this.core.state;
  }

  /** State changes and data changes (subjects, settings, audit, outbox, quarantine, keys), in this tab. */
  subscribe(fn: (e: VaultEvent) => void): () => void {
    return this.core.subscribe(fn);
  }

  // --- set-up and unlock --------------------------------------------------------------------------------------

  /**
   * First run: creates the keys (and stores the first settings, if given, in the same transaction) and leaves the
   * vault unlocked as admin. STORE_WEAK_PASSPHRASE with reasons.
   */
  async setup(passphrase: string, opts: SetupOptions = {}): Promise<void> {
    this.core.requireOpen();
    if (this.core.state.status !== 'uninitialised') throw new KioskError('STORE_ALREADY_INITIALISED');
    const w = weak(passphrase);
    if (w) throw w;
    const iterations = this.core.pbkdf2Iterations;
    if (!Number.isInteger(iterations) || iterations < PBKDF2_MIN_ITERATIONS) {
      throw new KioskError('INPUT_INVALID', { field: 'pbkdf2Iterations', min: PBKDF2_MIN_ITERATIONS });
    }
    const retention = opts.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
    checkRetentionMs(retention);
    const settingsBytes = opts.settings === undefined ? null : encodeSettings(opts.settings);
    const unattended = opts.unattended ?? true;
    const now = this.core.now();

    const extractableDataKey = await generateDataKey();
    const salt = newSalt();
    const kek = await derivePassphraseKey(passphrase, salt, iterations);
    const audit = await generateAuditKeyPair();
    const pass: PassphraseKeyRecord = {
      kind: 'passphrase',
      f: RECORD_FORMAT,
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt },
      dataKey: await wrapWith('raw', extractableDataKey, kek, aadPassDataKey()),
      auditKey: await wrapWith('pkcs8', audit.privateKey, kek, aadPassAuditKey()),
      createdAt: now,
    };
    let device: DeviceKeyRecord | null = null;
    if (unattended) {
      const deviceKey = await generateDeviceKey();
      device = {
        kind: 'device',
        f: RECORD_FORMAT,
        key: deviceKey,
        dataKey: await wrapWith('raw', extractableDataKey, deviceKey, aadDeviceDataKey()),
        createdAt: now,
      };
    }
    // From here on only non-extractable copies are kept.
    const dataKey = await unwrapDataKey(pass.dataKey, kek, aadPassDataKey(), false);
    const auditPrivate = await unwrapAuditPrivateKey(pass.auditKey, kek, aadPassAuditKey(), false);
    const auditPublic = await seal(dataKey, await exportPublicKey(audit.publicKey), auditPublicAad());
    // Generation 1 is the first root; the first settings are written at it.
    const settings = settingsBytes ? await sealSettings(dataKey, settingsBytes, 1) : null;
    const { record: root, next } = await prepareRoot(dataKey, emptySnapshot(), 1, {
      pages: new Map(),
      settingsV: settings ? 1 : 0,
    });
    const meta: VaultMetaRecord = {
      kind: 'vault',
      f: RECORD_FORMAT,
      createdAt: now,
      unattended,
      auditRetentionMs: retention,
    };

    await this.core.writeTx(
      ['keyring', 'meta', 'index', 'settings'],
      async (tx) => {
        const keyring = tx.objectStore('keyring');
        const metaStore = tx.objectStore('meta');
        // Another tab may have set up the vault since we looked.
        if (await metaStore.get('vault')) throw new KioskError('STORE_ALREADY_INITIALISED');
        await Promise.all([
          keyring.put(pass, 'passphrase'),
          keyring.put({ kind: 'audit-public', f: RECORD_FORMAT, box: auditPublic }, 'audit-public'),
          ...(device ? [keyring.put(device, 'device')] : []),
          metaStore.put(meta, 'vault'),
          metaStore.put(NO_LOCKOUT, 'lockout'),
          tx.objectStore('index').put(root, 'root'),
          ...(settings ? [tx.objectStore('settings').put(settings, 'settings')] : []),
        ]);
      },
      'strict',
    );
    this.core.index = next;
    this.core.auditRetentionMs = retention;
    this.core.setState({ unattended, failures: 0, lockedUntil: 0 });
    this.core.beginAdmin(dataKey, auditPrivate);
    this.core.emit({ type: 'change', store: 'keys' });
    if (settings) this.core.emit({ type: 'change', store: 'settings' });
  }

  /** Unattended restart: unwraps the data key with the device key. STORE_LOCKED when unattended mode is off. */
  async unlockDevice(): Promise<void> {
    const db = this.core.requireInitialised();
    if (this.core.dataKey) return;
    const [meta, rec] = await this.core.read(async () => {
      const tx = db.transaction(['meta', 'keyring']);
      return Promise.all([tx.objectStore('meta').get('vault'), tx.objectStore('keyring').get('device')]);
    });
    // Meta says whether the mode is on: turning it off leaves an overwritten device record behind until its
    // delete commits (setUnattended), and that record is not a damaged key.
    if (!rec || (meta?.kind === 'vault' && !meta.unattended))
      throw new KioskError('STORE_LOCKED', { reason: 'passphrase-needed' });
    if (rec.kind !== 'device' || !(rec.key instanceof CryptoKey))
      throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'device' });
    try {
      this.core.dataKey = await unwrapDataKey(rec.dataKey, rec.key, aadDeviceDataKey(), false);
    } catch (e) {
      throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'device' }, { cause: e });
    }
    this.core.setState({ status: 'unlocked', lastError: null });
  }

  /**
   * Admin unlock. Wrong passphrase: STORE_WRONG_PASSPHRASE (details: failures, waitMs) and nothing but the
   * lock-out counter changes; during a back-off: STORE_LOCKED_OUT (details: waitMs, lockedUntil).
   * `auditKeyRepaired`: the audit log's stored public half was not the passphrase-wrapped private key's (or was
   * missing or damaged) and has been written again from the private half (repairAuditPublic); the caller audits it.
   */
  async unlockAdmin(passphrase: string): Promise<{ auditKeyRepaired: boolean }> {
    const unlocked = await this.tryPassphrase(passphrase, false);
    const auditKeyRepaired = await this.repairAuditPublic(unlocked);
    this.core.beginAdmin(unlocked.dataKey, unlocked.auditKey);
    this.core.setState({ lastError: null });
    return { auditKeyRepaired };
  }

  /**
   * The audit public half is sealed under the data key, which the device unlock gives too: whoever holds that (a
   * copied profile in unattended mode, a script in this origin) can swap it for their own, and every audit entry
   * written after is sealed to them — readable by them, quarantined for the admin — while the admin-only secrets
   * refuse to open (secrets.ts `adminKey`). Only the passphrase reaches the private half, so each admin unlock
   * checks the pair and, when it does not match, writes the public half again from the private one, before any
   * entry of this session is sealed. True when it did.
   */
  private async repairAuditPublic(u: { dataKey: CryptoKey; auditKey: CryptoKey; auditPublic: () => Promise<ArrayBuffer> }): Promise<boolean> {
    let stored: CryptoKey | null = null;
    try {
      stored = await readAuditPublic(this.core, u.dataKey);
    } catch (e) {
      if (!isKioskError(e, 'STORE_CORRUPT_RECORD')) throw e;
    }
    if (stored && (await auditPairMatches(u.auditKey, stored))) return false;
    const box = await seal(u.dataKey, await u.auditPublic(), auditPublicAad());
    await this.core.writeTx(['keyring'], (tx) => tx.store.put({ kind: 'audit-public', f: RECORD_FORMAT, box }, 'audit-public'), 'strict');
    // The writer's session key was derived from the swapped half, and an append under way may be deriving one now.
    this.core.auditWriter = null;
    this.core.auditWriterGeneration++;
    return true;
  }

  /**
   * The open admin session's passphrase, asked again (a grant on a tablet visitors use): checked as an unlock is, the
   * same lock-out counted, nothing else changes. Wrong: STORE_WRONG_PASSPHRASE; during a back-off STORE_LOCKED_OUT.
   */
  async confirmAdmin(passphrase: string): Promise<void> {
    this.core.requireAdmin();
    await this.tryPassphrase(passphrase, false);
  }

  /**
   * Throws STORE_ADMIN_REQUIRED unless an admin session is open and has not idled out. Counts as activity unless
   * `activity: false` (the app's authority checking a capability: a screen that re-renders after each decision kept
   * an admin who had walked away logged in; attacker review, session 33). The app's authority asks here, so the
   * vault's idle rule is the only admin rule.
   */
  requireAdmin(opts: { activity?: boolean } = {}): void {
    this.core.requireAdmin(opts);
  }

  /** A touch or key press in an open admin session keeps it alive; nothing happens without one (or past its idle). */
  touchAdmin(): void {
    if (!this.core.state.admin) return;
    try {
      this.core.requireAdmin();
    } catch {
      // idled out already: the next check says so
    }
  }

  /** Ends the admin session; the kiosk keeps matching with the data key. */
  lockAdmin(): void {
    this.core.endAdmin();
  }

  /** Forgets every key in memory. */
  lock(): void {
    if (this.core.state.status !== 'unlocked') return;
    this.core.dropKeys();
    this.core.setState({ status: 'locked', admin: false });
  }

  /** Current lock-out, read from storage (survives reloads). */
  async lockout(): Promise<{ failures: number; waitMs: number; lockedUntil: number }> {
    const rec = await this.readLockout();
    const now = this.core.now();
    return { failures: rec.failures, waitMs: waitMs(rec, now), lockedUntil: rebase(rec, now).lockedUntil };
  }

  /** Re-wraps the data key and audit key under a new passphrase; no record is re-encrypted. Admin. */
  async changePassphrase(current: string, next: string): Promise<void> {
    this.core.requireAdmin();
    const w = weak(next);
    if (w) throw w;
    const { dataKey, auditKey } = await this.tryPassphrase(current, true);
    const salt = newSalt();
    const iterations = Math.max(this.core.pbkdf2Iterations, PBKDF2_MIN_ITERATIONS);
    const kek = await derivePassphraseKey(next, salt, iterations);
    const rec: PassphraseKeyRecord = {
      kind: 'passphrase',
      f: RECORD_FORMAT,
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt },
      dataKey: await wrapWith('raw', dataKey, kek, aadPassDataKey()),
      auditKey: await wrapWith('pkcs8', auditKey, kek, aadPassAuditKey()),
      createdAt: this.core.now(),
    };
    await this.core.writeTx(['keyring'], (tx) => tx.store.put(rec, 'passphrase'), 'strict');
    this.core.emit({ type: 'change', store: 'keys' });
  }

  /**
   * Turns unattended restart on (new device key) or off (device record overwritten, then deleted; see below).
   * Admin.
   */
  async setUnattended(enabled: boolean, passphrase: string): Promise<void> {
    this.core.requireAdmin();
    const { dataKey } = await this.tryPassphrase(passphrase, enabled);
    const setMeta = async (store: {
      get(k: 'vault'): Promise<unknown>;
      put(v: VaultMetaRecord, k: 'vault'): Promise<unknown>;
    }): Promise<void> => {
      const meta = (await store.get('vault')) as VaultMetaRecord | undefined;
      if (!meta || meta.kind !== 'vault') throw new KioskError('STORE_NOT_INITIALISED');
      await store.put({ ...meta, unattended: enabled }, 'vault');
    };
    if (enabled) {
      const deviceKey = await generateDeviceKey();
      const rec: DeviceKeyRecord = {
        kind: 'device',
        f: RECORD_FORMAT,
        key: deviceKey,
        dataKey: await wrapWith('raw', dataKey, deviceKey, aadDeviceDataKey()),
        createdAt: this.core.now(),
      };
      await this.core.writeTx(
        ['keyring', 'meta'],
        async (tx) => {
          await tx.objectStore('keyring').put(rec, 'device');
          await setMeta(tx.objectStore('meta'));
        },
        'strict',
      );
    } else {
      // Two transactions on purpose: overwritten and deleted in one, the storage engine may drop the junk without
      // ever writing it over the key. The first also turns the mode off in meta, so a tab closed between the two
      // leaves a vault that says "off" (unlockDevice: passphrase needed) with junk where the key was, never a
      // vault that is "on" with a device record that cannot open (STORE_CORRUPT_RECORD at every start).
      const junk = await this.junkKeyring();
      const device = junk.find((r) => r.kind === 'device');
      await this.core.writeTx(
        ['keyring', 'meta'],
        async (tx) => {
          if (device) await tx.objectStore('keyring').put(device, 'device');
          await setMeta(tx.objectStore('meta'));
        },
        'strict',
      );
      // Off from here on, whatever becomes of the delete.
      this.core.setState({ unattended: false });
      if (device) await this.core.writeTx(['keyring'], (tx) => tx.store.delete('device'), 'strict');
    }
    if (enabled) this.core.setState({ unattended: true });
    this.core.emit({ type: 'change', store: 'keys' });
  }

  // --- data ---------------------------------------------------------------------------------------------------

  /** Everything matching needs, decrypted into memory (device unlock is enough). Bad records are reported. */
  loadWatchlist(): Promise<WatchlistLoad> {
    return this.subjects.load();
  }

  /** Convenience for the admin screen. */
  enrol(input: SubjectInput): Promise<Subject> {
    return this.subjects.put(input);
  }

  /** Version of the last watchlist bundle applied (sealed in the root). */
  watchlistVersion(): Promise<number> {
    return this.subjects.watchlistVersion();
  }

  /**
   * Runs `fn` as one change against the others made this way, in this tab and any other: for a caller whose write
   * depends on what it read first (a bundle planned against this tablet's revocations; an admin's edit that records
   * its revocation before writing). Each step inside still takes the vault's own locks. Not re-entrant.
   */
  asOneChange<T>(fn: () => Promise<T>): Promise<T> {
    return this.core.withChangeLock(fn);
  }

  /** Applies a verified bundle's plan atomically (see SubjectsApi.applyPlan). */
  applyWatchlistPlan(plan: WatchlistPlanLike): Promise<void> {
    return this.subjects.applyPlan(plan);
  }

  async listQuarantine(): Promise<QuarantineSummary[]> {
    this.core.requireInitialised();
    const recs = await this.core.read((db) => db.getAll('quarantine'));
    return recs.map((r) => ({ id: r.id ?? 0, at: r.at, store: r.store, key: r.key, reason: r.reason }));
  }

  /** Empties the quarantine (admin, after review). */
  async clearQuarantine(): Promise<void> {
    this.core.requireAdmin();
    await this.core.writeTx(['quarantine'], (tx) => tx.store.clear());
    await this.core.refreshQuarantineCount();
    this.core.emit({ type: 'change', store: 'quarantine' });
  }

  // --- storage ------------------------------------------------------------------------------------------------

  /** Asks the browser not to evict the vault under storage pressure; the answer is in state.persisted. */
  async requestPersistence(): Promise<boolean | null> {
    const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
    if (!storage?.persist) {
      this.core.setState({ persisted: null });
      return null;
    }
    try {
      const persisted = (await storage.persisted()) || (await storage.persist());
      this.core.setState({ persisted });
      return persisted;
    } catch {
      this.core.setState({ persisted: null });
      return null;
    }
  }

  async storageEstimate(): Promise<{ usage: number; quota: number } | null> {
    const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
    if (!storage?.estimate) return null;
    const e = await storage.estimate();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  }

  // --- wipe and close -----------------------------------------------------------------------------------------

  /**
   * Panic wipe (admin, `confirmation` must be WIPE_CONFIRMATION): overwrites the key records with random bytes
   * and commits, clears every store and commits, then deletes the database. Other tabs are told to close (their
   * vaults go to 'version-changed'). `databaseDeleted` is false if another tab held on past the timeout: by then
   * nothing in the database could be decrypted anyway.
   */
  async wipe(confirmation: string): Promise<{ databaseDeleted: boolean }> {
    if (confirmation !== WIPE_CONFIRMATION) throw new KioskError('INPUT_INVALID', { field: 'confirmation' });
    this.core.requireAdmin();
    const junk = await this.junkKeyring();
    await this.core.writeTx(
      ['keyring'],
      async (tx) => {
        await Promise.all(junk.map((r) => tx.store.put(r, r.kind)));
      },
      'strict',
    );
    await this.core.writeTx(
      ALL_STORES,
      async (tx) => {
        await Promise.all(ALL_STORES.map((s) => tx.objectStore(s).clear()));
      },
      'strict',
    );
    this.audit.stopTimer();
    this.core.dropConnection('wiped', 'STORE_WIPED');
    let deleted = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      deleted = await Promise.race([
        (wrap(this.core.factory.deleteDatabase(this.core.name)) as Promise<unknown>).then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.core.openTimeoutMs);
        }),
      ]);
    } catch {
      deleted = false;
    } finally {
      clearTimeout(timer);
    }
    this.core.emit({ type: 'change', store: 'keys' });
    return { databaseDeleted: deleted };
  }

  close(): void {
    this.audit.stopTimer();
    if (this.core.state.status === 'wiped') return;
    this.core.dropConnection('closed', null);
  }

  // --- internals ----------------------------------------------------------------------------------------------

  private async refreshMeta(): Promise<void> {
    const db = this.core.requireOpen();
    const [meta, lock] = await this.core.read(() => Promise.all([db.get('meta', 'vault'), db.get('meta', 'lockout')]));
    const lockout = lock && lock.kind === 'lockout' ? lock : NO_LOCKOUT;
    const now = this.core.now();
    if (meta && meta.kind === 'vault') {
      this.core.auditRetentionMs = meta.auditRetentionMs;
      this.core.setState({
        status: 'locked',
        unattended: meta.unattended,
        failures: lockout.failures,
        lockedUntil: waitMs(lockout, now) > 0 ? rebase(lockout, now).lockedUntil : 0,
      });
    } else {
      this.core.setState({ status: 'uninitialised', unattended: false, failures: 0, lockedUntil: 0 });
    }
  }

  private async readLockout(): Promise<LockoutRecord> {
    const rec = await this.core.read((db) => db.get('meta', 'lockout'));
    return rec && rec.kind === 'lockout' ? rec : NO_LOCKOUT;
  }

  /**
   * The one place a passphrase is tried. The attempt is counted (persisted) before the key derivation and
   * cleared on success; attempts are serialised across tabs.
   */
  private async tryPassphrase(
    passphrase: string,
    extractable: boolean,
  ): Promise<{ dataKey: CryptoKey; auditKey: CryptoKey; auditPublic: () => Promise<ArrayBuffer> }> {
    this.core.requireInitialised();
    if (typeof passphrase !== 'string' || passphrase.length > MAX_PASSPHRASE_LENGTH * 4) {
      throw new KioskError('INPUT_INVALID', { field: 'passphrase' });
    }
    return this.core.withAuthLock(async () => {
      const now = this.core.now();
      const policy = this.core.lockoutPolicy;
      const gate = await this.core.writeTx(
        ['meta'],
        async (tx) => {
          const stored = await tx.store.get('lockout');
          const rec = rebase(stored && stored.kind === 'lockout' ? stored : NO_LOCKOUT, now);
          const wait = waitMs(rec, now);
          if (wait > 0) {
            if (rec !== stored) await tx.store.put(rec, 'lockout');
            return { rec, wait };
          }
          const counted = beforeAttempt(rec, now, policy);
          await tx.store.put(counted, 'lockout');
          return { rec: counted, wait: 0 };
        },
        'strict',
      );
      if (gate.wait > 0) {
        this.core.setState({
          failures: gate.rec.failures,
          lockedUntil: gate.rec.lockedUntil,
          lastError: 'STORE_LOCKED_OUT',
        });
        throw new KioskError('STORE_LOCKED_OUT', {
          waitMs: gate.wait,
          lockedUntil: gate.rec.lockedUntil,
          failures: gate.rec.failures,
        });
      }
      const pass = await this.core.read((db) => db.get('keyring', 'passphrase'));
      if (!pass || pass.kind !== 'passphrase' || pass.kdf.iterations < PBKDF2_MIN_ITERATIONS) {
        throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'passphrase' });
      }
      const kek = await derivePassphraseKey(passphrase, pass.kdf.salt, pass.kdf.iterations);
      let dataKey: CryptoKey;
      try {
        dataKey = await unwrapDataKey(pass.dataKey, kek, aadPassDataKey(), extractable);
      } catch {
        const wait = waitMs(gate.rec, this.core.now());
        this.core.setState({
          failures: gate.rec.failures,
          lockedUntil: gate.rec.lockedUntil,
          lastError: 'STORE_WRONG_PASSPHRASE',
        });
        throw new KioskError('STORE_WRONG_PASSPHRASE', { failures: gate.rec.failures, waitMs: wait });
      }
      let auditKey: CryptoKey;
      try {
        auditKey = await unwrapAuditPrivateKey(pass.auditKey, kek, aadPassAuditKey(), extractable);
      } catch (e) {
        throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'passphrase' }, { cause: e });
      }
      await this.core.writeTx(['meta'], (tx) => tx.store.put(NO_LOCKOUT, 'lockout'), 'strict');
      this.core.setState({ failures: 0, lockedUntil: 0 });
      // The public half, only when asked (repairAuditPublic): the one path that needs the private half extractable.
      const auditPublic = async () => auditPublicOf(await unwrapAuditPrivateKey(pass.auditKey, kek, aadPassAuditKey(), true));
      return { dataKey, auditKey, auditPublic };
    });
  }

  /** Same-shaped records of random bytes (and a fresh, never-used device key) to overwrite the real ones. */
  private async junkKeyring(): Promise<KeyringRecord[]> {
    const recs = await this.core.read((db) => db.getAll('keyring'));
    const out: KeyringRecord[] = [];
    for (const r of recs) {
      if (r.kind === 'passphrase') {
        out.push({
          ...r,
          kdf: { ...r.kdf, salt: randomBytes(r.kdf.salt.byteLength) },
          dataKey: randomBytes(r.dataKey.byteLength).buffer,
          auditKey: randomBytes(r.auditKey.byteLength).buffer,
        });
      } else if (r.kind === 'device') {
        out.push({ ...r, key: await generateDeviceKey(), dataKey: randomBytes(r.dataKey.byteLength).buffer });
      } else {
        out.push({ ...r, box: randomBytes(r.box.byteLength).buffer });
      }
    }
    return out;
  }
}
