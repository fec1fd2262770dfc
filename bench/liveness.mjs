#!/usr/bin/env node
// @ts-check
/**
 * Presentation-attack benchmark: the kiosk's real face pipeline and PAD (fr_liveness in the face worker) and the real
 * challenge state machine, in headless Chromium, scored as ISO/IEC 30107-3 does.
 *
 *   npm run bench:liveness -- --data DIR [--json OUT] [--attempts 1000] [--adaptive 12] [--variants bgr:2.7,rgb:2.7]
 *
 * DIR/bona-fide/** and DIR/attack/** hold images or videos (.mp4 .webm .mov .avi .y4m); DIR/labels.csv (optional,
 * `file,kind` with kind bona-fide|print|replay|mask, paths relative to DIR) names the attack kind, else the first
 * folder under attack/ does (attack/print/…, attack/replay/…). `node bench/liveness-set.mjs` builds a simulated dev
 * set in a temporary folder.
 *
 * Output: a table and JSON (default bench/results/liveness.json):
 *   {"pad": {"apcer": {"print": x, "replay": x}, "bpcer": x, "attempts": n,
 *            "activePassRate": {"bonaFide": x, "attack": x}, ...}}
 * APCER/BPCER at the configured live threshold and at the threshold that holds BPCER ≤ 5% on this data; passive score
 * distributions per kind and per pipeline variant (channel order × crop scale); the active challenge over many random
 * challenges for still images, the adaptive tilted print and every video; PAD latency. Nothing but the JSON is written.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFiles, machine, quantile, ROOT, startBench } from './lib/browser.mjs';
import { extractFrames, IMAGE_EXT, VIDEO_EXT } from './lib/frames.mjs';
import { distribution } from './lib/metrics.mjs';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    json: { type: 'string', default: join(ROOT, 'bench/results/liveness.json') },
    attempts: { type: 'string', default: '1000' },
    adaptive: { type: 'string', default: '12' },
    variants: { type: 'string', default: 'bgr:2.7,rgb:2.7' },
    'video-seconds': { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    verbose: { type: 'boolean', default: false },
  },
});
if (!args.data) {
  console.error('usage: npm run bench:liveness -- --data DIR [--json OUT]   (build a simulated DIR: node bench/liveness-set.mjs)');
  process.exit(2);
}
const data = resolve(args.data);

/** @param {string} dir @returns {string[]} */
function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** @type {Map<string, string>} */
const labels = new Map();
if (existsSync(join(data, 'labels.csv'))) {
  for (const line of readFileSync(join(data, 'labels.csv'), 'utf8').split('\n').slice(1)) {
    const [file, kind] = line.trim().split(',');
    if (file && kind) labels.set(file, kind);
  }
}
/** @param {string} p */
const kindOf = (p) => {
  const rel = relative(data, p);
  const l = labels.get(rel);
  if (l) return l;
  if (rel.startsWith('bona-fide')) return 'bona-fide';
  return rel.split('/')[1] && rel.split('/').length > 2 ? rel.split('/')[1] : 'other';
};

const all = [...walk(join(data, 'bona-fide')), ...walk(join(data, 'attack'))];
const imagesIn = all.filter((p) => IMAGE_EXT.has(extname(p).toLowerCase()));
const videosIn = all.filter((p) => VIDEO_EXT.has(extname(p).toLowerCase()));
const work = mkdtempSync(join(tmpdir(), 'liveness-bench-'));
const fps = 10;
const videos = videosIn.map((v, i) => ({
  name: relative(data, v),
  kind: kindOf(v),
  frames: extractFrames(v, join(work, `v${i}`), { fps, seconds: Number(args['video-seconds']) }),
}));
const files = [...imagesIn, ...videos.flatMap((v) => v.frames)];
const variants = String(args.variants)
  .split(',')
  .map((s) => {
    const [channelOrder, scale] = s.split(':');
    return { channelOrder, cropScale: Number(scale ?? 2.7) };
  });

