/**
 * e2e harness: serves the built kiosk over loopback, launches Debian's Chromium with a fresh profile (and a fake
 * camera when asked), and records the browser's own network log (Chromium --log-net-log) so a test can prove which
 * hosts the kiosk contacted, service worker included. CSP violations are collected in the page.
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../scripts/serve.mjs';
import { chromiumArgs, CHROMIUM_PATH } from '../helpers/chromium.mjs';

export interface KioskServer {
  url: string;
  close: () => Promise<void>;
}

export async function startKiosk(distDir: string, port = 0): Promise<KioskServer> {
  // The e2e build (dist-e2e/, with its settable clock): the one server allowed to hand it out.
  return serve({ host: '127.0.0.1', port, dir: distDir, allowTestBuild: true });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  pageErrors: string[];
  /** Console lines about CSP refusals (from pages, workers and the service worker). */
  cspConsole: string[];
  netLogPath: string;
  close: () => Promise<void>;
}

export interface LaunchOptions {
  fakeCamera?: string | null;
  /** Deny camera permission prompts (with a fake device present). */
  denyCamera?: boolean;
  webgpu?: boolean;
  /** Reuse a profile directory (to reload after the server stopped); a fresh one otherwise. */
  userDataDir?: string;
  /** More Chromium switches (e.g. --host-resolver-rules, --ignore-certificate-errors-spki-list for one CA). */
  extraArgs?: string[];
}

/**
 * Records, in every page, each time a screen section (admin, guard, login) was taken out of the page and put back in
 * the same moment: that drops the focus and whatever the next keystroke was meant for (the cause of the stop-28 CI
 * set-up failures). setupKiosk asserts none happened.
 */
const SCREEN_CHURN_RECORDER = `
  window.__screenChurn = [];
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.removedNodes) {
      const id = n.nodeType === 1 ? n.getAttribute('data-testid') : null;
      if (n.isConnected && (id === 'admin' || id === 'guard' || id === 'login')) window.__screenChurn.push(id + ' @' + Math.round(performance.now()) + ' ms');
    }
  }).observe(document, { childList: true, subtree: true });
`;

/** Adds a listener in every page that records CSP violations where the test can read them. */
const CSP_RECORDER = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push({ blockedURI: e.blockedURI, directive: e.violatedDirective });
  });
`;

export async function launch(opts: LaunchOptions = {}): Promise<Browser> {
  const userDataDir = opts.userDataDir ?? mkdtempSync(join(tmpdir(), 'kiosk-profile-'));
  const netLogPath = join(userDataDir, `netlog-${Date.now()}.json`);
  const extra = [`--log-net-log=${netLogPath}`, '--net-log-capture-mode=Default', ...(opts.extraArgs ?? [])];
  if (opts.denyCamera) extra.push('--deny-permission-prompts');
  const args = chromiumArgs({ fakeCamera: opts.denyCamera ? null : (opts.fakeCamera ?? null), webgpu: opts.webgpu, extra });
  if (opts.denyCamera) args.push('--use-fake-device-for-media-stream');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args,
    viewport: { width: 1024, height: 768 },
  });
  await context.addInitScript(CSP_RECORDER);
  await context.addInitScript(SCREEN_CHURN_RECORDER);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  const cspConsole: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Workers and the service worker report CSP refusals only on the console.
  context.on('console', (m) => {
    if (/Content Security Policy|Refused to (connect|load)/i.test(m.text())) cspConsole.push(m.text());
  });
  return {
    context,
    page,
    pageErrors,
    cspConsole,
    netLogPath,
    close: async () => {
      // Playwright's close sometimes hangs after Chromium exited: bound it.
      await Promise.race([context.close(), new Promise((r) => setTimeout(r, 10_000))]);
      if (!opts.userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface NetRequest {
  url: string;
  /** The origin that asked for it, or 'not an origin' for the browser's own requests and typed navigations. */
  initiator: string;
}

/** Every request Chromium's network stack started, from its net-log (complete once the browser has exited). */
export function netLogRequests(path: string): NetRequest[] {
  if (!existsSync(path)) throw new Error(`no net-log at ${path}`);
  let text = readFileSync(path, 'utf8').trim();
  // A log cut short at exit lacks the closing brackets; the events array is still readable.
  if (!text.endsWith('}')) text = text.replace(/,?\s*$/, '') + ']}';
  const log = JSON.parse(text) as {
    constants: { logEventTypes: Record<string, number> };
    events: { type: number; params?: { url?: string; initiator?: string } }[];
  };
  const startJob = log.constants.logEventTypes['URL_REQUEST_START_JOB'];
  const seen = new Map<string, NetRequest>();
  for (const ev of log.events) {
    if (ev.type !== startJob || typeof ev.params?.url !== 'string') continue;
    const r = { url: ev.params.url, initiator: ev.params.initiator ?? 'not an origin' };
    seen.set(`${r.initiator} ${r.url}`, r);
  }
  return [...seen.values()];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * Splits requests to non-loopback hosts into those the kiosk (its page, workers or service worker) started and
 * those Chromium started for itself (component updater, account checks: initiator 'not an origin'). The kiosk's
 * list must be empty; the browser's is reported by name because no command-line switch stops it here.
 */
export function foreignRequests(reqs: NetRequest[]): { kiosk: string[]; browser: string[] } {
  const kiosk = new Set<string>();
  const browser = new Set<string>();
  for (const r of reqs) {
    let host: string;
    try {
      const u = new URL(r.url);
      if (!/^(https?|wss?):$/.test(u.protocol)) continue;
      host = u.hostname;
    } catch {
      continue;
    }
    if (LOOPBACK.test(host)) continue;
    (r.initiator === 'not an origin' ? browser : kiosk).add(`${host} (${r.url.split('?')[0]})`);
  }
  return { kiosk: [...kiosk].sort(), browser: [...browser].sort() };
}

export async function cspViolations(page: Page): Promise<{ blockedURI: string; directive: string }[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: { blockedURI: string; directive: string }[] }).__cspViolations ?? []);
}

export function iou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.w, b.x + b.w);
  const y2 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a.w * a.h + b.w * b.h - inter);
}
