/**
 * Loads model files by manifest id from the app's own origin and proves them against the SHA-256 pinned in
 * /models/manifest.json before anyone uses a byte (window and worker alike: fetch, Cache Storage, WebCrypto only).
 *
 * Owns the app-side integrity rule of issue 2: a copy that fails its hash (typically a corrupt Cache Storage entry
 * left by an interrupted precache) is evicted from every cache and re-fetched once from the origin with
 * `cache: 'reload'`; a verified repair is put back under the evicted keys (so the precache stays whole and the next
 * start works offline); if that copy is wrong too, the load fails closed with MODEL_INTEGRITY. It must never fetch
 * from another origin, never hand out unverified bytes, and never remember a failure (a rejected load is dropped
 * from the memo so a later retry really retries).
 *
 * Cache Storage is read directly, not only through the service worker: a hard reload bypasses the service worker,
 * and the kiosk must still start from its precache when the network is gone.
 */
import { KioskError } from '../shared/errors';

export interface ModelManifestEntry {
  id: string;
  /** Path under the models base URL. */
  out: string;
  sha256: string;
  size: number;
  package: string;
  version: string;
  path: string;
  license: string;
  provenance: string;
}

export interface ModelManifest {
  schemaVersion: 1;
  files: ModelManifestEntry[];
}

export interface ModelLoaderOptions {
  /** Base URL of the models folder, resolved against this origin. Default `/models/`. */
  base?: string;
  /** The manifest itself, or its URL (resolved against this origin). Default `<base>manifest.json`. */
  manifest?: ModelManifest | string;
  /** Reports evictions and re-fetches (for the log; never carries model bytes). */
  onEvent?: (e: ModelLoaderEvent) => void;
}

export type ModelLoaderEvent =
  | { type: 'evicted'; id: string; url: string; cache: string; from: 'cache' | 'network' }
  | { type: 'refetched'; id: string; url: string; ok: boolean }
  /** A verified repair written back under a key it was evicted from (ok false: the cache refused, e.g. storage full). */
  | { type: 'restored'; id: string; url: string; cache: string; ok: boolean };

const HEX_SHA256 = /^[0-9a-f]{64}$/;

function origin(): string {
  return self.location.origin;
}

