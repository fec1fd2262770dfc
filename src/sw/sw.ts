/**
 * The kiosk's service worker: precaches the app shell, every wasm and every model so the kiosk starts and
 * recognises with no network at all, and refuses every cross-origin request except to the configured upstream.
 *
 * It never caches anything at run time (no images, no decisions, no API responses): the precache list is fixed at
 * build time. A new version waits until the page says the kiosk is idle (SKIP_WAITING), so an update never
 * interrupts someone at the door. Install progress is broadcast so the first-run screen can show a bar while tens of
 * MB of models are cached.
 */
/// <reference lib="webworker" />
import { addPlugins, cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> };
declare const __KIOSK_UPSTREAM__: string;

const UPSTREAM = typeof __KIOSK_UPSTREAM__ === 'string' ? __KIOSK_UPSTREAM__ : '';
const manifest = self.__WB_MANIFEST;
const total = manifest.length;
let done = 0;

async function broadcast(msg: { type: 'PRECACHE_PROGRESS'; done: number; total: number }): Promise<void> {
  const clients = await self.clients.matchAll({ includeUncontrolled: true, type: 'window' });
  for (const c of clients) c.postMessage(msg);
}

// Registered before workbox's own fetch listener so it sees every request first.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin === self.location.origin || url.origin === UPSTREAM) return;
  // Defence in depth behind the CSP: whatever asked, nothing goes to a third party from this origin.
  event.respondWith(Response.error());
});

addPlugins([
  {
    cacheDidUpdate: async () => {
      done += 1;
      await broadcast({ type: 'PRECACHE_PROGRESS', done: Math.min(done, total), total });
    },
  },
]);

precacheAndRoute(manifest, {
  // The app adds no cache-busting queries of its own; model URLs are fetched exactly as listed.
  ignoreURLParametersMatching: [/^__WB_REVISION__$/],
  cleanURLs: false,
});
cleanupOutdatedCaches();

self.addEventListener('install', (event) => {
  event.waitUntil(broadcast({ type: 'PRECACHE_PROGRESS', done: 0, total }));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      await self.clients.claim();
      await broadcast({ type: 'PRECACHE_PROGRESS', done: total, total });
    })(),
  );
});

self.addEventListener('message', (event) => {
  const data = event.data as { type?: string } | null;
  if (data?.type === 'SKIP_WAITING') void self.skipWaiting();
  if (data?.type === 'PRECACHE_STATUS' && event.source) {
    (event.source as Client).postMessage({ type: 'PRECACHE_PROGRESS', done: self.registration.active ? total : done, total });
  }
});
