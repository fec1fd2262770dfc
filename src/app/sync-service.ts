/**
 * Watchlist sync, the admin's side: this tablet's admin and kiosk public keys (text and QR); another tablet's key,
 * pasted or scanned by the camera, first only previewed (checked, fingerprint shown, nothing saved) and trusted —
 * pinned as an admin key or added as an export recipient — only by the explicit call the admin makes after comparing
 * fingerprints on both screens; the trusted keys listed and removed; exporting the watchlist as a signed, encrypted
 * bundle (file name and type chosen here), importing one, and pulling from the receiver now.
 *
 * Owns the sync keys record, the export version rule (newer than what is installed, than this desk's last export,
 * and at least the wall clock in seconds, so a replacement desk's first bundle is newer than the old desk's) and the
 * audit entries of key trusts, key removals and installed bundles (file imports, and the LAN pulls it hears of from
 * the puller); an audit entry that cannot be written is logged and never undoes what it records. An export is
 * audited as 'data-exported' (src/app/change-audit.ts: whole or changes, version, how many people, how many kiosk
 * keys, whether a site passphrase; never a name or the passphrase) before its bytes are handed over, and refused
 * (AUDIT_NOT_WRITTEN, nothing stored, the export version not used up) when that entry cannot be written: once the
 * file has left the tablet it cannot be taken back. src/sync owns the
 * bundle format and its checks, src/app/bundle-apply.ts the one install path (rollback refused, applied in one
 * transaction or not at all). Every operation asks the authority first (`export` for what leaves the tablet and
 * the kiosks exported to, `import` for what comes in and the admin keys it comes from). It never renders anything.
 */
import { installBundle, syncKeys, type Applied, type SyncKeys } from './bundle-apply';
import type { PullStatus } from './bundle-pull';
import { KioskError, isKioskError } from '../shared/errors';
import type { AuditEntry } from '../shared/types';
import { loadIncomplete } from '../store';
import { scanQr } from './qr-exchange';
import { exportedReason, recordChangeFirst, type DataExport } from './change-audit';
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

/** Which tablet a key belongs to: an admin desk (signs bundles) or a kiosk (bundles are encrypted to it). */
export type KeyKind = 'admin' | 'kiosk';

/** A key read from pasted or scanned text, fully checked but not saved: what the admin compares before trusting. */
export interface KeyPreview {
  kind: KeyKind;
  json: string;
  fingerprint: string;
}

/** The keys this tablet trusts, by fingerprint: admin keys it accepts bundles from, kiosks it exports to. */
export interface TrustedKeys {
  admins: string[];
  recipients: string[];
}

/** The `kind` field of each key text, and the capability that trusting or removing such a key needs. */
const KEY_TEXT: Record<KeyKind, string> = { admin: 'entrance-kiosk-admin-key', kiosk: 'entrance-kiosk-kiosk-key' };
const KEY_CAPABILITY: Record<KeyKind, Capability> = { admin: 'import', kiosk: 'export' };

/**
 * The audit reason of a key trusted or removed ("admin <fingerprint>") and of an installed bundle ("v<version>
 * full|delta, signed by <fingerprint>"): machine-readable, so the audit card words it in the reader's language
 * (readSyncAuditReason). Fingerprints only; never a name.
 */
const keyReason = (kind: KeyKind, fingerprint: string): string => `${kind} ${fingerprint}`;
const installReason = (a: Applied): string =>
  `v${a.version} ${a.kind}, signed by ${a.issuer}${a.keptRevoked ? `; kept ${a.keptRevoked} revoked here` : ''}`;

