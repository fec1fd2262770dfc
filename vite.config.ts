/**
 * Build and dev-server configuration for the kiosk PWA.
 *
 * Owns: security headers on every server Vite runs, serving the provisioned `models/` folder at `/models/`
 * (and copying it into the build), and the service worker build. It never fetches anything from outside:
 * every wasm, model and traineddata file the app loads is listed in models/manifest.json and served from here.
 */
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { createReadStream, existsSync, statSync, readFileSync, mkdirSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, extname, dirname } from 'node:path';
import { securityHeaders, upstreamOrigin } from './scripts/security-headers.mjs';
import { TEST_BUILD_MARKER } from './scripts/serve.mjs';

const root = import.meta.dirname;
const modelsDir = resolve(root, 'models');

const MIME: Record<string, string> = {
  '.wasm': 'application/wasm',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.tflite': 'application/octet-stream',
  '.gz': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files the manifest says the app loads (paths relative to models/). */
function manifestFiles(): string[] {
  const manifest = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as {
    files: { out: string }[];
  };
  return manifest.files.map((f) => f.out);
}

/** Serves models/ at /models/ in dev and preview, and copies the manifest's files into dist/models on build. */
export function modelsPlugin(): Plugin {
  let outDir = 'dist';
  const serve = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const url = req.url?.split('?')[0] ?? '';
    if (!url.startsWith('/models/')) return next();
    const rel = decodeURIComponent(url.slice('/models/'.length));
    const file = resolve(modelsDir, rel);
    if (!file.startsWith(modelsDir + '/') || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not provisioned: run npm run provision');
      return;
    }
    res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
    for (const [k, v] of Object.entries(securityHeaders())) res.setHeader(k, v);
    createReadStream(file).pipe(res);
  };
  return {
    name: 'kiosk-models',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(serve);
    },
    writeBundle() {
      const files = ['manifest.json', ...manifestFiles()];
      for (const rel of files) {
        const dest = join(outDir, 'models', rel);
        mkdirSync(dirname(dest), { recursive: true });
        copyFileSync(join(modelsDir, rel), dest);
      }
    },
  };
}

/**
 * The e2e build (KIOSK_TEST_HOOKS=1) has a clock any script on the page can set (window.__kioskTest): served to
 * tablets it would let a console move validity and lock-out times. It goes to dist-e2e/, not dist/, and carries a
 * marker that scripts/serve.mjs — and so the receiver's --app — refuses (attacker review, session 20: dist/ held the
 * e2e build after every test run, and `npm run serve` or `--app dist` served it).
 */
const TEST_HOOKS = process.env['KIOSK_TEST_HOOKS'] === '1';
function testBuildMarkerPlugin(): Plugin {
  let outDir = 'dist';
  return {
    name: 'kiosk-test-build-marker',
    apply: 'build',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    writeBundle() {
      const marker = join(outDir, TEST_BUILD_MARKER);
      if (TEST_HOOKS) writeFileSync(marker, 'KIOSK_TEST_HOOKS=1: an e2e build with a settable clock. Never serve it to tablets.\n');
      else rmSync(marker, { force: true });
    },
  };
}

/**
 * Puts the same CSP into the built index.html as a meta tag, so the policy travels with the precached page and
 * holds even when a tablet serves the app from a server that forgets the header. (frame-ancestors is not allowed
 * in a meta policy; the server header carries it.)
 */
function cspMetaPlugin(): Plugin {
  return {
    name: 'kiosk-csp-meta',
    apply: 'build',
    transformIndexHtml() {
      const csp = securityHeaders()['Content-Security-Policy']!
        .split('; ')
        .filter((d) => !d.startsWith('frame-ancestors'))
        .join('; ');
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: csp }, injectTo: 'head-prepend' }];
    },
  };
}

export default defineConfig({
  define: {
    __KIOSK_UPSTREAM__: JSON.stringify(upstreamOrigin()),
    // The e2e build only: a clock the tests can set (src/main.ts). Every other build compiles it out.
    __KIOSK_TEST_HOOKS__: JSON.stringify(TEST_HOOKS),
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true, headers: securityHeaders({ dev: true }) },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: securityHeaders() },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, outDir: TEST_HOOKS ? 'dist-e2e' : 'dist' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  plugins: [
    modelsPlugin(),
    cspMetaPlugin(),
    testBuildMarkerPlugin(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      injectRegister: false,
      registerType: 'prompt',
      manifest: false,
      injectManifest: {
        // The models and wasm are precached too (the kiosk must start with no network), so the size cap is raised.
        rollupFormat: 'iife',
        maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}', 'models/**/*'],
        // ORT's bundle makes Vite emit its own copy of the wasm into assets/; the app loads the verified copy
        // under /models/ort/ (wasmPaths), so that duplicate is never fetched and must not be precached.
        globIgnores: ['**/*.map', 'assets/*.wasm'],
      },
      devOptions: { enabled: false },
    }),
  ],
});
