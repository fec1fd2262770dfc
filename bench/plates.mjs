#!/usr/bin/env node
// @ts-check
/**
 * Plate benchmark: `npm run bench:plates -- --data DIR [--json OUT] [--readers trained,ppocr,ensemble]
 * [--regions us,eu,br] [--limit N] [--threads N] [--tuning JSON] [--split train/plates/split.tsv --role holdout]`,
 * or `npm run bench:plates -- --crops DIR [...]` to score crop reads only on a folder laid out like
 * ../shared/datasets/plate-crops (labels.tsv `file state plate`; each image is the plate box; region = the first
 * path segment). `--split FILE --role R[,R]` keeps only the rows split.tsv gives that role (the trained recogniser's
 * held-out rows are `holdout`: numbers on `train` rows do not count). `--tuning` overrides pipeline settings
 * (src/shared/plate-protocol.ts PlateTuning), e.g. '{"detSides":[480,1280]}'. `--dump DIR` writes each photo's
 * end-to-end crops (PNG) to DIR for inspection (keep DIR outside the repo: crops show real plates); with
 * --verbose the top candidates (text:score:source) are printed too. `--raw FILE` writes every read of every photo
 * (each reader, crop and decode, before same-text reads merge; JSON lines with the label) for studying how the
 * readers combine offline; FILE holds plate texts, so keep it outside the repo too.
 *
 * DIR holds labels.tsv (tab-separated, header `file x y w h plate`, paths relative to DIR; the region is the first
 * path segment). For each reader and region it runs the real pipeline in headless Chromium (the app's PlateClient
 * and worker, served by a Vite dev server on a free loopback port) and reports: crop-read exact % and character
 * error rate (reading inside the labelled plate box), end-to-end exact % (from the whole photo), access-decision
 * accuracy (the plate enrolled → grant; only the same plate with one clear character changed enrolled → deny),
 * wrong grants, and per-frame latency. "Exact" compares with the label as the kiosk stores a listed plate: normalised
 * and spelled the region's way (US: O as 0, one glyph on US plates; formats.ts regionSpelling), since the pipeline
 * spells every read so. Prints a table and writes JSON in the shape issue 5 fixes, plus `machine`, `data`, per-stage
 * latencies, and exact rates against the label as written and up to O/0-I/1 beside it. Photos are served from memory to the page
 * only over loopback and never copied. Timings are wall-clock on a shared machine: treat them as noisy.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync, appendFileSync } from 'node:fs';
import { resolve, join, dirname, relative, sep, extname } from 'node:path';
import { cpus, totalmem, platform, release } from 'node:os';
import { createServer as createNetServer } from 'node:net';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';
import { chromiumArgs, CHROMIUM_PATH } from '../test/helpers/chromium.mjs';
import { securityHeaders } from '../scripts/security-headers.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    crops: { type: 'string' },
    split: { type: 'string' },
    role: { type: 'string', default: 'holdout' },
    json: { type: 'string' },
    readers: { type: 'string', default: 'trained,ppocr,ensemble' },
    regions: { type: 'string' },
    limit: { type: 'string' },
    threads: { type: 'string' },
    tuning: { type: 'string' },
    dump: { type: 'string' },
    raw: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
if (!args.data === !args.crops) {
  console.error(
    'usage: npm run bench:plates -- (--data DIR | --crops DIR) [--json OUT] [--readers trained,ppocr,ensemble,tesseract,combined]',
  );
  process.exit(2);
}
/** Crop mode: every image is a plate box, only crop reads are scored. */
const cropMode = Boolean(args.crops);
const dataDir = resolve(/** @type {string} */ (args.crops ?? args.data));
const labelsPath = join(dataDir, 'labels.tsv');
if (!existsSync(labelsPath)) {
  console.error(`${labelsPath} not found`);
  process.exit(2);
}

/** @typedef {{ file: string, x: number, y: number, w: number, h: number, plate: string, region: string }} Label */

