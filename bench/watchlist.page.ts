/**
 * Page side of bench/watchlist.mjs: the kiosk's real app layer (KioskController + AdminOps + the watchlist service,
 * the real vault in IndexedDB, the real face worker) with a large synthetic watchlist, timed from the admin's edit
 * until the kiosk decides with it.
 *
 * Owns only the measurement: seeding, the timed edits, one real photo fed through the controller's own frame path
 * (@vladmandic/face-api's sample3, the centre woman, enrolled as "Her"), the plate decisions over the index and over
 * the old per-frame list for comparison, and memory by realm (page vs face worker). Synthetic data only.
 */
import { AdminOps } from '../src/app/admin-ops';
import { KioskController } from '../src/app/controller';
import { decidePlate, type Consensus } from '../src/matching/plates';
import { AdjustableClock } from '../src/shared/clock';
import { Vault, type SubjectInput } from '../src/store';
import { herPhoto, seeded, strangerTemplate } from '../test/browser/watchlist-people';

const PASS = 'Bench-Watchlist 2026 lantern';
const ALPHA = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';

const plateOf = (next: () => number) => Array.from({ length: 7 }, () => ALPHA[Math.floor(next() * ALPHA.length)]).join('');

interface MemoryReport {
  method: string;
  /** V8's JS heap of the page alone (objects, strings; not ArrayBuffer contents). */
  pageJsHeapMB: number | null;
  pageMB: number | null;
  workerMB: number | null;
  totalMB: number | null;
}

async function memory(): Promise<MemoryReport> {
  const p = performance as Performance & {
    measureUserAgentSpecificMemory?: () => Promise<{ bytes: number; breakdown: { bytes: number; attribution: { scope?: string }[] }[] }>;
  };
  const heap = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
  const pageJsHeapMB = heap === undefined ? null : Math.round((heap / 2 ** 20) * 10) / 10;
  if (!p.measureUserAgentSpecificMemory || !crossOriginIsolated) return { method: 'unavailable', pageJsHeapMB, pageMB: null, workerMB: null, totalMB: null };
  const m = await p.measureUserAgentSpecificMemory();
  let page = 0;
  let worker = 0;
  for (const b of m.breakdown) {
    const scope = b.attribution[0]?.scope ?? '';
    if (scope === 'DedicatedWorkerGlobalScope') worker += b.bytes;
    else page += b.bytes;
  }
  const mb = (x: number) => Math.round((x / 2 ** 20) * 10) / 10;
  return { method: 'measureUserAgentSpecificMemory', pageJsHeapMB, pageMB: mb(page), workerMB: mb(worker), totalMB: mb(m.bytes) };
}

export interface WatchlistBenchOptions {
  subjects: number;
  edits: number;
  plateReads: number;
}

