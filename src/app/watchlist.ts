/**
 * The watchlist service: the one owner of the decrypted watchlist while the kiosk runs.
 *
 * Owns, on the main thread, what a decision needs to know about each enrolled person except their face: label,
 * list, validity, plates and template counts (a `WatchSubject`), and the plate index the per-frame plate decision
 * searches. The face templates go to the face worker, which holds the only copy (src/inference/worker/face/
 * face-gallery-store.ts); a restarted worker gets them back from the vault through `galleryEntries()`, so nothing
 * here keeps a template. The vault's change events (the ids that changed, and the subjects as written) are applied
 * as small updates: the plate index and the worker gallery change for those subjects only (their templates pass
 * through to the worker and are not kept here),
 * and no model is reloaded. An event without ids (a bundle replacing everything, a rebuilt index) reloads all.
 * Changes apply one at a time, in the order the vault committed them; `settled()` resolves once every change seen
 * so far is in force, i.e. the next frame decides with it. It never writes to the vault and never decides access.
 */
import { resolveFaceConfig, type FaceConfigOverrides } from '../config/face';
import type { FaceClient } from '../inference/client/face-client';
import { assessOpenSet, type OpenSetAssessment } from '../matching/face/open-set';
import { PlateIndex } from '../matching/plates';
import type { GalleryTemplate } from '../shared/face-protocol';
import type { Subject } from '../shared/types';
import { loadIncomplete, type Vault } from '../store';

/** A subject as the main thread holds it: everything but the face templates (only their count per embedder). */
export type WatchSubject = Omit<Subject, 'templates'> & { templateCounts: Record<string, number> };

export interface WatchlistSummary {
  subjects: number;
  /** Templates of the active embedder. */
  templates: number;
  plates: number;
  version: number;
  loadedAt: number | null;
  /** The open-set threshold for this gallery size; `reachable: false` means the face gallery is not armed. */
  openSet: OpenSetAssessment | null;
  /**
   * Allow-list entries the store held back at the last full load (the list may be incomplete or old: pages missing,
   * damaged or unverifiable) until an admin reviews and rebuilds the index; the guard screen says so.
   */
  heldBack: number;
  /** The last full load found pages missing, damaged, put back or unverifiable: an admin should review it. */
  damaged: boolean;
}

/** More changed ids than this in one event: one full reload is cheaper than reading them back one by one. */
const MAX_SMALL_UPDATE = 64;

function strip(s: Subject): WatchSubject {
  const { templates, ...rest } = s;
  const templateCounts: Record<string, number> = {};
  for (const [k, v] of Object.entries(templates)) templateCounts[k] = v.length;
  return { ...rest, templateCounts };
}

export interface WatchlistDeps {
  vault: Vault;
  faces: FaceClient;
  /** Face settings in force (embedder, open-set model). */
  faceSettings: () => FaceConfigOverrides | undefined;
  /** Wall clock for "loaded at". */
  now: () => number;
}

export class Watchlist {
  private readonly deps: WatchlistDeps;
  private subjects = new Map<string, WatchSubject>();
  /** The plate decision searches this, not the subjects. */
  readonly plates = new PlateIndex();
  private summaryValue: WatchlistSummary = { subjects: 0, templates: 0, plates: 0, version: 0, loadedAt: null, openSet: null, heldBack: 0, damaged: false };
  private queue: Promise<unknown> = Promise.resolve();
  private listeners = new Set<(s: WatchlistSummary) => void>();
  private templates = 0;
  private heldBack = 0;
  private damaged = false;
  /** Whether the worker currently holds the gallery (false when the open-set target cannot be met, or unloaded). */
  private armed = false;
  /** Change events seen / applied (tests and the benchmark read them). */
  updates = { small: 0, full: 0 };

  constructor(deps: WatchlistDeps) {
    this.deps = deps;
    deps.vault.subscribe((e) => {
      if (e.type === 'state' && e.state.status !== 'unlocked') this.clear();
      if (e.type === 'change' && e.store === 'subjects' && this.summaryValue.loadedAt !== null) {
        const ids = e.ids ? [...e.ids] : null;
        // The write hands over what it committed (ids it does not carry were deleted): nothing to decrypt again.
        const written = e.subjects ? new Map(e.subjects.map((s) => [s.id, s])) : null;
        // While the stored list is damaged every change reloads it whole, so the store's hold-back applies to what
        // changed too (an allow-list person edited or enrolled meanwhile must not decide alone).
        this.enqueue(() =>
          ids && ids.length <= MAX_SMALL_UPDATE && !this.damaged ? this.applyIds(ids, written) : this.load(),
        );
      }
    });
  }

  get summary(): WatchlistSummary {
    return this.summaryValue;
  }