/** Resolves `url` against this origin and refuses anything that lands on another origin. */
function sameOriginUrl(url: string, what: string): URL {
  const u = new URL(url, origin());
  if (u.origin !== origin()) {
    throw new KioskError('CONFIG_INVALID', { reason: `${what} must be on the app's own origin`, url: u.href });
  }
  return u;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function validManifest(m: unknown): m is ModelManifest {
  if (typeof m !== 'object' || m === null) return false;
  const files = (m as { files?: unknown }).files;
  return (
    (m as { schemaVersion?: unknown }).schemaVersion === 1 &&
    Array.isArray(files) &&
    files.every(
      (f: Partial<ModelManifestEntry>) =>
        typeof f.id === 'string' &&
        typeof f.out === 'string' &&
        typeof f.sha256 === 'string' &&
        HEX_SHA256.test(f.sha256) &&
        typeof f.size === 'number' &&
        Number.isInteger(f.size) &&
        f.size >= 0,
    )
  );
}

export class ModelLoader {
  private readonly base: URL;
  private readonly manifestSource: ModelManifest | URL;
  private readonly onEvent: (e: ModelLoaderEvent) => void;
  private manifestPromise: Promise<ModelManifest> | null = null;
  private readonly loads = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

  constructor(opts: ModelLoaderOptions = {}) {
    const base = sameOriginUrl(opts.base ?? '/models/', 'models base');
    // A base without its trailing slash would resolve "face/x" next to it, not inside it.
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    const m = opts.manifest ?? new URL('manifest.json', base).href;
    this.manifestSource = typeof m === 'string' ? sameOriginUrl(m, 'model manifest') : m;
    this.onEvent = opts.onEvent ?? (() => {});
  }

  /** The parsed manifest (memoised; a failed read is not remembered). */
  manifest(): Promise<ModelManifest> {
    this.manifestPromise ??= this.readManifest().catch((e: unknown) => {
      this.manifestPromise = null;
      throw e;
    });
    return this.manifestPromise;
  }

  /** The manifest entry of `id`, or MODEL_MISSING if the manifest has none. */
  async entry(id: string): Promise<ModelManifestEntry> {
    const entry = (await this.manifest()).files.find((f) => f.id === id);
    if (!entry) throw new KioskError('MODEL_MISSING', { id, reason: 'not in the manifest' });
    return entry;
  }

  /** Absolute same-origin URL of `id` (for runtimes that load by URL; they get no hash check from here). */
  async url(id: string): Promise<string> {
    return this.fileUrl(await this.entry(id)).href;
  }

  /**
   * Verified bytes of `id`. Each call returns its own copy, so a caller may transfer or mutate it freely.
   * Throws KioskError MODEL_MISSING, MODEL_INTEGRITY, MODEL_LOAD_FAILED or MODEL_MANIFEST_INVALID.
   */
  async load(id: string): Promise<Uint8Array<ArrayBuffer>> {
    let p = this.loads.get(id);
    if (!p) {
      p = this.loadVerified(id);
      this.loads.set(id, p);
      p.catch(() => {
        if (this.loads.get(id) === p) this.loads.delete(id);
      });
    }
    return (await p).slice();
  }

  /**
   * The wasm module of `id`, compiled from the response itself (`WebAssembly.compileStreaming`) so that V8 keeps its
   * optimised code beside that cached response and a restart reads it back instead of compiling the runtime again
   * (issue 19: ORT's runtime, handed over as bytes, was compiled afresh on every start). The bytes are still proved
   * first: a copy of the same response is hashed while it compiles, and the module is returned only when they match
   * the manifest — compiling runs none of its code, and an unverified module is dropped unused. A wrong copy takes
   * `load`'s path (evicted, re-fetched once, MODEL_INTEGRITY if still wrong) and a verified repair is compiled from
   * its bytes. A response the browser cannot stream-compile (a server that does not say application/wasm) is compiled
   * from its verified bytes. Same errors as `load`.
   */
  async compileVerified(id: string): Promise<WebAssembly.Module> {
    const entry = await this.entry(id);
    const url = this.fileUrl(entry);
    const res = await this.fetchResponse(entry, url, 'default').catch(async (e: unknown) => {
      const cached = await matchInCaches(url);
      if (cached) return cached;
      throw e;
    });
    const copy = res.clone();
    const compiling = WebAssembly.compileStreaming(res).then(
      (m) => m,
      () => null,
    );
    const bytes = await readBody(copy, entry);
    // Wrong bytes: whatever compiled from them is dropped; load() repairs the copy or fails closed.
    if (!(await matches(bytes, entry))) return compileBytes(await this.load(id), entry);
    return (await compiling) ?? compileBytes(bytes, entry);
  }

  private async readManifest(): Promise<ModelManifest> {
    let m: unknown = this.manifestSource;
    if (this.manifestSource instanceof URL) {
      let res: Response;
      try {
        res = await fetch(this.manifestSource, { mode: 'same-origin', credentials: 'same-origin', redirect: 'error' });
      } catch (e) {
        throw new KioskError('MODEL_MANIFEST_INVALID', { reason: 'unreachable' }, { cause: e });
      }
      if (!res.ok) throw new KioskError('MODEL_MANIFEST_INVALID', { status: res.status });
      try {
        m = await res.json();
      } catch (e) {
        throw new KioskError('MODEL_MANIFEST_INVALID', { reason: 'not JSON' }, { cause: e });
      }
    }
    if (!validManifest(m)) throw new KioskError('MODEL_MANIFEST_INVALID', { reason: 'unexpected shape' });
    return m;
  }

  private fileUrl(entry: ModelManifestEntry): URL {
    const u = new URL(entry.out, this.base);
    // "../" in a manifest entry must not reach files outside the models folder.
    if (u.origin !== this.base.origin || !u.pathname.startsWith(this.base.pathname)) {
      throw new KioskError('MODEL_MANIFEST_INVALID', { id: entry.id, reason: 'path escapes the models folder' });
    }
    return u;
  }

  private async loadVerified(id: string): Promise<Uint8Array<ArrayBuffer>> {
    const entry = await this.entry(id);
    const url = this.fileUrl(entry);

    const cached = await matchInCaches(url);
    const first = cached ? await readBody(cached, entry) : await this.fetchBytes(entry, url, 'default');
    if (await matches(first, entry)) return first;

    // Wrong bytes: whichever copy they came from, no cache may serve them again.
    const evicted = await evictFromCaches(url);
    for (const { cache } of evicted) {
      this.onEvent({ type: 'evicted', id, url: url.href, cache, from: cached ? 'cache' : 'network' });
    }
    const res = await this.fetchResponse(entry, url, 'reload');
    const second = await readBody(res, entry);
    const ok = await matches(second, entry);
    this.onEvent({ type: 'refetched', id, url: url.href, ok });
    if (ok) {
      // The service worker's precache does not re-cache a file on its own (workbox repairs only entries with an
      // integrity hash), so without this the kiosk would start offline next time without the file and fail closed.
      // Only bytes just proved against the pin are written, under exactly the keys the bad copy held.
      const type = res.headers.get('content-type');
      for (const { cache, request } of evicted) {
        const put = await restore(cache, request, second, type);
        this.onEvent({ type: 'restored', id, url: url.href, cache, ok: put });
      }
      return second;
    }
    // A service worker may have re-cached the bad response on the way: do not leave it for the next start.
    await evictFromCaches(url);
    throw new KioskError('MODEL_INTEGRITY', {
      id,
      file: entry.out,
      expected: entry.sha256,
      actual: await sha256Hex(second),
      size: second.byteLength,
    });
  }

  private async fetchBytes(entry: ModelManifestEntry, url: URL, cache: RequestCache): Promise<Uint8Array<ArrayBuffer>> {
    return readBody(await this.fetchResponse(entry, url, cache), entry);
  }

  private async fetchResponse(entry: ModelManifestEntry, url: URL, cache: RequestCache): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { mode: 'same-origin', credentials: 'same-origin', redirect: 'error', cache });
    } catch (e) {
      throw new KioskError('MODEL_LOAD_FAILED', { id: entry.id, file: entry.out, reason: 'network' }, { cause: e });
    }
    if (res.status === 404) throw new KioskError('MODEL_MISSING', { id: entry.id, file: entry.out });
    if (!res.ok) throw new KioskError('MODEL_LOAD_FAILED', { id: entry.id, file: entry.out, status: res.status });
    return res;
  }
}

