/**
 * Moving bundles in real Chromium (src/sync/transport.ts): a file input and a drop hand over exactly the bytes the
 * admin exported (and they open), oversize and empty files fail clearly, the download carries the right name and
 * bytes, and the LAN pull talks to the upstream origin only — its responses injected at Chromium's network layer
 * (CDP Fetch domain) so the real fetch, CORS and streaming paths run.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { cdp, userEvent } from 'vitest/browser';
import type {} from '@vitest/browser-playwright';
import {
  BUNDLE_MIME,
  MAX_BUNDLE_BYTES,
  bundleBlob,
  bundleFileName,
  downloadBundle,
  exportBundle,
  generateAdminKeyPair,
  generateKioskKeyPair,
  openBundle,
  publicKeyId,
  pullBundle,
  readBundleFile,
  readBundleFromDrop,
  readBundleFromInput,
} from '../../src/sync';
import { KioskError, type ErrorCode } from '../../src/shared/errors';
import type { Subject } from '../../src/shared/types';

const UPSTREAM = 'http://127.0.0.1:8787';

let admin: CryptoKeyPair;
let kiosk: CryptoKeyPair;
let bundle: Uint8Array<ArrayBuffer>;

const person: Subject = {
  id: 'p1',
  label: 'Ada',
  list: 'allow',
  templates: { fr_feature: [new Float32Array(512).map((_, i) => Math.cos(i) / 22.6)] },
  plates: [],
  createdAt: 1,
  updatedAt: 2,
  version: 3,
};

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (e instanceof KioskError) return e.code;
    throw e;
  }
}

beforeAll(async () => {
  [admin, kiosk] = await Promise.all([generateAdminKeyPair(), generateKioskKeyPair()]);
  bundle = await exportBundle({
    subjects: [person],
    version: 3,
    adminSigningKey: admin.privateKey,
    adminPublicKey: admin.publicKey,
    recipients: [kiosk.publicKey],
  });
});

const openAsKiosk = (bytes: Uint8Array) =>
  openBundle(bytes, {
    pinnedAdminKeys: admin.publicKey,
    kioskPrivateKey: kiosk.privateKey,
    kioskPublicKey: kiosk.publicKey,
    installedVersion: 0,
  });

describe('files', () => {
  test('names and blob', async () => {
    expect(bundleFileName({ kind: 'full', version: 12 })).toBe('watchlist-v12.kwb');
    expect(bundleFileName({ kind: 'delta', version: 12, baseVersion: 10 })).toBe('watchlist-v12-from-v10.kwb');
    const blob = bundleBlob(bundle);
    expect(blob.type).toBe(BUNDLE_MIME);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(bundle);
  });

  test('a file input hands over the exported bytes, which open', async () => {
    const input = document.createElement('input');
    input.type = 'file';
    document.body.append(input);
    try {
      await userEvent.upload(input, new File([bundle], 'watchlist-v3.kwb', { type: BUNDLE_MIME }));
      const bytes = await readBundleFromInput(input);
      expect(bytes).toEqual(bundle);
      const opened = await openAsKiosk(bytes);
      expect(opened.kind === 'full' && opened.subjects[0]!.label).toBe('Ada');
    } finally {
      input.remove();
    }
  });

  test('a drop hands over the one dropped file; two files or none are refused', async () => {
    const zone = document.createElement('div');
    document.body.append(zone);
    const drop = (files: File[]) =>
      new Promise<Uint8Array>((resolve, reject) => {
        zone.addEventListener('drop', (e) => readBundleFromDrop(e).then(resolve, reject), { once: true });
        const dt = new DataTransfer();
        for (const f of files) dt.items.add(f);
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
    try {
      const file = new File([bundle], 'w.kwb');
      expect(await drop([file])).toEqual(bundle);
      expect(await codeOf(drop([file, file]))).toBe('INPUT_INVALID');
      expect(await codeOf(drop([]))).toBe('INPUT_INVALID');
    } finally {
      zone.remove();
    }
  });

  test('size cap: refused before reading, at the default 256 MiB too; empty files are invalid', async () => {
    expect(await codeOf(readBundleFile(new Blob([bundle]), { maxBytes: bundle.length - 1 }))).toBe('BUNDLE_TOO_LARGE');
    expect(await readBundleFile(new Blob([bundle]), { maxBytes: bundle.length })).toEqual(bundle);
    expect(await codeOf(readBundleFile(new Blob([])))).toBe('BUNDLE_INVALID');
    const mib = new Uint8Array(1024 * 1024);
    const huge = new Blob([...Array.from({ length: MAX_BUNDLE_BYTES / mib.length }, () => mib), new Uint8Array(1)]);
    expect(huge.size).toBe(MAX_BUNDLE_BYTES + 1);
    const t0 = performance.now();
    const err = await readBundleFile(huge).catch((e: unknown) => e as KioskError);
    expect(err).toMatchObject({
      code: 'BUNDLE_TOO_LARGE',
      details: { size: MAX_BUNDLE_BYTES + 1, max: MAX_BUNDLE_BYTES },
    });
    // Refused from the size alone: nowhere near the time reading 256 MiB would take.
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect(
      openBundle(new Uint8Array(MAX_BUNDLE_BYTES + 1), { pinnedAdminKeys: admin.publicKey, installedVersion: 0 }),
    ).rejects.toMatchObject({
      code: 'BUNDLE_TOO_LARGE',
    });
  });

  test('download starts with the file name and the exact bytes', async () => {
    const session = cdp();
    await session.send('Page.enable');
    let resolveStarted: (e: { url: string; suggestedFilename: string }) => void = () => undefined;
    const started = new Promise<{ url: string; suggestedFilename: string }>((resolve) => (resolveStarted = resolve));
    session.on('Page.downloadWillBegin', (e: { url: string; suggestedFilename: string }) => resolveStarted(e));
    downloadBundle(bundle, 'watchlist-v3.kwb');
    const { url, suggestedFilename } = await started;
    expect(suggestedFilename).toBe('watchlist-v3.kwb');
    expect(url).toMatch(/^blob:/);
    // The object URL is still alive for a moment after the click: read what was handed to the download.
    expect(new Uint8Array(await (await fetch(url)).arrayBuffer())).toEqual(bundle);
  });
});

describe('LAN pull', () => {
  interface Paused {
    requestId: string;
    request: { url: string; method: string; headers: Record<string, string> };
  }
  type Reply = { status: number; headers?: Record<string, string>; body?: Uint8Array } | 'fail' | 'hang';
  const session = () => cdp();
  const seen: Paused['request'][] = [];
  let replies: Reply[] = [];
  const hung: string[] = [];

  function b64(bytes: Uint8Array): string {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  async function onPaused(e: Paused): Promise<void> {
    seen.push(e.request);
    const reply = replies.shift() ?? { status: 500 };
    if (reply === 'hang') {
      hung.push(e.requestId);
      return;
    }
    if (reply === 'fail') {
      await session().send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'ConnectionRefused' });
      return;
    }
    const headers = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store', ...reply.headers };
    await session().send('Fetch.fulfillRequest', {
      requestId: e.requestId,
      responseCode: reply.status,
      responseHeaders: Object.entries(headers).map(([name, value]) => ({ name, value })),
      body: reply.body ? b64(reply.body) : '',
    });
  }

  beforeAll(async () => {
    session().on('Fetch.requestPaused', (e: Paused) => void onPaused(e));
    await session().send('Fetch.enable', { patterns: [{ urlPattern: `${UPSTREAM}/*`, requestStage: 'Request' }] });
    // Interception can take effect a moment after Fetch.enable returns: probe until a request is seen paused.
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      replies = [{ status: 204 }];
      await pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM }).catch(() => undefined);
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.length).toBeGreaterThan(0);
    seen.length = 0;
    replies = [];
    return async () => {
      await session().send('Fetch.disable');
    };
  });

  afterEach(async () => {
    for (const requestId of hung.splice(0))
      await session()
        .send('Fetch.failRequest', { requestId, errorReason: 'Aborted' })
        .catch(() => undefined);
    replies = [];
    seen.length = 0;
  });

  test('200: the bytes arrive intact and open; the request names the installed version and this kiosk, with no credentials', async () => {
    replies = [
      { status: 200, headers: { 'Content-Type': BUNDLE_MIME, 'Content-Length': String(bundle.length) }, body: bundle },
    ];
    const kid = await publicKeyId(kiosk.publicKey);
    const bytes = await pullBundle({ installedVersion: 2, kioskKeyId: kid, upstreamOrigin: UPSTREAM });
    expect(bytes).toEqual(bundle);
    expect((await openAsKiosk(bytes!)).version).toBe(3);
    expect(seen).toHaveLength(1);
    const url = new URL(seen[0]!.url);
    expect(url.origin + url.pathname).toBe(`${UPSTREAM}/watchlist/bundle`);
    expect(url.searchParams.get('since')).toBe('2');
    expect(url.searchParams.get('kiosk')).toMatch(/^[0-9a-f]{64}$/);
    expect(seen[0]!.method).toBe('GET');
    const headerNames = Object.keys(seen[0]!.headers).map((h) => h.toLowerCase());
    expect(headerNames).not.toContain('cookie');
    expect(headerNames).not.toContain('referer');
  });

  test('204 and 404 mean nothing newer; errors map to upstream codes', async () => {
    replies = [{ status: 204 }, { status: 404 }, { status: 503 }, { status: 500 }, { status: 403 }, 'fail'];
    expect(await pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM })).toBeUndefined();
    expect(await pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM })).toBeUndefined();
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM }))).toBe('UPSTREAM_BUSY');
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM }))).toBe('UPSTREAM_SERVER_ERROR');
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM }))).toBe('UPSTREAM_REJECTED');
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM }))).toBe('UPSTREAM_UNREACHABLE');
  });

  test('a redirect is not followed', async () => {
    replies = [{ status: 302, headers: { Location: 'http://127.0.0.1:9/elsewhere' } }];
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM }))).toBe('UPSTREAM_UNREACHABLE');
    expect(seen.map((r) => new URL(r.url).port)).toEqual(['8787']);
  });

  test('oversized responses are refused, with or without a Content-Length', async () => {
    const big = new Uint8Array(5000);
    replies = [
      { status: 200, headers: { 'Content-Length': '5000' }, body: big },
      { status: 200, headers: { 'Content-Type': BUNDLE_MIME }, body: big },
    ];
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, maxBytes: 4096 }))).toBe(
      'BUNDLE_TOO_LARGE',
    );
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, maxBytes: 4096 }))).toBe(
      'BUNDLE_TOO_LARGE',
    );
  });

  test('a receiver that never answers times out; the caller can abort', async () => {
    replies = ['hang', 'hang'];
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, timeoutMs: 300 }))).toBe(
      'UPSTREAM_UNREACHABLE',
    );
    const ctl = new AbortController();
    const p = pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 100);
    expect(await codeOf(p)).toBe('WORKER_ABORTED');
  });
});
