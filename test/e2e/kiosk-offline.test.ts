/**
 * Issue 2's end-to-end proof: a fresh profile opens the kiosk, the first-run progress reaches 100% while models are
 * precached, the fake camera (a real photo) shows a face and a box is drawn over the hand-annotated face region;
 * then the server is stopped, the page reloaded, and the kiosk starts and still detects. Over the whole run the
 * browser's own network log shows no host but 127.0.0.1 and the page saw no CSP violation. And a runtime tampered
 * with in the precache is repaired from the origin on the next start, so the start after that works offline.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { cspViolations, foreignRequests, iou, launch, netLogRequests, startKiosk } from './harness';
import { FEEDS } from '../fixtures/feeds.mjs';

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

async function waitForBoxes(page: Page, timeout = 60_000): Promise<Box[]> {
  const handle = await page.waitForFunction(
    () => {
      const stage = document.querySelector<HTMLElement>('[data-testid=stage]');
      const boxes = JSON.parse(stage?.dataset['boxes'] ?? '[]') as unknown[];
      return boxes.length > 0 ? boxes : null;
    },
    undefined,
    { timeout, polling: 200 },
  );
  return (await handle.jsonValue()) as Box[];
}

describe('offline kiosk shell', () => {
  it('precaches, detects the known face, survives the server going away, and talks to nobody else', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-e2e-'));
    const server = await startKiosk(inject('distDir'));
    const port = new URL(server.url).port;
    let browser = await launch({ fakeCamera: inject('feeds').oneFace, userDataDir: profile });
    const netLogs = [browser.netLogPath];
    try {
      const { page } = browser;
      await page.goto(server.url);
      // First run: the progress bar must reach 100% (every precache entry in Cache Storage).
      await page.waitForFunction(
        () => document.querySelector('[data-testid=precache-progress]')?.getAttribute('aria-valuenow') === '100',
        undefined,
        { timeout: 120_000 },
      );
      const cached = await page.evaluate(async () => {
        let n = 0;
        for (const name of await caches.keys()) n += (await (await caches.open(name)).keys()).length;
        return n;
      });
      expect(cached).toBeGreaterThan(10);

      const boxes = await waitForBoxes(page);
      const known = FEEDS.oneFace.face!;
      expect(boxes).toHaveLength(1);
      expect(iou(boxes[0]!, known)).toBeGreaterThan(0.3);
      const cx = boxes[0]!.x + boxes[0]!.w / 2;
      const cy = boxes[0]!.y + boxes[0]!.h / 2;
      expect(cx).toBeGreaterThan(known.x);
      expect(cx).toBeLessThan(known.x + known.w);
      expect(cy).toBeGreaterThan(known.y);
      expect(cy).toBeLessThan(known.y + known.h);
      expect(await cspViolations(page)).toEqual([]);
      expect(browser.cspConsole).toEqual([]);
      expect(browser.pageErrors).toEqual([]);
      await browser.close();

      // Offline: nothing listens on the kiosk's port any more.
      await server.close();
      browser = await launch({ fakeCamera: inject('feeds').oneFace, userDataDir: profile });
      netLogs.push(browser.netLogPath);
      const offline = browser.page;
      await offline.goto(`http://127.0.0.1:${port}/`);
      expect(await offline.evaluate(() => crossOriginIsolated)).toBe(true);
      const again = await waitForBoxes(offline);
      expect(again).toHaveLength(1);
      expect(iou(again[0]!, known)).toBeGreaterThan(0.3);
      expect(await cspViolations(offline)).toEqual([]);
      expect(browser.cspConsole).toEqual([]);
      expect(browser.pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await server.close().catch(() => undefined);
    }
    const foreign = foreignRequests(netLogs.flatMap((p) => netLogRequests(p)));
    rmSync(profile, { recursive: true, force: true });
    if (foreign.browser.length > 0) {
      // Chromium's own background requests (not the kiosk's): reported by name, see README "Network".
      console.warn(`Chromium itself (not the kiosk) tried: ${foreign.browser.join(', ')}`);
    }
    expect(foreign.kiosk).toEqual([]);
  });

  it('a tampered runtime in the precache is replaced by a verified copy, so the next start still works offline', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-e2e-'));
    const server = await startKiosk(inject('distDir'));
    const port = new URL(server.url).port;
    const path = '/models/ort/ort-wasm-simd-threaded.wasm';
    let browser = await launch({ fakeCamera: inject('feeds').oneFace, userDataDir: profile });
    try {
      await browser.page.goto(server.url);
      await browser.page.waitForFunction(
        () => document.querySelector('[data-testid=precache-progress]')?.getAttribute('aria-valuenow') === '100',
        undefined,
        { timeout: 120_000 },
      );
      await waitForBoxes(browser.page);
      // Someone with the disk flips one byte of ORT's runtime (code the face worker would run) in the precache,
      // under the service worker's own key: same size, same headers; only the pinned SHA-256 can tell.
      const key = await browser.page.evaluate(async (p) => {
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          for (const req of await cache.keys()) {
            if (new URL(req.url).pathname !== p) continue;
            const res = (await cache.match(req))!;
            const bytes = new Uint8Array(await res.arrayBuffer());
            const mid = bytes.length >> 1;
            bytes[mid] = bytes[mid]! ^ 0xff;
            await cache.put(req, new Response(bytes, { headers: res.headers }));
            return { cache: name, url: req.url };
          }
        }
        return null;
      }, path);
      expect(key).not.toBeNull();
      await browser.close();

      // Next start, origin reachable: the copy is refused, evicted, fetched again, proved and put back.
      browser = await launch({ fakeCamera: inject('feeds').oneFace, userDataDir: profile });
      await browser.page.goto(server.url);
      expect(await waitForBoxes(browser.page)).toHaveLength(1);
      const stored = await browser.page.evaluate(async ({ cache, url }) => {
        const res = await (await caches.open(cache)).match(url);
        if (!res) return null;
        const digest = await crypto.subtle.digest('SHA-256', await res.arrayBuffer());
        return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
      }, key!);
      const manifest = (await (await fetch(new URL('models/manifest.json', server.url))).json()) as {
        files: { out: string; sha256: string }[];
      };
      expect(stored).toBe(manifest.files.find((f) => `/models/${f.out}` === path)!.sha256);
      expect(browser.pageErrors).toEqual([]);
      await browser.close();

      // Then offline: the repaired precache alone starts the kiosk.
      await server.close();
      browser = await launch({ fakeCamera: inject('feeds').oneFace, userDataDir: profile });
      await browser.page.goto(`http://127.0.0.1:${port}/`);
      expect(await waitForBoxes(browser.page)).toHaveLength(1);
      expect(browser.pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await server.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