async function compileBytes(bytes: Uint8Array<ArrayBuffer>, entry: ModelManifestEntry): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new KioskError('MODEL_LOAD_FAILED', { id: entry.id, file: entry.out, reason: 'wasm' }, { cause: e });
  }
}

async function readBody(res: Response, entry: ModelManifestEntry): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new KioskError('MODEL_LOAD_FAILED', { id: entry.id, file: entry.out, reason: 'body' }, { cause: e });
  }
}

async function matches(bytes: Uint8Array<ArrayBuffer>, entry: ModelManifestEntry): Promise<boolean> {
  // Size first: cheap, and a truncated copy is the common corruption.
  return bytes.byteLength === entry.size && (await sha256Hex(bytes)) === entry.sha256;
}

function cacheStorage(): CacheStorage | null {
  // Cache Storage is absent on insecure origins; then only the network path exists.
  return typeof caches === 'undefined' ? null : caches;
}

/** First cached response for `url` in any cache, ignoring the query (workbox keys carry `__WB_REVISION__`). */
async function matchInCaches(url: URL): Promise<Response | null> {
  const storage = cacheStorage();
  if (!storage) return null;
  for (const name of await storage.keys()) {
    const cache = await storage.open(name);
    for (const req of await cache.keys()) {
      if (samePath(req.url, url)) {
        const res = await cache.match(req);
        if (res?.ok) return res;
      }
    }
  }
  return null;
}

/** Deletes every cached entry whose URL path equals `url`'s, in every cache; returns the entries deleted. */
async function evictFromCaches(url: URL): Promise<{ cache: string; request: Request }[]> {
  const storage = cacheStorage();
  if (!storage) return [];
  const touched: { cache: string; request: Request }[] = [];
  for (const name of await storage.keys()) {
    const cache = await storage.open(name);
    for (const req of await cache.keys()) {
      if (samePath(req.url, url) && (await cache.delete(req))) touched.push({ cache: name, request: req });
    }
  }
  return touched;
}

/** Writes verified bytes under `request` in cache `name`; false when the cache refuses (quota), never throws. */
async function restore(name: string, request: Request, bytes: Uint8Array<ArrayBuffer>, type: string | null) {
  try {
    const headers = type ? { 'content-type': type } : undefined;
    await (await caches.open(name)).put(request, new Response(bytes, { headers }));
    return true;
  } catch {
    return false;
  }
}

function samePath(a: string, b: URL): boolean {
  const u = new URL(a);
  return u.origin === b.origin && u.pathname === b.pathname;
}

let shared: ModelLoader | null = null;

/** The loader for the app's own /models/ (one per realm: window or worker). */
export function modelLoader(): ModelLoader {
  shared ??= new ModelLoader();
  return shared;
}

/** Verified bytes of manifest entry `id` from /models/. */
export function loadModel(id: string): Promise<Uint8Array<ArrayBuffer>> {
  return modelLoader().load(id);
}
