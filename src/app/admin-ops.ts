/**
 * What an admin can do, behind the passphrase: set up and unlock the vault, enrol people (photo files, live
 * camera, bulk import with a CSV), edit, expire and delete them, change settings, pair with the receiver, move the
 * watchlist between tablets as signed encrypted bundles, export the audit log, and wipe.
 *
 * Photos are decoded and embedded in the face worker and dropped there; only templates reach the vault. Every
 * operation either completes or leaves the stored watchlist exactly as it was (the vault writes one transaction per
 * logical change; a bundle is applied in one transaction with a version compare-and-set). Every operation first
 * asks the app's authority (src/app/authority.ts) for its capability, so a caller that skips the UI — a script, a
 * test, a view bug — gets the same STORE_ADMIN_REQUIRED refusal; the vault's own admin gate stays underneath.
 * Guard accounts (create, disable, delete, passkeys) are managed here too.
 */
import { resolveFaceConfig } from '../config/face';
import { selectEnrolmentTemplates, type EnrolmentSample } from '../matching/face/enrolment';
import { parseImportCsv } from './csv-import';
import { installBundle, syncKeys, type SyncKeys } from './bundle-apply';
import type { PullStatus } from './bundle-pull';
import { KioskError, isKioskError, type ErrorCode } from '../shared/errors';
import type { ListKind, Subject } from '../shared/types';
import type { SubjectInput } from '../store';
import { checkLabel, checkPlates, checkWipeConfirmation } from './input-rules';
import { readAuditExport } from './audit-file';
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
import type { Capability } from './authority';
import type { KioskController } from './controller';
import { createPasskey } from './passkeys';
import type { AuditEntry } from '../shared/types';
import type { GuardSummary } from '../store';
import { defaultSettings, resolveKioskSettings, validateSettingsPatch, type KioskSettings } from '../config/kiosk';
import { faceDuplicate, mergedRecord, plateHolder } from './people';

export interface EnrolItem {
  file: File;
  label: string;
  list: ListKind;
  validUntil?: number;
  plates?: string[];
}

export interface EnrolReport {
  file: string;
  label: string;
  ok: boolean;
  code?: ErrorCode;
  message?: string;
  /** ENROL_DUPLICATE_FACE / ENROL_PLATE_TAKEN: the enrolled person this collides with (the admin may add to them). */
  holderId?: string;
  /** The error's details (field, rule, CSV row …) for a message that names them. */
  details?: Readonly<Record<string, string | number | boolean>>;
}

/** How photos or frames are stored: as a new person (warned when the face is already enrolled), or added to one. */
export interface EnrolTarget {
  /** Add to this enrolled person instead of creating one. */
  addTo?: string;
  /** The admin saw the duplicate warning and still wants a new person. */
  allowDuplicate?: boolean;
}

export { parseCsv, parseImportCsv, type CsvEntry } from './csv-import';


/** Whether a scanned text is a public key of this kind (the full check is the import's own). */
function isKeyText(text: string, kind: string): boolean {
  try {
    return (JSON.parse(text) as { kind?: unknown }).kind === kind;
  } catch {
    return false;
  }
}

function report(item: { file: string; label: string }, e?: unknown): EnrolReport {
  if (e === undefined) return { ...item, ok: true };
  const k = isKioskError(e) ? e : new KioskError('INTERNAL');
  return { ...item, ok: false, code: k.code, message: k.message, ...(k.details ? { details: k.details } : {}) };
}

export class AdminOps {
  constructor(private readonly app: KioskController) {}

  private get vault() {
    return this.app.vault;
  }

  private embedder(): string {
    return resolveFaceConfig(this.app.snapshot.settings.face).embedder;
  }

  // ---- vault life ----

  /** First run: set the admin passphrase, choose what this tablet is, create its identity and settings. */
  async setup(passphrase: string, opts: { unattended?: boolean; role?: KioskSettings['role'] } = {}): Promise<void> {
    await this.vault.setup(passphrase, { unattended: opts.unattended ?? true });
    this.app.authority.adminStarted();
    const settings = validateSettingsPatch(defaultSettings(), { lang: this.app.snapshot.settings.lang, ...(opts.role ? { role: opts.role } : {}) });
    await this.vault.settings.put({ ...settings });
    await this.app.afterUnlock();
  }