/** A sync audit entry's reason read back (undefined if it is not one this service writes). */
export function readSyncAuditReason(
  reason: string,
): { key: KeyKind; fingerprint: string } | { version: number; kind: 'full' | 'delta'; issuer: string; keptRevoked: number } | undefined {
  const key = /^(admin|kiosk) ([0-9A-F]{8}(?: [0-9A-F]{8}){3})$/.exec(reason);
  if (key) return { key: key[1] as KeyKind, fingerprint: key[2]! };
  const inst = /^v(\d+) (full|delta), signed by ([0-9A-F]{8}(?: [0-9A-F]{8}){3})(?:; kept (\d+) revoked here)?$/.exec(reason);
  if (inst) return { version: Number(inst[1]), kind: inst[2] as 'full' | 'delta', issuer: inst[3]!, keptRevoked: Number(inst[4] ?? 0) };
  return undefined;
}

/** Whether a scanned text is a public key of this kind (the full check is the import's own). */
function isKeyText(text: string, kind: KeyKind): boolean {
  try {
    return (JSON.parse(text) as { kind?: unknown }).kind === KEY_TEXT[kind];
  } catch {
    return false;
  }
}

/** The admin-only secrets record of this tablet's admin signing pair. */
const ADMIN_RECORD = 'sync-admin';

const unknownKey = (): KioskError => new KioskError('INPUT_INVALID', { reason: 'unknown-key', field: 'key', rule: 'keyUnknown' });
/**
 * The key to trust is not the one whose fingerprint the admin compared: trusting is by the fingerprint shown, so a
 * key swapped in after the comparison (a scan that finished late, a changed text box) is refused, not pinned.
 */
