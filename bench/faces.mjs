#!/usr/bin/env node
// @ts-check
/**
 * Face benchmark: the kiosk's real pipeline (MediaPipe detection, alignment, ORT embedding, 1:N search) in headless
 * Chromium, scored as face verification, per embedder.
 *
 *   npm run bench:faces -- --data DIR [--pairs FILE] [--degrade | --close [--close-pass on|off]] [--json OUT]
 *                          [--embedders fr_feature,dlib_resnet] [--detector full|short] [--backend auto|wasm|webgpu]
 *                          [--threads N] [--precision int8|fp32]
 *                          [--limit N] [--verbose]
 *
 * Input: identity folders DIR/<person>/*.jpg|jpeg|png (every pair of images is scored; folders starting with "_"
 * are skipped), or a pairs file (CSV lines `fileA,fileB,1|0`, paths relative to the file, no header).
 * `--degrade` runs on kiosk-like versions of the images made in the browser (face shrunk to ~60 px between the
 * eyes, blur, darkening, JPEG quality 40). `--close` runs on the photos cropped tight to the face (150 px square, the
 * face filling the frame: a visitor at arm's length from the tablet); `noFace` then counts faces the detector missed,
 * and `--close-pass off` turns off the worker's padded second detection pass to show what it adds. Images with no detected face score −1 in every pair (a failure to
 * enrol counts against TAR, never for it).
 *
 * Output: a table on stdout and JSON (default bench/results/faces[-degraded].json):
 *   {"backend", "default", "embedders": {NAME: {"images", "noFace", "auc", "eer", "bestAccuracy",
 *    "tarAtFar": {"0.01", "0.001"}, "latencyMs": {"detect"|"align"|"embed"|"match": {"p50", "p95"}}, ...}}}
 * and `fpir` per embedder (open set per gallery size 100 / 1k / 10k from the run's impostor pool: required and effective
 * threshold, expected FPIR, TAR there; src/matching/face/open-set.ts), plus extras: score distributions, thresholds at each FAR, the FAR resolution the data allows, an open-set check
 * at the configured thresholds (wrong-identity accepts), data and machine description.
 * Nothing is written but the JSON; images never leave the loopback server and the browser's memory.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFiles, machine, quantile, ROOT, startBench } from './lib/browser.mjs';
import { auc, bestAccuracy, distribution, dPrime, eer, tarAtFar } from './lib/metrics.mjs';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);

/**
 * @typedef {{ path: string, label: string }} ImageEntry
 * @typedef {{ a: number, b: number, same: boolean }} Pair
 * @typedef {import('./faces.page').BenchResult} BenchResult
 * @typedef {import('./faces.page').ImageResult} ImageResult
 */

/** @template T @param {T[]} xs @param {number} i @returns {T} */
function at(xs, i) {
  const v = xs[i];
  if (v === undefined) throw new RangeError(`index ${i} out of range`);
  return v;
}

/** @param {string} dir @returns {{ images: ImageEntry[], pairs: Pair[] }} */
function fromFolders(dir) {
  /** @type {ImageEntry[]} */
  const images = [];
  for (const person of readdirSync(dir).sort()) {
    const p = join(dir, person);
    if (person.startsWith('_') || person.startsWith('.') || !statSync(p).isDirectory()) continue;
    for (const f of readdirSync(p).sort()) {
      if (IMAGE_EXT.has(extname(f).toLowerCase())) images.push({ path: join(p, f), label: person });
    }
  }
  /** @type {Pair[]} */
  const pairs = [];
  for (let a = 0; a < images.length; a++) {
    for (let b = a + 1; b < images.length; b++) pairs.push({ a, b, same: at(images, a).label === at(images, b).label });
  }
  return { images, pairs };
}

/** @param {string} file @returns {{ images: ImageEntry[], pairs: Pair[] }} */
function fromPairsFile(file) {
  const base = dirname(file);
  /** @type {Map<string, number>} */
  const index = new Map();
  /** @type {ImageEntry[]} */
  const images = [];
  /** @param {string} rel */
  const id = (rel) => {
    const abs = resolve(base, rel.trim());
    let k = index.get(abs);
    if (k === undefined) {
      k = images.length;
      index.set(abs, k);
      images.push({ path: abs, label: '' });
    }
    return k;
  };
  /** @type {Pair[]} */
  const pairs = [];
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, n) => {
      if (!line.trim()) return;
      const [fa, fb, same, ...rest] = line.split(',');
      if (fa === undefined || fb === undefined || same === undefined || rest.length || !/^[01]$/.test(same.trim())) {
        throw new Error(`${file}:${n + 1}: expected fileA,fileB,1|0`);
      }
      pairs.push({ a: id(fa), b: id(fb), same: same.trim() === '1' });
    });
  for (const im of images) if (!existsSync(im.path)) throw new Error(`pairs file names a missing image: ${im.path}`);
  return { images, pairs };
}

