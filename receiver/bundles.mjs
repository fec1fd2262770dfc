// @ts-check
/**
 * Watchlist bundles on the receiver: the folder of published bundle files, the framing reader that tells their
 * kind, versions and recipients apart, the publishing rules, and the choice of which file a kiosk's pull gets.
 *
 * A bundle is the admin's signed, encrypted file (docs/sync.md); the receiver is only a shelf for it. It reads the
 * header and never the payload, never decrypts, and never trusts what it read: every header field is unverified
 * unless admin keys are pinned (`--admin-key`), and even then the kiosk verifies the signature again itself. So
 * nothing here can make a kiosk accept a bundle — at worst a broken receiver serves a file the kiosk refuses. The
 * publishing rules exist to catch admin mistakes early (an old file, a damaged copy, another site's bundle), not
 * to protect kiosks. The folder `<data>/bundles/` is the only state: the HTTP route and the `publish` command both
 * go through `BundleStore.publish`, and the server re-lists the folder on every pull, so a file published by the
 * command line while the server runs is served at once. Files are created with link(2), which never replaces an
 * existing name, so two different full bundles can never share a version even across processes.
 *
 * Written from docs/sync.md alone (the receiver imports nothing from src/); test/receiver/bundles.test.ts holds
 * this reader against src/sync's own parser on real and damaged bundles.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

const subtle = globalThis.crypto.subtle;

export const BUNDLE_MIME = 'application/vnd.entrance-kiosk.watchlist-bundle';
/** The format's own ceiling (docs/sync.md, MAX_BUNDLE_BYTES): a kiosk refuses anything larger. */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
/** The folder under the data directory that holds published bundles. */
export const BUNDLES_DIR = 'bundles';

const MAGIC = [0x89, 0x4b, 0x57, 0x42, 0x0d, 0x0a, 0x1a, 0x0a];
const FORMAT_VERSION = 1;
const FIXED_HEADER_BYTES = 86;
const SITE_ENTRY_BYTES = 61;
const KIOSK_ENTRY_BYTES = 138;
const SIGNATURE_BYTES = 64;
const GCM_TAG_BYTES = 16;
const MAX_RECIPIENTS = 1024;
const MAX_SITE_ENTRIES = 4;
const MIN_PBKDF2_ITERATIONS = 600_000;
const MAX_PBKDF2_ITERATIONS = 10_000_000;
/** The longest header the format allows: every byte a publish check or a folder scan needs to read. */
export const MAX_HEADER_BYTES = FIXED_HEADER_BYTES + MAX_RECIPIENTS * KIOSK_ENTRY_BYTES;

/**
 * What a bundle's framing claims. UNVERIFIED unless the signature was checked against a pinned admin key.
 * @typedef {{
 *   kind: 'full' | 'delta', version: number, baseVersion: number, createdAt: number,
 *   issuerKeyId: string, siteEntries: number, kioskKeyIds: string[],
 *   headerLength: number, ciphertextLength: number, size: number,
 * }} BundleHeader
 * @typedef {BundleHeader & { file: string, path: string, publishedAt: number }} PublishedBundle
 * @typedef {{ id: string, fingerprint: string, key: CryptoKey }} AdminKey
 * @typedef {{ ok: true, status: 200 | 201, already: boolean, bundle: PublishedBundle }
 *   | { ok: false, status: number, reason: string, field?: string, latest?: number }} PublishResult
 */

/** A file that is not exactly one well-formed version-1 bundle; `reason` names the first problem found. */
export class BundleFormatError extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(`not a well-formed watchlist bundle (${reason})`);
    this.name = 'BundleFormatError';
    this.reason = reason;
  }
}

/** @param {Uint8Array} b */
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Parse and check a bundle's framing (docs/sync.md, "Bundle file format, version 1") as strictly as a kiosk does:
 * magic, format, kind, reserved bytes, u64 range, version rules, recipient entries and their limits, and the exact
 * file length. `bytes` may be just the start of the file (at least the header) when `size` gives the whole
 * length, so a folder scan reads at most MAX_HEADER_BYTES per file. Throws BundleFormatError.
 * @param {Uint8Array} bytes
 * @param {number} [size]
 * @returns {BundleHeader}
 */
