/**
 * The LAN pull end to end in real Chromium: bundles made by src/sync's exportBundle in a page, published to the
 * real receiver CLI by the loopback PUT (with the admin key pinned, so the receiver's Node-side signature check
 * meets the browser's signatures), then pulled by src/sync's pullBundle from a cross-origin-isolated kiosk page
 * (the app's COOP/COEP/CSP headers, the receiver as the one allowed upstream) and opened with openBundle. Proves:
 * 404 before anything is published, the full bundle to a new kiosk (its pull signed by the decision key the page
 * paired), the delta to a kiosk on its base, 204 when up to date, nothing for a kiosk the receiver never paired, the answers carry CORS for the kiosk origin and no-store, the request carries no referrer or cookie,
 * and a page on another origin gets nothing (CORS), seen as UPSTREAM_UNREACHABLE by the kiosk.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request, type Response } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_MIME } from '../../receiver/bundles.mjs';
import { securityHeaders } from '../../scripts/security-headers.mjs';
import { CHROMIUM_PATH, chromiumArgs } from '../helpers/chromium.mjs';
import type { BundlesHarness, PullResult } from './bundles-harness';
import { ROOT, bearer, freePort, startReceiver, tempDir, until, type ReceiverProcess } from './helpers';

type W = { bundles: BundlesHarness };

let receiver: ReceiverProcess;
let receiverUrl: string;
let kioskOrigin: string;
let vite: ViteDevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let dataDir: ReturnType<typeof tempDir>;
let keys: Awaited<ReturnType<BundlesHarness['setup']>>;

interface Seen {
  /** 0 when the browser failed the request (e.g. blocked by CORS): then `failure` says why. */
  status: number;
  failure?: string;
  headers: Record<string, string>;
  request: Record<string, string>;
  url: string;
}

async function openHarness(origin: string): Promise<{ context: BrowserContext; page: Page }> {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.error('[page]', e.message));
  await p.goto(`${origin}/test/receiver/bundles-harness.html`);
  await p.waitForFunction(() => document.title === 'bundles harness ready', null, { timeout: 60_000 });
  return { context: ctx, page: p };
}

