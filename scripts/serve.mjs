#!/usr/bin/env node
// @ts-check
/**
 * Serves the built kiosk (dist/) on loopback with the security headers (CSP, COOP/COEP) the app depends on.
 *
 * Deliberately tiny: static files only, no directory listing, no path outside dist/, index.html for navigations.
 * Used by `npm start` and by the e2e tests (which stop it mid-run to prove the kiosk works offline).
 * Usage: node scripts/serve.mjs [--host 127.0.0.1] [--port 4173] [--dir dist]
 */
import { createServer } from 'node:http';
import { closeSync, constants, createReadStream, existsSync, fstatSync, openSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { securityHeaders } from './security-headers.mjs';

const MIME = /** @type {Record<string, string>} */ ({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
});

/**
 * What a service-worker script request for anything but the kiosk's own /sw.js gets: a worker that unregisters itself
 * and reloads its pages. A worker registered under another script or scope (by whoever once controlled what this
 * origin served: a bad build, a leaked site CA key) stayed for ever, since a browser keeps a registration whose
 * update check fails (404), and it could serve the kiosk's pages or workers code of its choosing (attacker review,
 * session 23). The browser's own update check fetches this in its place and the registration ends.
 */
export const SW_REMOVER = `// Not this origin's service worker: remove it (scripts/serve.mjs).
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => {
  event.waitUntil(
    self.registration
      .unregister()
      .then(() => self.clients.matchAll({ type: 'window' }))
      .then((windows) => Promise.all(windows.map((w) => w.navigate(w.url)))),
  );
});
`;

/** Written into a KIOSK_TEST_HOOKS=1 build (vite.config.ts): that build has a clock any page script can set. */
export const TEST_BUILD_MARKER = 'TEST-HOOKS-BUILD.txt';

/**
 * The static handler on its own, for servers that hand out the app next to other routes (the receiver's
 * `--app DIR`, over TLS). Answers every request it is given. Refuses an e2e build (its marker) unless the caller
 * is a test harness and says so: served to a tablet, its settable clock would move validity and lock-out times.
 * @param {string} dir
 * @param {{ allowTestBuild?: boolean }} [opts]
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void}
 */
export function appHandler(dir, { allowTestBuild = false } = {}) {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) throw new Error(`${root}/index.html missing: run npm run build first`);
  if (!allowTestBuild && existsSync(join(root, TEST_BUILD_MARKER)))
    throw new Error(`${root} is an e2e build (KIOSK_TEST_HOOKS=1: a clock any page script can set); build the kiosk with npm run build`);
  const headers = securityHeaders();
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (req.headers['service-worker'] === 'script' && path !== '/sw.js') {
      res.writeHead(200, { ...headers, 'Content-Type': MIME['.js'], 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : SW_REMOVER);
      return;
    }
    let file = resolve(root, '.' + path);
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (!existsSync(file) || statSync(file).isDirectory()) {
      // Navigations get the app shell; anything else that is missing is a real 404.
      if (extname(path) === '' || path.endsWith('/')) file = join(root, 'index.html');
      else {
        res.writeHead(404, headers).end('not found');
        return;
      }
    }
    // Opened once, then measured and read through that descriptor: a file removed between the check above and the
    // read (a rebuild while tablets fetch), or one that is no regular file, threw an unhandled stream error and
    // ended the process, taking the receiver serving the app down with it (attacker review, session 23).
    let fd;
    let size;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
      const st = fstatSync(fd);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch {
      if (fd !== undefined) closeSync(fd);
      res.writeHead(404, headers).end('not found');
      return;
    }
    const type = MIME[extname(file)] ?? 'application/octet-stream';
    const cache = file.endsWith('sw.js') || file.endsWith('.html') ? 'no-cache' : 'public, max-age=0, must-revalidate';
    res.writeHead(200, {
      ...headers,
      'Content-Type': type,
      'Cache-Control': cache,
      'Content-Length': size,
    });
    if (req.method === 'HEAD') {
      closeSync(fd);
      res.end();
      return;
    }
    createReadStream('', { fd })
      .on('error', () => res.destroy())
      .pipe(res);
  };
}

/**
 * @param {{ host?: string, port?: number, dir?: string, allowTestBuild?: boolean }} opts
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export function serve({ host = '127.0.0.1', port = 4173, dir = 'dist', allowTestBuild = false } = {}) {
  const server = createServer(appHandler(dir, { allowTestBuild }));
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      ok({
        url: `http://${host}:${p}/`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { host: { type: 'string' }, port: { type: 'string' }, dir: { type: 'string' } },
  });
  const s = await serve({
    host: values.host ?? '127.0.0.1',
    port: values.port ? Number(values.port) : 4173,
    dir: values.dir ?? 'dist',
  });
  console.log(`kiosk: ${s.url}`);
}
