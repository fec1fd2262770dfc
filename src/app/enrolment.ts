/**
 * Enrolment, the admin's way in for people: photo files, the live camera (coached with the door's quality gates),
 * a bulk import of photos with a CSV, and plates (a vehicle-only entry, or plates added to a person).
 *
 * Owns turning photos and frames into stored records: photos are decoded and embedded in the face worker and dropped
 * there, only templates reach the vault. A new face that matches someone enrolled is refused with
 * ENROL_DUPLICATE_FACE naming them (unless the admin chose a new record), a plate someone holds with
 * ENROL_PLATE_TAKEN; adding to a person keeps everything they have. Every person stored is audited
 * (src/app/change-audit.ts): 'person-enrolled' with how (photos, camera, CSV, plates) and the list, or
 * 'person-edited' with what was added — the person's id, never their name or face. Every operation asks the
 * authority for `enrol` first. It never renders anything and never decides at the door.
 */
import { resolveFaceConfig } from '../config/face';
import { noteChange, noteEnrolledDeny } from './local-revocations';
import { selectEnrolmentTemplates, type EnrolmentSample } from '../matching/face/enrolment';
import { cosineSimilarity } from '../matching/face/similarity';
import { parseImportCsv, readCsvFile } from './csv-import';
import { KioskError, isKioskError, type ErrorCode } from '../shared/errors';
import type { ListKind, Subject } from '../shared/types';
import type { SubjectInput } from '../store';
import { checkLabel, checkPlates } from './input-rules';
import type { Capability } from './authority';
import type { KioskController } from './controller';
import { assertPlatesFree, assertUnchanged, faceDuplicate, mergedRecord } from './people';
import { changedPersonFields, editedReason, enrolledReason, recordChange, type EnrolVia } from './change-audit';
import { watchCamera } from './camera-watch';

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

/**
 * The photos given under one name must show one person: each template at least the accept threshold from the
 * group's medoid (the rule camera enrolment applies to its frames). Two different people sharing a name, or one
 * wrong photo among several, would otherwise give one of them the other's access. ENROL_PHOTOS_DIFFER otherwise.
 */
function assertOnePerson(templates: readonly Float32Array[], accept: number): void {
  if (templates.length < 2) return;
  const sim = templates.map((a) => templates.map((b) => (a.length === b.length ? cosineSimilarity(a, b) : -1)));
  const sums = sim.map((row) => row.reduce((x, y) => x + y, 0));
  const medoid = sums.indexOf(Math.max(...sums));
  const worst = Math.min(...sim[medoid]!);
  if (worst < accept) throw new KioskError('ENROL_PHOTOS_DIFFER', { photos: templates.length, score: Number(worst.toFixed(3)) });
}

function report(item: { file: string; label: string }, e?: unknown): EnrolReport {
  if (e === undefined) return { ...item, ok: true };
  const k = isKioskError(e) ? e : new KioskError('INTERNAL');
  return { ...item, ok: false, code: k.code, message: k.message, ...(k.details ? { details: k.details } : {}) };
}

export class EnrolmentService {
  constructor(private readonly app: KioskController) {}

  private get vault() {
    return this.app.vault;
  }

  private embedder(): string {
    return resolveFaceConfig(this.app.snapshot.settings.face).embedder;
  }

  /** The accept threshold of the active embedder: a new face at or above it would be taken for that person. */
  private acceptThreshold(): number {
    const cfg = resolveFaceConfig(this.app.snapshot.settings.face);
    return cfg.thresholds[cfg.embedder].accept;
  }

  /**
   * The bar for "these photos show the same person": the door's own, i.e. the open-set threshold when the gallery's
   * size has raised it above the embedder's accept. At the lower bar a stranger the door would not take for Bob
   * (0.47 against him with ~300 templates enrolled: the door asks 0.473) could be added as Bob's photo, and then
   * match that photo at ~0.8 (attacker review, session 32). A duplicate check keeps the lower bar: there a lower bar
   * refuses more.
   */
  private sameFaceBar(): number {
    // At most maxAccept: a gallery too large to arm asks more than genuine photo sets reach (none would be taken).
    const cap = resolveFaceConfig(this.app.snapshot.settings.face).openSet.maxAccept;
    return Math.max(this.acceptThreshold(), Math.min(cap, this.app.snapshot.openSet?.threshold ?? -Infinity));
  }

