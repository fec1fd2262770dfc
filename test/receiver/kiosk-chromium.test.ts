/**
 * The kiosk's decision path end to end in real Chromium: the real DecisionService in a page served with the app's
 * COOP/COEP/CSP headers, the real receiver CLI over loopback (stopped and restarted mid-test), and a real Mosquitto
 * with an MQTT subscriber. Proves: pairing from the browser; grant and deny arrive and verify; decisions queue while
 * the receiver is down and arrive once each, in order, marked stale; rejections (forged signature, oversized body,
 * extra field, replayed sequence, future timestamp) reach the guard's status and the receiver's log; a stale
 * timestamp is recorded but never actuates; CORS admits only the kiosk origin; CSP blocks other hosts; the
 * browser's `online` event replays the queue.
 */
import { mkdirSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDecisionBody, MAX_DECISION_BYTES } from '../../receiver/protocol.mjs';
import { securityHeaders } from '../../scripts/security-headers.mjs';
import { CHROMIUM_PATH, chromiumArgs } from '../helpers/chromium.mjs';
import {
  ROOT,
  type Mosquitto,
  type ReceiverProcess,
  bearer,
  freePort,
  recordRequests,
  startMosquitto,
  startReceiver,
  tempDir,
  until,
} from './helpers';

/** The page's `window.harness` (test/browser/decisions-harness.ts), restated: the node project cannot import it. */
interface UpstreamProblem {
  code: string;
  reason: string;
  status?: number;
  seq?: number;
}
interface UpstreamStatus {
  state: string;
  depth: number;
  problem?: UpstreamProblem;
  lastError?: UpstreamProblem;
  lastRejection?: UpstreamProblem;
  lastDelivered?: { seq: number; stale: boolean; actuate?: boolean };
  clock?: { offsetMs: number; at: number };
  counts: { delivered: number; duplicates: number; stale: number; rejected: number; expired: number };
}
interface Harness {
  isolated(): boolean;
  cspViolations(): { blockedURI: string; directive: string }[];
  open(o: {
    kioskId: string;
    url: string;
    door?: string;
    freshnessMs?: number;
    clockOffsetMs?: number;
    backoff?: { baseMs: number; maxMs: number };
    persist?: string;
    outbox?: 'vault' | 'test-idb';
  }): Promise<{ kid: string; fingerprint: string }>;
  pair(code: string): Promise<{ kid: string; fingerprint: string }>;
  decide(d: 'grant' | 'deny', door?: string): Promise<{ seq: number; ts: number }>;
  status(): UpstreamStatus;
  statusLog(): UpstreamStatus[];
  close(): Promise<void>;
  inject(e: { body?: string; payload?: string; sign?: boolean }): Promise<number>;
  rawFetch(
    url: string,
    init?: { method?: string; body?: string; contentType?: string },
  ): Promise<{ status?: number; error?: string }>;
}
type H = { harness: Harness };

interface Captured {
  route: string;
  status: number;
  result: string;
  reason?: string;
  kiosk?: string;
  seq?: number;
  stale?: boolean;
  actuate?: boolean;
  body?: string;
}

const FAST = { baseMs: 200, maxMs: 1000 };

let broker: Mosquitto;
let mqttSub: MqttClient;
const mqttMessages: { topic: string; d: Record<string, unknown> }[] = [];
let receiver: ReceiverProcess;
let receiverArgs: string[];
let vite: ViteDevServer;
let browser: Browser;
let kioskOrigin: string;
let receiverUrl: string;
let dataDir: ReturnType<typeof tempDir>;
let capturePath: string;
let adminToken: string | undefined;

async function adminCode(): Promise<string> {
  const res = await fetch(`${receiverUrl}/admin/pairing-code`, { method: 'POST', headers: bearer(adminToken) });
  return ((await res.json()) as { code: string }).code;
}

/** Every body the receiver got (both processes, across restarts), with its verdict. */
function captured(kiosk?: string): Captured[] {
  const all = readFileSync(capturePath, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Captured);
  return kiosk === undefined ? all : all.filter((c) => c.kiosk === kiosk);
}