/** Crop-folder labels (`file state plate`): the box is the whole image (w = h = 0 means "all of it"). @returns {Label[]} */
function readCropLabels() {
  const lines = readFileSync(labelsPath, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split('\t');
  const cf = header.indexOf('file');
  const cp = header.indexOf('plate');
  if (cf < 0 || cp < 0) throw new Error('labels.tsv: crop folders need columns file and plate');
  return lines.map((l) => {
    const c = l.split('\t');
    const file = /** @type {string} */ (c[cf]);
    return {
      file,
      x: 0,
      y: 0,
      w: 0,
      h: 0,
      plate: /** @type {string} */ (c[cp]),
      region: /** @type {string} */ (file.split('/')[0]),
    };
  });
}

/**
 * Files split.tsv gives one of `roles`, for the set this folder is (plate-crops or plates, by the folder's name).
 * @param {string} file @param {string[]} roles @returns {Set<string>}
 */
function splitFiles(file, roles) {
  const set = cropMode ? 'plate-crops' : 'plates';
  const keep = new Set();
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const [s, f, role] = line.split('\t');
    if (s === set && f && role && roles.includes(role)) keep.add(f);
  }
  if (keep.size === 0) throw new Error(`${file}: no ${set} rows with role ${roles.join(',')}`);
  return keep;
}

/** @returns {Label[]} */
function readLabels() {
  const lines = readFileSync(labelsPath, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split('\t');
  const col = (/** @type {string} */ name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`labels.tsv: no column ${name}`);
    return i;
  };
  const [cf, cx, cy, cw, ch, cp] = ['file', 'x', 'y', 'w', 'h', 'plate'].map(col);
  return lines.map((l) => {
    const c = l.split('\t');
    const file = /** @type {string} */ (c[/** @type {number} */ (cf)]);
    return {
      file,
      x: Number(c[/** @type {number} */ (cx)]),
      y: Number(c[/** @type {number} */ (cy)]),
      w: Number(c[/** @type {number} */ (cw)]),
      h: Number(c[/** @type {number} */ (ch)]),
      plate: /** @type {string} */ (c[/** @type {number} */ (cp)]),
      region: /** @type {string} */ (file.split('/')[0]),
    };
  });
}

let labels = cropMode ? readCropLabels() : readLabels();
if (args.split) {
  const keep = splitFiles(resolve(args.split), /** @type {string} */ (args.role).split(','));
  labels = labels.filter((l) => keep.has(l.file));
}
const regionFilter = args.regions ? new Set(args.regions.split(',')) : null;
if (regionFilter) labels = labels.filter((l) => regionFilter.has(l.region));
const regions = [...new Set(labels.map((l) => l.region))];
if (args.limit) {
  const n = Number(args.limit);
  labels = regions.flatMap((r) => labels.filter((l) => l.region === r).slice(0, n));
}
const readers = /** @type {string} */ (args.readers).split(',');
const allowed = new Set(labels.map((l) => l.file));

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

/** Serves exactly the labelled photos at /__bench-data/<file> (nothing else from DIR). @returns {import('vite').Plugin} */
function benchData() {
  const mime = /** @type {Record<string, string>} */ ({
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.png': 'image/png',
  });
  return {
    name: 'bench-plates-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0] ?? '';
        if (!url.startsWith('/__bench-data/')) return next();
        const rel = decodeURIComponent(url.slice('/__bench-data/'.length));
        const file = resolve(dataDir, rel);
        if (!allowed.has(rel) || relative(dataDir, file).split(sep)[0] === '..') {
          res.statusCode = 404;
          res.end();
          return;
        }
        for (const [k, v] of Object.entries(securityHeaders())) res.setHeader(k, v);
        res.setHeader('Content-Type', mime[extname(file).toLowerCase()] ?? 'application/octet-stream');
        res.end(readFileSync(file));
      });
    },
  };
}

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return /** @type {number} */ (s[Math.min(s.length - 1, Math.floor(q * s.length))]);
}