const bench = await startBench({ plugins: [benchFiles(files)], verbose: args.verbose, entries: ['bench/liveness.html'] });
/** @type {any} */
let r;
try {
  await bench.page.goto(`${bench.url}/bench/liveness.html`);
  await bench.page.waitForFunction(() => document.body.dataset['ready'] === '1', null, { timeout: 120_000 });
  const t0 = Date.now();
  r = await bench.page.evaluate((o) => /** @type {any} */ (globalThis).livenessBench.run(o), {
    images: imagesIn.map((p, i) => ({ url: `/__bench/file/${i}`, kind: kindOf(p), name: relative(data, p) })),
    videos: videos.map((v) => ({ name: v.name, kind: v.kind, fps, frames: v.frames.map((f) => `/__bench/file/${files.indexOf(f)}`) })),
    variants,
    attempts: Number(args.attempts),
    adaptiveSources: Number(args.adaptive),
    seed: Number(args.seed),
  });
  r.wallSeconds = (Date.now() - t0) / 1000;
  if (bench.errors.length) console.error(`page errors: ${bench.errors.join('; ')}`);
  r.chromium = bench.chromiumVersion;
} finally {
  await bench.close();
  rmSync(work, { recursive: true, force: true });
}

// ---- scoring ----
const threshold = r.config.pad.liveThreshold;
/** @type {string[]} */
const kinds = [...new Set(r.images.map((/** @type {any} */ i) => i.kind))].filter((k) => k !== 'bona-fide').sort();
/** @param {number} v variant index @param {string} kind @returns {number[]} live scores; no face = -1 (never accepted) */
const scores = (v, kind) => r.images.filter((/** @type {any} */ i) => i.kind === kind).map((/** @type {any} */ i) => i.live[v] ?? -1);
/** @param {number[]} xs @param {number} t */
const acceptRate = (xs, t) => (xs.length ? xs.filter((x) => x >= t).length / xs.length : NaN);

const perVariant = variants.map((vv, v) => {
  const bona = scores(v, 'bona-fide');
  const bonaFaces = bona.filter((x) => x >= 0);
  // Threshold holding BPCER ≤ 5% among bona-fide faces the detector found: the 5th percentile of their scores.
  const sorted = [...bonaFaces].sort((a, b) => a - b);
  const t5 = sorted.length ? (sorted[Math.floor(0.05 * sorted.length)] ?? 0) : 0;
  /** @type {Record<string, number>} */
  const apcer = {};
  /** @type {Record<string, number>} */
  const apcerAt5 = {};
  /** @type {Record<string, any>} */
  const dist = { 'bona-fide': distribution(bonaFaces) };
  for (const k of kinds) {
    const a = scores(v, k);
    apcer[k] = acceptRate(a, threshold);
    apcerAt5[k] = acceptRate(a, t5);
    dist[k] = distribution(a.filter((x) => x >= 0));
  }
  return {
    variant: `${vv.channelOrder} x${vv.cropScale}`,
    bpcer: 1 - acceptRate(bonaFaces, threshold),
    apcer,
    thresholdForBpcer5: t5,
    apcerAtBpcer5: apcerAt5,
    noFace: Object.fromEntries(['bona-fide', ...kinds].map((k) => [k, scores(v, k).filter((x) => x < 0).length])),
    scores: dist,
  };
});