async function run(o: WatchlistBenchOptions) {
  const clock = new AdjustableClock();
  const name = `bench-watchlist-${Date.now()}`;
  const vault = await Vault.open({ name, pbkdf2Iterations: 600_000, retentionTimerMs: 0, requestPersistence: false, now: () => clock.wall(), monotonic: () => clock.monotonic() });
  const app = new KioskController({ vault, video: document.createElement('video'), clock });
  const ops = new AdminOps(app);
  try {
    await ops.setup(PASS, { role: 'attended' });
    await ops.settings.saveSettings({ pad: 'off' });
    const blob = await herPhoto();
    const enrolled = await ops.enrolment.enrolPhotos([{ file: new File([blob], 'her.jpg', { type: 'image/jpeg' }), label: 'Her', list: 'allow' }]);
    if (!enrolled[0]?.ok) throw new Error(`enrol failed: ${enrolled[0]?.code}`);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const memBefore = await memory();
    const next = seeded(7);
    const plates: string[] = [];
    const t0 = performance.now();
    for (let i = 1; i < o.subjects; i += 2000) {
      const batch: SubjectInput[] = [];
      for (let j = i; j < Math.min(o.subjects, i + 2000); j++) {
        const p = plateOf(next);
        plates.push(p);
        batch.push({ label: `Person ${j}`, list: next() < 0.1 ? 'deny' : 'allow', templates: { fr_feature: [strangerTemplate(next)] }, plates: [p] });
      }
      await vault.subjects.putMany(batch);
    }
    await app.watchlistSettled();
    const seedMs = performance.now() - t0;
    gc?.();
    const memSeeded = await memory();
    const herId = app.listSubjects().find((s) => s.label === 'Her')!.id;
    const loadsBefore = app.faces.modelLoads;
    const fullBefore = app.watchlist.updates.full;

    // Frames of her through the controller's own path until it decides; returns the decision and the frames it took.
    const decide = async () => {
      const before = app.snapshot.lastResult?.n ?? 0;
      let frames = 0;
      while ((app.snapshot.lastResult?.n ?? 0) === before && frames < 15) {
        clock.advance(200);
        await app.feedFrame(await createImageBitmap(blob), clock.monotonic());
        frames++;
      }
      clock.advance(4_000);
      return { ...app.guardLog()[0]!, frames };
    };
    const granted = await decide();

    // Timed edits of random other people: expire, relabel, change plates, delete (in turn).
    const editMs: number[] = [];
    const kinds = ['expire', 'relabel', 'plates', 'delete'] as const;
    const others = app.listSubjects().filter((s) => s.id !== herId);
    for (let e = 0; e < o.edits; e++) {
      const s = others[Math.floor(next() * others.length)]!;
      others.splice(others.indexOf(s), 1);
      const kind = kinds[e % kinds.length]!;
      const t = performance.now();
      if (kind === 'expire') await ops.people.expireSubject(s.id);
      else if (kind === 'relabel') await ops.people.updateSubject(s.id, { label: `${s.label} (edited)` });
      else if (kind === 'plates') await ops.people.updateSubject(s.id, { plates: [plateOf(next)] });
      else await ops.people.deleteSubject(s.id);
      editMs.push(performance.now() - t);
    }
    // Her expiry, timed until the edit is in force, then the next decision must refuse her.
    const t1 = performance.now();
    await ops.people.expireSubject(herId);
    const herExpireMs = performance.now() - t1;
    const refused = await decide();

    // Plate decisions over the index, and over the list the controller used to filter every frame.
    const reads: Consensus[] = [];
    for (let i = 0; i < o.plateReads; i++) {
      const listed = plates[Math.floor(next() * plates.length)]!;
      const kind = i % 3;
      const text = kind === 0 ? listed : kind === 1 ? listed.replace(/0/g, 'O').replace(/1/g, 'I') : plateOf(next);
      reads.push({ text, confidence: 0.9, support: 3, frames: 3, agreement: 1 });
    }
    const settings = app.snapshot.settings.plate;
    const timeDecisions = (list: Parameters<typeof decidePlate>[1], n: number) => {
      const out: number[] = [];
      const outcomes: string[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const d = decidePlate(reads[i]!, list, settings, { now: clock.wall() });
        out.push(performance.now() - t);
        outcomes.push(`${d.outcome}:${d.subjectId ?? ''}`);
      }
      return { ms: out, outcomes };
    };
    const indexed = timeDecisions(app.watchlist.plates, reads.length);
    // The old path: a filtered copy of every subject, then a full scan (fewer reads: it is slow).
    const scanN = Math.min(reads.length, 100);
    const listNow = app.listSubjects().filter((s) => s.plates.length > 0);
    const scanned = timeDecisions(listNow, scanN);
    const agree = scanned.outcomes.every((x, i) => x === indexed.outcomes[i]);

    gc?.();
    const mem = await memory();
    return {
      subjects: app.snapshot.watchlist.subjects,
      templates: app.snapshot.watchlist.templates,
      plates: app.snapshot.watchlist.plates,
      seedMs,
      granted: { outcome: granted.outcome, label: granted.label, frames: granted.frames },
      refused: { outcome: refused.outcome, reason: refused.reason, frames: refused.frames },
      editMs,
      herExpireMs,
      modelLoadsDuringEdits: app.faces.modelLoads - loadsBefore,
      modelLoadsTotal: app.faces.modelLoads,
      fullReloadsDuringEdits: app.watchlist.updates.full - fullBefore,
      smallUpdates: app.watchlist.updates.small,
      plateIndexMs: indexed.ms,
      plateScanMs: scanned.ms,
      plateIndexAgreesWithScan: agree,
      openSet: app.snapshot.openSet,
      backend: app.faces.info?.backend ?? null,
      memory: mem,
      memoryBefore: memBefore,
      memorySeeded: memSeeded,
      templateMB: Math.round(((app.snapshot.watchlist.templates * 512 * 4) / 2 ** 20) * 10) / 10,
    };
  } finally {
    app.watchlist.clear();
    gc?.();
    (globalThis as { memoryCleared?: unknown }).memoryCleared = await memory();
    app.stop();
    app.faces.terminate();
    vault.close();
    indexedDB.deleteDatabase(name);
  }
}

(globalThis as { watchlistBench?: unknown }).watchlistBench = { run };