async function publish(b64: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${receiverUrl}/watchlist/bundle`, {
    method: 'PUT',
    headers: { 'content-type': BUNDLE_MIME, ...bearer(receiver.adminToken) },
    body: Buffer.from(b64, 'base64'),
  });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json;
}

/**
 * What the browser saw of the next pull: its response, or its failure when there was none to read (CORS). A
 * body the kiosk cancels (pullBundle does on 204/404) is reported as ERR_ABORTED after its response: not an answer.
 */
function nextAnswer(on: Page): Promise<Seen> {
  const mine = (url: string) => url.startsWith(`${receiverUrl}/watchlist/bundle`);
  return new Promise((resolve) => {
    const done = (s: Seen) => {
      on.off('response', onResponse);
      on.off('requestfailed', onFailed);
      resolve(s);
    };
    const onResponse = (r: Response) => {
      if (mine(r.url()))
        done({ status: r.status(), headers: r.headers(), request: r.request().headers(), url: r.url() });
    };
    const onFailed = (r: Request) => {
      const failure = r.failure()?.errorText;
      if (mine(r.url()) && failure !== 'net::ERR_ABORTED')
        done({ status: 0, failure, headers: {}, request: r.headers(), url: r.url() });
    };
    on.on('response', onResponse);
    on.on('requestfailed', onFailed);
  });
}

async function pull(
  installed: number,
  sendKeyId = true,
  on: Page = page,
  stranger = false,
): Promise<{ r: PullResult; last: Seen }> {
  const answer = nextAnswer(on);
  const r = await on.evaluate(([u, v, k, x]) => (window as unknown as W).bundles.pull(u, v, k, x), [
    receiverUrl,
    installed,
    sendKeyId,
    stranger,
  ] as const);
  const last = await Promise.race([
    answer,
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no answer seen for the pull')), 5000)),
  ]);
  return { r, last };
}

beforeAll(async () => {
  const [vitePort, receiverPort] = [await freePort(), await freePort()];
  kioskOrigin = `http://127.0.0.1:${vitePort}`;
  receiverUrl = `http://127.0.0.1:${receiverPort}`;
  dataDir = tempDir('receiver-bundles-chromium-');
  const cacheDir = join(dataDir.path, 'vite-cache');
  mkdirSync(cacheDir);
  vite = await createServer({
    configFile: false,
    root: ROOT,
    cacheDir,
    logLevel: 'error',
    appType: 'mpa',
    // The app's own headers, with this run's receiver as the one allowed upstream.
    server: {
      host: '127.0.0.1',
      port: vitePort,
      strictPort: true,
      hmr: false,
      headers: securityHeaders({ upstream: receiverUrl }),
    },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await vite.listen();
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
  ({ context, page } = await openHarness(kioskOrigin));
  keys = await page.evaluate(() => (window as unknown as W).bundles.setup());

  // The receiver pins the admin key the page just made, as an admin would copy it from the admin screen.
  const keyFile = join(dataDir.path, 'admin-public.jwk');
  writeFileSync(keyFile, JSON.stringify(keys.adminJwk));
  receiver = await startReceiver([
    '--port',
    String(receiverPort),
    '--data',
    join(dataDir.path, 'data'),
    '--origin',
    kioskOrigin,
    '--admin-key',
    keyFile,
  ]);
  expect(receiver.url).toBe(receiverUrl);
  // The receiver serves bundles only to paired kiosks: the page pairs its decision key, as the pairing card does.
  const minted = await fetch(`${receiverUrl}/admin/pairing-code`, {
    method: 'POST',
    headers: bearer(receiver.adminToken),
  });
  const { code } = (await minted.json()) as { code: string };
  await page.evaluate(([u, c]) => (window as unknown as W).bundles.pair(u, c), [receiverUrl, code] as const);
});

afterAll(async () => {
  await Promise.race([context?.close(), new Promise((r) => setTimeout(r, 10_000))]);
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10_000))]);
  await vite?.close();
  await receiver?.stop();
  dataDir?.remove();
});