  async unlock(passphrase: string): Promise<void> {
    await this.vault.unlockAdmin(passphrase);
    this.app.authority.adminStarted();
    if (this.app.snapshot.phase !== 'running') await this.app.afterUnlock();
  }

  /** Ends the admin (and any guard) session on this screen. */
  lock(): void {
    this.app.authority.logout();
  }

  changePassphrase(current: string, next: string): Promise<void> {
    this.require('settings');
    return this.vault.changePassphrase(current, next);
  }

  // ---- guards ----

  listGuards(): Promise<GuardSummary[]> {
    this.require('manage-guards');
    return this.vault.guards.list();
  }

  createGuard(name: string, pin: string): Promise<GuardSummary> {
    this.require('manage-guards');
    return this.vault.guards.create(name, pin);
  }

  setGuardDisabled(id: string, disabled: boolean): Promise<void> {
    this.require('manage-guards');
    return this.vault.guards.setDisabled(id, disabled);
  }

  deleteGuard(id: string): Promise<void> {
    this.require('manage-guards');
    return this.vault.guards.remove(id);
  }

  /** Registers a passkey for a guard: the guard verifies on this device's authenticator (PIN or biometric). */
  async registerPasskey(id: string): Promise<void> {
    this.require('manage-guards');
    const g = (await this.vault.guards.list()).find((x) => x.id === id);
    if (!g) throw new KioskError('GUARD_NOT_FOUND');
    const p = await createPasskey(g);
    await this.vault.guards.addPasskey(id, p.credentialId, p.spki, p.alg);
  }

  /** The newest audit entries, decrypted (admin). */
  async readAudit(limit = 50): Promise<AuditEntry[]> {
    this.require('export');
    const { entries } = await this.vault.audit.read();
    return entries.slice(-limit).reverse();
  }

  // ---- enrolment ----

  /** The accept threshold of the active embedder: a new face at or above it would be taken for that person. */
  private acceptThreshold(): number {
    const cfg = resolveFaceConfig(this.app.snapshot.settings.face);
    return cfg.thresholds[cfg.embedder].accept;
  }

  /** Refuses a plate another person already holds, naming the holder by id (the admin screen shows their name). */
  private checkPlatesFree(plates: string[], owner?: string): void {
    for (const p of plates) {
      const holder = plateHolder(this.app.listSubjects(), p, owner);
      if (holder) throw new KioskError('ENROL_PLATE_TAKEN', { plate: p, holderId: holder.id });
    }
  }

  /**
   * Stores templates as a new person, or adds them (and plates) to `target.addTo`. A new person whose face matches
   * someone enrolled at the accept threshold is refused with ENROL_DUPLICATE_FACE naming that person, unless the
   * admin chose to enrol them anyway: two records of one person make the door refuse them ("too close to another").
   */
  private async store(input: SubjectInput, target: EnrolTarget): Promise<Subject> {
    const embedder = this.embedder();
    const templates = input.templates[embedder] ?? [];
    if (target.addTo) {
      // The vault, not the service's summary: adding keeps every template the person already has.
      const cur = await this.vault.subjects.get(target.addTo);
      if (!cur) throw new KioskError('STORE_NOT_FOUND', { field: 'addTo' });
      this.checkPlatesFree(input.plates, cur.id);
      const merged = mergedRecord(cur, { ...cur, templates: { [embedder]: templates }, plates: input.plates });
      return this.vault.subjects.put(merged);
    }
    this.checkPlatesFree(input.plates);
    if (!target.allowDuplicate) {
      // Templates live in the vault and the worker's gallery only; enrolment is rare enough to read the vault.
      const enrolled = templates.length ? (await this.vault.loadWatchlist()).subjects : [];
      const dup = faceDuplicate(enrolled, templates, embedder, this.acceptThreshold());
      if (dup) throw new KioskError('ENROL_DUPLICATE_FACE', { holderId: dup.subject.id, score: Number(dup.score.toFixed(3)) });
    }
    return this.vault.enrol(input);
  }

