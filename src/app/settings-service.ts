/**
 * Settings, the admin's side: save a change (validated whole before anything is stored, CONFIG_INVALID naming the
 * field), and apply it where it takes effect (audit retention, the watchlist's face config, the pull schedule, the
 * upstream sender, the camera or mode). Also what the admin screen must say about stored settings that were repaired
 * to their defaults at start (the controller's `configRepairs`).
 *
 * Owns applying settings; the config module (src/config) owns defaults and checks, the vault stores them. Every
 * change asks the authority for `settings` first. A save that changes anything is audited as 'settings-changed'
 * with the names of the fields it changed, never their values (src/app/change-audit.ts). A new audit retention
 * purges entries, so its entry is written before anything is stored and a save whose entry cannot be written is
 * refused whole (AUDIT_NOT_WRITTEN): no purge goes unrecorded. Any other save's entry is best effort. The record and
 * the retention the vault purges by are one write (the store's), made with every save: they cannot disagree, and
 * a save that fails has stored neither. It never renders anything.
 */
import { resolveFaceConfig } from '../config/face';
import { loadKioskSettings, validateSettingsPatch, type KioskSettings } from '../config/kiosk';
import { resolvePlateMatchConfig } from '../config/plate';
import type { Capability } from './authority';
import type { KioskController } from './controller';
import { recordChange, recordChangeFirst, settingsReason, type ChangeEntry } from './change-audit';
import type { SettingsValues } from '../store';

/** JSON with object keys sorted: two settings values compare equal whatever order their keys were written in. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The settings whose stored value this save replaces: compared with the record as stored, so a field repaired at
 * start (stored invalid, running on its default) counts as changed when the save writes it. */
function changedFields(stored: SettingsValues, next: KioskSettings): string[] {
  return (Object.keys(next) as (keyof KioskSettings)[]).filter((k) => stable(stored[k]) !== stable(next[k]));
}

function valueInForce(s: KioskSettings, field: string): string {
  const [head, ...rest] = field.split('.');
  let v: unknown =
    head === 'face' ? resolveFaceConfig(s.face) : head === 'plate' ? resolvePlateMatchConfig(s.plate) : (s as unknown as Record<string, unknown>)[head ?? ''];
  for (const k of rest) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) break;
    v = (v as Record<string, unknown>)[k];
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export class SettingsService {
  constructor(private readonly app: KioskController) {}

  private get vault() {
    return this.app.vault;
  }

  async saveSettings(patch: Partial<KioskSettings>): Promise<KioskSettings> {
    this.require('settings');
    const cur = this.app.snapshot.settings;
    const next = validateSettingsPatch(cur, patch);
    // A stored record that cannot be read (tampered, lost) is replaced whole by this save: every field changes.
    const before = await this.vault.settings.get().catch((): SettingsValues => ({}));
    const fields = changedFields(before, next);
    // Every save stores the retention the record names, with it: a vault whose two had come apart (an older
    // version wrote them separately) purges by what its settings card shows again after the next save.
    const retentionMs = next.retentionHours * 3_600_000;
    const newRetention = retentionMs !== this.vault.audit.retentionMs();
    if (newRetention && !fields.includes('retentionHours')) fields.push('retentionHours');
    const entry: ChangeEntry = { outcome: 'settings-changed', reason: settingsReason(fields), actor: 'admin' };
    // The retention's purge destroys entries: its own entry first, and nothing at all if that cannot be written.
    // (A save that then fails leaves an entry for a change not made: the safer side of the two.)
    if (newRetention) await recordChangeFirst(this.app, entry);
    // One transaction: both stored, or neither (then the error's "Nothing was changed" is true).
    await this.vault.settings.put({ ...next }, { auditRetentionMs: retentionMs });
    if (!newRetention && fields.length) await recordChange(this.app, entry);
    // The whole record was written valid: whatever was repaired at start is now the admin's value.
    const { settings: stored, refused } = loadKioskSettings(await this.vault.settings.get());
    this.app.update({ settings: stored, configRepairs: refused.map((e) => String(e.details?.['field'])) });
    // New settings may change the answer for the person standing there: they get a fresh decision.
    this.app.forgetPresence();
    if (patch.face !== undefined) await this.app.reloadWatchlist();
    if (patch.pullMinutes !== undefined) this.app.puller.schedule(stored.pullMinutes);
    if (patch.kioskId !== undefined || patch.upstreamPath !== undefined || patch.door !== undefined || patch.subjectRefs !== undefined) {
      await this.app.afterUnlock();
    }
    if (patch.mode !== undefined && patch.mode !== cur.mode) await this.app.setMode(patch.mode);
    else if (patch.cameraDeviceId !== undefined && patch.cameraDeviceId !== cur.cameraDeviceId) await this.app.startCamera();
    return stored;
  }

  /**
   * The stored settings repaired to their defaults at the last unlock, each with the value in force now as text
   * (a nested face or plate field: that field of the resolved config; a key the config does not have: its
   * nearest known parent's value).
   */
  repairs(): { field: string; inForce: string }[] {
    const s = this.app.snapshot.settings;
    return this.app.snapshot.configRepairs.map((field) => ({ field, inForce: valueInForce(s, field) }));
  }

  /** Pull every `minutes` (0 = off): a settings change like any other. */
  savePullMinutes(minutes: number): Promise<KioskSettings> {
    return this.saveSettings({ pullMinutes: minutes });
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
