#!/usr/bin/env node
// @ts-check
/**
 * 1:N matching scale benchmark: the kiosk's FaceGallery in headless Chromium against 1k, 10k and 100k synthetic
 * templates (512-D as fr_feature, 128-D as dlib), both matrix layouts, p50/p95 per search and memory.
 *
 *   npm run bench:face-scale [-- --json OUT] [--sizes 1000,10000,100000] [--queries 200] [--verbose]
 *
 * Prints a table and writes JSON (default bench/results/face-scale.json):
 *   { rows: [{ templates, dim, precision, p50, p95, mean, buildMs, matrixBytes, templateBytes, heapDeltaBytes,
 *     rescoredMean, simd }], machine, date }
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, ROOT, startBench } from './lib/browser.mjs';

async function main() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      sizes: { type: 'string', default: '1000,10000,100000' },
      dims: { type: 'string', default: '512,128' },
      queries: { type: 'string', default: '200' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const sizes = (values.sizes ?? '')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const dims = (values.dims ?? '')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const queries = Number(values.queries);
  /** @type {{ templates: number, dim: number, precision: 'f32' | 'int8', queries: number }[]} */
  const cases = [];
  for (const dim of dims) {
    for (const templates of sizes) {
      for (const precision of /** @type {const} */ (['f32', 'int8']))
        cases.push({ templates, dim, precision, queries });
    }
  }
  const bench = await startBench({ verbose: values.verbose });
  /** @type {{ rows: import('./face-scale.page').ScaleRow[], crossOriginIsolated: boolean }} */
  let result;
  try {
    await bench.page.goto(`${bench.url}/bench/face-scale.html`);
    await bench.page.waitForFunction(() => document.body.dataset['ready'] === '1', null, { timeout: 120_000 });
    result = await bench.page.evaluate(
      (c) =>
        /** @type {{ faceScale: { run: (x: typeof c) => Promise<typeof result> } }} */ (
          /** @type {unknown} */ (globalThis)
        ).faceScale.run(c),
      cases,
    );
  } finally {
    await bench.close();
  }
  const mb = (/** @type {number | null} */ b) => (b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(1)} MB`);
  const rows = [
    ['templates', 'dim', 'layout', 'p50 ms', 'p95 ms', 'matrix', 'templates (f32)', 'build ms', 'rescored', 'simd'],
    ...result.rows.map((r) => [
      String(r.templates),
      String(r.dim),
      r.precision,
      r.p50.toFixed(2),
      r.p95.toFixed(2),
      mb(r.matrixBytes),
      mb(r.templateBytes),
      r.buildMs.toFixed(0),
      r.rescoredMean.toFixed(1),
      String(r.simd),
    ]),
  ];
  const header = /** @type {string[]} */ (rows[0]);
  const w = header.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i] ?? 0)).join('  '));
  const report = {
    rows: result.rows,
    data: 'synthetic unit vectors, 2 templates per identity; probes half near an identity, half strangers',
    machine: { ...machine(), chromium: bench.chromiumVersion, crossOriginIsolated: result.crossOriginIsolated },
    date: new Date().toISOString(),
  };
  console.log(`machine: ${report.machine.cpu} ×${report.machine.cores}, Chromium ${report.machine.chromium}`);
  const out = resolve(values.json ?? join(ROOT, 'bench/results/face-scale.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