/** Plain Levenshtein distance (CER numerator). @param {string} a @param {string} b */
function levenshtein(a, b) {
  const A = [...a];
  const B = [...b];
  let prev = Array.from({ length: B.length + 1 }, (_, j) => j);
  for (let i = 1; i <= A.length; i++) {
    const cur = [i];
    for (let j = 1; j <= B.length; j++) {
      cur[j] = Math.min(
        /** @type {number} */ (prev[j]) + 1,
        /** @type {number} */ (cur[j - 1]) + 1,
        /** @type {number} */ (prev[j - 1]) + (A[i - 1] === B[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return /** @type {number} */ (prev[B.length]);
}

/** Labels and reads compared as the kiosk compares them: upper-case A-Z0-9 only. @param {string} s */
const norm = (s) => s.toUpperCase().replace(/[^A-Z0-9]/g, '');
/** @param {string} s */
const fold = (s) => s.replace(/O/g, '0').replace(/I/g, '1');
const r3 = (/** @type {number} */ x) => Math.round(x * 1000) / 1000;
const r1 = (/** @type {number} */ x) => Math.round(x * 10) / 10;

async function main() {
  const port = await freePort();
  const server = await createServer({
    root,
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port, strictPort: true, hmr: false },
    // tesseract.js is CommonJS: pre-bundle it up front so the optimiser never reloads the page mid-run.
    optimizeDeps: { include: ['tesseract.js'], entries: ['bench/plates-page.html'] },
    plugins: [benchData()],
  });
  await server.listen();
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
  /** @type {any} */
  const out = { default: 'ensemble', readers: {} };
  /** @type {any} */
  const stages = {};
  /** @type {any} */
  const extra = {};
  let backend = '';
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${base}/bench/plates-page.html`);
    await page.waitForFunction(() => /** @type {any} */ (window).__platesReady === true, null, { timeout: 120_000 });
    if (!(await page.evaluate(() => crossOriginIsolated)))
      console.warn('warning: page is not crossOriginIsolated (1 thread)');
    for (const region of regions) {
      const plates = labels.filter((l) => l.region === region).map((l) => l.plate);
      await page.evaluate(
        ([r, p]) => /** @type {any} */ (window).__plates.setRegion(r, p),
        /** @type {const} */ ([region, plates]),
      );
    }
    for (const reader of readers) {
      const info = await page.evaluate((o) => /** @type {any} */ (window).__plates.init(o), {
        reader,
        region: regions[0] ?? 'us',
        ...(args.threads ? { threads: Number(args.threads) } : {}),
        ...(args.tuning ? { tuning: JSON.parse(args.tuning) } : {}),
      });
      backend = `${info.backend}, ${info.threads} thread(s)`;
      console.log(`\n${reader}: models loaded in ${Math.round(info.initMs)} ms (${backend})`);
      out.readers[reader] = { regions: {} };
      stages[reader] = {};
      extra[reader] = {};
      for (const region of regions) {
        const rows = labels.filter((l) => l.region === region);
        let cropOk = 0;
        let cropFold = 0;
        let cropAsLabelled = 0;
        let e2eAsLabelled = 0;
        let e2eOk = 0;
        let e2eFold = 0;
        let cerNum = 0;
        let cerDen = 0;
        let decisionsOk = 0;
        let wrongGrants = 0;
        let missedGrants = 0;
        /** @type {Record<string, number[]>} */
        // detPre/detRun/detPost: every detector pass (whole frame + refinement) split in three; warp: the crops' warps.
        const t = {
          total: [],
          det: [],
          refine: [],
          rec: [],
          ppocr: [],
          en: [],
          trained: [],
          detPre: [],
          detRun: [],
          detPost: [],
          warp: [],
          crop: [],
        };
        for (const [i, l] of rows.entries()) {
          const r = await page.evaluate((o) => /** @type {any} */ (window).__plates.evaluate(o), {
            reader,
            region,
            url: `/__bench-data/${l.file.split('/').map(encodeURIComponent).join('/')}`,
            plate: l.plate,
            box: cropMode ? null : { x: l.x, y: l.y, width: l.w, height: l.h },
            cropOnly: cropMode,
            debug: Boolean(args.dump),
            raw: Boolean(args.raw),
          });
          if (args.raw) {
            mkdirSync(dirname(resolve(args.raw)), { recursive: true });
            appendFileSync(
              resolve(args.raw),
              `${JSON.stringify({ reader, region, file: l.file, plate: norm(l.plate), e2e: r.e2e.raw, crop: r.crop.raw, times: r.e2e.times, cropTimes: r.crop.times })}\n`,
            );
          }
          if (args.dump) {
            for (const [k, c] of r.e2e.crops.entries()) {
              const name = `${l.file.replace(/[/.]/g, '_')}-${k}-${c.source.replace(/[/]/g, '_')}.png`;
              mkdirSync(resolve(args.dump), { recursive: true });
              writeFileSync(join(resolve(args.dump), name), Buffer.from(c.png.split(',')[1], 'base64'));
            }
          }
          // Scored against the label in the region's spelling (what the matcher compares); as labelled beside it.
          const truth = r.truth;
          if (r.crop.text === norm(l.plate)) cropAsLabelled++;
          if (r.e2e.text === norm(l.plate)) e2eAsLabelled++;
          if (r.crop.text === truth) cropOk++;
          if (fold(r.crop.text) === fold(truth)) cropFold++;
          if (r.e2e.text === truth) e2eOk++;
          if (fold(r.e2e.text) === fold(truth)) e2eFold++;
          cerNum += levenshtein(r.crop.text, truth);
          cerDen += [...truth].length;
          if (r.enrolled.outcome === 'grant') decisionsOk++;
          else missedGrants++;
          if (r.notListed.outcome === 'grant') wrongGrants++;
          else decisionsOk++;
          t.total?.push(r.e2e.times.totalMs);
          t.det?.push(r.e2e.times.detMs);
          t.refine?.push(r.e2e.times.refineMs);
          t.rec?.push(r.e2e.times.recMs);
          t.ppocr?.push(r.e2e.times.ppocrMs);
          t.en?.push(r.e2e.times.enMs);
          t.trained?.push(r.e2e.times.trainedMs);
          t.detPre?.push(r.e2e.times.detPreMs);
          t.detRun?.push(r.e2e.times.detRunMs);
          t.detPost?.push(r.e2e.times.detPostMs);
          t.warp?.push(r.e2e.times.cropMs);
          t.crop?.push(r.crop.times.totalMs);
          if (args.verbose || r.notListed.outcome === 'grant') {
            console.log(
              `  ${String(i + 1).padStart(3)} ${l.file.padEnd(48)} ${truth.padEnd(9)} crop ${r.crop.text.padEnd(10)} e2e ${r.e2e.text.padEnd(10)} ${r.enrolled.outcome}/${r.notListed.outcome} ${r.e2e.times.totalMs.toFixed(0)} ms (det ${r.e2e.times.detMs.toFixed(0)}, refine ${r.e2e.times.refineMs.toFixed(0)}, rec ${r.e2e.times.recMs.toFixed(0)}: ppocr ${r.e2e.times.ppocrMs.toFixed(0)}, en ${r.e2e.times.enMs.toFixed(0)}, trained ${r.e2e.times.trainedMs.toFixed(0)})${args.verbose ? ` [${r.e2e.top.join(' ')}]` : ''}${r.notListed.outcome === 'grant' ? ` WRONG GRANT (listed ${r.notListed.impostor})` : ''}`,
            );
          }
        }
        const n = rows.length;
        out.readers[reader].regions[region] = {
          photos: n,
          cropExact: r3(cropOk / n),
          cer: r3(cerNum / Math.max(1, cerDen)),
          e2eExact: r3(e2eOk / n),
          decisionAccuracy: r3(decisionsOk / (2 * n)),
          wrongGrants,
          latencyMs: {
            p50: r1(quantile(/** @type {number[]} */ (t.total), 0.5)),
            p95: r1(quantile(/** @type {number[]} */ (t.total), 0.95)),
          },
        };
        stages[reader][region] = Object.fromEntries(
          Object.entries(t).map(([k, v]) => [`${k}Ms`, { p50: r1(quantile(v, 0.5)), p95: r1(quantile(v, 0.95)) }]),
        );
        extra[reader][region] = {
          cropExactUpToO0I1: r3(cropFold / n),
          e2eExactUpToO0I1: r3(e2eFold / n),
          cropExactAsLabelled: r3(cropAsLabelled / n),
          e2eExactAsLabelled: r3(e2eAsLabelled / n),
          missedGrants,
        };
        if (cropMode) {
          // Crop folders have no whole photos and no decisions: report the crop read and its latency only.
          Object.assign(out.readers[reader].regions[region], {
            e2eExact: null,
            decisionAccuracy: null,
            wrongGrants: null,
            latencyMs: {
              p50: r1(quantile(/** @type {number[]} */ (t.crop), 0.5)),
              p95: r1(quantile(/** @type {number[]} */ (t.crop), 0.95)),
            },
          });
          Object.assign(extra[reader][region], {
            e2eExactUpToO0I1: null,
            e2eExactAsLabelled: null,
            missedGrants: null,
          });
        }
        const m = out.readers[reader].regions[region];
        if (cropMode) {
          console.log(
            `  ${region}: crop ${(m.cropExact * 100).toFixed(1)}% (as labelled ${(extra[reader][region].cropExactAsLabelled * 100).toFixed(1)}%, up to O/0, I/1 ${(extra[reader][region].cropExactUpToO0I1 * 100).toFixed(1)}%), CER ${(m.cer * 100).toFixed(1)}%, p50 ${m.latencyMs.p50} ms`,
          );
          continue;
        }
        console.log(
          `  ${region}: crop ${(m.cropExact * 100).toFixed(1)}%, e2e ${(m.e2eExact * 100).toFixed(1)}%, decisions ${(m.decisionAccuracy * 100).toFixed(1)}%, wrong grants ${wrongGrants}, p50 ${m.latencyMs.p50} ms`,
        );
      }
      await page.evaluate((rd) => /** @type {any} */ (window).__plates.close(rd), reader);
    }
  } finally {
    await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000))]);
    await server.close();
  }

  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    browser: `chromium (${CHROMIUM_PATH})`,
    backend,
    note: 'shared machine: other jobs ran concurrently, so latencies are upper bounds and noisy',
  };
  const report = {
    ...out,
    machine,
    data: dataDir,
    mode: cropMode ? 'crops' : 'photos',
    split: args.split ? { file: args.split, role: args.role } : null,
    tuning: args.tuning ? JSON.parse(args.tuning) : null,
    stages,
    extra,
    when: new Date().toISOString(),
  };

  const pct = (/** @type {number | null} */ x) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`).padStart(7);
  console.log(`\nPlate benchmark — data ${dataDir}; ${machine.cpu}, ${machine.cores} cores, ${backend}`);
  console.log('reader     region photos  crop   cer    e2e   (O0/I1) decision wrongGrants p50ms  p95ms');
  for (const [reader, rd] of Object.entries(out.readers)) {
    for (const [region, m] of Object.entries(/** @type {any} */ (rd).regions)) {
      const x = extra[reader][region];
      console.log(
        `${reader.padEnd(10)} ${region.padEnd(6)} ${String(m.photos).padStart(6)} ${pct(m.cropExact)} ${pct(m.cer)} ${pct(m.e2eExact)} ${pct(x.e2eExactUpToO0I1)} ${pct(m.decisionAccuracy)} ${String(m.wrongGrants ?? '-').padStart(11)} ${String(m.latencyMs.p50).padStart(6)} ${String(m.latencyMs.p95).padStart(6)}`,
      );
    }
  }
  if (!cropMode) {
    console.log('per-stage p50 ms (each stage on its own, so they need not add up to the total):');
    for (const [reader, rs] of Object.entries(stages))
      for (const [region, st] of Object.entries(/** @type {any} */ (rs)))
        console.log(
          `${reader.padEnd(10)} ${region.padEnd(6)} ${['total', 'det', 'refine', 'rec', 'ppocr', 'en', 'trained', 'detPre', 'detRun', 'detPost', 'warp'].map((k) => `${k} ${st[`${k}Ms`].p50}`).join(', ')}`,
        );
  }
  console.log(machine.note);
  if (args.json) {
    const target = resolve(args.json);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`JSON written to ${target}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
