/**
 * Watchlist bundles on the reference receiver (receiver/bundles.mjs and the /watchlist/bundle routes).
 *
 * The receiver's header reader is written from docs/sync.md alone; here it is held against src/sync's own parser
 * (inspectBundle) on real bundles made by src/sync's exportBundle in Node's WebCrypto, on frames built byte by
 * byte from the document, and on a few hundred damaged copies: both must accept and refuse the same files and read
 * the same fields. Then the pure choices (which bundle a pull gets, which publish is refused, who counts as an
 * admin caller), the store on a real folder, and the real receiver CLI over HTTP: publish by PUT and by the
 * `publish` command, pull with 200/204/404, CORS, no-store and the admin-key check. The loopback guard is tested
 * as a function: tests send traffic to loopback addresses only.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLES_DIR,
  BUNDLE_MIME,
  BundleFormatError,
  BundleStore,
  MAX_HEADER_BYTES,
  loadAdminKey,
  publishProblem,
  readBundleHeader,
  selectBundle,
  type PublishedBundle,
} from '../../receiver/bundles.mjs';
import { adminVerdict } from '../../receiver/admin.mjs';
import {
  createSiteKey,
  exportBundle,
  exportPublicKey,
  generateAdminKeyPair,
  generateKioskKeyPair,
  inspectBundle,
  keyFingerprint,
  publicKeyId,
} from '../../src/sync';
import type { Subject } from '../../src/shared/types';
import {
  ROOT,
  bearer,
  makeKiosk,
  pairBody,
  post,
  sign,
  startReceiver,
  tempDir,
  type NodeKiosk,
  type ReceiverProcess,
} from './helpers';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function subject(id: string, version: number): Subject {
  return {
    id,
    label: `label ${id}`,
    list: 'deny',
    templates: { fr_feature: [new Float32Array(512).fill(0.044)] },
    plates: [],
    createdAt: 1,
    updatedAt: version,
    version,
  };
}

let admin: CryptoKeyPair;
let otherAdmin: CryptoKeyPair;
let kioskA: CryptoKeyPair;
let kioskB: CryptoKeyPair;
let idA: string;
let idB: string;

/** Bundles made by src/sync, signed by `admin` unless said otherwise. */
async function full(version: number, recipients: CryptoKey[], signer = admin): Promise<Buffer> {
  const bytes = await exportBundle({
    subjects: [subject(`s${version}`, version)],
    version,
    adminSigningKey: signer.privateKey,
    adminPublicKey: signer.publicKey,
    recipients,
  });
  return Buffer.from(bytes);
}

async function delta(base: number, version: number, recipients: CryptoKey[]): Promise<Buffer> {
  const bytes = await exportBundle({
    changes: { upserts: [subject(`s${version}`, version)], deletions: [`s${base}`] },
    baseVersion: base,
    version,
    adminSigningKey: admin.privateKey,
    adminPublicKey: admin.publicKey,
    recipients,
  });
  return Buffer.from(bytes);
}

beforeAll(async () => {
  [admin, otherAdmin, kioskA, kioskB] = await Promise.all([
    generateAdminKeyPair(),
    generateAdminKeyPair(),
    generateKioskKeyPair(),
    generateKioskKeyPair(),
  ]);
  idA = hex(await publicKeyId(kioskA.publicKey));
  idB = hex(await publicKeyId(kioskB.publicKey));
});

// ---------------------------------------------------------------------------------------------------------------
// A bundle frame written from docs/sync.md's tables, with random bytes where the receiver never looks.

type Entry = { site: number } | { kiosk: string };
interface Frame {
  format?: number;
  kind?: number;
  reserved?: number;
  version?: number;
  base?: number;
  createdAt?: number;
  ctLen?: number;
  entries?: Entry[];
  /** Overrides the recipient count field. */
  count?: number;
  ephemeralPrefix?: number;
  entryType?: number;
  /** Bytes added (positive) or removed (negative) at the end. */
  lengthDelta?: number;
}

function u64le(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(v % 0x1_0000_0000, 0);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), 4);
  return b;
}

function frame(f: Frame = {}): Buffer {
  const entries = f.entries ?? [{ kiosk: 'ab'.repeat(32) }];
  const ctLen = f.ctLen ?? 48;
  const fixed = Buffer.concat([
    Buffer.from([0x89, 0x4b, 0x57, 0x42, 0x0d, 0x0a, 0x1a, 0x0a, f.format ?? 1, f.kind ?? 1]),
    Buffer.from([f.reserved ?? 0, 0]),
    u64le(f.version ?? 7),
    u64le(f.base ?? 0),
    u64le(f.createdAt ?? 1_795_000_000_000),
    randomBytes(32), // issuer key id
    randomBytes(12), // IV
    Buffer.from(Uint32Array.of(ctLen).buffer),
    Buffer.from(Uint16Array.of(f.count ?? entries.length).buffer),
  ]);
  expect(fixed.length).toBe(86);
  const parts = entries.map((e) => {
    if ('site' in e) {
      const b = Buffer.concat([Buffer.from([1]), Buffer.from(Uint32Array.of(e.site).buffer), randomBytes(56)]);
      expect(b.length).toBe(61);
      return b;
    }
    const b = Buffer.concat([
      Buffer.from([f.entryType ?? 2]),
      Buffer.from(e.kiosk, 'hex'),
      Buffer.from([f.ephemeralPrefix ?? 4]),
      randomBytes(64 + 40),
    ]);
    expect(b.length).toBe(138);
    return b;
  });
  const whole = Buffer.concat([fixed, ...parts, randomBytes(ctLen), randomBytes(64)]);
  const d = f.lengthDelta ?? 0;
  return d >= 0 ? Buffer.concat([whole, randomBytes(d)]) : whole.subarray(0, whole.length + d);
}