  /**
   * Merges `otherId` into `keepId` (one transaction: the merged record is written and the other deleted, or
   * neither). The result keeps every photo and plate, stays on the deny list if either was, and takes the narrower
   * validity (src/app/people.ts).
   */
  async mergeSubjects(keepId: string, otherId: string): Promise<Subject> {
    this.require('edit');
    if (keepId === otherId) throw new KioskError('INPUT_INVALID', { field: 'merge' });
    const keep = await this.vault.subjects.get(keepId);
    const other = await this.vault.subjects.get(otherId);
    if (!keep || !other) throw new KioskError('INPUT_INVALID', { field: 'merge' });
    const s = await this.vault.subjects.putAndDelete(mergedRecord(keep, other), otherId);
    await this.app.watchlistSettled();
    return s;
  }

  /** Enrol from photo files; several files with the same label become one person with several templates. */
  async enrolPhotos(items: EnrolItem[], onProgress?: (done: number, total: number) => void, target: EnrolTarget = {}): Promise<EnrolReport[]> {
    this.require('enrol');
    const embedder = this.embedder();
    const reports: EnrolReport[] = [];
    const people = new Map<string, { item: EnrolItem; templates: Float32Array[] }>();
    let done = 0;
    for (const item of items) {
      const key = `${item.list}\u0000${item.label}`;
      try {
        checkLabel(item.label);
        const r = await this.app.faces.enrolFromImage(undefined, item.file);
        const p = people.get(key) ?? { item, templates: [] };
        p.templates.push(r.template);
        people.set(key, p);
        reports.push(report({ file: item.file.name, label: item.label }));
      } catch (e) {
        reports.push(report({ file: item.file.name, label: item.label }, e));
      }
      onProgress?.(++done, items.length);
    }
    for (const { item, templates } of people.values()) {
      const input: SubjectInput = {
        label: item.label.trim(),
        list: item.list,
        templates: { [embedder]: templates },
        plates: checkPlates(item.plates ?? []),
        ...(item.validUntil ? { validUntil: item.validUntil } : {}),
      };
      try {
        await this.store(input, target);
      } catch (e) {
        // Nothing was stored for this person: mark every file of theirs as failed.
        const holderId = isKioskError(e) ? e.details?.['holderId'] : undefined;
        for (const r of reports)
          if (r.label === item.label && r.ok) Object.assign(r, report(r, e), typeof holderId === 'string' ? { holderId } : {});
      }
    }
    await this.app.watchlistSettled();
    return reports;
  }

  /** Bulk import: photo files plus a CSV mapping file names to labels and lists. */
  async bulkImport(photos: File[], csvText: string, onProgress?: (done: number, total: number) => void): Promise<EnrolReport[]> {
    this.require('enrol');
    const rows = parseImportCsv(csvText);
    const byName = new Map(photos.map((f) => [f.name, f]));
    const items: EnrolItem[] = [];
    const missing: EnrolReport[] = [];
    for (const r of rows) {
      const file = byName.get(r.file);
      if (!file) {
        missing.push(report({ file: r.file, label: r.label }, new KioskError('INPUT_CSV_ROW', { row: r.row, field: 'file', rule: 'photoMissing' })));
        continue;
      }
      items.push({ file, label: r.label, list: r.list, plates: r.plates, ...(r.validUntil ? { validUntil: r.validUntil } : {}) });
    }
    return [...(await this.enrolPhotos(items, onProgress)), ...missing];
  }

