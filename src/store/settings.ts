/**
 * Kiosk settings as one sealed JSON record (thresholds, upstream URL, kiosk id...; src/config owns their meaning
 * and validation, this module only keeps them). Its version is listed in the sealed manifest root, so an older
 * copy of the settings record put back is refused, like a subject record.
 */
import { isKioskError, KioskError } from '../shared/errors';
import { bindingData, open, seal } from '../crypto/aead';
import type { VaultCore } from './core';
import { assertGeneration, loadSnapshot, nextGen, prepareRoot, requireRoot } from './manifest';
import type { IndexSnapshot } from './snapshot';
import { RECORD_FORMAT, type SettingsRecord } from './schema';

export type SettingsValues = Record<string, unknown>;

/** Sealed settings are small by design; a large blob here is a bug (or an image someone tried to stash). */
export const MAX_SETTINGS_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const settingsAad = (v: number): Uint8Array<ArrayBuffer> => bindingData('settings', 'settings', RECORD_FORMAT, v);

export class SettingsApi {
  constructor(private readonly core: VaultCore) {}

  /** The stored settings ({} before any were saved). STORE_CORRUPT_RECORD if they were tampered with or lost. */
  async get(): Promise<SettingsValues> {
    const { dataKey } = this.core.requireUnlocked();
    return this.core.withLock('shared', async () => {
      const snap = await loadSnapshot(this.core, dataKey);
      const root = snap.pages ? snap : null;
      const rec = await this.core.read((db) => db.get('settings', 'settings'));
      const expected = root?.settingsV ?? 0;
      if (!rec) {
        if (expected === 0) return {};
        throw this.corrupt('missing');
      }
      let reason = '';
      if (root === null) reason = 'index-unverified';
      else if (rec.v !== expected) reason = 'stale-version';
      let values: SettingsValues | null = null;
      if (!reason) {
        try {
          values = JSON.parse(decoder.decode(await open(dataKey, rec.box, settingsAad(rec.v)))) as SettingsValues;
        } catch {
          reason = 'integrity';
        }
      }
      if (values && !reason) return values;
      if (reason !== 'index-unverified') {
        await this.core.quarantine([{ store: 'settings', key: 'settings', reason, raw: rec }]);
      }
      throw this.corrupt(reason);
    });
  }

  /** Replaces the settings (admin). `values` must be a JSON object. */
  async put(values: SettingsValues): Promise<void> {
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new KioskError('INPUT_INVALID', { field: 'settings' });
    }
    const json = JSON.stringify(values);
    const bytes = encoder.encode(json);
    if (bytes.byteLength > MAX_SETTINGS_BYTES)
      throw new KioskError('INPUT_INVALID', { field: 'settings', reason: 'too-large' });
    this.core.requireAdmin();
    await this.core.withLock('exclusive', async () => {
      for (let attempt = 0; ; attempt++) {
        const { dataKey } = this.core.requireUnlocked();
        const snap: IndexSnapshot =
          attempt === 0 && this.core.index ? this.core.index : await loadSnapshot(this.core, dataKey);
        // Re-sealing a root we could not read would forget the watchlist's pages: the admin rebuilds it first.
        requireRoot(snap);
        const gen = nextGen(snap);
        const rec: SettingsRecord = { v: gen, f: RECORD_FORMAT, box: await seal(dataKey, bytes, settingsAad(gen)) };
        const { record, next } = await prepareRoot(dataKey, snap, gen, { settingsV: gen });
        try {
          await this.core.writeTx(['settings', 'index'], async (tx) => {
            const index = tx.objectStore('index');
            assertGeneration(await index.get('root'), snap);
            await Promise.all([tx.objectStore('settings').put(rec, 'settings'), index.put(record, 'root')]);
          });
          this.core.index = next;
          break;
        } catch (e) {
          if (attempt === 0 && isKioskError(e, 'STORE_CONFLICT')) {
            this.core.index = null;
            continue;
          }
          throw e;
        }
      }
    });
    this.core.emit({ type: 'change', store: 'settings' });
  }

  private corrupt(reason: string): KioskError {
    this.core.setState({ lastError: 'STORE_CORRUPT_RECORD' });
    return new KioskError('STORE_CORRUPT_RECORD', { store: 'settings', reason });
  }
}