/** Cosine of two unit templates; −1 when either image had no face. @param {number[] | null | undefined} x @param {number[] | null | undefined} y */
function cosine(x, y) {
  if (!x || !y) return -1;
  let d = 0;
  for (let j = 0; j < x.length; j++) d += (x[j] ?? 0) * (y[j] ?? 0);
  return d;
}

/** @param {number[]} xs */
const stage = (xs) => ({ p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) });

/**
 * Leave-one-out open-set identification at the configured thresholds: each probe against every other image
 * (identity = folder). A probe whose identity has no other image is a stranger and must not be accepted.
 * @param {(number[] | null)[]} templates @param {string[]} labels @param {{ accept: number, margin: number }} t
 */
function openSet(templates, labels, t) {
  let probes = 0;
  let correctAccepts = 0;
  let wrongAccepts = 0;
  let genuineProbes = 0;
  let strangers = 0;
  let strangerAccepts = 0;
  /** @type {string[]} */
  const wrong = [];
  templates.forEach((probe, p) => {
    if (!probe) return;
    probes++;
    /** @type {Map<string, number>} */
    const best = new Map();
    templates.forEach((g, i) => {
      if (i === p || !g) return;
      const label = at(labels, i);
      best.set(label, Math.max(best.get(label) ?? -2, cosine(probe, g)));
    });
    const ranked = [...best].sort((a, b) => b[1] - a[1]);
    const [id1, s1] = ranked[0] ?? ['', -2];
    const s2 = ranked[1]?.[1] ?? -1;
    const accepted = s1 >= t.accept && s1 - s2 >= t.margin;
    const known = best.has(at(labels, p));
    if (known) genuineProbes++;
    else strangers++;
    if (!accepted) return;
    if (id1 === labels[p]) correctAccepts++;
    else {
      wrongAccepts++;
      if (!known) strangerAccepts++;
      wrong.push(`${labels[p]}#${p} → ${id1} (${s1.toFixed(3)})`);
    }
  });
  return { probes, genuineProbes, strangers, correctAccepts, wrongAccepts, strangerAccepts, wrong };
}

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      pairs: { type: 'string' },
      degrade: { type: 'boolean', default: false },
      close: { type: 'boolean', default: false },
      'close-pass': { type: 'string', default: 'on' },
      json: { type: 'string' },
      embedders: { type: 'string', default: 'fr_feature,dlib_resnet' },
      detector: { type: 'string', default: 'full' },
      backend: { type: 'string', default: 'wasm' },
      limit: { type: 'string' },
      threads: { type: 'string' },
      precision: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'eye-px': { type: 'string', default: '60' },
    },
  });
  if (!values.data && !values.pairs) {
    console.error('usage: npm run bench:faces -- --data DIR [--pairs FILE] [--degrade] [--json OUT]');
    process.exit(2);
  }
  const detector = values.detector === 'short' ? 'short' : 'full';
  const backend = /** @type {'auto' | 'wasm' | 'webgpu'} */ (values.backend);
  const embedders = (values.embedders ?? '').split(',').filter(Boolean);
  let { images, pairs } = values.pairs
    ? fromPairsFile(resolve(values.pairs))
    : fromFolders(resolve(values.data ?? '.'));
  if (values.limit) {
    const n = Number(values.limit);
    images = images.slice(0, n);
    pairs = pairs.filter((p) => p.a < n && p.b < n);
  }
  const source = values.pairs ? resolve(values.pairs) : resolve(values.data ?? '.');
  console.log(
    `data: ${source} — ${images.length} images, ${pairs.filter((p) => p.same).length} genuine / ` +
      `${pairs.filter((p) => !p.same).length} impostor pairs${values.degrade ? ', DEGRADED (kiosk-like)' : ''}` +
      `${values.close ? `, CLOSE (tight face crops), padded second pass ${values['close-pass']}` : ''}`,
  );

  const bench = await startBench({ plugins: [benchFiles(images.map((i) => i.path))], verbose: values.verbose });
  /** @type {BenchResult} */
  let result;
  try {
    await bench.page.goto(`${bench.url}/bench/faces.html`);
    await bench.page.waitForFunction(() => document.body.dataset['ready'] === '1', null, { timeout: 120_000 });
    result = await bench.page.evaluate(
      (opts) =>
        /** @type {{ faceBench: { run: (o: typeof opts) => Promise<BenchResult> } }} */ (
          /** @type {unknown} */ (globalThis)
        ).faceBench.run(opts),
      {
        images: images.map((im, i) => ({ url: `/__bench/file/${i}`, label: im.label })),
        embedders,
        degrade: values.degrade,
        detector,
        backend,
        ...(values.threads ? { threads: Number(values.threads) } : {}),
        ...(values.precision ? { precision: values.precision === 'fp32' ? 'fp32' : 'int8' } : {}),
        degradeEyePx: Number(values['eye-px']),
        close: values.close && !values.degrade,
        closePass: values['close-pass'] !== 'off',
      },
    );
  } finally {
    await bench.close();
  }
  if (bench.errors.length) console.error('page errors:', bench.errors);

  const labels = images.map((im) => im.label);
  /** @type {Record<string, any>} */
  const out = {};
  let backendUsed = 'wasm';
  for (const name of embedders) {
    const run = result.runs[name];
    if (!run) throw new Error(`no results for ${name}`);
    backendUsed = run.info.backend.backend;
    const templates = run.images.map((r) => r.template);
    /** @type {number[]} */
    const genuine = [];
    /** @type {number[]} */
    const impostor = [];
    for (const p of pairs) (p.same ? genuine : impostor).push(cosine(templates[p.a], templates[p.b]));
    const rs = run.images;
    const faces = rs.filter((r) => r.faces > 0);
    const far1 = tarAtFar(genuine, impostor, 0.01);
    const far01 = tarAtFar(genuine, impostor, 0.001);
    const e = eer(genuine, impostor);
    const acc = bestAccuracy(genuine, impostor);
    const thresholds = result.defaults.thresholds[/** @type {'fr_feature' | 'dlib_resnet'} */ (name)];
    /** @param {(r: ImageResult) => number | null} f */
    const nums = (f) => faces.map(f).filter((x) => x !== null);
    /** @type {Record<string, number>} */
    const issues = {};
    for (const r of faces) for (const k of r.issues) issues[k] = (issues[k] ?? 0) + 1;
    out[name] = {
      images: images.length,
      noFace: rs.length - faces.length,
      auc: auc(genuine, impostor),
      eer: e.eer,
      bestAccuracy: acc.accuracy,
      tarAtFar: { 0.01: far1.tar, 0.001: far01.tar },
      latencyMs: {
        detect: stage(rs.map((r) => r.detectMs)),
        align: stage(nums((r) => r.alignMs)),
        embed: stage(nums((r) => r.embedMs)),
        match: stage(nums((r) => r.matchMs)),
      },
      backend: run.info.backend,
      precision: run.info.precision,
      loadMs: run.info.loadMs,
      pairs: { genuine: genuine.length, impostor: impostor.length },
      farResolution: impostor.length ? 1 / impostor.length : null,
      thresholdAtFar: { 0.01: far1.threshold, 0.001: far01.threshold },
      eerThreshold: e.threshold,
      bestAccuracyThreshold: acc.threshold,
      dPrime: dPrime(genuine, impostor),
      scores: { genuine: distribution(genuine), impostor: distribution(impostor) },
      configuredThresholds: thresholds,
      openSet: values.pairs ? null : openSet(templates, labels, thresholds),
      // Open set per gallery size 100 / 1k / 10k from this run's impostor pool (src/matching/face/open-set.ts).
      fpir: run.fpir,
      quality: {
        passed: faces.filter((r) => r.qualityOk).length,
        issues,
        eyeDistancePx: distribution(
          nums((r) => r.eyeDistancePx),
          { histogram: false },
        ),
        sharpness: distribution(
          nums((r) => r.sharpness),
          { histogram: false },
        ),
        brightness: distribution(
          nums((r) => r.brightness),
          { histogram: false },
        ),
      },
      perImage: values.verbose
        ? rs.map((r, i) => ({
            file: relative(source, at(images, i).path) || basename(at(images, i).path),
            faces: r.faces,
            eye: r.eyeDistancePx,
            yaw: r.yawDeg,
            pitch: r.pitchDeg,
            sharpness: r.sharpness,
            brightness: r.brightness,
            issues: r.issues,
          }))
        : undefined,
    };
  }
  const report = {
    backend: backendUsed,
    default: result.defaults.embedder,
    embedders: out,
    degraded: values.degrade,
    close: values.close ? { closePass: values['close-pass'] !== 'off' } : false,
    detector,
    data: {
      source,
      images: images.length,
      identities: new Set(labels.filter(Boolean)).size || null,
      pairs: pairs.length,
    },
    machine: { ...machine(), chromium: bench.chromiumVersion, crossOriginIsolated: result.crossOriginIsolated },
    date: new Date().toISOString(),
  };

  const pct = (/** @type {number} */ x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a');
  const f3 = (/** @type {number} */ x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const ms = (/** @type {{p50:number,p95:number}} */ s) => `${s.p50.toFixed(1)}/${s.p95.toFixed(1)}`;
  const rows = [
    [
      'embedder',
      'images',
      'noFace',
      'AUC',
      'EER',
      'bestAcc',
      'TAR@1%',
      'TAR@0.1%',
      "d'",
      'gen min',
      'imp max',
      'detect',
      'align',
      'embed',
      'match',
      'backend',
      'precision',
    ],
    ...embedders.map((n) => {
      const r = out[n];
      return [
        n,
        String(r.images),
        String(r.noFace),
        f3(r.auc),
        pct(r.eer),
        pct(r.bestAccuracy),
        pct(r.tarAtFar['0.01']),
        pct(r.tarAtFar['0.001']),
        f3(r.dPrime),
        f3(r.scores.genuine.min),
        f3(r.scores.impostor.max),
        ms(r.latencyMs.detect),
        ms(r.latencyMs.align),
        ms(r.latencyMs.embed),
        ms(r.latencyMs.match),
        `${r.backend.backend}${r.backend.backend === 'wasm' ? ` ×${r.backend.threads}` : ''}`,
        r.precision,
      ];
    }),
  ];
  const widths = at(rows, 0).map((_, c) => Math.max(...rows.map((r) => at(r, c).length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(at(widths, i))).join('  '));
  console.log('latency columns: p50/p95 ms (detect per image; align, embed, match per face)');
  for (const n of embedders) {
    const r = out[n];
    console.log(
      `${n}: FAR resolution 1/${r.pairs.impostor}; threshold for FAR≤1%: >${f3(r.thresholdAtFar['0.01'])}, ` +
        `FAR≤0.1%: >${f3(r.thresholdAtFar['0.001'])}; configured accept ${r.configuredThresholds.accept}` +
        (r.openSet
          ? `; open-set at configured: ${r.openSet.correctAccepts}/${r.openSet.genuineProbes} correct, ` +
            `${r.openSet.wrongAccepts} wrong-identity accepts${r.openSet.wrong.length ? ` (${r.openSet.wrong.join('; ')})` : ''}`
          : ''),
    );
  }
  for (const n of embedders) {
    const fp = out[n].fpir;
    if (!fp) continue;
    console.log(
      `${n}: open set (impostor pool ${fp.impostorPairs} pairs, normal fit μ ${f3(fp.model.mean)} σ ${f3(fp.model.sd)}, max ${f3(fp.maxImpostor)}): ` +
        Object.entries(fp.bySize)
          .map(
            ([size, v]) =>
              `N=${size}: threshold ${f3(v.threshold)} (needs ${f3(v.required)}${v.reachable ? '' : ', UNREACHABLE'}), ` +
              `expected FPIR ${(100 * v.expectedFpir).toPrecision(2)}% (at accept alone ${(100 * v.expectedFpirAtConfiguredAccept).toPrecision(2)}%), TAR ${(100 * v.tar).toFixed(1)}%`,
          )
          .join('; '),
    );
  }
  console.log(
    `machine: ${report.machine.cpu} ×${report.machine.cores}, Chromium ${report.machine.chromium}, ` +
      `crossOriginIsolated ${report.machine.crossOriginIsolated}`,
  );

  const variant = values.degrade ? '-degraded' : values.close ? `-close${values['close-pass'] === 'off' ? '-nopass' : ''}` : '';
  const outPath = resolve(values.json ?? join(ROOT, 'bench/results', `faces${variant}.json`));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