export function readBundleHeader(bytes, size = bytes.length) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  /** @param {number} n */
  const take = (n) => {
    if (at + n > bytes.length) throw new BundleFormatError('truncated');
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => view.getUint8(take(1));
  const u16 = () => view.getUint16(take(2), true);
  const u32 = () => view.getUint32(take(4), true);
  /** @param {string} what */
  const u64 = (what) => {
    const lo = u32();
    const hi = u32();
    // Above 2^53 - 1 a JS number would round: refused, as the kiosk does.
    if (hi > 0x1f_ffff) throw new BundleFormatError(`${what}-too-large`);
    return hi * 0x1_0000_0000 + lo;
  };
  /** @param {number} n */
  const raw = (n) => bytes.subarray(take(n), at);

  if (bytes.length < MAGIC.length || MAGIC.some((m, i) => bytes[i] !== m)) throw new BundleFormatError('magic');
  at = MAGIC.length;
  if (size > MAX_BUNDLE_BYTES) throw new BundleFormatError('too-large');
  if (u8() !== FORMAT_VERSION) throw new BundleFormatError('unsupported-format');
  const kindCode = u8();
  if (kindCode !== 1 && kindCode !== 2) throw new BundleFormatError('kind');
  const kind = kindCode === 1 ? 'full' : 'delta';
  if (u16() !== 0) throw new BundleFormatError('reserved');
  const version = u64('version');
  const baseVersion = u64('base-version');
  const createdAt = u64('created-at');
  const issuerKeyId = hex(raw(32));
  take(12); // IV
  const ciphertextLength = u32();
  const count = u16();
  if (version < 1) throw new BundleFormatError('version');
  if (kind === 'full' ? baseVersion !== 0 : baseVersion >= version) throw new BundleFormatError('base-version');
  if (ciphertextLength < GCM_TAG_BYTES || ciphertextLength > MAX_BUNDLE_BYTES)
    throw new BundleFormatError('ciphertext-length');
  if (count < 1 || count > MAX_RECIPIENTS) throw new BundleFormatError('recipient-count');
  let siteEntries = 0;
  /** @type {string[]} */
  const kioskKeyIds = [];
  for (let i = 0; i < count; i++) {
    const type = u8();
    if (type === 1) {
      const iterations = u32();
      if (iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS)
        throw new BundleFormatError('pbkdf2-iterations');
      take(SITE_ENTRY_BYTES - 5); // salt (16), wrapped key (40)
      siteEntries++;
    } else if (type === 2) {
      kioskKeyIds.push(hex(raw(32)));
      if (u8() !== 0x04) throw new BundleFormatError('ephemeral-key');
      take(KIOSK_ENTRY_BYTES - 34); // rest of the point (64), wrapped key (40)
    } else {
      throw new BundleFormatError('entry-type');
    }
  }
  if (siteEntries > MAX_SITE_ENTRIES) throw new BundleFormatError('site-entry-count');
  const headerLength = at;
  const expected = headerLength + ciphertextLength + SIGNATURE_BYTES;
  if (size < expected) throw new BundleFormatError('truncated');
  if (size > expected) throw new BundleFormatError('trailing-bytes');
  return {
    kind,
    version,
    baseVersion,
    createdAt,
    issuerKeyId,
    siteEntries,
    kioskKeyIds,
    headerLength,
    ciphertextLength,
    size,
  };
}

/**
 * An admin public key to pin: a JWK (`{"kty":"EC","crv":"P-256","x":…,"y":…}`, as the admin screen exports it), a
 * PEM "PUBLIC KEY" block or raw SPKI DER. Its id is SHA-256 of the SPKI, as in bundle headers; the fingerprint is
 * the one the admin screen shows (first 128 bits, four groups of eight upper-case hex digits).
 * @param {Uint8Array} data
 * @returns {Promise<AdminKey>}
 */
