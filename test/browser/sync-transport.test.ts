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
import { pullStatement } from '../../src/decisions';
import { generateSigningKey, signText, verifyText } from '../../src/decisions/signer';
import type { Subject } from '../../src/shared/types';

const UPSTREAM = 'http://127.0.0.1:8787';

let admin: CryptoKeyPair;
let kiosk: CryptoKeyPair;
/** The kiosk's decision key: what DecisionService.signPull signs pulls with. */
let decisionKey: CryptoKeyPair;
const sign = async (since: number, key: string | undefined) => {
  const ts = Date.now();
  return {
    kiosk: 'lobby-1',
    ts,
    sig: await signText(decisionKey.privateKey, pullStatement('lobby-1', since, key, ts)),
  };
};
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
  [admin, kiosk, decisionKey] = await Promise.all([
    generateAdminKeyPair(),
    generateKioskKeyPair(),
    generateSigningKey(),
  ]);
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
      await pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign }).catch(() => undefined);
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
    const bytes = await pullBundle({ installedVersion: 2, kioskKeyId: kid, upstreamOrigin: UPSTREAM, sign });
    expect(bytes).toEqual(bundle);
    expect((await openAsKiosk(bytes!)).version).toBe(3);
    expect(seen).toHaveLength(1);
    const url = new URL(seen[0]!.url);
    expect(url.origin + url.pathname).toBe(`${UPSTREAM}/watchlist/bundle`);
    expect(url.searchParams.get('since')).toBe('2');
    expect(url.searchParams.get('kiosk')).toMatch(/^[0-9a-f]{64}$/);
    // Signed by the decision key over exactly what the query says (the receiver rebuilds the same statement).
    expect(url.searchParams.get('id')).toBe('lobby-1');
    const ts = Number(url.searchParams.get('ts'));
    expect(Math.abs(Date.now() - ts)).toBeLessThan(60_000);
    const statement = pullStatement('lobby-1', 2, url.searchParams.get('kiosk')!, ts);
    expect(await verifyText(decisionKey.publicKey, statement, url.searchParams.get('sig')!)).toBe(true);
    expect(
      await verifyText(
        decisionKey.publicKey,
        pullStatement('lobby-1', 3, url.searchParams.get('kiosk')!, ts),
        url.searchParams.get('sig')!,
      ),
    ).toBe(false);
    expect(seen[0]!.method).toBe('GET');
    const headerNames = Object.keys(seen[0]!.headers).map((h) => h.toLowerCase());
    expect(headerNames).not.toContain('cookie');
    expect(headerNames).not.toContain('referer');
  });

  test('204 and 404 mean nothing newer; errors map to upstream codes', async () => {
    replies = [{ status: 204 }, { status: 404 }, { status: 503 }, { status: 500 }, { status: 403 }, 'fail'];
    expect(await pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM, sign })).toBeUndefined();
    expect(await pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM, sign })).toBeUndefined();
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM, sign }))).toBe('UPSTREAM_BUSY');
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM, sign }))).toBe(
      'UPSTREAM_SERVER_ERROR',
    );
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM, sign }))).toBe('UPSTREAM_REJECTED');
    expect(await codeOf(pullBundle({ installedVersion: 3, upstreamOrigin: UPSTREAM, sign }))).toBe(
      'UPSTREAM_UNREACHABLE',
    );
  });

  test("the receiver's refusals keep its reason: not paired, revoked, expired", async () => {
    const json = (status: number, reason: string) => ({
      status,
      headers: { 'Content-Type': 'application/json' },
      body: new TextEncoder().encode(JSON.stringify({ ok: false, reason })),
    });
    replies = [json(403, 'not_paired'), json(401, 'kiosk_revoked'), json(401, 'pull_expired')];
    const details = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(KioskError);
      return { code: (e as KioskError).code, reason: (e as KioskError).details?.reason };
    };
    const pull = () => pullBundle({ installedVersion: 1, upstreamOrigin: UPSTREAM, sign });
    expect(await details(pull())).toEqual({ code: 'UPSTREAM_NOT_PAIRED', reason: 'not_paired' });
    expect(await details(pull())).toEqual({ code: 'UPSTREAM_REJECTED', reason: 'kiosk_revoked' });
    expect(await details(pull())).toEqual({ code: 'UPSTREAM_REJECTED', reason: 'pull_expired' });
  });

  test('a pull that cannot be signed sends nothing', async () => {
    const unsigned = () => Promise.reject(new KioskError('UPSTREAM_NOT_PAIRED'));
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign: unsigned }))).toBe(
      'UPSTREAM_NOT_PAIRED',
    );
    expect(seen).toHaveLength(0);
  });

  test('a redirect is not followed', async () => {
    replies = [{ status: 302, headers: { Location: 'http://127.0.0.1:9/elsewhere' } }];
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign }))).toBe(
      'UPSTREAM_UNREACHABLE',
    );
    expect(seen.map((r) => new URL(r.url).port)).toEqual(['8787']);
  });

  test('oversized responses are refused, with or without a Content-Length', async () => {
    const big = new Uint8Array(5000);
    replies = [
      { status: 200, headers: { 'Content-Length': '5000' }, body: big },
      { status: 200, headers: { 'Content-Type': BUNDLE_MIME }, body: big },
    ];
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign, maxBytes: 4096 }))).toBe(
      'BUNDLE_TOO_LARGE',
    );
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign, maxBytes: 4096 }))).toBe(
      'BUNDLE_TOO_LARGE',
    );
  });

  test('a receiver that never answers times out; the caller can abort', async () => {
    replies = ['hang', 'hang'];
    expect(await codeOf(pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign, timeoutMs: 300 }))).toBe(
      'UPSTREAM_UNREACHABLE',
    );
    const ctl = new AbortController();
    const p = pullBundle({ installedVersion: 0, upstreamOrigin: UPSTREAM, sign, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 100);
    expect(await codeOf(p)).toBe('WORKER_ABORTED');
  });
});