  /**
   * Enrol from the live camera: collects `frames` good frames showing exactly one face within `timeoutMs`, then
   * stores the templates of those that agree (src/matching/face/enrolment.ts: at most 3, no near-duplicates, every one
   * the same person as the medoid frame; INPUT_LOW_QUALITY 'frames disagree' when fewer than 3 do). The frames must pass the door's quality gates, not the stricter photo
   * enrolment ones: a camera that recognises someone at the door must be able to enrol them (docs/faces.md has the
   * measurement). `onProgress` gets the good frames so far and, for a frame that did not count, the first gate it
   * failed (a QUALITY_REASONS text, 'no face' or 'one person only') for the admin screen to coach with.
   */
  async enrolFromCamera(
    label: string,
    list: ListKind,
    opts: { frames?: number; timeoutMs?: number; onProgress?: (got: number, need: number, hint: string | null) => void } & EnrolTarget = {},
  ): Promise<Subject> {
    this.require('enrol');
    checkLabel(label);
    const need = opts.frames ?? 5;
    const face = resolveFaceConfig(this.app.snapshot.settings.face);
    const embedder = face.embedder;
    const samples: EnrolmentSample[] = [];
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), opts.timeoutMs ?? 20_000);
    let lastIssue: KioskError | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        ctl.signal.addEventListener('abort', () => reject(lastIssue ?? new KioskError('INPUT_NO_FACE')), { once: true });
        this.app.frameTap = async (frame) => {
          // Enrolment keeps the template (a door frame gets only the match).
          const a = await this.app.faces.analyse(ctl.signal, frame, { embed: 'good', gates: 'door', returnTemplate: true });
          if (a.detections.length === 0) {
            lastIssue = new KioskError('INPUT_NO_FACE');
            opts.onProgress?.(samples.length, need, 'no face');
          } else if (a.detections.length > 1) {
            lastIssue = new KioskError('INPUT_MULTIPLE_FACES');
            opts.onProgress?.(samples.length, need, 'one person only');
          } else if (!a.faces[0]!.quality.ok || !a.faces[0]!.template) {
            lastIssue = new KioskError('INPUT_LOW_QUALITY', { reason: a.faces[0]!.quality.reason ?? 'quality' });
            opts.onProgress?.(samples.length, need, a.faces[0]!.quality.reason);
          } else {
            const { quality } = a.faces[0]!;
            const template = a.faces[0]!.template;
            samples.push({ template, eyeDistancePx: quality.metrics.eyeDistancePx, sharpness: quality.metrics.sharpness });
            opts.onProgress?.(samples.length, need, null);
            if (samples.length >= need) resolve();
          }
        };
      });
    } finally {
      clearTimeout(timer);
      this.app.frameTap = null;
    }
    // Only frames of one person become the record: someone who swaps in front of the camera between frames (one
    // face per frame passes the check above) is dropped, and frames that do not agree refuse the enrolment.
    const { templates } = selectEnrolmentTemplates(samples, { accept: face.thresholds[embedder].accept, gates: face.quality });
    const s = await this.store({ label: label.trim(), list, templates: { [embedder]: templates }, plates: [] }, opts);
    await this.app.watchlistSettled();
    return s;
  }

  /** A vehicle-only entry (plates, no face), or plates added to an enrolled person (`target.addTo`). */
  async addPlates(label: string, plates: string[], list: ListKind, target: EnrolTarget = {}): Promise<Subject> {
    this.require('enrol');
    // Adding to a person keeps their name; a new vehicle-only entry needs one (the rules name field and limit).
    const name = target.addTo ? label.trim() : checkLabel(label);
    const norm = checkPlates(plates);
    if (norm.length === 0) throw new KioskError('INPUT_REQUIRED', { field: 'plates' });
    const s = await this.store({ label: name, list, templates: {}, plates: norm }, target);
    await this.app.watchlistSettled();
    return s;
  }

  async updateSubject(
    id: string,
    patch: Partial<Pick<Subject, 'label' | 'list' | 'validFrom' | 'validUntil' | 'plates'>>,
  ): Promise<void> {
    this.require('edit');
    // The stored record (with its templates), not a copy in memory: the edit keeps the faces exactly as stored.
    const cur = await this.vault.subjects.get(id);
    if (!cur) throw new KioskError('INPUT_INVALID', { field: 'id' });
    const next: SubjectInput = {
      id,
      label: checkLabel(patch.label ?? cur.label),
      list: patch.list ?? cur.list,
      templates: cur.templates,
      plates: checkPlates(patch.plates ?? cur.plates),
    };
    if (patch.plates) this.checkPlatesFree(next.plates, id);
    const vf = 'validFrom' in patch ? patch.validFrom : cur.validFrom;
    const vu = 'validUntil' in patch ? patch.validUntil : cur.validUntil;
    if (vf !== undefined) next.validFrom = vf;
    if (vu !== undefined) next.validUntil = vu;
    await this.vault.subjects.put(next);
    await this.app.watchlistSettled();
  }

  /** Expire now: the person stays listed (for the audit trail) but no longer matches. */
  expireSubject(id: string): Promise<void> {
    return this.updateSubject(id, { validUntil: this.app.clock.wall() });
  }

  async deleteSubject(id: string): Promise<void> {
    this.require('edit');
    await this.vault.subjects.delete(id);
    await this.app.watchlistSettled();
  }

  // ---- settings ----

  async saveSettings(patch: Partial<KioskSettings>): Promise<KioskSettings> {
    this.require('settings');
    const cur = this.app.snapshot.settings;
    const next = validateSettingsPatch(cur, patch);
    await this.vault.settings.put({ ...next });
    if (patch.retentionHours !== undefined) await this.vault.audit.setRetention(next.retentionHours * 3_600_000);
    const stored = resolveKioskSettings(await this.vault.settings.get());
    this.app.update({ settings: stored });
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

  /** Pair with the receiver using the one-time code it printed. */
  async pair(code: string): Promise<{ fingerprint: string }> {
    this.require('pair');
    if (!this.app.decisions) throw new KioskError('UPSTREAM_NOT_PAIRED');
    const r = await this.app.decisions.pair(code);
    return { fingerprint: r.fingerprint };
  }

  // ---- sync ----

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
      throw new KioskError('INPUT_INVALID', { reason: 'key-json' });
    }
    const o = v as { kind?: string; jwk?: JsonWebKey };
    if (o?.kind !== kind || typeof o.jwk !== 'object') throw new KioskError('INPUT_INVALID', { reason: 'key-kind' });
    return o.jwk;
  }

  /** Pin an admin public key on this kiosk; returns its fingerprint for the admin to compare by eye. */
  async pinAdminKey(json: string): Promise<string> {
    this.require('import');
    const key = await importAdminPublicKey(AdminOps.parseKey(json, 'entrance-kiosk-admin-key'));
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

  /** Pairs with the receiver using a pairing code read from a QR code (`pairing-code --qr` on the receiver). */
  async scanPairingCode(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ fingerprint: string }> {
    this.require('pair');
    return this.pair(await scanQr(this.app, (t) => /^[0-9A-Za-z]{5}-?[0-9A-Za-z]{5}$/.test(t.trim()), opts));
  }

  /** Add a kiosk to export to; returns its fingerprint. */
  async addRecipient(json: string): Promise<string> {
    this.require('export');
    const key = await importKioskPublicKey(AdminOps.parseKey(json, 'entrance-kiosk-kiosk-key'));
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
  async exportWatchlist(opts: { sitePassphrase?: string }): Promise<{ bytes: Uint8Array<ArrayBuffer>; version: number }> {
    this.require('export');
    const k = await this.keys();
    if (!k.admin) await this.adminPublicKey();
    const keys = await this.keys();
    const recipients = (keys.recipients ?? []).map((r) => r.key);
    if (!opts.sitePassphrase && recipients.length === 0) throw new KioskError('INPUT_INVALID', { reason: 'no-recipients' });
    const installed = await this.vault.watchlistVersion();
    const version = Math.max(installed, keys.exportedVersion ?? 0) + 1;
    const bytes = await exportBundle({
      subjects: (await this.vault.loadWatchlist()).subjects,
      version,
      adminSigningKey: keys.admin!.privateKey,
      adminPublicKey: keys.admin!.publicKey,
      recipients,
      ...(opts.sitePassphrase ? { siteKey: await createSiteKey(opts.sitePassphrase) } : {}),
    });
    await this.saveKeys({ ...keys, exportedVersion: version });
    return { bytes, version };
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

  // ---- audit, wipe ----

  exportAudit(exportPassphrase: string): Promise<Blob> {
    this.require('export');
    return this.vault.audit.exportEncrypted(exportPassphrase);
  }

  /** Reads an audit export file back (any file the kiosk exported, with its export passphrase); entries newest first. */
  async readAuditFile(file: Blob, exportPassphrase: string): Promise<AuditEntry[]> {
    this.require('export');
    return (await readAuditExport(new Uint8Array(await file.arrayBuffer()), exportPassphrase)).entries;
  }

  async wipe(confirmation: string): Promise<void> {
    this.require('wipe');
    checkWipeConfirmation(confirmation);
    await this.vault.wipe(confirmation);
  }

  /** The one check every operation starts with (STORE_ADMIN_REQUIRED when the session lacks it). */
  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