  /**
   * Stores templates as a new person, or adds them (and plates) to `target.addTo`. A new person whose face matches
   * someone enrolled at the accept threshold is refused with ENROL_DUPLICATE_FACE naming that person, unless the
   * admin chose to enrol them anyway: two records of one person make the door refuse them ("too close to another").
   * Audited once stored: enrolled (`via`, the list) or edited (what the added photos or plates changed).
   */
  private async store(input: SubjectInput, target: EnrolTarget, via: EnrolVia): Promise<Subject> {
    const embedder = this.embedder();
    const templates = input.templates[embedder] ?? [];
    if (target.addTo) {
      // The vault, not the service's summary: adding keeps every template the person already has.
      const cur = await this.vault.subjects.get(target.addTo);
      if (!cur) throw new KioskError('STORE_NOT_FOUND', { field: 'addTo' });
      assertPlatesFree(this.app.listSubjects(), input.plates, cur.id);
      // New photos must show this person, and nobody else enrolled: "Add photos" stored any face, so one wrong photo
      // (or a deny-listed person's) gave its face this person's access (attacker review, session 23).
      // A record with no face yet (plates only) has nothing to compare with, but the photos must still be nobody
      // else's: a deny-listed face added to an allowed plates-only entry was stored (attacker review, session 25).
      const theirs = cur.templates[embedder] ?? [];
      if (templates.length > 0) {
        const accept = this.acceptThreshold();
        if (theirs.length > 0) {
          const closest = Math.min(...templates.map((t) => Math.max(...theirs.map((e) => (e.length === t.length ? cosineSimilarity(t, e) : -1)))));
          if (closest < this.sameFaceBar()) throw new KioskError('ENROL_PHOTOS_DIFFER', { photos: templates.length, score: Number(closest.toFixed(3)) });
        }
        const others = (await this.vault.loadWatchlist()).subjects;
        const dup = faceDuplicate(others, templates, embedder, accept, cur.id);
        if (dup) throw new KioskError('ENROL_DUPLICATE_FACE', { holderId: dup.subject.id, score: Number(dup.score.toFixed(3)) });
      }
      // The list and validity the admin chose for these photos merge as two people do (deny wins, the narrower
      // period): "Add to Bob" after enrolling Mallory on the deny list used to keep Bob — and her face — allowed.
      const merged = mergedRecord(cur, {
        ...cur,
        templates: { [embedder]: templates },
        plates: input.plates,
        list: input.list,
        validFrom: input.validFrom,
        validUntil: input.validUntil,
      });
      // Photos for the deny list (or a narrower period) revoke here: held over the next bundle like an edit.
      const after = await this.vault.asOneChange(async () => {
        await assertUnchanged((i) => this.vault.subjects.get(i), cur);
        await noteChange(this.vault, cur, { id: cur.id, list: merged.list, validUntil: merged.validUntil }, this.app.clock.wall());
        return this.vault.subjects.put(merged);
      });
      const fields = changedPersonFields(cur, after);
      if (fields.length) await recordChange(this.app, { outcome: 'person-edited', subjectId: after.id, reason: editedReason(`add-${via}`, fields), actor: 'admin' });
      return after;
    }
    assertPlatesFree(this.app.listSubjects(), input.plates);
    // Templates live in the vault and the worker's gallery only; enrolment is rare enough to read the vault.
    const enrolled = templates.length ? (await this.vault.loadWatchlist()).subjects : [];
    const dup = faceDuplicate(enrolled, templates, embedder, this.acceptThreshold());
    // "Enrol as a new person anyway" is for a namesake or a twin, never for a deny-listed face on the allow list: a
    // second record of them there was how a deny-listed person got a yes (attacker review, session 23). Such a face
    // goes onto the deny list or is added to their record.
    const deniedFace = dup !== undefined && dup.subject.list === 'deny' && input.list === 'allow';
    if (dup && (!target.allowDuplicate || deniedFace))
      throw new KioskError('ENROL_DUPLICATE_FACE', { holderId: dup.subject.id, score: Number(dup.score.toFixed(3)), ...(deniedFace ? { holderList: 'deny' } : {}) });
    // Enrolled here on the deny list: held over the next bundle, which no desk made with them in it (one change with
    // the enrolment; if the hold cannot be written, the enrolment is taken back and the error said).
    const s = await this.vault.asOneChange(async () => {
      const made = await this.vault.enrol(input);
      if (made.list !== 'deny') return made;
      try {
        await noteEnrolledDeny(this.vault, made.id);
      } catch (e) {
        await this.vault.subjects.delete(made.id).catch(() => undefined);
        throw e;
      }
      return made;
    });
    await recordChange(this.app, { outcome: 'person-enrolled', subjectId: s.id, reason: enrolledReason(via, s.list), actor: 'admin' });
    return s;
  }

  /** Enrol from photo files; several files with the same label become one person with several templates. */
  enrolPhotos(items: EnrolItem[], onProgress?: (done: number, total: number) => void, target: EnrolTarget = {}): Promise<EnrolReport[]> {
    this.require('enrol');
    return this.enrolFiles(items, onProgress, target, 'photos');
  }

