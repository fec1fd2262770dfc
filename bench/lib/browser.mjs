// @ts-check
/**
 * Benchmark harness: the kiosk's own Vite dev server on a free loopback port (same config, headers and /models/
 * serving as the app) plus Debian's Chromium driven by playwright-core with a fresh profile.
 *
 * Owns nothing but process lifetimes: every server and browser it starts is closed by `close()`, bounded in time
 * (Playwright's close can hang after Chromium exited). Data files reach the page only through the loopback
 * server (`files` below); nothing is fetched from elsewhere.
 */
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import { extname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { chromiumArgs, CHROMIUM_PATH } from '../../test/helpers/chromium.mjs';

export const ROOT = resolve(import.meta.dirname, '../..');

/** @returns {Promise<number>} a port that was free a moment ago on 127.0.0.1 */
export function freePort() {
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

const TYPES = /** @type {Record<string, string>} */ ({
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
});

/**
 * A Vite plugin serving `files[i]` at `/__bench/file/<i>` (loopback only, read-only, no directory listing).
 * @param {string[]} files absolute paths
 * @returns {import('vite').Plugin}
 */
export function benchFiles(files) {
  return {
    name: 'bench-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/__bench\/file\/(\d+)$/.exec(req.url?.split('?')[0] ?? '');
        if (!m) return next();
        const file = files[Number(m[1])];
        if (!file || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
          res.statusCode = 404;
          res.end();
          return;
        }
        res.setHeader('Content-Type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        res.setHeader('Cache-Control', 'no-store');
        res.end(readFileSync(file));
      });
    },
  };
}

/**
 * @param {{ plugins?: import('vite').Plugin[], webgpu?: boolean, verbose?: boolean, extraArgs?: string[],
 *   entries?: string[] }} [opts]  entries: HTML pages to scan for dependencies up front (default the bench pages)
 * @returns {Promise<{ url: string, page: import('playwright-core').Page, errors: string[], chromiumVersion: string,
 *   close: () => Promise<void> }>}
 */
export async function startBench(opts = {}) {
  const port = await freePort();
  const server = await createServer({
    configFile: join(ROOT, 'vite.config.ts'),
    root: ROOT,
    logLevel: opts.verbose ? 'info' : 'warn',
    server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
    // Discover the bench pages' and the face worker's dependencies before the first request, so the dependency
    // optimiser does not reload the page in the middle of a run.
    optimizeDeps: {
      entries: [...(opts.entries ?? ['bench/*.html']), 'src/inference/worker/face/face-worker.ts'],
      include: ['@mediapipe/tasks-vision'],
    },
    plugins: opts.plugins ?? [],
  });
  await server.listen();
  const url = `http://127.0.0.1:${port}`;
  const profile = mkdtempSync(join(os.tmpdir(), 'kiosk-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: chromiumArgs({ webgpu: opts.webgpu, extra: ['--enable-precise-memory-info', ...(opts.extraArgs ?? [])] }),
  });
  const page = context.pages()[0] ?? (await context.newPage());
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // MediaPipe prints its INFO lines through console.error: only show them when asked.
    if (opts.verbose || (m.type() === 'error' && !m.text().startsWith('INFO:'))) {
      process.stderr.write(`[page ${m.type()}] ${m.text()}\n`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) process.stderr.write(`[page http ${r.status()}] ${r.url()}\n`);
  });
  const chromiumVersion = context.browser()?.version() ?? 'unknown';
  return {
    url,
    page,
    errors,
    chromiumVersion,
    close: async () => {
      await Promise.race([context.close(), new Promise((r) => setTimeout(r, 10_000))]);
      await Promise.race([server.close(), new Promise((r) => setTimeout(r, 10_000))]);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export { q as quantile } from './metrics.mjs';

/**
 * The machine a benchmark ran on. `cpuMHz` and `vectorIsa` (the widest x86 vector extension the CPU reports) are there
 * because the same code measured 1.3 s on one 2-core VM and 3.6 s on another (docs/architecture.md, session 21):
 * wasm compile and SIMD kernels follow the CPU, and the model name alone ("Intel(R) Xeon(R) Processor") hides it.
 * @returns {{ cpu: string, cores: number, cpuMHz: number, vectorIsa: string, memGiB: number, os: string, node: string }}
 */
export function machine() {
  const cpus = os.cpus();
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux: unknown */
  }
  const flags = (/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(' ');
  const has = (/** @type {string} */ f) => flags.includes(f);
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? cpus[0]?.speed ?? 0);
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    cpuMHz: Math.round(mhz),
    vectorIsa: has('avx512f')
      ? 'avx512'
      : has('avx2')
        ? 'avx2'
        : has('avx')
          ? 'avx'
          : has('sse4_1')
            ? 'sse4.1'
            : 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}