/** What both parsers say about a file: 'refused', or the fields they read. */
function receiverView(b: Uint8Array): unknown {
  try {
    const h = readBundleHeader(b);
    const { headerLength: _h, ciphertextLength: _c, ...rest } = h;
    return rest;
  } catch (e) {
    if (e instanceof BundleFormatError) return 'refused';
    throw e;
  }
}

function kioskView(b: Uint8Array): unknown {
  try {
    return inspectBundle(b);
  } catch (e) {
    if ((e as { code?: string }).code === 'BUNDLE_INVALID') return 'refused';
    throw e;
  }
}

describe('the receiver reads bundle headers as src/sync does', () => {
  it('reads real full, delta and site-key bundles exactly as inspectBundle does, also from a header-only prefix', async () => {
    const site = await createSiteKey('mauve otter drives 42 trams');
    const made = [
      await full(3, [kioskA.publicKey, kioskB.publicKey]),
      await delta(3, 4, [kioskB.publicKey]),
      Buffer.from(
        await exportBundle({
          subjects: [subject('x', 9)],
          version: 9,
          adminSigningKey: admin.privateKey,
          adminPublicKey: admin.publicKey,
          recipients: [kioskA.publicKey],
          siteKey: site,
          createdAt: 1_795_000_123_456,
        }),
      ),
    ];
    for (const b of made) {
      const r = readBundleHeader(b);
      expect(receiverView(b)).toEqual(kioskView(b));
      expect(readBundleHeader(b.subarray(0, r.headerLength), b.length)).toEqual(r);
      expect(readBundleHeader(b.subarray(0, Math.min(b.length, MAX_HEADER_BYTES)), b.length)).toEqual(r);
      expect(r.headerLength + r.ciphertextLength + 64).toBe(b.length);
    }
    expect(readBundleHeader(made[0]!)).toMatchObject({ kind: 'full', version: 3, kioskKeyIds: [idA, idB] });
    expect(readBundleHeader(made[1]!)).toMatchObject({ kind: 'delta', version: 4, baseVersion: 3, siteEntries: 0 });
    expect(readBundleHeader(made[2]!)).toMatchObject({ siteEntries: 1, createdAt: 1_795_000_123_456 });
    expect(readBundleHeader(made[0]!).issuerKeyId).toBe(hex(await publicKeyId(admin.publicKey)));
  });

  /** null: well formed; '*': refused for any reason; else the receiver's reason. */
  const cases: [string, Frame, string | null][] = [
    ['well formed, one kiosk', {}, null],
    [
      'well formed, 4 site entries + 2 kiosks',
      { entries: [...Array(4).fill({ site: 600_000 }), { kiosk: '01'.repeat(32) }, { kiosk: '02'.repeat(32) }] },
      null,
    ],
    ['well formed delta from 0', { kind: 2, version: 5, base: 0 }, null],
    ['well formed, largest safe version', { version: Number.MAX_SAFE_INTEGER }, null],
    ['format 2', { format: 2 }, 'unsupported-format'],
    ['kind 3', { kind: 3 }, 'kind'],
    ['reserved bytes set', { reserved: 1 }, 'reserved'],
    ['version 0', { version: 0 }, 'version'],
    ['version above 2^53-1', { version: 2 ** 53 }, 'version-too-large'],
    ['full with a base version', { base: 2 }, 'base-version'],
    ['delta whose base is not below its version', { kind: 2, version: 5, base: 5 }, 'base-version'],
    ['ciphertext shorter than the GCM tag', { ctLen: 15 }, 'ciphertext-length'],
    ['no recipients', { entries: [], count: 0 }, 'recipient-count'],
    ['1025 recipients claimed', { count: 1025 }, 'recipient-count'],
    ['5 site entries', { entries: Array(5).fill({ site: 600_000 }) }, 'site-entry-count'],
    ['PBKDF2 below 600 000', { entries: [{ site: 599_999 }] }, 'pbkdf2-iterations'],
    ['PBKDF2 above 10 000 000', { entries: [{ site: 10_000_001 }] }, 'pbkdf2-iterations'],
    ['unknown entry type', { entryType: 3 }, 'entry-type'],
    ['compressed ephemeral point', { ephemeralPrefix: 2 }, 'ephemeral-key'],
    ['one byte short', { lengthDelta: -1 }, 'truncated'],
    ['one byte too many', { lengthDelta: 1 }, 'trailing-bytes'],
    // The parser then reads ciphertext as entries: refused, for whichever reason the random bytes give first.
    ['more recipients claimed than present', { count: 3 }, '*'],
  ];
  it.each(cases)('spec frame: %s', (_name, f, reason) => {
    const b = frame(f);
    if (reason === null) {
      expect(receiverView(b)).toEqual(kioskView(b));
      expect(receiverView(b)).not.toBe('refused');
    } else {
      if (reason === '*') expect(() => readBundleHeader(b)).toThrow(BundleFormatError);
      else expect(() => readBundleHeader(b)).toThrow(expect.objectContaining({ reason }));
      expect(kioskView(b)).toBe('refused');
    }
  });

  it('refuses what is not a bundle at all', () => {
    for (const b of [Buffer.alloc(0), Buffer.from('not a bundle'), frame().subarray(0, 40)]) {
      expect(receiverView(b)).toBe('refused');
      expect(kioskView(b)).toBe('refused');
    }
    const f = frame();
    const lf = Buffer.concat([f.subarray(0, 4), f.subarray(5)]); // a text-mode transfer turned CR LF into LF
    expect(() => readBundleHeader(lf)).toThrow(expect.objectContaining({ reason: 'magic' }));
    expect(kioskView(lf)).toBe('refused');
  });

  it('agrees with src/sync on 600 randomly damaged copies of a real bundle', async () => {
    const real = await full(12, [kioskA.publicKey, kioskB.publicKey]);
    const headerLength = readBundleHeader(real).headerLength;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const b = Buffer.from(real);
      const r = randomBytes(8);
      const hits = 1 + (r[0]! % 3);
      for (let k = 0; k < hits; k++) {
        // Mostly the fixed header (where the framing lives), sometimes anywhere in the header.
        const at = r.readUInt16LE(1 + 2 * k) % (r[7]! < 200 ? 86 : headerLength);
        b[at] = r[4 + k]!;
      }
      const cut = r[7]! > 250 ? b.subarray(0, b.length - 1 - (r[6]! % 50)) : b;
      const mine = receiverView(cut);
      expect(mine, `copy ${i}`).toEqual(kioskView(cut));
      if (mine === 'refused') refused++;
    }
    expect(refused).toBeGreaterThan(100); // the damage really hit the framing
  });
});