/** @param {any} t */
const rate = (t, key = 'passed') => (t && t.attempts ? t[key] / t.attempts : NaN);
const stillAttack = Object.entries(r.still).filter(([k]) => k !== 'bona-fide');
const stillAttempts = Object.values(r.still).reduce((s, /** @type {any} */ t) => s + t.attempts, 0);
const stillPassed = Object.values(r.still).reduce((s, /** @type {any} */ t) => s + t.passed, 0);
const vids = Object.entries(r.videos);
/** @param {string} kind @param {string} key */
const vidRate = (kind, key) => {
  const ts = vids.filter(([, t]) => (kind === 'bona-fide' ? t.kind === 'bona-fide' : t.kind !== 'bona-fide')).map(([, t]) => t);
  const a = ts.reduce((s, t) => s + t.attempts, 0);
  return a ? ts.reduce((s, t) => s + t[key], 0) / a : NaN;
};
const main = perVariant[0];
if (!main) throw new Error('no pipeline variant was scored');
const out = {
  pad: {
    apcer: main.apcer,
    bpcer: main.bpcer,
    attempts: stillAttempts + r.adaptive.attempts + vids.reduce((s, [, t]) => s + t.attempts, 0),
    activePassRate: { bonaFide: vidRate('bona-fide', 'passed'), attack: vidRate('attack', 'passed') },
    threshold,
    thresholdForBpcer5: main.thresholdForBpcer5,
    apcerAtBpcer5: main.apcerAtBpcer5,
    variants: perVariant,
    still: { attempts: stillAttempts, passed: stillPassed, byKind: r.still },
    adaptivePrint: {
      attempts: r.adaptive.attempts,
      passRateActive: rate(r.adaptive),
      passRatePassiveActive: rate(r.adaptive, 'passedWithPassive'),
      failures: r.adaptive.failures,
      strategies: r.adaptive.strategy,
    },
    videos: r.videos,
    guessRate: 1 / 6,
    latencyMs: { liveness: { p50: quantile(r.livenessMs, 0.5), p95: quantile(r.livenessMs, 0.95), n: r.livenessMs.length } },
  },
  data: { dir: data, images: imagesIn.length, videos: videos.length, kinds: ['bona-fide', ...kinds] },
  perImage: r.images,
  machine: { ...machine(), chromium: r.chromium, backend: r.backend, crossOriginIsolated: r.crossOriginIsolated },
  config: { pad: r.config.pad, challenge: r.config.challenge },
  wallSeconds: r.wallSeconds,
};

const pct = (/** @type {number} */ x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
console.log(`\nPassive PAD (fr_liveness) — ${imagesIn.length} images, live threshold ${threshold}`);
console.log('variant      | BPCER  | ' + kinds.map((k) => `APCER ${k}`.padEnd(14)).join(' | ') + ' | t@BPCER5 | ' + kinds.map((k) => `APCER@5 ${k}`.padEnd(16)).join(' | '));
for (const v of perVariant) {
  console.log(
    `${v.variant.padEnd(12)} | ${pct(v.bpcer).padStart(6)} | ${kinds.map((k) => pct(v.apcer[k] ?? NaN).padEnd(14)).join(' | ')} | ${v.thresholdForBpcer5.toFixed(4).padStart(8)} | ${kinds.map((k) => pct(v.apcerAtBpcer5[k] ?? NaN).padEnd(16)).join(' | ')}`,
  );
}
console.log(`\nActive challenge (${r.config.challenge.actions} random action(s), ${r.config.challenge.stepMs} ms each)`);
console.log(`still images: ${stillPassed} of ${stillAttempts} attempts passed`);
for (const [k, t] of stillAttack) console.log(`  ${k}: ${t.passed}/${t.attempts}`);
console.log(`adaptive tilted print: active only ${pct(rate(r.adaptive))}, passive + active ${pct(rate(r.adaptive, 'passedWithPassive'))} of ${r.adaptive.attempts}; failures ${JSON.stringify(r.adaptive.failures)}`);
for (const [name, t] of vids) {
  console.log(`video ${name} (${t.kind}, ${t.faces}/${t.frames} frames with a face): active ${pct(rate(t))}, passive + active ${pct(rate(t, 'passedWithPassive'))} of ${t.attempts}; failures ${JSON.stringify(t.failures)}`);
}
console.log(`PAD latency p50 ${out.pad.latencyMs.liveness.p50?.toFixed(1)} ms, p95 ${out.pad.latencyMs.liveness.p95?.toFixed(1)} ms (${out.machine.backend})`);
mkdirSync(dirname(resolve(String(args.json))), { recursive: true });
writeFileSync(resolve(String(args.json)), `${JSON.stringify(out, null, 2)}\n`);
console.log(`JSON: ${args.json}`);