async function newKioskPage(
  origin = kioskOrigin,
): Promise<{ context: BrowserContext; page: Page; requests: ReturnType<typeof recordRequests> }> {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page]', e.message));
  await page.goto(`${origin}/test/browser/decisions-harness.html`);
  await page.waitForFunction(() => document.title === 'decisions harness ready', null, { timeout: 60_000 });
  return { context, page, requests };
}

async function openAndPair(
  page: Page,
  kioskId: string,
  extra: Record<string, unknown> = {},
): Promise<{ kid: string; fingerprint: string }> {
  const opened = await page.evaluate(
    ([o]) => (window as unknown as H).harness.open(o as Parameters<Harness['open']>[0]),
    [{ kioskId, url: `${receiverUrl}/decisions`, backoff: FAST, ...extra }] as const,
  );
  const code = await adminCode();
  const paired = await page.evaluate((c) => (window as unknown as H).harness.pair(c), code);
  expect(paired.kid).toBe(opened.kid);
  return opened;
}

/** Polls the page's status from Node (the page's CSP rightly forbids evaluating strings there). */
async function waitStatus(
  page: Page,
  pred: (s: UpstreamStatus) => boolean | undefined,
  ms = 20_000,
): Promise<UpstreamStatus> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await page.evaluate(() => (window as unknown as H).harness.status());
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`status never matched: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  broker = await startMosquitto();
  mqttSub = await connectAsync(broker.url, { clientId: 'chromium-test-subscriber' });
  // Each message is the receiver's signed order envelope; the order text inside carries the decision.
  mqttSub.on('message', (topic, payload) =>
    mqttMessages.push({
      topic,
      d: JSON.parse((JSON.parse(payload.toString()) as { order: string }).order) as Record<string, unknown>,
    }),
  );
  await mqttSub.subscribeAsync('entrance-kiosk/#', { qos: 1 });

  const vitePort = await freePort();
  kioskOrigin = `http://127.0.0.1:${vitePort}`;
  dataDir = tempDir('receiver-chromium-');
  capturePath = join(dataDir.path, 'capture.jsonl');
  const receiverPort = await freePort();
  receiverArgs = [
    '--port',
    String(receiverPort),
    '--data',
    dataDir.path,
    '--origin',
    kioskOrigin,
    '--mqtt',
    broker.url,
    '--capture',
    capturePath,
  ];
  receiver = await startReceiver(receiverArgs);
  receiverUrl = receiver.url;
  adminToken = receiver.adminToken; // printed at this first start only; restarts below reuse it

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
});

afterAll(async () => {
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10_000))]);
  await vite?.close();
  await receiver?.stop();
  await mqttSub?.endAsync();
  await broker?.stop();
  dataDir?.remove();
});