// ---------------------------------------------------------------------------------------------------------------

function published(p: Partial<PublishedBundle> & Pick<PublishedBundle, 'kind' | 'version'>): PublishedBundle {
  return {
    baseVersion: 0,
    createdAt: 0,
    issuerKeyId: '00'.repeat(32),
    siteEntries: 0,
    kioskKeyIds: [],
    headerLength: 224,
    ciphertextLength: 100,
    size: 388,
    file: `f-${p.kind}-${p.version}-${p.baseVersion ?? 0}-${p.publishedAt ?? 0}`,
    path: '/nowhere',
    publishedAt: 0,
    ...p,
  };
}

describe('which bundle a pull gets (selectBundle)', () => {
  const A = 'aa'.repeat(32);
  const B = 'bb'.repeat(32);
  const shelf = [
    published({ kind: 'full', version: 5, kioskKeyIds: [A, B] }),
    published({ kind: 'full', version: 8, kioskKeyIds: [A] }),
    published({ kind: 'delta', version: 6, baseVersion: 5, kioskKeyIds: [A, B] }),
    published({ kind: 'delta', version: 7, baseVersion: 5, kioskKeyIds: [A] }),
    published({ kind: 'delta', version: 8, baseVersion: 7, siteEntries: 1 }),
  ];
  const pick = (since: number, kiosk?: string) => {
    const c = selectBundle(shelf, since, kiosk);
    return c.status === 200 ? [c.bundle.kind, c.bundle.baseVersion, c.bundle.version] : c.status;
  };

  it('prefers the delta from exactly `since` that reaches furthest, else the latest full, else 204', () => {
    expect(pick(5, A)).toEqual(['delta', 5, 7]);
    expect(pick(5, B)).toEqual(['delta', 5, 6]); // 5→7 is not for B
    expect(pick(7, B)).toEqual(['delta', 7, 8]); // a site bundle is for everyone
    expect(pick(0, A)).toEqual(['full', 0, 8]);
    expect(pick(0, B)).toEqual(['full', 0, 5]); // v8 full is not for B
    expect(pick(6, A)).toEqual(['full', 0, 8]);
    expect(pick(6, B)).toBe(204);
    expect(pick(8, A)).toBe(204);
    expect(pick(99, A)).toBe(204);
    expect(pick(5)).toEqual(['delta', 5, 7]); // no key id: every bundle is a candidate
    // Kiosk C is addressed by nothing, but the site bundle is for everyone: nothing it can use is newer.
    expect(pick(3, 'cc'.repeat(32))).toBe(204);
    // Without the site bundle nothing on the shelf was ever published for C.
    expect(selectBundle(shelf.slice(0, 4), 3, 'cc'.repeat(32)).status).toBe(404);
    expect(selectBundle([], 0).status).toBe(404);
  });

  it('breaks ties by direct address, then newest publication, never by listing order', () => {
    const site = published({ kind: 'full', version: 9, siteEntries: 1, publishedAt: 20 });
    const direct = published({ kind: 'full', version: 9, kioskKeyIds: [A], publishedAt: 10 });
    for (const list of [
      [site, direct],
      [direct, site],
    ]) {
      expect(selectBundle(list, 0, A)).toMatchObject({ bundle: direct });
      expect(selectBundle(list, 0)).toMatchObject({ bundle: site });
    }
  });
});