describe('kiosk pulls watchlist bundles from the receiver in Chromium', () => {
  it('is cross-origin isolated, and the receiver pinned the page’s admin key', async () => {
    expect(await page.evaluate(() => (window as unknown as W).bundles.isolated())).toBe(true);
    expect(receiver.output()).toContain(`publishing requires the admin key ${keys.adminFingerprint}`);
  });

  it('gets nothing (404) before anything is published', async () => {
    const { r, last } = await pull(0);
    expect(r).toEqual({});
    expect(last.status).toBe(404);
    expect(last.headers['access-control-allow-origin']).toBe(kioskOrigin);
    expect(last.headers['cache-control']).toBe('no-store');
  });

  it('pulls and opens the full bundle, then the delta from its version, then is up to date (204)', async () => {
    const v1 = await page.evaluate(() => (window as unknown as W).bundles.full(1, ['ada', 'bob']));
    expect(await publish(v1)).toMatchObject({ kind: 'full', version: 1, kioskKeyIds: [keys.kioskKeyId] });

    const first = await pull(0);
    expect(first.r.error).toBeUndefined();
    expect(first.r.opened).toEqual({ kind: 'full', version: 1, baseVersion: 0, ids: ['ada', 'bob'], deletions: [] });
    expect(first.r.bytes).toBe(Buffer.from(v1, 'base64').length);
    expect(first.last.status).toBe(200);
    // The version, the receiving key id, and the kiosk's id, clock and signature over them: nothing else.
    expect(first.last.url).toMatch(
      new RegExp(
        `^${receiverUrl}/watchlist/bundle\\?since=0&kiosk=${keys.kioskKeyId}&id=lobby-1&ts=\\d+&sig=[\\w-]{86}$`,
      ),
    );
    expect(first.last.headers).toMatchObject({
      'content-type': BUNDLE_MIME,
      'cache-control': 'no-store',
      'access-control-allow-origin': kioskOrigin,
    });
    // Nothing about the page rides along: no referrer (Chromium reports it empty), no cookie, no credentials.
    expect(first.last.request.referer ?? '').toBe('');
    expect(first.last.request.cookie).toBeUndefined();
    expect(first.last.request.authorization).toBeUndefined();

    const d12 = await page.evaluate(() => (window as unknown as W).bundles.delta(1, 2, ['cyd'], ['ada']));
    expect(await publish(d12)).toMatchObject({ kind: 'delta', version: 2, baseVersion: 1 });
    const second = await pull(1);
    expect(second.r.opened).toEqual({ kind: 'delta', version: 2, baseVersion: 1, ids: ['cyd'], deletions: ['ada'] });
    expect(second.last.status).toBe(200);

    // A kiosk that does not send its key id gets the same choice (every bundle is a candidate).
    expect((await pull(1, false)).r.opened).toMatchObject({ kind: 'delta', version: 2 });
    // A kiosk with nothing installed still gets the full bundle, never a delta it cannot apply.
    expect((await pull(0)).r.opened).toMatchObject({ kind: 'full', version: 1 });

    const third = await pull(2);
    expect(third.r).toEqual({});
    expect(third.last.status).toBe(204);
    expect(third.last.headers['access-control-allow-origin']).toBe(kioskOrigin);
    expect(third.last.headers['cache-control']).toBe('no-store');

    // A newer full bundle moves a kiosk on v2 forward even without a delta from 2.
    const v3 = await page.evaluate(() => (window as unknown as W).bundles.full(3, ['bob', 'cyd', 'dee']));
    await publish(v3);
    expect((await pull(2)).r.opened).toMatchObject({ kind: 'full', version: 3, ids: ['bob', 'cyd', 'dee'] });
  });

  it('gives a kiosk the receiver never paired nothing: UPSTREAM_NOT_PAIRED, no bundle bytes', async () => {
    const { r, last } = await pull(0, true, page, true);
    expect(r).toEqual({ error: { code: 'UPSTREAM_NOT_PAIRED', details: { status: 403, reason: 'not_paired' } } });
    expect(last.status).toBe(403);
    expect(last.headers['access-control-allow-origin']).toBe(kioskOrigin);
  });

  it('gives a page on another origin nothing: CORS refuses it and the kiosk sees UPSTREAM_UNREACHABLE', async () => {
    const other = kioskOrigin.replace('127.0.0.1', 'localhost');
    const { context: ctx, page: p } = await openHarness(other);
    try {
      await p.evaluate(() => (window as unknown as W).bundles.setup());
      const { r, last } = await pull(0, true, p);
      expect(r.error).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
      expect(last).toMatchObject({ status: 0, failure: expect.stringMatching(/ERR_FAILED|CORS/) });
      await until(
        () => receiver.logLines().some((l) => l.reason === 'origin_not_allowed' && l.status === 403),
        5000,
        'the refusal log',
      );
    } finally {
      await ctx.close();
    }
  });

  it('refuses a publish the admin key did not sign, even from loopback, and the kiosk never sees it', async () => {
    const v4 = Buffer.from(await page.evaluate(() => (window as unknown as W).bundles.full(4, ['eve'])), 'base64');
    v4[v4.length - 100]! ^= 1; // in the ciphertext: well framed, badly signed
    const res = await fetch(`${receiverUrl}/watchlist/bundle`, {
      method: 'PUT',
      headers: { 'content-type': BUNDLE_MIME, ...bearer(receiver.adminToken) },
      body: v4,
    });
    expect([res.status, ((await res.json()) as { reason: string }).reason]).toEqual([401, 'bad_signature']);
    const { r, last } = await pull(3);
    expect(r).toEqual({});
    expect(last.status).toBe(204);
  });
});
