/**
 * Watchlist sync, the admin's side: this tablet's admin and kiosk public keys (text and QR), pinning another
 * tablet's admin key and adding kiosks to export to (typed or scanned by the camera), exporting the watchlist as a
 * signed, encrypted bundle (file name and type chosen here), importing one, and pulling from the receiver now.
 *
 * Owns the sync keys record and the export version counter; src/sync owns the bundle format and its checks,
 * src/app/bundle-apply.ts the one install path (rollback refused, applied in one transaction or not at all).
 * Every operation asks the authority first (`export` for what leaves the tablet, `import` for what comes in). It
 * never renders anything.
 */
import { installBundle, syncKeys, type SyncKeys } from './bundle-apply';
import type { PullStatus } from './bundle-pull';
import { KioskError } from '../shared/errors';
import { scanQr } from './qr-exchange';
import {
  createSiteKey,
  exportBundle,
  exportPublicKey,
  generateAdminKeyPair,
  generateKioskKeyPair,
  importAdminPublicKey,
  importKioskPublicKey,
  keyFingerprint,
  readBundleFile,
} from '../sync';
import { BUNDLE_MIME, bundleFileName } from '../sync/transport';

/** The bundle file extension, for the import picker (the UI reads it here, not from src/sync). */
export { BUNDLE_EXTENSION } from '../sync/transport';
import type { Capability } from './authority';
import type { KioskController } from './controller';

/** Whether a scanned text is a public key of this kind (the full check is the import's own). */
function isKeyText(text: string, kind: string): boolean {
  try {
    return (JSON.parse(text) as { kind?: unknown }).kind === kind;
  } catch {
    return false;
  }
}

/** An exported bundle with the file name and type to save it under; a changes bundle says its base and counts. */
export interface ExportedBundle {
  bytes: Uint8Array<ArrayBuffer>;
  version: number;
  fileName: string;
  mime: string;
  baseVersion?: number;
  upserts?: number;
  deletions?: number;
}

export class SyncService {
  constructor(private readonly app: KioskController) {}

  private get vault() {
    return this.app.vault;
  }

  private keys(): Promise<SyncKeys> {
    return syncKeys(this.vault);
  }

  private async saveKeys(k: SyncKeys): Promise<void> {
    await this.vault.keys.put('sync', k);
  }

  /** This tablet's admin public key (created on first use) as JSON text for kiosks to pin, with its fingerprint. */
  async adminPublicKey(): Promise<{ json: string; fingerprint: string }> {
    this.require('export');
    const k = await this.keys();
    if (!k.admin) {
      k.admin = await generateAdminKeyPair();
      await this.saveKeys(k);
    }
    const jwk = await exportPublicKey(k.admin.publicKey, 'jwk');
    return { json: JSON.stringify({ kind: 'entrance-kiosk-admin-key', jwk }), fingerprint: await keyFingerprint(k.admin.publicKey) };
  }

  /** This kiosk's public key (created on first use) for the admin to encrypt bundles to. */
  async kioskPublicKey(): Promise<{ json: string; fingerprint: string }> {
    this.require('import');
    const k = await this.keys();
    if (!k.kiosk) {
      k.kiosk = await generateKioskKeyPair();
      await this.saveKeys(k);
    }
    const jwk = await exportPublicKey(k.kiosk.publicKey, 'jwk');
    return { json: JSON.stringify({ kind: 'entrance-kiosk-kiosk-key', jwk }), fingerprint: await keyFingerprint(k.kiosk.publicKey) };
  }

  private static parseKey(json: string, kind: string): JsonWebKey {
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch {
      throw new KioskError('INPUT_INVALID', { reason: 'key-json', field: 'key', rule: 'keyJson' });
    }
    const o = v as { kind?: string; jwk?: JsonWebKey };
    if (o?.kind !== kind || typeof o.jwk !== 'object') throw new KioskError('INPUT_INVALID', { reason: 'key-kind', field: 'key', rule: 'keyKind' });
    return o.jwk;
  }

  /** Pin an admin public key on this kiosk; returns its fingerprint for the admin to compare by eye. */
  async pinAdminKey(json: string): Promise<string> {
    this.require('import');
    const key = await importAdminPublicKey(SyncService.parseKey(json, 'entrance-kiosk-admin-key'));
    const fp = await keyFingerprint(key);
    const k = await this.keys();
    const existing = await Promise.all((k.pinnedAdmins ?? []).map((p) => keyFingerprint(p)));
    if (!existing.includes(fp)) k.pinnedAdmins = [...(k.pinnedAdmins ?? []), key];
    await this.saveKeys(k);
    return fp;
  }