describe('which publish is refused (publishProblem)', () => {
  const shelf = [published({ kind: 'full', version: 10 }), published({ kind: 'delta', version: 8, baseVersion: 6 })];
  const h = (kind: 'full' | 'delta', version: number, baseVersion = 0) => published({ kind, version, baseVersion });
  it('a full bundle must be newer than every full bundle; a delta newer, or from/to a known version', () => {
    expect(publishProblem([], h('full', 1))).toBeUndefined();
    expect(publishProblem(shelf, h('full', 11))).toBeUndefined();
    expect(publishProblem(shelf, h('full', 10))).toEqual({ reason: 'not_newer', latest: 10 });
    expect(publishProblem(shelf, h('full', 3))).toEqual({ reason: 'not_newer', latest: 10 });
    expect(publishProblem(shelf, h('delta', 12, 10))).toBeUndefined();
    expect(publishProblem(shelf, h('delta', 12, 11))).toBeUndefined(); // newer than anything: fine
    expect(publishProblem(shelf, h('delta', 9, 8))).toBeUndefined(); // base 8 is a published version
    expect(publishProblem(shelf, h('delta', 10, 7))).toBeUndefined(); // leads to the published full v10
    expect(publishProblem(shelf, h('delta', 9, 7))).toEqual({ reason: 'not_newer', latest: 10 });
  });
});

