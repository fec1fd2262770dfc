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
  return serve({ host: '127.0.0.1', port, dir: distDir });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  pageErrors: string[];
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
}

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
  const extra = [`--log-net-log=${netLogPath}`, '--net-log-capture-mode=Default'];
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
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    context,
    page,
    pageErrors,
    netLogPath,
    close: async () => {
      // Playwright's close sometimes hangs after Chromium exited: bound it.
      await Promise.race([context.close(), new Promise((r) => setTimeout(r, 10_000))]);
      if (!opts.userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Every URL Chromium's network stack was asked to fetch, from its net-log (written when the browser exits). */
export function netLogUrls(path: string): string[] {
  if (!existsSync(path)) throw new Error(`no net-log at ${path}`);
  let text = readFileSync(path, 'utf8').trim();
  // A log cut short at exit lacks the closing brackets; the events array is still readable.
  if (!text.endsWith('}')) text = text.replace(/,?\s*$/, '') + ']}';
  const log = JSON.parse(text) as { events: { params?: { url?: string; host?: string } }[] };
  const urls = new Set<string>();
  for (const ev of log.events) {
    const u = ev.params?.url;
    if (typeof u === 'string') urls.add(u);
    const host = ev.params?.host;
    if (typeof host === 'string') urls.add(`host:${host}`);
  }
  return [...urls];
}

/** Hosts contacted, from net-log URLs (data:, blob: and chrome internals excluded). */
export function contactedHosts(urls: string[]): string[] {
  const hosts = new Set<string>();
  for (const u of urls) {
    if (u.startsWith('host:')) {
      hosts.add(u.slice(5).replace(/:\d+$/, ''));
      continue;
    }
    if (/^(data|blob|chrome|chrome-extension|about|devtools):/.test(u)) continue;
    try {
      hosts.add(new URL(u).hostname);
    } catch {
      hosts.add(u);
    }
  }
  return [...hosts].sort();
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
