/**
 * Key material other modules keep in the vault: the decision module's signing record (src/shared/decision-keys.ts
 * contract) and the sync module's keys (kiosk bundle key, pinned admin keys, recipients; the admin signing pair in an
 * admin-only record, below). Owns the 'secrets' store. A value is any JSON-shaped object that may hold CryptoKeys;
 * the whole value is sealed under the data key (or, admin-only, the admin secrets key) as JSON, bound to the
 * record's name. Keys go inside the seal as JWK: their owners generate
 * them extractable for the one write, and they come back from `get` re-imported non-extractable (public halves stay
 * extractable, as WebCrypto makes them anyway). So a copy of the profile made while unattended mode is off holds
 * no usable key: before, the CryptoKey objects sat beside the sealed JSON in clear, and Chromium keeps a
 * non-extractable key's material in the profile's IndexedDB files, so a copied profile opened at this origin
 * signed grants for the kiosk's doors or bundles as its admin (attacker review, session 24).
 *
 * Records written before then, or keys handed in non-extractable, still keep the CryptoKey object beside the
 * seal (structured clone; it cannot be exported to seal it) until the key is replaced (a wipe and new set-up).
 * A record written with `putAdmin` (the admin's bundle-signing pair) is sealed under a key derived from the audit
 * private key instead (src/crypto/keys.ts adminSecretsKey), which only the passphrase unwraps, for reading and
 * writing alike: the data key opens at device unlock alone when unattended restart is on, and a profile copied from
 * such a tablet signed watchlist bundles as its admin (attacker review, session 26); a key derived from the public
 * half would have hidden the pair but let the device unlock plant one of its own (review of that fix).
 * Rollback of these records is not detected.
 */
import { KioskError } from '../shared/errors';
import type { DecisionKeyRecord, DecisionKeyStore } from '../shared/decision-keys';
import { bindingData, open, seal } from '../crypto/aead';
import { adminSecretsKey } from '../crypto/keys';
import { readAuditPublic } from './audit';
import type { VaultCore } from './core';
import { RECORD_FORMAT, type SecretRecord } from './schema';

/** Keeps a stray blob out: key records are a few kilobytes. */
export const MAX_SECRET_BYTES = 1024 * 1024;
const NAME = /^[a-z][a-z0-9-]{0,63}$/;
/** The decision module's record (see DecisionKeyStore). */
const DECISION_KEYS = 'decision-keys';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Binding data of the secret record `name` (also used by subjects.ts for its installed-version record). */
export const secretAad = (name: string): Uint8Array<ArrayBuffer> => bindingData('secrets', name, RECORD_FORMAT);

/** Binding data of an admin-only record: one cannot pass for a data-key record of the same name, or the reverse. */
const adminSecretAad = (name: string): Uint8Array<ArrayBuffer> => bindingData('secrets', 'admin', name, RECORD_FORMAT);

/** A key kept beside the seal as a CryptoKey object (records from before session 24, or a non-extractable key). */
interface KeyRef {
  $cryptoKey: number;
}
/** A key kept inside the seal. */
interface SealedKey {
  $sealedKey: { jwk: JsonWebKey; algorithm: KeyAlgorithm; usages: KeyUsage[] };
}
const only = (v: unknown, field: string): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && field in v;
const isKeyRef = (v: unknown): v is KeyRef => only(v, '$cryptoKey') && typeof (v as KeyRef).$cryptoKey === 'number';
const isSealedKey = (v: unknown): v is SealedKey =>
  only(v, '$sealedKey') && typeof (v as SealedKey).$sealedKey?.jwk === 'object';

/**
 * The sealed form of each key this page re-imported from a seal: the re-imported key is non-extractable, so without
 * this a value read, changed and written back (the next sequence number, a newly pinned key) would store its keys
 * as CryptoKey objects beside the seal again. Module-private and weak: it lives as long as the key object does.
 */
const sealedForm = new WeakMap<CryptoKey, SealedKey>();

/** Every CryptoKey in a JSON-shaped value, in the order JSON.stringify meets them. */
function keysIn(value: unknown): CryptoKey[] {
  const found: CryptoKey[] = [];
  JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof CryptoKey) {
      found.push(v);
      return null;
    }
    return v;
  });
  return found;
}