  private async enrolFiles(items: EnrolItem[], onProgress: ((done: number, total: number) => void) | undefined, target: EnrolTarget, via: EnrolVia): Promise<EnrolReport[]> {
    const embedder = this.embedder();
    const reports: EnrolReport[] = [];
    // Rows under one name are one person: their plates are pooled and the narrowest validity holds (the first row's
    // alone used to win, so a second "John Smith" with an end date was enrolled without one), and their photos must
    // show one person (checked below, as camera enrolment does).
    // A person is their list and name (the key below); `reports` are their files' lines, the ones a failure to store
    // them marks (matching on the name alone marked a namesake on the other list as failed, though stored).
    const people = new Map<string, { item: EnrolItem; templates: Float32Array[]; plates: string[]; validUntil?: number; reports: EnrolReport[] }>();
    let done = 0;
    for (const item of items) {
      const key = `${item.list}\u0000${item.label}`;
      try {
        checkLabel(item.label);
        const r = await this.app.faces.enrolFromImage(undefined, item.file);
        const p = people.get(key) ?? { item, templates: [], plates: [], reports: [] };
        p.templates.push(r.template);
        p.plates.push(...(item.plates ?? []));
        if (item.validUntil !== undefined) p.validUntil = Math.min(p.validUntil ?? Infinity, item.validUntil);
        people.set(key, p);
        const ok = report({ file: item.file.name, label: item.label });
        p.reports.push(ok);
        reports.push(ok);
      } catch (e) {
        reports.push(report({ file: item.file.name, label: item.label }, e));
      }
      onProgress?.(++done, items.length);
    }
    for (const { item, templates, plates, validUntil, reports: theirs } of people.values()) {
      try {
        const input: SubjectInput = {
          label: item.label.trim(),
          list: item.list,
          templates: { [embedder]: templates },
          plates: [...new Set(checkPlates([...new Set(plates.map((p) => p.trim()))]))],
          ...(validUntil !== undefined ? { validUntil } : {}),
        };
        assertOnePerson(templates, this.sameFaceBar());
        await this.store(input, target, via);
      } catch (e) {
        // Nothing was stored for this person: mark every file of theirs as failed.
        const holderId = isKioskError(e) ? e.details?.['holderId'] : undefined;
        for (const r of theirs) Object.assign(r, report(r, e), typeof holderId === 'string' ? { holderId } : {});
      }
    }
    await this.app.watchlistSettled();
    return reports;
  }

  /**
   * Bulk import: photo files plus a CSV mapping file names to labels and lists. `csv` is the chosen file (read as
   * UTF-8 and refused if it is not, src/app/csv-import.ts decodeCsv) or its text.
   */
  async bulkImport(photos: File[], csv: string | Blob, onProgress?: (done: number, total: number) => void): Promise<EnrolReport[]> {
    this.require('enrol');
    const rows = parseImportCsv(typeof csv === 'string' ? csv : await readCsvFile(csv));
    const byName = new Map(photos.map((f) => [f.name, f]));
    const items: EnrolItem[] = [];
    const missing: EnrolReport[] = [];
    for (const r of rows) {
      const file = byName.get(r.file);
      if (!file) {
        // This row only: the rest of the file is imported (INPUT_CSV_ROW says nothing was); the line names the file.
        missing.push(report({ file: r.file, label: r.label }, new KioskError('INPUT_CSV_PHOTO_MISSING', { row: r.row, field: 'file', rule: 'photoMissing' })));
        continue;
      }
      items.push({ file, label: r.label, list: r.list, plates: r.plates, ...(r.validUntil ? { validUntil: r.validUntil } : {}) });
    }
    return [...(await this.enrolFiles(items, onProgress, {}, 'csv')), ...missing];
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
    let unwatch = (): void => undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        // A camera failure aborts with its own error (a KioskError reason); the timeout with the last frame's issue.
        ctl.signal.addEventListener('abort', () => reject(isKioskError(ctl.signal.reason) ? ctl.signal.reason : (lastIssue ?? new KioskError('INPUT_NO_FACE'))), { once: true });
        // Camera denied, absent or lost (now or during the wait): no frame will come, so say that at once.
        unwatch = watchCamera(this.app, (e) => ctl.abort(e));
        if (ctl.signal.aborted) return;
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
      unwatch();
      this.app.frameTap = null;
    }
    // Only frames of one person become the record: someone who swaps in front of the camera between frames (one
    // face per frame passes the check above) is dropped, and frames that do not agree refuse the enrolment.
    const { templates } = selectEnrolmentTemplates(samples, { accept: this.sameFaceBar(), gates: face.quality });
    const s = await this.store({ label: label.trim(), list, templates: { [embedder]: templates }, plates: [] }, opts, 'camera');
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
    const s = await this.store({ label: name, list, templates: {}, plates: norm }, target, 'plates');
    await this.app.watchlistSettled();
    return s;
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