  /** Called after every applied change (full or small). */
  subscribe(fn: (s: WatchlistSummary) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  subject(id: string): WatchSubject | undefined {
    return this.subjects.get(id);
  }

  label(id: string | undefined): string | undefined {
    return id ? this.subjects.get(id)?.label : undefined;
  }

  list(): WatchSubject[] {
    return [...this.subjects.values()];
  }

  /** Decrypt everything again and re-arm the worker (unlock, settings change, bundle). Queued after pending changes. */
  reload(): Promise<WatchlistSummary> {
    return this.enqueue(() => this.load());
  }

  /** Resolves once every change seen so far is in force (the next frame decides with it). */
  async settled(): Promise<WatchlistSummary> {
    for (;;) {
      const q = this.queue;
      await q.catch(() => undefined);
      if (q === this.queue) return this.summaryValue;
    }
  }

  /** The face worker's gallery from the vault: what a restarted worker is given back. */
  async galleryEntries(): Promise<GalleryTemplate[]> {
    if (!this.armed || this.deps.vault.state.status !== 'unlocked') return [];
    const load = await this.deps.vault.loadWatchlist();
    const embedder = this.embedder();
    return load.subjects.flatMap((s) => (s.templates[embedder] ?? []).map((template) => ({ subjectId: s.id, template })));
  }

  clear(): void {
    this.subjects.clear();
    this.plates.clear();
    this.templates = 0;
    this.heldBack = 0;
    this.damaged = false;
    this.armed = false;
    this.summaryValue = { subjects: 0, templates: 0, plates: 0, version: 0, loadedAt: null, openSet: null, heldBack: 0, damaged: false };
  }

  private embedder(): string {
    return resolveFaceConfig(this.deps.faceSettings()).embedder;
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.catch(() => undefined).then(fn);
    this.queue = p;
    return p;
  }

  private assess(templates: number): OpenSetAssessment {
    const cfg = resolveFaceConfig(this.deps.faceSettings());
    const e = cfg.embedder;
    return assessOpenSet(cfg.openSet.impostor[e], templates, cfg.openSet, cfg.thresholds[e].accept);
  }

  private async load(): Promise<WatchlistSummary> {
    const load = await this.deps.vault.loadWatchlist();
    const embedder = this.embedder();
    this.subjects = new Map();
    this.plates.clear();
    let templates = 0;
    for (const s of load.subjects) {
      // The index keeps its entry: give it the stripped subject, never one that holds templates.
      const w = strip(s);
      this.subjects.set(s.id, w);
      this.plates.set(w);
      templates += s.templates[embedder]?.length ?? 0;
    }
    // Models load only when the settings really changed (FaceClient.configure is a no-op otherwise).
    await this.deps.faces.configure(undefined, this.deps.faceSettings() ?? {});
    // Open set: the accept threshold follows the number of templates; a gallery too large for the FPIR target is
    // not armed (an empty gallery matches nobody, so every face is refused).
    const openSet = this.assess(templates);
    this.armed = openSet.reachable;
    await this.deps.faces.setGallery(undefined, this.armed ? load.subjects : []);
    this.templates = templates;
    const r = load.report;
    this.heldBack = r.unverified.length;
    this.damaged = loadIncomplete(r);
    this.updates.full++;
    return this.publish(load.version ?? 0, openSet);
  }

  private async applyIds(ids: string[], written: ReadonlyMap<string, Subject> | null): Promise<WatchlistSummary> {
    const embedder = this.embedder();
    const puts: { subjectId: string; templates: Float32Array[] }[] = [];
    const removes: string[] = [];
    let templates = this.templates;
    for (const id of new Set(ids)) {
      const before = this.subjects.get(id);
      templates -= before?.templateCounts[embedder] ?? 0;
      const s = written ? (written.get(id) ?? null) : await this.deps.vault.subjects.get(id);
      if (!s) {
        this.subjects.delete(id);
        this.plates.delete(id);
        removes.push(id);
        continue;
      }
      const w = strip(s);
      this.subjects.set(id, w);
      this.plates.set(w);
      const t = s.templates[embedder] ?? [];
      templates += t.length;
      puts.push({ subjectId: id, templates: t });
    }
    const openSet = this.assess(templates);
    this.templates = templates;
    if (openSet.reachable !== this.armed) {
      // Crossing the open-set limit either way: re-arm (or disarm) from the vault as a whole.
      this.armed = openSet.reachable;
      await this.deps.faces.setGallery(undefined, this.armed ? await this.galleryEntries() : []);
    } else if (this.armed) {
      await this.deps.faces.updateGallery(undefined, { puts, removes });
    }
    this.updates.small++;
    return this.publish(this.summaryValue.version, openSet);
  }

  private publish(version: number, openSet: OpenSetAssessment): WatchlistSummary {
    this.summaryValue = {
      subjects: this.subjects.size,
      templates: this.templates,
      plates: this.plates.size,
      version,
      loadedAt: this.deps.now(),
      openSet,
      heldBack: this.heldBack,
      damaged: this.damaged,
    };
    for (const fn of this.listeners) fn(this.summaryValue);
    return this.summaryValue;
  }
}
