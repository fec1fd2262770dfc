/**
 * Kiosk settings as one sealed JSON record (thresholds, upstream URL, kiosk id...; src/config owns their meaning
 * and validation, this module only keeps them). Its version is listed in the sealed manifest root, so an older
 * copy of the settings record put back is refused, like a subject record.
 *
 * The audit retention a save names is written in the same transaction as the record (into meta, in clear, where
 * the purge reads it while the vault is locked): two writes could be cut apart by a closed tab or a full disk,
 * leaving the settings showing one retention while the vault purges at another. The entry recording a new
 * retention is the caller's to write first (src/app/change-audit.ts); the purge runs here once both are stored.
 */
import { isKioskError, KioskError } from '../shared/errors';
import { bindingData, open, seal } from '../crypto/aead';
import { checkRetentionMs, type AuditApi } from './audit';
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

/** The settings as the bytes to seal; INPUT_INVALID unless `values` is a JSON object within MAX_SETTINGS_BYTES. */
export function encodeSettings(values: SettingsValues): Uint8Array<ArrayBuffer> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new KioskError('INPUT_INVALID', { field: 'settings' });
  }
  const bytes = encoder.encode(JSON.stringify(values));
  if (bytes.byteLength > MAX_SETTINGS_BYTES)
    throw new KioskError('INPUT_INVALID', { field: 'settings', reason: 'too-large' });
  return bytes;
}

/** The record for settings written at generation `gen` (the root written with it lists `settingsV: gen`). */
export async function sealSettings(
  dataKey: CryptoKey,
  bytes: Uint8Array<ArrayBuffer>,
  gen: number,
): Promise<SettingsRecord> {
  return { v: gen, f: RECORD_FORMAT, box: await seal(dataKey, bytes, settingsAad(gen)) };
}

export interface SettingsPutOptions {
  /**
   * The audit retention these settings name, stored with them in one transaction; entries older than it are
   * purged once it is (a failed purge is left to the next one: at open, and on the timer).
   */
  auditRetentionMs?: number;
}

export class SettingsApi {
  constructor(
    private readonly core: VaultCore,
    private readonly audit: Pick<AuditApi, 'purge'>,
  ) {}

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

  /**
   * Replaces the settings (admin), with the audit retention they name if given (see SettingsPutOptions): both or
   * neither are stored. `values` must be a JSON object.
   */
  async put(values: SettingsValues, opts: SettingsPutOptions = {}): Promise<void> {
    const bytes = encodeSettings(values);
    const retention = opts.auditRetentionMs;
    if (retention !== undefined) checkRetentionMs(retention);
    this.core.requireAdmin();
    const retentionChanged = await this.core.withLock('exclusive', async () => {
      for (let attempt = 0; ; attempt++) {
        const { dataKey } = this.core.requireUnlocked();
        const snap: IndexSnapshot =
          attempt === 0 && this.core.index ? this.core.index : await loadSnapshot(this.core, dataKey);
        // Re-sealing a root we could not read would forget the watchlist's pages: the admin rebuilds it first.
        requireRoot(snap);
        const gen = nextGen(snap);
        const rec = await sealSettings(dataKey, bytes, gen);
        const { record, next } = await prepareRoot(dataKey, snap, gen, { settingsV: gen });
        try {
          const changed = await this.core.writeTx(['settings', 'index', 'meta'], async (tx) => {
            const index = tx.objectStore('index');
            assertGeneration(await index.get('root'), snap);
            await Promise.all([tx.objectStore('settings').put(rec, 'settings'), index.put(record, 'root')]);
            if (retention === undefined) return false;
            const meta = tx.objectStore('meta');
            const vault = await meta.get('vault');
            if (!vault || vault.kind !== 'vault') throw new KioskError('STORE_NOT_INITIALISED');
            if (vault.auditRetentionMs === retention) return false;
            await meta.put({ ...vault, auditRetentionMs: retention }, 'vault');
            return true;
          });
          this.core.index = next;
          if (retention !== undefined) this.core.auditRetentionMs = retention;
          return changed;
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
    // Stored is stored: a purge that fails now (state.lastError shows it) must not report the save as failed.
    if (retentionChanged) await this.audit.purge().catch(() => undefined);
  }

  private corrupt(reason: string): KioskError {
    this.core.setState({ lastError: 'STORE_CORRUPT_RECORD' });
    return new KioskError('STORE_CORRUPT_RECORD', { store: 'settings', reason });
  }
}