/** Puts the CryptoKeys back into a parsed value: sealed ones re-imported (private halves non-extractable). */
async function restoreKeys(v: unknown, beside: readonly CryptoKey[]): Promise<unknown> {
  if (isKeyRef(v)) {
    const key = beside[v.$cryptoKey];
    if (!(key instanceof CryptoKey)) throw new Error('key reference');
    return key;
  }
  if (isSealedKey(v)) {
    const { jwk, algorithm, usages } = v.$sealedKey;
    const isPublic = jwk.d === undefined && jwk.k === undefined;
    const key = await crypto.subtle.importKey('jwk', jwk, algorithm as AlgorithmIdentifier, isPublic, usages);
    sealedForm.set(key, v);
    return key;
  }
  if (Array.isArray(v)) return Promise.all(v.map((x) => restoreKeys(x, beside)));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: JSON.parse makes "__proto__" an own key (a subject id in a bundle's stamps
    // may be anything), and assigning it would set the prototype instead and drop the entry.
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, {
        value: await restoreKeys(x, beside),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
}

function validName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new KioskError('INPUT_INVALID', { field: 'secret-name' });
  return name;
}

export class SecretsApi {
  constructor(private readonly core: VaultCore) {}

  /** The value stored under `name`, CryptoKeys restored (undefined if none). STORE_CORRUPT_RECORD if tampered. */
  async get(name: string): Promise<unknown> {
    validName(name);
    const { dataKey } = this.core.requireUnlocked();
    const rec = await this.core.read((db) => db.get('secrets', name));
    if (!rec) return undefined;
    // Not an integrity failure: the data key cannot open it, the admin's session can (getAdmin).
    if (rec.admin === true) throw new KioskError('STORE_ADMIN_REQUIRED', { secret: name });
    return this.opened(name, rec, dataKey, secretAad(name), true);
  }

  /** `rec` opened and its keys restored; anything that fails (`ok` false included) quarantines it: STORE_CORRUPT_RECORD. */
  private async opened(
    name: string,
    rec: SecretRecord,
    key: CryptoKey,
    aad: Uint8Array<ArrayBuffer>,
    ok: boolean,
  ): Promise<unknown> {
    try {
      if (!ok) throw new Error('not the kind of record asked for');
      const json = decoder.decode(await open(key, rec.box, aad));
      return await restoreKeys(JSON.parse(json) as unknown, rec.keys);
    } catch (e) {
      await this.core.quarantine([{ store: 'secrets', key: name, reason: 'integrity', raw: rec }]);
      throw new KioskError('STORE_CORRUPT_RECORD', { store: 'secrets', key: name }, { cause: e });
    }
  }

  /**
   * Names of the records that still keep a CryptoKey beside the seal (written before keys were sealed, or a key
   * handed in non-extractable): a copy of the profile could use those keys. Only ciphertext and key objects are
   * looked at, nothing is decrypted; the admin's storage card lists them.
   */
  async unsealed(): Promise<string[]> {
    this.core.requireUnlocked();
    const [names, recs] = await this.core.read((db) => Promise.all([db.getAllKeys('secrets'), db.getAll('secrets')]));
    return names
      .filter((_, i) => (recs[i]?.keys ?? []).some((k) => k instanceof CryptoKey))
      .map(String)
      .sort();
  }

  /** Replaces the value under `name` (admin). */
  async put(name: string, value: unknown): Promise<void> {
    this.core.requireAdmin();
    await this.write(name, value, null);
  }

  /**
   * Replaces the value under `name` with one only the admin's session can read back or write (`getAdmin`): sealed
   * under the admin secrets key, derived from the audit private key the passphrase alone unwraps, so neither the
   * device unlock nor a copy of the profile opens it or writes one that opens.
   */
  async putAdmin(name: string, value: unknown): Promise<void> {
    const { dataKey, auditPrivate } = this.core.requireAdmin();
    await this.write(name, value, await this.adminKey(dataKey, auditPrivate));
  }

  /** The admin secrets key; STORE_CORRUPT_RECORD (keyring audit-public) when the stored public half is not the private
   * one's (swapped during this admin session: the next admin unlock writes it again, vault.ts repairAuditPublic). */
  private async adminKey(dataKey: CryptoKey, auditPrivate: CryptoKey): Promise<CryptoKey> {
    const key = await adminSecretsKey(auditPrivate, await readAuditPublic(this.core, dataKey));
    if (!key) throw new KioskError('STORE_CORRUPT_RECORD', { store: 'keyring', key: 'audit-public' });
    return key;
  }

  /**
   * A value `putAdmin` stored (undefined if none); STORE_ADMIN_REQUIRED outside the admin's session. A record under
   * `name` that the admin secrets key does not open (one sealed under the data key, which whoever holds the device
   * unlock could plant, or a damaged one) is quarantined — its bytes kept for review — and refused as
   * STORE_CORRUPT_RECORD.
   */
  async getAdmin(name: string): Promise<unknown> {
    validName(name);
    const { dataKey, auditPrivate } = this.core.requireAdmin();
    const rec = await this.core.read((db) => db.get('secrets', name));
    if (!rec) return undefined;
    const key = await this.adminKey(dataKey, auditPrivate);
    // Key objects beside the seal are neither secret nor authenticated: an admin-only record never has any.
    return this.opened(name, rec, key, adminSecretAad(name), rec.admin === true && rec.keys.length === 0);
  }

  /** The decision module's store: device unlock is enough (a decision is signed on every visit). */
  readonly decisionKeys: DecisionKeyStore = {
    load: async (): Promise<DecisionKeyRecord | undefined> => {
      try {
        return (await this.get(DECISION_KEYS)) as DecisionKeyRecord | undefined;
      } catch (e) {
        // The contract: an unreadable record reads as none, and the decision module makes a new key (re-pair).
        // The damaged record is in quarantine and the state says so.
        if (e instanceof KioskError && e.code === 'STORE_CORRUPT_RECORD') return undefined;
        throw e;
      }
    },
    save: async (record: DecisionKeyRecord): Promise<void> => {
      this.core.requireUnlocked();
      await this.write(DECISION_KEYS, record, null);
    },
  };

  /** `adminKey`: seal under it as an admin-only record; null: under the data key. */
  private async write(name: string, value: unknown, adminKey: CryptoKey | null): Promise<void> {
    validName(name);
    const { dataKey } = this.core.requireUnlocked();
    const keys: CryptoKey[] = [];
    let json: string | undefined;
    try {
      const sealed = new Map<CryptoKey, SealedKey>();
      for (const key of keysIn(value)) {
        const known = sealedForm.get(key);
        if (known) sealed.set(key, known);
        if (!key.extractable || sealed.has(key)) continue;
        const jwk = await crypto.subtle.exportKey('jwk', key);
        sealed.set(key, { $sealedKey: { jwk, algorithm: key.algorithm, usages: [...key.usages] } });
      }
      json = JSON.stringify(value, (_k, v: unknown) => {
        if (!(v instanceof CryptoKey)) return v;
        const inside = sealed.get(v);
        if (inside) return inside;
        keys.push(v);
        return { $cryptoKey: keys.length - 1 } satisfies KeyRef;
      });
    } catch (e) {
      throw new KioskError('INPUT_INVALID', { field: 'secret-value' }, { cause: e });
    }
    if (json === undefined) throw new KioskError('INPUT_INVALID', { field: 'secret-value' });
    const bytes = encoder.encode(json);
    if (bytes.byteLength > MAX_SECRET_BYTES)
      throw new KioskError('INPUT_INVALID', { field: 'secret-value', reason: 'too-large' });
    // A key that cannot be sealed (non-extractable) would sit beside the seal, usable from a copied profile.
    if (adminKey && keys.length > 0)
      throw new KioskError('INPUT_INVALID', { field: 'secret-value', reason: 'key-not-sealable' });
    const rec: SecretRecord = adminKey
      ? { f: RECORD_FORMAT, keys, box: await seal(adminKey, bytes, adminSecretAad(name)), admin: true }
      : { f: RECORD_FORMAT, keys, box: await seal(dataKey, bytes, secretAad(name)) };
    await this.core.writeTx(['secrets'], (tx) => tx.store.put(rec, name));
    this.core.emit({ type: 'change', store: 'keys', ids: [name] });
  }
}