describe('the admin guard (adminVerdict)', () => {
  const token = `ekr_${'x'.repeat(43)}`;
  const tokenHash = createHash('sha256').update(token).digest();
  const auth = { authorization: `Bearer ${token}` };
  it.each([
    ['127.0.0.1', false, auth, 'ok'],
    ['::1', false, { ...auth, 'sec-fetch-site': 'none' }, 'ok'],
    // Any Host: the token, not the name the caller used, is what grants (a proxy rewrites Host anyway).
    ['127.0.0.1', false, { ...auth, host: 'receiver.lan' }, 'ok'],
    // Off the host only over TLS, so the token never crosses the LAN in clear.
    ['192.168.1.20', true, auth, 'ok'],
    ['192.168.1.20', false, auth, 'admin_needs_tls'],
    ['::ffff:192.168.1.20', false, auth, 'admin_needs_tls'],
    [undefined, false, auth, 'admin_needs_tls'],
    // Loopback without the right token: nothing.
    ['127.0.0.1', false, {}, 'admin_token_required'],
    ['127.0.0.1', false, { host: '127.0.0.1:8787' }, 'admin_token_required'],
    ['127.0.0.1', false, { authorization: `Bearer ekr_${'y'.repeat(43)}` }, 'admin_token_required'],
    ['127.0.0.1', false, { authorization: token }, 'admin_token_required'],
    ['127.0.0.1', false, { authorization: `Basic ${token}` }, 'admin_token_required'],
    ['127.0.0.1', false, { authorization: `Bearer ${token}x` }, 'admin_token_required'],
    // A web page, even with the token.
    ['127.0.0.1', false, { ...auth, origin: 'http://127.0.0.1:4173' }, 'admin_only'],
    ['127.0.0.1', false, { ...auth, 'sec-fetch-site': 'cross-site' }, 'admin_only'],
    ['127.0.0.1', false, { ...auth, 'sec-fetch-site': 'same-origin' }, 'admin_only'],
  ] as [string | undefined, boolean, Record<string, string>, string][])(
    '%s tls=%s %j → %s',
    (remoteAddress, encrypted, headers, want) => {
      const v = adminVerdict({ remoteAddress, encrypted, headers, tokenHash });
      expect(v.ok ? 'ok' : v.reason).toBe(want);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------

describe('BundleStore on a real folder', () => {
  it('publishes once per version, is idempotent, refuses old and foreign files, skips junk and survives renames', async () => {
    const dir = tempDir('bundles-store-');
    try {
      const warnings: unknown[] = [];
      const adminKey = await loadAdminKey(Buffer.from(JSON.stringify(await exportPublicKey(admin.publicKey, 'jwk'))));
      expect(adminKey.fingerprint).toBe(await keyFingerprint(admin.publicKey));
      const fromSpki = await loadAdminKey(await exportPublicKey(admin.publicKey, 'spki'));
      expect(fromSpki.id).toBe(adminKey.id);
      const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(await exportPublicKey(admin.publicKey, 'spki')).toString('base64')}\n-----END PUBLIC KEY-----\n`;
      expect((await loadAdminKey(Buffer.from(pem))).id).toBe(adminKey.id);
      await expect(loadAdminKey(Buffer.from('{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}'))).rejects.toThrow(
        /private key/,
      );

      const store = new BundleStore(join(dir.path, 'data'), {
        adminKeys: [adminKey],
        warn: (_m: string, f: Record<string, unknown>) => warnings.push(f),
      });
      const v2 = await full(2, [kioskA.publicKey]);
      expect(await store.publish(v2)).toMatchObject({ ok: true, status: 201, already: false });
      expect(await store.publish(v2)).toMatchObject({ ok: true, status: 200, already: true });
      expect(await store.publish(await full(2, [kioskA.publicKey]))).toMatchObject({
        ok: false,
        status: 409,
        reason: 'version_taken',
      });
      expect(await store.publish(await full(1, [kioskA.publicKey]))).toMatchObject({
        status: 409,
        reason: 'not_newer',
        latest: 2,
      });
      expect(await store.publish(await full(5, [kioskA.publicKey], otherAdmin))).toMatchObject({
        status: 403,
        reason: 'unknown_issuer',
      });
      const tampered = Buffer.from(await full(5, [kioskA.publicKey]));
      tampered[tampered.length - 100]! ^= 1; // in the ciphertext: the framing is fine, the signature is not
      expect(readBundleHeader(tampered).version).toBe(5);
      expect(await store.publish(tampered)).toMatchObject({ status: 401, reason: 'bad_signature' });
      expect(await store.publish(Buffer.from('junk'))).toMatchObject({
        status: 400,
        reason: 'bad_bundle',
        field: 'magic',
      });
      const d23 = await delta(2, 3, [kioskA.publicKey]);
      expect(await store.publish(d23)).toMatchObject({ status: 201, bundle: { kind: 'delta', baseVersion: 2 } });
      const d23b = await delta(2, 3, [kioskB.publicKey]); // a second delta for the same step, another kiosk
      expect(await store.publish(d23b)).toMatchObject({ status: 201 });

      const names = readdirSync(store.dir).sort();
      expect(names).toHaveLength(3);
      expect(names[0]).toBe('watchlist-v2.kwb');
      for (const n of names.slice(1)) expect(n).toMatch(/^watchlist-v3-from-v2-[0-9a-f]{16}\.kwb$/);
      // Junk and a renamed file are skipped (one warning each), temp files ignored; the good files stay served.
      writeFileSync(join(store.dir, 'watchlist-v9.kwb'), 'not a bundle');
      writeFileSync(join(store.dir, 'watchlist-v8.kwb'), v2); // a v2 bundle under a v8 name
      writeFileSync(join(store.dir, '.incoming-1-abc.tmp'), 'half written');
      expect(
        store
          .list()
          .map((b) => b.file)
          .sort(),
      ).toHaveLength(3);
      expect(store.list()).toHaveLength(3);
      expect(warnings).toEqual([
        expect.objectContaining({ file: expect.stringMatching(/^watchlist-v[89]\.kwb$/) }),
        expect.objectContaining({ file: expect.stringMatching(/^watchlist-v[89]\.kwb$/) }),
      ]);
      expect(selectBundle(store.list(), 2, idB)).toMatchObject({ status: 200, bundle: { kioskKeyIds: [idB] } });

      // A publish that crashed before link(2) leaves a temp file: removed when old, kept when it may be in flight.
      const stale = join(store.dir, '.incoming-1-0123456789ab.tmp');
      const young = join(store.dir, '.incoming-2-0123456789ab.tmp');
      writeFileSync(stale, 'x');
      writeFileSync(young, 'x');
      utimesSync(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
      const small = new BundleStore(join(dir.path, 'data'), { maxBytes: 1000, adminKeys: [adminKey] });
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(young)).toBe(true);
      expect(small.list()).toHaveLength(3);
      expect(await small.publish(await full(7, [kioskA.publicKey]))).toMatchObject({
        status: 413,
        reason: 'too_large',
      });
    } finally {
      dir.remove();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json: Record<string, unknown>;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    /* a bundle, or empty */
  }
  return { status: res.status, headers: res.headers, bytes, json };
}

const put = (url: string, token: string | undefined, body: Uint8Array, headers: Record<string, string> = {}) =>
  call(`${url}/watchlist/bundle`, {
    method: 'PUT',
    headers: { 'content-type': BUNDLE_MIME, ...(token === undefined ? {} : bearer(token)), ...headers },
    body: new Uint8Array(body),
  });

/**
 * Pairs a kiosk (decision key made in Node) with a running receiver, as the kiosk's pairing card does: a code from
 * the admin route, then the signed pairing request.
 */
async function pairKiosk(url: string, token: string | undefined, id: string): Promise<NodeKiosk> {
  const kiosk = await makeKiosk(id);
  const minted = await call(`${url}/admin/pairing-code`, { method: 'POST', headers: bearer(token) });
  expect(minted.status, JSON.stringify(minted.json)).toBe(200);
  const paired = await post(`${url}/pair`, await pairBody(kiosk, String(minted.json.code)));
  expect(paired.status, JSON.stringify(paired.json)).toBe(200);
  return kiosk;
}

/**
 * The query of a signed pull: `q` as given plus id, ts and sig over the pull statement, spelled out here
 * independently of the kiosk's and the receiver's code (since as written, the receiving key id lowercased or "-").
 */
async function signedQuery(kiosk: NodeKiosk, q: string, opts: { ts?: number; high?: boolean } = {}): Promise<string> {
  const params = new URLSearchParams(q);
  const ts = opts.ts ?? Date.now();
  const statement = `entrance-kiosk/bundle-pull/v1\n${kiosk.id}\n${params.get('since') ?? ''}\n${params.get('kiosk')?.toLowerCase() ?? '-'}\n${ts}`;
  const sig = await sign(kiosk.keys.privateKey, statement, opts.high);
  return `${q}${q ? '&' : ''}id=${kiosk.id}&ts=${ts}&sig=${sig}`;
}

/** `node receiver/server.mjs publish …`, as an admin would type it. */
function publishCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['receiver/server.mjs', 'publish', ...args], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => res({ code, out }));
  });
}

describe('the receiver serves and accepts bundles over HTTP', () => {
  const KIOSK = 'http://127.0.0.1:4173';
  let receiver: ReceiverProcess;
  let data: ReturnType<typeof tempDir>;
  let url: string;
  let token: string | undefined;
  const args = () => ['--port', '0', '--data', data.path, '--origin', KIOSK, '--allow-unsigned-bundles'];

  let lobby: NodeKiosk;

  beforeAll(async () => {
    data = tempDir('receiver-bundles-');
    receiver = await startReceiver([...args(), '--bundle-max', '200000']);
    url = receiver.url;
    token = receiver.adminToken;
    lobby = await pairKiosk(url, token, 'lobby-1');
  });
  afterAll(async () => {
    await receiver?.stop();
    data?.remove();
  });

  /** A pull signed by the paired kiosk `lobby-1`. */
  const pull = async (q: string, headers: Record<string, string> = {}) =>
    call(`${url}/watchlist/bundle?${await signedQuery(lobby, q)}`, { headers });

  it('answers 404 until something is published, 200 with the bytes, then 204, all no-store', async () => {
    expect(receiver.output()).toMatch(
      /watchlist bundles: \S+\/watchlist\/bundle, 0 published, served to paired kiosks only, publishing does not check signatures \(--allow-unsigned/,
    );
    const none = await pull('since=0');
    expect(none.status).toBe(404);
    expect(none.headers.get('cache-control')).toBe('no-store');

    const v1 = await full(1, [kioskA.publicKey]);
    const p = await put(url, token, v1);
    expect(p.status).toBe(201);
    expect(p.json).toMatchObject({ ok: true, already: false, kind: 'full', version: 1, kioskKeyIds: [idA] });
    await receiver.waitForOutput(/receiver: published watchlist v1 \(full\) as watchlist-v1\.kwb/);

    const got = await pull(`since=0&kiosk=${idA}`);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(v1)).toBe(true);
    expect(got.headers.get('content-type')).toBe(BUNDLE_MIME);
    expect(got.headers.get('content-length')).toBe(String(v1.length));
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.headers.get('content-disposition')).toBe('attachment; filename="watchlist-v1.kwb"');

    const upToDate = await pull(`since=1&kiosk=${idA.toUpperCase()}`);
    expect(upToDate.status).toBe(204);
    expect(upToDate.bytes.length).toBe(0);
    expect(upToDate.headers.get('cache-control')).toBe('no-store');
    // Kiosk B is no recipient of anything here: nothing was published for it.
    expect((await pull(`since=0&kiosk=${idB}`)).status).toBe(404);
    // No HEAD route: a stream opened for a HEAD answer would only leak a file descriptor.
    expect(
      (await call(`${url}/watchlist/bundle?${await signedQuery(lobby, 'since=0')}`, { method: 'HEAD' })).status,
    ).toBe(404);
  });

  it('serves the delta from the installed version, and the full bundle to a kiosk on another version', async () => {
    const d12 = await delta(1, 2, [kioskA.publicKey]);
    expect((await put(url, token, d12)).status).toBe(201);
    expect((await put(url, token, d12)).json).toMatchObject({ ok: true, already: true });
    const v1 = (await pull('since=0')).bytes;
    expect(readBundleHeader(v1)).toMatchObject({ kind: 'full', version: 1 });
    expect((await pull(`since=1&kiosk=${idA}`)).bytes.equals(d12)).toBe(true);
    expect((await pull('since=2')).status).toBe(204);
  });

  it('publishes with the command line while the server runs, with the same rules', async () => {
    const file = join(data.path, 'watchlist-v3.kwb');
    const v3 = await full(3, [kioskA.publicKey, kioskB.publicKey]);
    writeFileSync(file, v3);
    const ok = await publishCli([file, '--data', data.path, '--allow-unsigned-bundles']);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toMatch(/^receiver: published watchlist v3 \(full\) for 2 kiosk key\(s\) as .*watchlist-v3\.kwb$/m);
    expect((await pull(`since=0&kiosk=${idB}`)).bytes.equals(v3)).toBe(true);
    expect((await publishCli([file, '--data', data.path, '--allow-unsigned-bundles'])).out).toMatch(
      /already published/,
    );

    writeFileSync(file, await full(2, [kioskA.publicKey]));
    expect(await publishCli([file, '--data', data.path, '--allow-unsigned-bundles'])).toMatchObject({
      code: 1,
      out: expect.stringMatching(/refused .*: not_newer \(latest full bundle: v3\)/),
    });
    writeFileSync(file, 'garbage');
    expect(await publishCli([file, '--data', data.path, '--allow-unsigned-bundles'])).toMatchObject({
      code: 1,
      out: expect.stringMatching(/refused .*: bad_bundle \(magic\)/),
    });
    expect((await publishCli(['--data', data.path])).code).toBe(2);
  });

  it('refuses malformed, old, oversized and mistyped uploads with a reason', async () => {
    expect((await put(url, token, Buffer.from('hello'))).json).toMatchObject({ reason: 'bad_bundle', field: 'magic' });
    const v3 = await full(3, [kioskA.publicKey]);
    expect((await put(url, token, v3.subarray(0, v3.length - 1))).json).toMatchObject({ field: 'truncated' });
    const old = await put(url, token, await full(2, [kioskA.publicKey]));
    expect([old.status, old.json]).toEqual([409, expect.objectContaining({ reason: 'not_newer', latest: 3 })]);
    const taken = await put(url, token, v3);
    expect([taken.status, taken.json.reason]).toEqual([409, 'version_taken']);
    const big = await put(url, token, Buffer.alloc(200_001));
    expect([big.status, big.json.reason]).toEqual([413, 'too_large']);
    const json = await put(url, token, Buffer.from('{}'), { 'content-type': 'application/json' });
    expect([json.status, json.json.reason]).toEqual([415, 'unsupported_media_type']);
    const text = await put(url, token, v3, { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const octets = await put(url, token, await full(4, [kioskA.publicKey]), {
      'content-type': 'application/octet-stream',
    });
    expect(octets.status).toBe(201);
    // The big binary parser exists for the PUT only: other routes still refuse non-JSON before reading it.
    const post = await call(`${url}/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(5000),
    });
    expect(post.status).toBe(415);
    expect((await pull('since=x')).json).toMatchObject({ reason: 'bad_query', field: 'since' });
    expect((await pull('since=-1')).status).toBe(400);
    expect((await pull('since=01')).status).toBe(400);
    expect((await pull('since=9007199254740992')).status).toBe(400);
    expect((await pull('since=1&since=2')).status).toBe(400);
    expect((await pull('')).status).toBe(400);
    expect((await pull('since=0&kiosk=abc')).json).toMatchObject({ field: 'kiosk' });
  });

  it('PUT needs the admin token, from loopback too, and never from a web page', async () => {
    const v9 = await full(9, [kioskA.publicKey]);
    const bare = await put(url, undefined, v9);
    expect([bare.status, bare.json.reason]).toEqual([401, 'admin_token_required']);
    const wrong = await put(url, `ekr_${'Z'.repeat(43)}`, v9);
    expect(wrong.status).toBe(401);
    const fromPage = await put(url, token, v9, { origin: KIOSK });
    expect([fromPage.status, fromPage.json.reason]).toEqual([403, 'admin_only']);
    const crossSite = await put(url, token, v9, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const rebound = await new Promise<number>((res, rej) => {
      const req = request(
        `${url}/watchlist/bundle`,
        { method: 'PUT', headers: { host: 'evil.example', 'content-type': BUNDLE_MIME } },
        (r) => {
          r.resume();
          res(r.statusCode ?? 0);
        },
      );
      req.on('error', rej);
      req.end(v9);
    });
    expect(rebound).toBe(401);
    expect((await pull('since=4')).status).toBe(204); // none of them was published
  });

  it('CORS: the kiosk origin may read a pull; any other origin gets no CORS answer; preflight allows GET only', async () => {
    const ok = await pull('since=0', { origin: KIOSK });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(KIOSK);
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    const none = await pull('since=99', { origin: KIOSK });
    expect([none.status, none.headers.get('access-control-allow-origin')]).toEqual([204, KIOSK]);
    const other = await pull('since=0', { origin: 'http://evil.example' });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.bytes.includes(Buffer.from([0x89, 0x4b, 0x57, 0x42]))).toBe(false);
    const pre = await call(`${url}/watchlist/bundle?since=0`, {
      method: 'OPTIONS',
      headers: { origin: KIOSK, 'access-control-request-method': 'PUT' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET');
  });

  it('serves only a paired, unrevoked kiosk that signs its pull, within the time window', async () => {
    const at = (q: string) => call(`${url}/watchlist/bundle?${q}`);
    const refused = async (q: string) => {
      const r = await at(q);
      expect(r.bytes.includes(Buffer.from([0x89, 0x4b, 0x57, 0x42]))).toBe(false); // no bundle magic
      return [r.status, r.json.reason];
    };
    // Anyone on the LAN: no signature, no bundle (it would be material for offline site-passphrase guessing).
    expect(await refused('since=0')).toEqual([401, 'unsigned_pull']);
    expect(await refused(`since=0&kiosk=${idA}`)).toEqual([401, 'unsigned_pull']);
    // A key the receiver never paired, under a made-up or a paired kiosk's id.
    const stranger = await makeKiosk('lobby-9');
    expect(await refused(await signedQuery(stranger, 'since=0'))).toEqual([403, 'not_paired']);
    const impostor = { ...stranger, id: 'lobby-1' };
    expect(await refused(await signedQuery(impostor, 'since=0'))).toEqual([401, 'bad_signature']);
    // The kiosk's own signature, but not over this request: another version, another key id, another time.
    const good = new URLSearchParams(await signedQuery(lobby, `since=0&kiosk=${idA}`));
    const edited = (k: string, v: string) => {
      const p = new URLSearchParams(good);
      p.set(k, v);
      return p.toString();
    };
    expect((await at(good.toString())).status).toBe(200);
    expect(await refused(edited('since', '1'))).toEqual([401, 'bad_signature']);
    expect(await refused(edited('kiosk', idB))).toEqual([401, 'bad_signature']);
    expect(await refused(edited('ts', String(Number(good.get('ts')) + 1)))).toEqual([401, 'bad_signature']);
    // The same signature in its high-s twin (valid ECDSA, refused: one signature per request), and a decision's
    // signature presented as a pull's (another statement, so it cannot verify).
    expect(await refused(await signedQuery(lobby, 'since=0', { high: true }))).toEqual([401, 'bad_signature']);
    const decisionSig = await sign(lobby.keys.privateKey, '{"v":1}');
    expect(await refused(edited('sig', decisionSig))).toEqual([401, 'bad_signature']);
    // A captured request is good for five minutes either side of the kiosk's clock, not for ever.
    expect(await refused(await signedQuery(lobby, 'since=0', { ts: Date.now() - 301_000 }))).toEqual([
      401,
      'pull_expired',
    ]);
    expect(await refused(await signedQuery(lobby, 'since=0', { ts: Date.now() + 301_000 }))).toEqual([
      401,
      'pull_expired',
    ]);
    expect((await at(await signedQuery(lobby, 'since=0', { ts: Date.now() - 200_000 }))).status).toBe(200);
    // Malformed credentials say which field.
    expect((await at('since=0&id=lobby-1')).json).toMatchObject({ reason: 'bad_query', field: 'ts' });
    expect((await at(`since=0&id=lobby-1&ts=${Date.now()}&sig=abc`)).json).toMatchObject({ field: 'sig' });
    expect((await at(`since=0&id=bad%20id&ts=1&sig=${decisionSig}`)).json).toMatchObject({ field: 'id' });

    // The admin unpairs a tablet: from the next pull on it gets nothing, and the refusal is journaled.
    const gate = await pairKiosk(url, token, 'gate-2');
    expect((await at(await signedQuery(gate, 'since=0'))).status).toBe(200);
    // The same key under a second id (a tablet renamed keeps its key): retired with the first, it pulls nothing
    // either (attacker review, session 27: only the revoked id was refused).
    const renamed = { ...gate, id: 'gate-3' };
    const code = await call(`${url}/admin/pairing-code`, { method: 'POST', headers: bearer(token) });
    expect((await post(`${url}/pair`, await pairBody(renamed, String(code.json.code)))).status).toBe(200);
    expect((await at(await signedQuery(renamed, 'since=0'))).status).toBe(200);
    const revoke = await call(`${url}/admin/kiosks/gate-2/revoke`, { method: 'POST', headers: bearer(token) });
    expect(revoke.status).toBe(200);
    expect(await refused(await signedQuery(gate, 'since=0'))).toEqual([401, 'kiosk_revoked']);
    expect(await refused(await signedQuery(renamed, 'since=0'))).toEqual([401, 'kiosk_revoked']);
    expect((await at(await signedQuery(lobby, 'since=0'))).status).toBe(200); // the other kiosk is unaffected
    const log = await call(`${url}/decisions/log?since=0`, { headers: bearer(token) });
    const rows = log.json.entries as { route: string; reason?: string; kiosk?: string }[];
    expect(rows.filter((e) => e.route === '/watchlist/bundle').map((e) => [e.reason, e.kiosk ?? null])).toEqual(
      expect.arrayContaining([
        ['unsigned_pull', null],
        ['not_paired', 'lobby-9'],
        ['kiosk_revoked', 'gate-2'],
      ]),
    );
  });

  it('keeps what was published across a restart', async () => {
    await receiver.stop();
    receiver = await startReceiver(args());
    url = receiver.url;
    expect(receiver.adminToken).toBeUndefined(); // the token of the first start still holds
    expect(receiver.output()).toMatch(/watchlist bundles: .* 4 published \(latest full v4\)/);
    expect(readBundleHeader((await pull('since=0')).bytes)).toMatchObject({ version: 4 });
  });
});

describe('--admin-key: only bundles signed by the pinned admin key are published', () => {
  it('refuses every publish by default when no admin key is pinned (HTTP and command line)', async () => {
    const data = tempDir('receiver-bundles-nokey-');
    const receiver = await startReceiver(['--port', '0', '--data', data.path]);
    try {
      expect(receiver.output()).toMatch(/publishing is refused until an --admin-key is pinned/);
      const v1 = await full(1, [kioskA.publicKey]);
      const r = await put(receiver.url, receiver.adminToken, v1);
      expect([r.status, r.json.reason]).toEqual([403, 'no_admin_key']);
      const file = join(data.path, 'v1.kwb');
      writeFileSync(file, v1);
      expect(await publishCli([file, '--data', data.path])).toMatchObject({
        code: 1,
        out: expect.stringMatching(/refused .*: no_admin_key/),
      });
      expect(readdirSync(join(data.path, BUNDLES_DIR)).filter((f) => f.endsWith('.kwb'))).toEqual([]);
    } finally {
      await receiver.stop();
      data.remove();
    }
  });

  it('prints the fingerprint the admin screen shows and refuses other signers and tampering', async () => {
    const data = tempDir('receiver-bundles-key-');
    const keyFile = join(data.path, 'admin-public.jwk');
    writeFileSync(keyFile, JSON.stringify(await exportPublicKey(admin.publicKey, 'jwk')));
    const receiver = await startReceiver(['--port', '0', '--data', data.path, '--admin-key', keyFile]);
    try {
      const fp = await keyFingerprint(admin.publicKey);
      expect(receiver.output()).toContain(`publishing requires the admin key ${fp}`);
      const foreign = await put(receiver.url, receiver.adminToken, await full(1, [kioskA.publicKey], otherAdmin));
      expect([foreign.status, foreign.json.reason]).toEqual([403, 'unknown_issuer']);
      const tampered = Buffer.from(await full(1, [kioskA.publicKey]));
      tampered[tampered.length - 70]! ^= 0x80;
      const bad = await put(receiver.url, receiver.adminToken, tampered);
      expect([bad.status, bad.json.reason]).toEqual([401, 'bad_signature']);
      expect((await put(receiver.url, receiver.adminToken, await full(1, [kioskA.publicKey]))).status).toBe(201);
      const file = join(data.path, 'foreign.kwb');
      writeFileSync(file, await full(2, [kioskA.publicKey], otherAdmin));
      expect(await publishCli([file, '--data', data.path, '--admin-key', keyFile])).toMatchObject({
        code: 1,
        out: expect.stringMatching(/unknown_issuer/),
      });
    } finally {
      await receiver.stop();
      data.remove();
    }
  });

  it('refuses to start with a private key or a broken key file', async () => {
    const data = tempDir('receiver-bundles-badkey-');
    try {
      const keyFile = join(data.path, 'oops.jwk');
      writeFileSync(keyFile, '{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}');
      await expect(startReceiver(['--port', '0', '--data', data.path, '--admin-key', keyFile])).rejects.toThrow(
        /exited \(1\)[\s\S]*private key/,
      );
    } finally {
      data.remove();
    }
  });
});
