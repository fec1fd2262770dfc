/**
 * Key material other modules keep in the vault: the decision module's signing record (src/shared/decision-keys.ts
 * contract) and the sync module's keys (admin signing pair, kiosk bundle key, pinned admin keys, recipients).
 * Owns the 'secrets' store. A value is any JSON-shaped object that may hold CryptoKeys: the keys are stored as
 * CryptoKey objects (structured clone; their owners make private halves non-extractable), everything else is
 * sealed under the data key as JSON with a placeholder where each key goes, bound to the record's name.
 *
 * Not defended: someone with write access could swap the stored CryptoKey objects for their own. For the signing
 * key that only breaks pairing (the receiver checks the key id); for pinned admin keys it would let them sign a
 * bundle, but such an attacker can already write the watchlist directly. Rollback of these records is not detected.
 */
import { KioskError } from '../shared/errors';
import type { DecisionKeyRecord, DecisionKeyStore } from '../shared/decision-keys';
import { bindingData, open, seal } from '../crypto/aead';
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

interface KeyRef {
  $cryptoKey: number;
}
const isKeyRef = (v: unknown): v is KeyRef =>
  typeof v === 'object' && v !== null && typeof (v as KeyRef).$cryptoKey === 'number' && Object.keys(v).length === 1;

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
    try {
      const json = decoder.decode(await open(dataKey, rec.box, secretAad(name)));
      return JSON.parse(json, (_k, v: unknown) => {
        if (!isKeyRef(v)) return v;
        const key = rec.keys[v.$cryptoKey];
        if (!(key instanceof CryptoKey)) throw new Error('key reference');
        return key;
      }) as unknown;
    } catch (e) {
      await this.core.quarantine([{ store: 'secrets', key: name, reason: 'integrity', raw: rec }]);
      throw new KioskError('STORE_CORRUPT_RECORD', { store: 'secrets', key: name }, { cause: e });
    }
  }

  /** Replaces the value under `name` (admin). */
  async put(name: string, value: unknown): Promise<void> {
    this.core.requireAdmin();
    await this.write(name, value);
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
      await this.write(DECISION_KEYS, record);
    },
  };

  private async write(name: string, value: unknown): Promise<void> {
    validName(name);
    const { dataKey } = this.core.requireUnlocked();
    const keys: CryptoKey[] = [];
    let json: string | undefined;
    try {
      json = JSON.stringify(value, (_k, v: unknown) => {
        if (v instanceof CryptoKey) {
          keys.push(v);
          return { $cryptoKey: keys.length - 1 } satisfies KeyRef;
        }
        return v;
      });
    } catch (e) {
      throw new KioskError('INPUT_INVALID', { field: 'secret-value' }, { cause: e });
    }
    if (json === undefined) throw new KioskError('INPUT_INVALID', { field: 'secret-value' });
    const bytes = encoder.encode(json);
    if (bytes.byteLength > MAX_SECRET_BYTES)
      throw new KioskError('INPUT_INVALID', { field: 'secret-value', reason: 'too-large' });
    const rec: SecretRecord = { f: RECORD_FORMAT, keys, box: await seal(dataKey, bytes, secretAad(name)) };
    await this.core.writeTx(['secrets'], (tx) => tx.store.put(rec, name));
    this.core.emit({ type: 'change', store: 'keys', ids: [name] });
  }
}