describe('kiosk → receiver in Chromium', () => {
  it('pairs from a cross-origin-isolated page and delivers a verified grant and deny (CORS, no CORP needed)', async () => {
    const { context, page, requests } = await newKioskPage();
    try {
      expect(await page.evaluate(() => (window as unknown as H).harness.isolated())).toBe(true);
      const { fingerprint } = await openAndPair(page, 'k-basic', { door: 'main' });
      await receiver.waitForOutput(new RegExp(`paired kiosk k-basic, key fingerprint ${fingerprint}`));

      const responses: Record<string, string>[] = [];
      page.on('response', (r) => {
        if (r.url() === `${receiverUrl}/decisions` && r.request().method() === 'POST') responses.push(r.headers());
      });
      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      await page.evaluate(() => (window as unknown as H).harness.decide('deny'));
      const st = await waitStatus(page, (s) => s.counts.delivered === 2 && s.depth === 0);
      expect(st.lastDelivered).toMatchObject({ seq: 2, stale: false, actuate: false });
      expect(st.problem).toBeUndefined();
      // The receiver's answer says its time: on one machine the two clocks agree to well within a second.
      expect(Math.abs(st.clock!.offsetMs)).toBeLessThan(1000);

      const got = captured('k-basic').filter((c) => c.route === '/decisions');
      expect(got.map((c) => [c.result, c.seq, c.actuate, c.stale])).toEqual([
        ['accepted', 1, true, false],
        ['accepted', 2, false, false],
      ]);
      const mq = await until(() => {
        const m = mqttMessages.filter((x) => x.d.kiosk === 'k-basic');
        return m.length === 2 ? m : undefined;
      });
      expect(mq.map((m) => [m.topic, m.d.seq, m.d.decision, m.d.door, m.d.actuate])).toEqual([
        ['entrance-kiosk/k-basic/decision', 1, 'grant', 'main', true],
        ['entrance-kiosk/k-basic/decision', 2, 'deny', 'main', false],
      ]);
      // Bound to 'main' by its first decision: a grant this tablet signs for another door is refused for good (the
      // kiosk keeps the rejection on show), and no door hears of it.
      await page.evaluate(() => (window as unknown as H).harness.decide('grant', 'server-room'));
      const refused = await waitStatus(page, (s) => s.counts.rejected === 1 && s.depth === 0);
      expect(refused.lastRejection).toMatchObject({
        code: 'UPSTREAM_REJECTED',
        reason: 'door_not_allowed',
        status: 409,
        seq: 3,
      });
      expect(
        captured('k-basic')
          .filter((c) => c.result === 'rejected')
          .map((c) => [c.seq, c.reason]),
      ).toEqual([[3, 'door_not_allowed']]);
      await new Promise((r) => setTimeout(r, 300));
      expect(mqttMessages.filter((x) => x.d.kiosk === 'k-basic')).toHaveLength(2);

      // What the browser itself sent: only the kiosk origin and the receiver, and every decision body is exactly schema.
      const hosts = new Set(requests.map((r) => new URL(r.url).origin));
      expect([...hosts].sort()).toEqual([kioskOrigin, receiverUrl].sort());
      const decisionPosts = requests.filter((r) => r.url === `${receiverUrl}/decisions` && r.method === 'POST');
      expect(decisionPosts).toHaveLength(3);
      for (const r of decisionPosts) {
        expect(checkDecisionBody(r.body ?? '').ok).toBe(true);
        expect(Buffer.byteLength(r.body ?? '')).toBeLessThanOrEqual(MAX_DECISION_BYTES);
      }
      expect(
        responses.every(
          (h) => h['cross-origin-resource-policy'] === undefined && h['access-control-allow-origin'] === kioskOrigin,
        ),
      ).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("sees its own clock 8 s behind the receiver's: the grant is recorded stale, and the offset is in the status", async () => {
    // A tablet on a LAN with no time server drifts; 8 s behind passes the receiver's 5 s freshness window, so every
    // grant it signs is recorded and opens nothing. The kiosk measures the offset from the receiver's answers.
    const { context, page } = await newKioskPage();
    try {
      await openAndPair(page, 'k-clock', { clockOffsetMs: -8000 });
      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      const st = await waitStatus(page, (s) => s.counts.delivered === 1 && s.depth === 0);
      expect(st.lastDelivered).toMatchObject({ stale: true, actuate: false });
      expect(st.clock!.offsetMs).toBeGreaterThan(7000);
      expect(st.clock!.offsetMs).toBeLessThan(9000);
      expect(
        captured('k-clock')
          .filter((c) => c.route === '/decisions')
          .map((c) => [c.result, c.stale, c.actuate]),
      ).toEqual([['accepted', true, false]]);
    } finally {
      await context.close();
    }
  });

  it('queues while the receiver is down; after restart each decision arrives once, in order, marked stale', async () => {
    const { context, page } = await newKioskPage();
    try {
      await openAndPair(page, 'k-restart', { freshnessMs: 1000 });
      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      await waitStatus(page, (s) => s.counts.delivered === 1);

      expect(await receiver.stop()).toBe(0);
      for (const d of ['grant', 'deny', 'grant'] as const)
        await page.evaluate((x) => (window as unknown as H).harness.decide(x), d);
      const down = await waitStatus(page, (s) => s.problem?.code === 'UPSTREAM_UNREACHABLE' && s.depth === 3);
      expect(down.problem).toMatchObject({ reason: 'network', seq: 2 });
      await new Promise((r) => setTimeout(r, 1500)); // longer than the kiosk's freshness window

      receiver = await startReceiver(receiverArgs);
      const st = await waitStatus(page, (s) => s.counts.delivered === 4 && s.depth === 0, 30_000);
      expect(st.counts.stale).toBe(3);
      expect(st.lastError).toMatchObject({ code: 'UPSTREAM_STALE' });

      const accepted = captured('k-restart').filter((c) => c.route === '/decisions' && c.result === 'accepted');
      expect(accepted.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
      expect(accepted.map((c) => c.stale)).toEqual([false, true, true, true]);
      expect(accepted.map((c) => c.actuate)).toEqual([true, false, false, false]);
      expect(captured('k-restart').filter((c) => c.result === 'rejected')).toEqual([]);
      for (const c of accepted.slice(1)) expect(JSON.parse(JSON.parse(c.body!).payload).stale).toBe(true);

      const mq = await until(() => {
        const m = mqttMessages.filter((x) => x.d.kiosk === 'k-restart');
        return m.length === 4 ? m : undefined;
      });
      expect(mq.map((m) => [m.d.seq, m.d.decision, m.d.actuate])).toEqual([
        [1, 'grant', true],
        [2, 'grant', false],
        [3, 'deny', false],
        [4, 'grant', false],
      ]);
    } finally {
      await context.close();
    }
  });

  it('keeps queued decisions in IndexedDB across a page reload and replays them in order on start', async () => {
    const { context, page } = await newKioskPage();
    try {
      // RELOAD_OUTBOX=vault runs this against src/store's outbox once the vault has settled (see the harness).
      const persist = {
        persist: `decisions-reload-${Date.now()}`,
        outbox: process.env.RELOAD_OUTBOX === 'vault' ? 'vault' : 'test-idb',
      };
      const first = await openAndPair(page, 'k-reload', persist);
      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      await waitStatus(page, (s) => s.counts.delivered === 1);

      expect(await receiver.stop()).toBe(0);
      for (const d of ['deny', 'grant'] as const)
        await page.evaluate((x) => (window as unknown as H).harness.decide(x), d);
      await waitStatus(page, (s) => s.problem?.code === 'UPSTREAM_UNREACHABLE' && s.depth === 2);

      await page.reload();
      await page.waitForFunction(() => document.title === 'decisions harness ready');
      receiver = await startReceiver(receiverArgs);
      const again = await page.evaluate(
        ([o]) => (window as unknown as H).harness.open(o as Parameters<Harness['open']>[0]),
        [{ kioskId: 'k-reload', url: `${receiverUrl}/decisions`, backoff: FAST, ...persist }] as const,
      );
      expect(again.kid).toBe(first.kid); // the same device key, no re-pairing
      await waitStatus(page, (s) => s.counts.delivered === 2 && s.depth === 0, 30_000);
      expect((await page.evaluate(() => (window as unknown as H).harness.decide('deny'))).seq).toBe(4);
      await waitStatus(page, (s) => s.counts.delivered === 3);
      const accepted = captured('k-reload').filter((c) => c.route === '/decisions' && c.result === 'accepted');
      expect(accepted.map((c) => [c.seq, JSON.parse(JSON.parse(c.body!).payload).decision])).toEqual([
        [1, 'grant'],
        [2, 'deny'],
        [3, 'grant'],
        [4, 'deny'],
      ]);
      expect(captured('k-reload').filter((c) => c.result === 'rejected')).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows the guard every rejection (forged, oversized, extra field, replay, future) and keeps delivering', async () => {
    const { context, page } = await newKioskPage();
    try {
      await openAndPair(page, 'k-reject');
      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      await waitStatus(page, (s) => s.counts.delivered === 1);
      const N = 'AAECAwQFBgcICQoLDA0ODw';
      const base = (extra = '', seq = '0', ts = '0') =>
        `{"v":1,"kiosk":"k-reject","seq":${seq},"ts":${ts},"decision":"grant","nonce":"${N}"${extra}}`;
      const injected: [string, Parameters<Harness['inject']>[0]][] = [
        ['bad_signature', { payload: base() }],
        ['too_large', { body: 'x'.repeat(900) }],
        ['extra_field', { payload: base(',"name":"Alice"'), sign: true }],
        ['replay', { payload: base('', '1'), sign: true }],
        ['future_timestamp', { payload: base('', '0', String(Date.now() + 3_600_000)), sign: true }],
      ];
      for (const [, entry] of injected) await page.evaluate((e) => (window as unknown as H).harness.inject(e), entry);
      const st = await waitStatus(page, (s) => s.counts.rejected === 5 && s.depth === 0);
      expect(st.lastRejection).toMatchObject({ code: 'UPSTREAM_REJECTED', reason: 'future_timestamp', status: 422 });
      const seen = (await page.evaluate(() => (window as unknown as H).harness.statusLog()))
        .map((s) => s.lastRejection?.reason)
        .filter((r, i, a): r is string => r !== undefined && r !== a[i - 1]);
      expect(seen).toEqual(injected.map(([reason]) => reason));

      // A stale timestamp is recorded for the record but can never open the door.
      await page.evaluate(
        (p) => (window as unknown as H).harness.inject({ payload: p, sign: true }),
        base('', '0', String(Date.now() - 60_000)),
      );
      const after = await waitStatus(page, (s) => s.counts.delivered === 2);
      expect(after.lastDelivered).toMatchObject({ stale: true, actuate: false });
      expect(after.lastError).toMatchObject({ code: 'UPSTREAM_STALE' });

      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      const last = await waitStatus(page, (s) => s.counts.delivered === 3);
      expect(last.lastDelivered).toMatchObject({ stale: false, actuate: true });

      const log = captured('k-reject');
      const rejectedReasons = captured()
        .filter(
          (c) =>
            c.route === '/decisions' && c.result === 'rejected' && (c.kiosk === 'k-reject' || c.kiosk === undefined),
        )
        .map((c) => c.reason);
      expect(rejectedReasons).toEqual(
        expect.arrayContaining(['bad_signature', 'too_large', 'extra_field', 'replay', 'future_timestamp']),
      );
      expect(
        log.filter((c) => c.result === 'accepted' && c.route === '/decisions').map((c) => [c.stale, c.actuate]),
      ).toEqual([
        [false, true],
        [true, false],
        [false, true],
      ]);
      expect(
        receiver
          .logLines()
          .filter((l) => l.event === 'rejected')
          .map((l) => l.reason),
      ).toEqual(expect.arrayContaining(['bad_signature', 'too_large', 'extra_field', 'replay', 'future_timestamp']));
    } finally {
      await context.close();
    }
  });

  it('admits only the kiosk origin (CORS) and only the configured upstream (CSP)', async () => {
    const other = kioskOrigin.replace('127.0.0.1', 'localhost');
    const { context, page } = await newKioskPage(other);
    try {
      const res = await page.evaluate(
        (u) => (window as unknown as H).harness.rawFetch(`${u}/decisions`, { method: 'POST', body: '{}' }),
        receiverUrl,
      );
      expect(res.error).toMatch(/TypeError/);
      await until(() => receiver.logLines().some((l) => l.reason === 'origin_not_allowed'));

      const elsewhere = `http://127.0.0.1:${await freePort()}/`;
      const blocked = await page.evaluate((u) => (window as unknown as H).harness.rawFetch(u), elsewhere);
      expect(blocked.error).toMatch(/TypeError/);
      const violations = await page.evaluate(() => (window as unknown as H).harness.cspViolations());
      expect(violations).toContainEqual({ blockedURI: elsewhere, directive: 'connect-src' });
    } finally {
      await context.close();
    }
  });

  it("replays the queue on the browser's online event, not only on its timer", async () => {
    const { context, page } = await newKioskPage();
    try {
      // A one-minute backoff: within this test only the online event can explain a delivery.
      await openAndPair(page, 'k-online', { backoff: { baseMs: 60_000, maxMs: 60_000 } });
      await context.setOffline(true);
      await page.evaluate(() => (window as unknown as H).harness.decide('grant'));
      const off = await waitStatus(page, (s) => s.problem?.code === 'UPSTREAM_UNREACHABLE');
      expect(off.depth).toBe(1);
      const t0 = Date.now();
      await context.setOffline(false);
      await waitStatus(page, (s) => s.counts.delivered === 1 && s.depth === 0, 10_000);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(
        captured('k-online')
          .filter((c) => c.route === '/decisions')
          .map((c) => [c.result, c.seq]),
      ).toEqual([['accepted', 1]]);
    } finally {
      await context.close();
    }
  });
});