  /** Pins the admin key another tablet shows as a QR code (read by this camera); returns its fingerprint. */
  async scanAdminKey(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
    this.require('import');
    return this.pinAdminKey(await scanQr(this.app, (t) => isKeyText(t, 'entrance-kiosk-admin-key'), opts));
  }

  /** Adds the kiosk whose key another tablet shows as a QR code to the export recipients; returns its fingerprint. */
  async scanKioskKey(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
    this.require('export');
    return this.addRecipient(await scanQr(this.app, (t) => isKeyText(t, 'entrance-kiosk-kiosk-key'), opts));
  }

  /** Add a kiosk to export to; returns its fingerprint. */
  async addRecipient(json: string): Promise<string> {
    this.require('export');
    const key = await importKioskPublicKey(SyncService.parseKey(json, 'entrance-kiosk-kiosk-key'));
    const fingerprint = await keyFingerprint(key);
    const k = await this.keys();
    k.recipients = [...(k.recipients ?? []).filter((r) => r.fingerprint !== fingerprint), { fingerprint, key }];
    await this.saveKeys(k);
    return fingerprint;
  }

  /**
   * Export the whole watchlist as a signed, encrypted bundle, to a site passphrase and/or every added kiosk.
   * Versions increase with every export from this tablet, so kiosks refuse anything older than what they have.
   */
  async exportWatchlist(opts: { sitePassphrase?: string }): Promise<ExportedBundle> {
    return this.export(opts, false);
  }

  /**
   * Export only what changed since the last export (full or changes) as a delta bundle: people added or edited
   * since (by their last-change time) and the ids deleted since. A kiosk applies it only on exactly that base
   * version (src/sync refuses any other), so a kiosk that missed a bundle needs a full one. INPUT_INVALID
   * `no-base` before any export from this tablet.
   */
  async exportChanges(opts: { sitePassphrase?: string }): Promise<ExportedBundle> {
    return this.export(opts, true);
  }

  private async export(opts: { sitePassphrase?: string }, delta: boolean): Promise<ExportedBundle> {
    this.require('export');
    const k = await this.keys();
    if (!k.admin) await this.adminPublicKey();
    const keys = await this.keys();
    const recipients = (keys.recipients ?? []).map((r) => r.key);
    if (!opts.sitePassphrase && recipients.length === 0) throw new KioskError('INPUT_INVALID', { reason: 'no-recipients', rule: 'noRecipients' });
    const base = keys.exported;
    if (delta && !base) throw new KioskError('INPUT_INVALID', { reason: 'no-base', rule: 'noBase' });
    const installed = await this.vault.watchlistVersion();
    const version = Math.max(installed, keys.exportedVersion ?? 0) + 1;
    const subjects = (await this.vault.loadWatchlist()).subjects;
    const stamps = Object.fromEntries(subjects.map((s) => [s.id, s.updatedAt]));
    const changes = delta && base ? { upserts: subjects.filter((s) => base.stamps[s.id] !== s.updatedAt), deletions: Object.keys(base.stamps).filter((id) => !(id in stamps)).sort() } : null;
    const bytes = await exportBundle({
      ...(changes && base ? { changes, baseVersion: base.version } : { subjects }),
      version,
      adminSigningKey: keys.admin!.privateKey,
      adminPublicKey: keys.admin!.publicKey,
      recipients,
      ...(opts.sitePassphrase ? { siteKey: await createSiteKey(opts.sitePassphrase) } : {}),
    });
    await this.saveKeys({ ...keys, exportedVersion: version, exported: { version, stamps } });
    const fileName = changes && base ? bundleFileName({ kind: 'delta', version, baseVersion: base.version }) : bundleFileName({ kind: 'full', version });
    return {
      bytes,
      version,
      fileName,
      mime: BUNDLE_MIME,
      ...(changes && base ? { baseVersion: base.version, upserts: changes.upserts.length, deletions: changes.deletions.length } : {}),
    };
  }

  /**
   * Import a bundle file: verify the signature against the pinned admin key(s), refuse rollbacks, decrypt with the
   * site passphrase or this kiosk's key, then replace the watchlist in one transaction. On any failure the
   * installed watchlist is untouched.
   */
  async importWatchlist(file: Blob, opts: { sitePassphrase?: string } = {}): Promise<{ version: number; subjects: number }> {
    this.require('import');
    const applied = await installBundle(this.vault, await readBundleFile(file), opts);
    await this.app.reloadWatchlist();
    return applied;
  }

  /** Pull from the receiver now (the schedule goes on); the status says what came of it. */
  pullNow(): Promise<PullStatus> {
    this.require('import');
    return this.app.puller.pullNow();
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
