/**
 * A page that drives the real vault for the benchmark (bench/vault.mjs, through playwright) and for the page
 * reload test (test/browser/vault-reload.test.ts, in an iframe). Exposes `window.vaultHarness`; holds the loaded
 * watchlist in a global so the heap measurement sees it. Synthetic data only: random unit vectors and labels.
 */
import { Vault } from '../../src/store';
import type { SubjectInput } from '../../src/store';
import { isKioskError } from '../../src/shared/errors';
import type { Subject } from '../../src/shared/types';
import { seeded } from './watchlist-people';

export const HARNESS_PASSPHRASE = 'Bench-Vault 2026 lantern';

/** xorshift32 centred on 0 (the same seeded source as the watchlist tests'); distinct data, not cryptographic. */
function rng(seed: number): () => number {
  const next = seeded(seed);
  return () => next() - 0.5;
}

function unitVector(dim: number, next: () => number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    const x = next();
    v[i] = x;
    n += x * x;
  }
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] = (v[i] ?? 0) * s;
  return v;
}

export function syntheticSubject(i: number, templates = 3, dim = 512): SubjectInput {
  const next = rng(i * 2654435761 + 1);
  return {
    label: `Synthetic person ${i}`,
    list: i % 10 === 0 ? 'deny' : 'allow',
    templates: { fr_feature: Array.from({ length: templates }, () => unitVector(dim, next)) },
    plates: i % 3 === 0 ? [`SYN${i}`] : [],
  };
}

interface HarnessState {
  vault: Vault | null;
  loaded: Subject[] | null;
}

const state: HarnessState = { vault: null, loaded: null };

function codeOf(e: unknown): { code: string; details: Record<string, unknown> } {
  if (isKioskError(e)) return { code: e.code, details: { ...e.details } };
  return { code: 'THROWN', details: { message: String(e) } };
}

const harness = {
  async setup(name: string, iterations?: number): Promise<void> {
    const v = await Vault.open({
      name,
      adminIdleMs: 3_600_000,
      retentionTimerMs: 0,
      ...(iterations ? { pbkdf2Iterations: iterations } : {}),
    });
    await v.setup(HARNESS_PASSPHRASE);
    state.vault = v;
  },

  /** Enrols subjects [from, to) in transactions of `batch` (the seeding path of the benchmark). */
  async seed(from: number, to: number, batch = 5000): Promise<{ ms: number }> {
    const v = state.vault;
    if (!v) throw new Error('setup first');
    const t0 = performance.now();
    for (let i = from; i < to; i += batch) {
      const inputs: SubjectInput[] = [];
      for (let j = i; j < Math.min(to, i + batch); j++) inputs.push(syntheticSubject(j));
      await v.subjects.putMany(inputs);
    }
    return { ms: performance.now() - t0 };
  },

  /** A kiosk restart: open, unlock (device key or passphrase), decrypt the whole watchlist. */
  async unlockLoad(name: string, mode: 'device' | 'passphrase'): Promise<Record<string, number>> {
    state.vault?.close();
    state.loaded = null;
    const t0 = performance.now();
    const v = await Vault.open({ name, retentionTimerMs: 0, requestPersistence: false });
    const t1 = performance.now();
    if (mode === 'device') await v.unlockDevice();
    else await v.unlockAdmin(HARNESS_PASSPHRASE);
    const t2 = performance.now();
    const { subjects, report } = await v.loadWatchlist();
    const t3 = performance.now();
    state.vault = v;
    state.loaded = subjects;
    return {
      openMs: t1 - t0,
      unlockMs: t2 - t1,
      loadMs: t3 - t2,
      totalMs: t3 - t0,
      count: subjects.length,
      quarantined: report.quarantined.length,
      missingPages: report.missingPages.length,
    };
  },

  /** Sequential single-subject enrols, each timed on its own (templates made before the clock starts). */
  async enrolTimes(n: number, offset: number): Promise<number[]> {
    const v = state.vault;
    if (!v) throw new Error('setup first');
    if (!v.state.admin) await v.unlockAdmin(HARNESS_PASSPHRASE);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const input = syntheticSubject(offset + i);
      const t0 = performance.now();
      await v.enrol(input);
      times.push(performance.now() - t0);
    }
    return times;
  },

  /** Memory after load: the UA-specific measurement (includes ArrayBuffers) when available, else V8's heap. */
  async memory(): Promise<{ method: string; bytes: number; jsHeapBytes: number | null; templateBytes: number }> {
    let templateBytes = 0;
    for (const s of state.loaded ?? [])
      for (const list of Object.values(s.templates)) for (const t of list) templateBytes += t.byteLength;
    const perf = performance as Performance & {
      measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
      memory?: { usedJSHeapSize: number };
    };
    const jsHeapBytes = perf.memory?.usedJSHeapSize ?? null;
    if (self.crossOriginIsolated && perf.measureUserAgentSpecificMemory) {
      const m = await perf.measureUserAgentSpecificMemory();
      return { method: 'measureUserAgentSpecificMemory', bytes: m.bytes, jsHeapBytes, templateBytes };
    }
    return { method: 'performance.memory', bytes: jsHeapBytes ?? 0, jsHeapBytes, templateBytes };
  },

  async tryAdmin(
    name: string,
    passphrase: string,
  ): Promise<{ ok: boolean; code?: string; details?: Record<string, unknown> }> {
    const v = state.vault ?? (await Vault.open({ name, retentionTimerMs: 0 }));
    state.vault = v;
    try {
      await v.unlockAdmin(passphrase);
      return { ok: true };
    } catch (e) {
      return { ok: false, ...codeOf(e) };
    }
  },

  async lockout(name: string): Promise<{ failures: number; waitMs: number; status: string }> {
    const v = state.vault ?? (await Vault.open({ name, retentionTimerMs: 0 }));
    state.vault = v;
    const l = await v.lockout();
    return { failures: l.failures, waitMs: l.waitMs, status: v.state.status };
  },

  close(): void {
    state.vault?.close();
    state.vault = null;
    state.loaded = null;
  },
};

export type VaultHarness = typeof harness;
(globalThis as unknown as { vaultHarness: VaultHarness }).vaultHarness = harness;
document.title = 'vault harness ready';
