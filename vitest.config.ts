/**
 * Test projects, split by the runtime they run in (as workbox does):
 * - unit:    pure functions in Node (matching maths, policies, manifest checks);
 * - browser: modules that need real browser APIs (IndexedDB, WebCrypto, workers, wasm) in Debian's Chromium;
 * - e2e:     the built kiosk served over loopback, driven by playwright-core with a fake camera.
 */
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { securityHeaders } from './scripts/security-headers.mjs';
import { chromiumArgs, CHROMIUM_PATH } from './test/helpers/chromium.mjs';
import { E2E_UPSTREAM } from './test/helpers/e2e-env.mjs';
import { modelsPlugin } from './vite.config.ts';

function withoutCsp(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'Content-Security-Policy'));
}

/**
 * Test-only: `/models-pinned-other/<id>/…` serves the provisioned models as `/models/` does, except that its
 * manifest pins other bytes for the entry `<id>` — what a kiosk sees when that file on its origin or in its cache
 * was swapped. Lets a browser test start a real worker on a base where one file fails its hash.
 */
function pinnedOtherPlugin(): Plugin {
  const PREFIX = '/models-pinned-other/';
  return {
    name: 'kiosk-models-pinned-other',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url?.split('?')[0] ?? '';
        if (!url.startsWith(PREFIX)) return next();
        const [id = '', ...rest] = url.slice(PREFIX.length).split('/');
        if (rest.join('/') !== 'manifest.json') {
          req.url = `/models/${rest.join('/')}`;
          return next();
        }
        const manifest = JSON.parse(readFileSync(new URL('./models/manifest.json', import.meta.url), 'utf8')) as { files: { id: string; sha256: string }[] };
        const entry = manifest.files.find((f) => f.id === decodeURIComponent(id));
        if (!entry) {
          res.statusCode = 404;
          return res.end(`no manifest entry ${id}`);
        }
        entry.sha256 = entry.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(manifest));
      });
    },
  };
}

/**
 * Test-only: `/models-octet/<path>` serves `models/<path>` as application/octet-stream, as a server that does not know
 * the wasm type would — the browser then refuses to stream-compile it, and the model loader must compile the
 * verified bytes instead (test/browser/model-loader-compile.test.ts).
 */
function octetPlugin(): Plugin {
  const PREFIX = '/models-octet/';
  return {
    name: 'kiosk-models-octet',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url?.split('?')[0] ?? '';
        if (!url.startsWith(PREFIX) || url.includes('..')) return next();
        try {
          const body = readFileSync(new URL(`./models/${url.slice(PREFIX.length)}`, import.meta.url));
          res.setHeader('Content-Type', 'application/octet-stream');
          res.end(body);
        } catch {
          res.statusCode = 404;
          res.end();
        }
      });
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // COOP/COEP as in the app (crossOriginIsolated), but no CSP: its frame-ancestors 'none' and script-src 'self'
        // block vitest's tester iframe and inline scripts, and every browser test then hangs. CSP is proven in e2e.
        server: { headers: withoutCsp(securityHeaders()) },
        // /models/ must be served as in the app (raw bytes, right MIME, no Vite transform of the wasm loaders).
        plugins: [pinnedOtherPlugin(), octetPlugin(), modelsPlugin()],
        // Every bare import the tests reach (through the app and its workers) is pre-bundled before the first test file
        // runs. With an empty cache (a fresh clone, as in CI) Vite found @mediapipe/tasks-vision only at run time and
        // re-optimised; a re-optimisation reloads the page under whichever test files are running at that moment.
        // The scan also starts from all of src (vitest seeds it with the test files, and Vite joins the two lists), so
        // a module no test imports directly, such as a worker, cannot bring a new dependency in mid-run; `include`
        // names the ones known today.
        optimizeDeps: {
          entries: ['src/**/*.ts', 'test/browser/**/*.ts'],
          exclude: ['onnxruntime-web'],
          include: ['@mediapipe/tasks-vision', '@vladmandic/face-api', 'idb', 'jsqr', 'tesseract.js', 'uqr', 'workbox-window'],
        },
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: chromiumArgs({ fakeDevice: true }) },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        // The reference receiver and the kiosk↔receiver path: real receiver processes, Mosquitto and Chromium.
        test: {
          name: 'receiver',
          include: ['test/receiver/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          env: { KIOSK_UPSTREAM: E2E_UPSTREAM },
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
