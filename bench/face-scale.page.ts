/**
 * Page side of bench/face-scale.mjs: the kiosk's FaceGallery (WebAssembly SIMD kernel) against synthetic galleries
 * of 1k / 10k / 100k templates, timing 1:N searches and recording memory.
 *
 * Templates are random unit vectors grouped into identities (2 per identity, like a subject enrolled twice); probes
 * are half noisy copies of enrolled identities, half strangers, so the int8 layout's exact re-scoring sees both a
 * clear winner and a crowded top. Synthetic data measures speed and memory only, never accuracy.
 */
import { FaceGallery, type GalleryEntry } from '../src/matching/face/gallery';
import { seeded as rng } from './lib/attacks';
import { wasmSimdAvailable } from '../src/matching/face/dot-kernel';

export interface ScaleCase {
  templates: number;
  dim: number;
  precision: 'f32' | 'int8';
  queries: number;
}

export interface ScaleRow extends ScaleCase {
  identities: number;
  p50: number;
  p95: number;
  mean: number;
  buildMs: number;
  matrixBytes: number;
  /** The float32 templates the caller (vault) holds anyway and int8 re-scoring reads. */
  templateBytes: number;
  /** JS heap growth while the gallery was built (Chromium's performance.memory; wasm memory is separate). */
  heapDeltaBytes: number | null;
  rescoredMean: number;
  simd: boolean;
}


function unit(dim: number, rand: () => number, around?: Float32Array, noise = 0): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i += 2) {
    // Box-Muller, two normals per draw.
    const r = Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12)));
    const th = 2 * Math.PI * rand();
    v[i] = r * Math.cos(th);
    if (i + 1 < dim) v[i + 1] = r * Math.sin(th);
  }
  if (around) for (let i = 0; i < dim; i++) v[i] = around[i]! + (noise * v[i]!) / Math.sqrt(dim);
  for (let i = 0; i < dim; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i]! /= n;
  return v;
}

const heap = () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

let cache: { key: string; entries: GalleryEntry[] } | null = null;

async function runCase(c: ScaleCase): Promise<ScaleRow> {
  const rand = rng(c.templates * 31 + c.dim);
  const key = `${c.templates}x${c.dim}`;
  if (cache?.key !== key) {
    cache = null;
    const entries: GalleryEntry[] = [];
    for (let k = 0; entries.length < c.templates; k++) {
      const centre = unit(c.dim, rand);
      for (let t = 0; t < 2 && entries.length < c.templates; t++) {
        entries.push({ subjectId: `s${k}`, template: unit(c.dim, rand, centre, 0.6) });
      }
    }
    cache = { key, entries };
  }
  const entries = cache.entries;
  const probes = Array.from({ length: c.queries }, (_, i) =>
    i % 2 === 0 ? unit(c.dim, rand, entries[Math.floor(rand() * entries.length)]!.template, 0.8) : unit(c.dim, rand),
  );
  const h0 = heap();
  const t0 = performance.now();
  const g = FaceGallery.build(entries, { precision: c.precision });
  const buildMs = performance.now() - t0;
  const h1 = heap();
  // Warm-up: the first searches tier up the JS around the kernel.
  for (let i = 0; i < 3; i++) g.search(probes[i]!);
  const times: number[] = [];
  let rescored = 0;
  for (const p of probes) {
    const t = performance.now();
    const r = g.search(p);
    times.push(performance.now() - t);
    rescored += r.rescored;
  }
  await new Promise((r) => setTimeout(r, 0));
  return {
    ...c,
    identities: g.identities,
    p50: quantile(times, 0.5),
    p95: quantile(times, 0.95),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    buildMs,
    matrixBytes: g.matrixBytes,
    templateBytes: entries.length * c.dim * 4,
    heapDeltaBytes: h0 !== null && h1 !== null ? h1 - h0 : null,
    rescoredMean: rescored / probes.length,
    simd: g.simd && wasmSimdAvailable(),
  };
}

async function run(cases: ScaleCase[]): Promise<{ rows: ScaleRow[]; crossOriginIsolated: boolean }> {
  const rows: ScaleRow[] = [];
  for (const c of cases) {
    rows.push(await runCase(c));
    console.log(`[scale] ${c.templates}x${c.dim} ${c.precision}: p50 ${rows.at(-1)!.p50.toFixed(2)} ms`);
  }
  cache = null;
  return { rows, crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

(globalThis as unknown as { faceScale: { run: typeof run } }).faceScale = { run };
document.body.dataset['ready'] = '1';