export async function loadAdminKey(data) {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const text = Buffer.from(data).toString('utf8').trim();
  /** @type {CryptoKey} */
  let key;
  try {
    if (text.startsWith('{')) {
      const jwk = /** @type {Record<string, unknown>} */ (JSON.parse(text));
      // Refused so a private key pasted by mistake is never kept on the receiver.
      if ('d' in jwk) throw new Error('this is a private key; give the receiver the public half only');
      if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string')
        throw new Error('not a P-256 public key');
      key = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, algorithm, true, ['verify']);
    } else {
      const pem = /^-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----$/.exec(text);
      const der = new Uint8Array(pem ? Buffer.from(pem[1] ?? '', 'base64') : data);
      key = await subtle.importKey('spki', der, algorithm, true, ['verify']);
    }
  } catch (e) {
    throw new Error(`admin key: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const id = createHash('sha256')
    .update(new Uint8Array(await subtle.exportKey('spki', key)))
    .digest('hex');
  return { id, fingerprint: fingerprint(id), key };
}

/** @param {string} keyIdHex */
export function fingerprint(keyIdHex) {
  const h = keyIdHex.slice(0, 32).toUpperCase();
  return [0, 8, 16, 24].map((i) => h.slice(i, i + 8)).join(' ');
}

/**
 * Check the admin's ECDSA P-256 signature (last 64 bytes, over everything before them) against the pinned keys.
 * @param {Uint8Array} bytes the whole bundle
 * @param {BundleHeader} header
 * @param {readonly AdminKey[]} keys
 * @returns {Promise<'ok' | 'unknown_issuer' | 'bad_signature'>}
 */
export async function checkBundleSignature(bytes, header, keys) {
  const pinned = keys.find((k) => k.id === header.issuerKeyId);
  if (!pinned) return 'unknown_issuer';
  const signedEnd = header.size - SIGNATURE_BYTES;
  // Views, not copies (a bundle may be 256 MiB); Node's Buffers are never backed by a SharedArrayBuffer.
  const whole = /** @type {Uint8Array<ArrayBuffer>} */ (bytes);
  const ok = await subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    pinned.key,
    whole.subarray(signedEnd),
    whole.subarray(0, signedEnd),
  );
  return ok ? 'ok' : 'bad_signature';
}

/**
 * Is the bundle meant for this kiosk? A kiosk entry with its key id, or a site entry (anyone holding the site key
 * can open it). Without a key id the receiver cannot tell, so every bundle is a candidate.
 * @param {BundleHeader} b @param {string | undefined} kiosk
 */
function isFor(b, kiosk) {
  return kiosk === undefined || b.siteEntries > 0 || b.kioskKeyIds.includes(kiosk);
}

/**
 * Among equals (same version), prefer a file addressed to the kiosk by key (no passphrase needed), then the most
 * recently published, then the name, so the answer never depends on directory order.
 * @param {string | undefined} kiosk
 * @returns {(a: PublishedBundle, b: PublishedBundle) => number}
 */
function better(kiosk) {
  const direct = (/** @type {PublishedBundle} */ b) => (kiosk !== undefined && b.kioskKeyIds.includes(kiosk) ? 1 : 0);
  return (a, b) =>
    b.version - a.version || direct(b) - direct(a) || b.publishedAt - a.publishedAt || (a.file < b.file ? 1 : -1);
}

/**
 * What a pull gets (docs/receiver.md): the delta from exactly `since` that reaches furthest, else the latest full
 * bundle if it is newer than `since`, else nothing newer (204); 404 when nothing was ever published for this kiosk.
 * Pure, so the choice is tested without a server.
 * @param {readonly PublishedBundle[]} bundles
 * @param {number} since
 * @param {string} [kiosk] lower-case hex key id
 * @returns {{ status: 200, bundle: PublishedBundle } | { status: 204 | 404 }}
 */
export function selectBundle(bundles, since, kiosk) {
  const mine = bundles.filter((b) => isFor(b, kiosk));
  if (mine.length === 0) return { status: 404 };
  const order = better(kiosk);
  const delta = mine.filter((b) => b.kind === 'delta' && b.baseVersion === since).sort(order)[0];
  if (delta) return { status: 200, bundle: delta };
  const full = mine.filter((b) => b.kind === 'full').sort(order)[0];
  if (full && full.version > since) return { status: 200, bundle: full };
  return { status: 204 };
}

/**
 * The version rule for publishing: a full bundle must be newer than every full bundle published; a delta must be
 * newer than the latest full bundle, or start from a version this receiver has published, or lead to a full
 * version it has published (a shortcut to a known state). Anything else is an old or foreign file. Pure.
 * @param {readonly PublishedBundle[]} bundles
 * @param {BundleHeader} h
 * @returns {{ reason: 'not_newer', latest: number } | undefined}
 */
export function publishProblem(bundles, h) {
  const fulls = bundles.filter((b) => b.kind === 'full').map((b) => b.version);
  const latest = Math.max(0, ...fulls);
  if (h.version > latest) return undefined;
  if (h.kind === 'delta') {
    if (bundles.some((b) => b.version === h.baseVersion) || fulls.includes(h.version)) return undefined;
  }
  return { reason: 'not_newer', latest };
}

/**
 * What the receiver says about a published bundle (PUT answer, logs, `receiver.bundles()`): framing facts only.
 * @param {PublishedBundle} b
 */
export function bundleSummary(b) {
  return {
    file: b.file,
    kind: b.kind,
    version: b.version,
    baseVersion: b.baseVersion,
    createdAt: b.createdAt,
    size: b.size,
    issuer: fingerprint(b.issuerKeyId),
    siteEntries: b.siteEntries,
    kioskKeyIds: b.kioskKeyIds,
  };
}

const TEMP_NAME = /^\.incoming-\d+-[0-9a-f]{12}\.tmp$/;
const FILE_NAME = /^watchlist-v(\d{1,16})(?:-from-v(\d{1,16})-([0-9a-f]{16}))?\.kwb$/;

/**
 * "watchlist-v12.kwb" for a full bundle: one name per version, so link(2) refuses a second, different one.
 * "watchlist-v12-from-v10-<16 hex of SHA-256>.kwb" for a delta: several deltas per step may exist (per kiosk).
 * @param {BundleHeader} h @param {string} sha256
 */
export function bundleFileName(h, sha256) {
  return h.kind === 'full'
    ? `watchlist-v${h.version}.kwb`
    : `watchlist-v${h.version}-from-v${h.baseVersion}-${sha256.slice(0, 16)}.kwb`;
}

/** @param {number} fd @param {Uint8Array} buf @param {number} position */
function readFully(fd, buf, position) {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** @param {string} path */
function readWhole(path) {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(fstatSync(fd).size);
    return buf.subarray(0, readFully(fd, buf, 0));
  } finally {
    closeSync(fd);
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
const sameBytes = (a, b) => a.length === b.length && Buffer.compare(a, b) === 0;

/** Makes a new name in `dir` durable: without it, a power cut can lose a link(2) or rename(2). @param {string} dir */
function fsyncDir(dir) {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class BundleStore {
  #dir;
  #maxBytes;
  /** @type {readonly AdminKey[]} */
  #adminKeys;
  #warn;
  #allowUnsigned;
  /** Parsed headers by file name, valid while name, size, mtime and inode are unchanged. */
  /** @type {Map<string, { stamp: string, bundle?: PublishedBundle }>} */
  #cache = new Map();

  /**
   * @param {string} dataDir
   * @param {{ maxBytes?: number, adminKeys?: readonly AdminKey[], allowUnsigned?: boolean,
   *   warn?: (msg: string, fields: Record<string, unknown>) => void }} [opts] `allowUnsigned`: publish without a
   *   pinned admin key (development only; by default a store with no admin key refuses to publish)
   */
  constructor(dataDir, opts = {}) {
    this.#dir = join(dataDir, BUNDLES_DIR);
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    // Leftovers of a publish that crashed before link(2). Only old ones: a young one may be another process's.
    for (const f of readdirSync(this.#dir)) {
      if (!TEMP_NAME.test(f)) continue;
      try {
        if (Date.now() - statSync(join(this.#dir, f)).mtimeMs > 3600_000) unlinkSync(join(this.#dir, f));
      } catch {
        /* gone already */
      }
    }
    this.#maxBytes = Math.min(opts.maxBytes ?? MAX_BUNDLE_BYTES, MAX_BUNDLE_BYTES);
    this.#adminKeys = opts.adminKeys ?? [];
    this.#allowUnsigned = opts.allowUnsigned === true;
    this.#warn = opts.warn ?? (() => {});
  }

  get dir() {
    return this.#dir;
  }

  get maxBytes() {
    return this.#maxBytes;
  }

  /**
   * Every well-formed bundle in the folder. Files that do not parse, or whose name disagrees with their header
   * (renamed by hand), are skipped with one warning each: a bad file must not stop the good ones being served.
   * @returns {PublishedBundle[]}
   */
  list() {
    /** @type {PublishedBundle[]} */
    const out = [];
    const seen = new Set();
    for (const file of readdirSync(this.#dir)) {
      const m = FILE_NAME.exec(file);
      if (!m) continue;
      const path = join(this.#dir, file);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue; // removed while listing
      }
      if (!st.isFile()) continue;
      seen.add(file);
      const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
      const cached = this.#cache.get(file);
      if (cached?.stamp === stamp) {
        if (cached.bundle) out.push(cached.bundle);
        continue;
      }
      /** @type {PublishedBundle | undefined} */
      let bundle;
      try {
        const h = this.#readHeaderOf(path, st.size);
        const base = m[2] === undefined ? undefined : Number(m[2]);
        const named = h.version === Number(m[1]) && (base === undefined ? h.kind === 'full' : h.baseVersion === base);
        if (!named || (h.kind === 'delta') !== (base !== undefined)) throw new BundleFormatError('name-mismatch');
        bundle = { ...h, file, path, publishedAt: st.mtimeMs };
      } catch (e) {
        this.#warn('skipping a file in the bundles folder that is not a well-formed bundle', {
          file,
          reason: e instanceof BundleFormatError ? e.reason : String(e),
        });
      }
      this.#cache.set(file, bundle ? { stamp, bundle } : { stamp });
      if (bundle) out.push(bundle);
    }
    for (const file of this.#cache.keys()) if (!seen.has(file)) this.#cache.delete(file);
    return out;
  }

  /** @param {string} path @param {number} size */
  #readHeaderOf(path, size) {
    const fd = openSync(path, 'r');
    try {
      const buf = new Uint8Array(Math.min(size, MAX_HEADER_BYTES));
      return readBundleHeader(buf.subarray(0, readFully(fd, buf, 0)), size);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Publish one bundle (the HTTP route and the command line both come here). Publishing the same bytes again is
   * a no-op answered 200 with `already: true`; a new file is 201. Refusals: 413 too_large, 400 bad_bundle (with
   * `field` = the framing problem), 403 unknown_issuer / 401 bad_signature when admin keys are pinned, 409
   * not_newer (with `latest`), 403 no_admin_key (no key pinned and unsigned publishing not allowed), 409 version_taken (a different full bundle already has this version).
   * @param {Uint8Array} bytes
   * @returns {Promise<PublishResult>}
   */
  async publish(bytes) {
    // Without a pinned key anyone who can publish could push a junk bundle with version 2^53-1 that blocks every
    // later one; so no key, no publishing, unless the admin said otherwise.
    if (this.#adminKeys.length === 0 && !this.#allowUnsigned) return { ok: false, status: 403, reason: 'no_admin_key' };
    if (bytes.length > this.#maxBytes) return { ok: false, status: 413, reason: 'too_large' };
    /** @type {BundleHeader} */
    let h;
    try {
      h = readBundleHeader(bytes);
    } catch (e) {
      if (!(e instanceof BundleFormatError)) throw e;
      return { ok: false, status: 400, reason: 'bad_bundle', field: e.reason };
    }
    if (this.#adminKeys.length > 0) {
      const verdict = await checkBundleSignature(bytes, h, this.#adminKeys);
      if (verdict !== 'ok') return { ok: false, status: verdict === 'unknown_issuer' ? 403 : 401, reason: verdict };
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    const file = bundleFileName(h, sha);
    const path = join(this.#dir, file);
    // From here on no await: within this process the checks and the write are one step.
    const bundles = this.list();
    const existing = bundles.find((b) => b.file === file);
    if (existing) return this.#sameAs(existing, bytes);
    const problem = publishProblem(bundles, h);
    if (problem) return { ok: false, status: 409, ...problem };

    const tmp = join(this.#dir, `.incoming-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      // link(2) never replaces: if another process published this name meanwhile, we find out here.
      linkSync(tmp, path);
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST') throw e;
      const now = this.list().find((b) => b.file === file);
      if (now) return this.#sameAs(now, bytes);
      return { ok: false, status: 409, reason: 'version_taken' };
    } finally {
      unlinkSync(tmp);
    }
    fsyncDir(this.#dir); // the new name survives a power cut
    const bundle = this.list().find((b) => b.file === file);
    if (!bundle) throw new Error(`published ${file} but cannot read it back`);
    return { ok: true, status: 201, already: false, bundle };
  }

  /**
   * @param {PublishedBundle} existing @param {Uint8Array} bytes
   * @returns {PublishResult}
   */
  #sameAs(existing, bytes) {
    if (existing.size === bytes.length && sameBytes(readWhole(existing.path), bytes))
      return { ok: true, status: 200, already: true, bundle: existing };
    return { ok: false, status: 409, reason: 'version_taken' };
  }
}