const shownKey = (fingerprint: string, shown: string | undefined): void => {
  if (shown !== undefined && shown !== fingerprint) throw new KioskError('INPUT_INVALID', { reason: 'key-changed', field: 'key', rule: 'keyChanged' });
};

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
  constructor(private readonly app: KioskController) {
    // A pull installs unattended, with no admin here: the audit entry is written for it all the same.
    app.puller.onInstalled((a) => this.audit('watchlist-installed', installReason(a)));
  }

  private get vault() {
    return this.app.vault;
  }

  /**
   * The sync record. A signing pair it still holds (written before session 26, or planted since: the device unlock
   * writes this record) is dropped, never used or moved: moved, a planted pair would become the desk's key at the
   * next admin unlock (review, session 26), and a genuine old one sat where the device unlock read it, so it is
   * retired. The desk makes a new pair at its next key or export; kiosks pin the new key and unpin the old one.
   */
  private async keys(): Promise<SyncKeys> {
    const k = await syncKeys(this.vault);
    if (!k.admin) return k;
    await this.saveKeys(k);
    const { admin: _retired, ...rest } = k;
    return rest;
  }

  /** The sync record never holds the admin's signing pair again (adminPair): the device unlock opens it. */
  private async saveKeys(k: SyncKeys): Promise<void> {
    const { admin: _dropped, ...rest } = k;
    await this.vault.keys.put('sync', rest);
  }

  /**
   * This tablet's admin signing pair (created on first use), kept where only the admin's session reads or writes
   * it (vault.keys.putAdmin, sealed under the admin secrets key): in the sync record the device unlock opened it, so
   * a profile copied from a desk with unattended restart on signed bundles as its admin (attacker review, session
   * 26). A pair the sync record still holds is retired, not moved (keys()).
   */
  private async adminPair(): Promise<CryptoKeyPair> {
    await this.keys();
    const held = (await this.vault.keys.getAdmin(ADMIN_RECORD)) as { admin?: CryptoKeyPair } | undefined;
    if (held?.admin) return held.admin;
    // A pair that failed its check waits in the quarantine: a new one made now would silently replace the key every
    // kiosk pinned. Clearing the quarantine (the storage card, audited) is the admin's decision to start a new key.
    if ((await this.vault.listQuarantine()).some((q) => q.store === 'secrets' && q.key === ADMIN_RECORD)) {
      throw new KioskError('STORE_CORRUPT_RECORD', { store: 'secrets', key: ADMIN_RECORD, reason: 'admin-key-quarantined' });
    }
    const admin = await generateAdminKeyPair();
    await this.vault.keys.putAdmin(ADMIN_RECORD, { admin });
    return admin;
  }

  /**
   * Drops a signing pair the sync record still holds (keys()); called at every admin unlock, so a desk does not
   * wait for its next export to stop exposing it. Never throws: a failure is logged and it is tried again at the
   * next use.
   */
  async secureAdminKey(): Promise<void> {
    try {
      await this.keys();
    } catch (e) {
      console.warn('old admin signing key not dropped yet', e);
    }
  }

  /** This tablet's admin public key (created on first use) as JSON text for kiosks to pin, with its fingerprint. */
  async adminPublicKey(): Promise<{ json: string; fingerprint: string }> {
    this.require('export');
    const admin = await this.adminPair();
    const jwk = await exportPublicKey(admin.publicKey, 'jwk');
    return { json: JSON.stringify({ kind: 'entrance-kiosk-admin-key', jwk }), fingerprint: await keyFingerprint(admin.publicKey) };
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

  private static parseKey(json: string, kind: KeyKind): JsonWebKey {
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch {
      throw new KioskError('INPUT_INVALID', { reason: 'key-json', field: 'key', rule: 'keyJson' });
    }
    const o = v as { kind?: string; jwk?: JsonWebKey };
    if (o?.kind !== KEY_TEXT[kind] || typeof o.jwk !== 'object') throw new KioskError('INPUT_INVALID', { reason: 'key-kind', field: 'key', rule: 'keyKind' });
    return o.jwk;
  }

  /** The full import check of a key text (JSON, kind, P-256 public point, no private half); saves nothing. */
  private static importKey(json: string, kind: KeyKind): Promise<CryptoKey> {
    const jwk = SyncService.parseKey(json, kind);
    return kind === 'admin' ? importAdminPublicKey(jwk) : importKioskPublicKey(jwk);
  }

  /** The capability for trusting or removing a key of `kind`; a kind that is neither is refused, not guessed. */
  private requireFor(kind: KeyKind): void {
    if (!Object.hasOwn(KEY_CAPABILITY, kind)) throw new KioskError('INPUT_INVALID', { reason: 'key-kind', field: 'kind' });
    this.require(KEY_CAPABILITY[kind]);
  }

  /**
   * Check a pasted or scanned key text exactly as trusting it would, and say its fingerprint, saving nothing: the
   * admin compares the fingerprint with the other tablet's screen and only then calls pinAdminKey / addRecipient.
   */
  async previewKey(json: string, kind: KeyKind): Promise<KeyPreview> {
    this.requireFor(kind);
    return { kind, json, fingerprint: await keyFingerprint(await SyncService.importKey(json, kind)) };
  }

  /**
   * Pin an admin public key on this kiosk: from now on bundles it signs are accepted. Call only after the admin
   * compared the fingerprint (previewKey) with the admin desk's screen. `shown`: the fingerprint the admin compared;
   * a key with another one is refused (INPUT_INVALID, rule `keyChanged`). Returns the fingerprint.
   */
  async pinAdminKey(json: string, shown?: string): Promise<string> {
    this.require('import');
    const key = await SyncService.importKey(json, 'admin');
    const fp = await keyFingerprint(key);
    shownKey(fp, shown);
    const k = await this.keys();
    const existing = await Promise.all((k.pinnedAdmins ?? []).map((p) => keyFingerprint(p)));
    if (existing.includes(fp)) return fp;
    k.pinnedAdmins = [...(k.pinnedAdmins ?? []), key];
    await this.saveKeys(k);
    await this.audit('key-trusted', keyReason('admin', fp));
    return fp;
  }

  /**
   * Reads the admin key another tablet shows as a QR code with this camera and previews it: nothing is pinned
   * (a code held up by anyone while the scan runs would otherwise be trusted). `signal` cancels the scan.
   */
  async scanAdminKey(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<KeyPreview> {
    this.require('import');
    return this.previewKey(await scanQr(this.app, (t) => isKeyText(t, 'admin'), opts), 'admin');
  }

  /** Reads a kiosk's key QR code with this camera and previews it; nothing is added. `signal` cancels the scan. */
  async scanKioskKey(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<KeyPreview> {
    this.require('export');
    return this.previewKey(await scanQr(this.app, (t) => isKeyText(t, 'kiosk'), opts), 'kiosk');
  }

  /**
   * Add a kiosk to export to: every later export is encrypted to it. Call only after the admin compared the
   * fingerprint (previewKey) with the kiosk's screen. `shown`: as for pinAdminKey. Returns the fingerprint.
   */
  async addRecipient(json: string, shown?: string): Promise<string> {
    this.require('export');
    const key = await SyncService.importKey(json, 'kiosk');
    const fingerprint = await keyFingerprint(key);
    shownKey(fingerprint, shown);
    const k = await this.keys();
    const known = (k.recipients ?? []).some((r) => r.fingerprint === fingerprint);
    k.recipients = [...(k.recipients ?? []).filter((r) => r.fingerprint !== fingerprint), { fingerprint, key }];
    await this.saveKeys(k);
    if (!known) await this.audit('key-trusted', keyReason('kiosk', fingerprint));
    return fingerprint;
  }

  /** The pinned admin keys and the export recipients, by fingerprint, in the order they were trusted. */
  async trustedKeys(): Promise<TrustedKeys> {
    this.require('import');
    this.require('export');
    const k = await this.keys();
    return {
      admins: await Promise.all((k.pinnedAdmins ?? []).map((p) => keyFingerprint(p))),
      recipients: (k.recipients ?? []).map((r) => r.fingerprint),
    };
  }

  /**
   * Stop trusting a pinned admin key: bundles it signs are refused from now on (a rotation pins the new key next to
   * the old one first). Removing the last one leaves a kiosk that installs nothing until a key is pinned again.
   * INPUT_INVALID (field `key`, rule `keyUnknown`) for a fingerprint that is not pinned.
   */
  async unpinAdminKey(fingerprint: string): Promise<void> {
    this.require('import');
    const k = await this.keys();
    const pinned = k.pinnedAdmins ?? [];
    const fps = await Promise.all(pinned.map((p) => keyFingerprint(p)));
    if (typeof fingerprint !== 'string' || !fps.includes(fingerprint)) throw unknownKey();
    k.pinnedAdmins = pinned.filter((_, i) => fps[i] !== fingerprint);
    await this.saveKeys(k);
    await this.audit('key-removed', keyReason('admin', fingerprint));
  }

  /**
   * Stop exporting to a kiosk: later exports are not encrypted to it (bundles it already holds stay readable to
   * it). INPUT_INVALID (field `key`, rule `keyUnknown`) for a fingerprint that is not a recipient.
   */
  async removeRecipient(fingerprint: string): Promise<void> {
    this.require('export');
    const k = await this.keys();
    const recipients = k.recipients ?? [];
    if (typeof fingerprint !== 'string' || !recipients.some((r) => r.fingerprint === fingerprint)) throw unknownKey();
    k.recipients = recipients.filter((r) => r.fingerprint !== fingerprint);
    await this.saveKeys(k);
    await this.audit('key-removed', keyReason('kiosk', fingerprint));
  }

  /**
   * Export the whole watchlist as a signed, encrypted bundle, to a site passphrase and/or every added kiosk.
   * Versions increase with every export from this tablet, so kiosks refuse anything older than what they have; see
   * nextVersion for why they also follow the wall clock.
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
    const admin = await this.adminPair();
    const keys = await this.keys();
    const recipients = (keys.recipients ?? []).map((r) => r.key);
    if (!opts.sitePassphrase && recipients.length === 0) throw new KioskError('INPUT_INVALID', { reason: 'no-recipients', rule: 'noRecipients' });
    const base = keys.exported;
    if (delta && !base) throw new KioskError('INPUT_INVALID', { reason: 'no-base', rule: 'noBase' });
    const version = this.nextVersion(await this.vault.watchlistVersion(), keys.exportedVersion ?? 0);
    const { subjects, report } = await this.vault.loadWatchlist();
    // A bundle says who is on the list: people on a page that failed its check (or is missing, or held back) would
    // go out as absent, and a full bundle or a delta removes them from every kiosk that installs it. The admin looks
    // at the storage card and rebuilds the index first (that is when a loss is accepted).
    if (loadIncomplete(report)) throw new KioskError('STORE_CORRUPT_RECORD', { reason: 'export-incomplete' });
    const stamps = Object.fromEntries(subjects.map((s) => [s.id, s.updatedAt]));
    const changes = delta && base ? { upserts: subjects.filter((s) => base.stamps[s.id] !== s.updatedAt), deletions: Object.keys(base.stamps).filter((id) => !(id in stamps)).sort() } : null;
    const bytes = await exportBundle({
      ...(changes && base ? { changes, baseVersion: base.version } : { subjects }),
      version,
      adminSigningKey: admin.privateKey,
      adminPublicKey: admin.publicKey,
      recipients,
      ...(opts.sitePassphrase ? { siteKey: await createSiteKey(opts.sitePassphrase) } : {}),
    });
    // On record before anything is stored or handed over: without the entry the export did not happen.
    const to = { kiosks: recipients.length, passphrase: Boolean(opts.sitePassphrase) };
    const what: DataExport =
      changes && base
        ? { what: 'changes', version, base: base.version, people: changes.upserts.length, deleted: changes.deletions.length, ...to }
        : { what: 'watchlist', version, people: subjects.length, ...to };
    await recordChangeFirst(this.app, { outcome: 'data-exported', reason: exportedReason(what), actor: 'admin' });
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
   * The next export's version: above what this tablet has installed and above its own last export (so versions
   * never repeat from one desk), and at least the wall clock in whole seconds — so the first bundle of a desk that
   * replaced a lost one (its counter starts over) is still newer than everything the old desk made, and kiosks
   * accept it instead of refusing it as a rollback. The cost: a desk whose clock ran far ahead makes versions that
   * other desks cannot pass until their clocks reach them (docs/sync.md). At most 2^53−1, the file format's limit.
   */
  private nextVersion(installed: number, lastExported: number): number {
    const version = Math.max(installed + 1, lastExported + 1, Math.floor(this.app.clock.wall() / 1000));
    if (!Number.isSafeInteger(version)) throw new KioskError('INPUT_INVALID', { reason: 'version-exhausted', rule: 'versionExhausted' });
    return version;
  }

  /**
   * Import a bundle file: verify the signature against the pinned admin key(s), refuse rollbacks, decrypt with the
   * site passphrase or this kiosk's key, then replace the watchlist in one transaction, and audit it. On any failure
   * the installed watchlist is untouched.
   */
  async importWatchlist(file: Blob, opts: { sitePassphrase?: string } = {}): Promise<Applied> {
    this.require('import');
    const applied = await installBundle(this.vault, await readBundleFile(file), { ...opts, now: this.app.clock.wall() });
    await this.audit('watchlist-installed', installReason(applied));
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

  /**
   * One 'system' audit entry for what was just done to this tablet's sync state. Best effort by design: the change
   * it records is already committed, and refusing or undoing an install because the log is full would leave the
   * kiosk on an older watchlist (as auditRepairs in the controller, a failure is logged, not thrown, and named on
   * the admin screen until the log can be written again: AuditGap in change-audit.ts).
   */
  private async audit(outcome: Extract<AuditEntry['outcome'], 'watchlist-installed' | 'key-trusted' | 'key-removed'>, reason: string): Promise<void> {
    try {
      await this.vault.audit.append({ at: this.app.clock.wall(), outcome, subjectId: 'unknown', kiosk: this.app.snapshot.settings.kioskId, mode: 'system', reason });
    } catch (e) {
      const code = isKioskError(e) ? e.code : 'INTERNAL';
      console.warn(`sync: ${outcome} not audited (${code})`);
      this.app.auditResult({ outcome, code });
      return;
    }
    this.app.auditResult(null);
  }
}
