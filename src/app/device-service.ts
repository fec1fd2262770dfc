/**
 * This tablet as a device, the admin's side: pairing with the receiver (typed code or its QR code), the storage the
 * browser gives the app (used and quota, from navigator.storage.estimate through the vault), a new subject-reference
 * key (earlier references become unlinkable to later ones), and the models it runs with their licences
 * (models/manifest.json, served with the app).
 *
 * Owns these operations; the decision service owns pairing and the subject key, the vault asks the browser for the
 * estimate. Pairing and the key ask the authority for `pair` / `settings`; the estimate and manifest are
 * public facts about the device. It never renders anything.
 *
 * Audited (src/app/change-audit.ts), by the admin: a pairing ('receiver-paired': the fingerprint of the key the
 * receiver registered, and the receiver's origin), a pairing attempt that failed ('pairing-failed': the error code
 * and the check's word, never the code typed or scanned), and a new subject-reference key ('settings-changed'
 * `subjectKey`). Best effort: the entry never fails or undoes what it records.
 */
import { KioskError, isKioskError } from '../shared/errors';
import { scanQr } from './qr-exchange';
import { pairedReason, pairingFailedReason, recordChange, settingsReason } from './change-audit';
import type { Capability } from './authority';
import type { KioskController } from './controller';

/** One model file the kiosk runs, as models/manifest.json lists it. */
export interface ModelInfo {
  id: string;
  package: string;
  version: string;
  license: string;
  provenance: string;
}

export class DeviceService {
  constructor(private readonly app: KioskController) {}

  /** Pair with the receiver using the one-time code it printed. */
  async pair(code: string): Promise<{ fingerprint: string }> {
    this.require('pair');
    const decisions = this.app.decisions;
    if (!decisions) throw new KioskError('UPSTREAM_NOT_PAIRED');
    let r: { fingerprint: string };
    try {
      r = await decisions.pair(code);
    } catch (e) {
      const reason = isKioskError(e)
        ? pairingFailedReason(e.code, e.details?.['reason'])
        : pairingFailedReason('INTERNAL', undefined);
      await recordChange(this.app, { outcome: 'pairing-failed', reason, actor: 'admin' });
      throw e;
    }
    this.app.puller.receiverPaired();
    await recordChange(this.app, {
      outcome: 'receiver-paired',
      reason: pairedReason(r.fingerprint, decisions.pairedWith?.origin),
      actor: 'admin',
    });
    return { fingerprint: r.fingerprint };
  }

  /** Pairs with the receiver using a pairing code read from a QR code (`pairing-code --qr` on the receiver). */
  async scanPairingCode(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ fingerprint: string }> {
    this.require('pair');
    return this.pair(await scanQr(this.app, (t) => /^[0-9A-Za-z]{5}-?[0-9A-Za-z]{5}$/.test(t.trim()), opts));
  }

  /** Bytes this origin uses and may use (null where the browser does not say), and whether storage is persistent. */
  async storage(): Promise<{ usage: number; quota: number; persisted: boolean | null } | null> {
    const e = await this.app.vault.storageEstimate();
    return e ? { ...e, persisted: this.app.vault.state.persisted ?? null } : null;
  }

  /**
   * A new HMAC key for subject references: references sent from now on cannot be linked to earlier ones (for an
   * admin who exported the attendance mapping and wants it to stop working). Needs a paired decision service.
   */
  async rotateSubjectKey(): Promise<void> {
    this.require('settings');
    if (!this.app.decisions) throw new KioskError('UPSTREAM_NOT_PAIRED');
    await this.app.decisions.rotateSubjectKey();
    await recordChange(this.app, {
      outcome: 'settings-changed',
      reason: settingsReason(['subjectKey']),
      actor: 'admin',
    });
  }

  /** The model files with package, version, licence and provenance (the app's own manifest). */
  async models(): Promise<ModelInfo[]> {
    const r = await fetch('/models/manifest.json');
    if (!r.ok) throw new KioskError('MODEL_MANIFEST_INVALID', { status: r.status });
    return ((await r.json()) as { files: ModelInfo[] }).files;
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
