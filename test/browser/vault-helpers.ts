/**
 * Test helpers for the vault's browser tests: unique database names, and a raw walk of every IndexedDB value
 * with the plain IndexedDB API (not through the vault), serialised to bytes so a test can search them for
 * labels, plates and template floats.
 */
import { Vault, type VaultOptions } from '../../src/store';
import { isKioskError, type ErrorCode } from '../../src/shared/errors';

export const PASS = 'Correct-Lantern 42 harbour';
/** The floor, to keep tests quick; the default (1,000,000) is exercised by the benchmark. */
export const TEST_ITERATIONS = 600_000;

export function uniqueName(tag: string): string {
  return `vault-test-${tag}-${crypto.randomUUID()}`;
}

export function openVault(name: string, opts: VaultOptions = {}): Promise<Vault> {
  return Vault.open({
    name,
    pbkdf2Iterations: TEST_ITERATIONS,
    retentionTimerMs: 0,
    requestPersistence: false,
    ...opts,
  });
}

export function tpl(dim: number, seed: number): Float32Array {
  const t = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    const x = Math.sin(seed * 97.13 + i * 1.7) + 0.01 * seed;
    t[i] = x;
    n += x * x;
  }
  for (let i = 0; i < dim; i++) t[i] = (t[i] ?? 0) / Math.sqrt(n);
  return t;
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    if (isKioskError(e, code)) return { ...e.details };
    throw new Error(`expected ${code}, got ${isKioskError(e) ? e.code : String(e)}`, { cause: e });
  }
  throw new Error(`expected ${code}, but it resolved`);
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export async function rawOpen(name: string, version?: number, factory: IDBFactory = indexedDB): Promise<IDBDatabase> {
  return req(factory.open(name, version));
}

export interface RawRecord {
  store: string;
  key: IDBValidKey;
  value: unknown;
}

/** Every record of every store, read with the raw API. */
export async function rawDump(name: string, factory: IDBFactory = indexedDB): Promise<RawRecord[]> {
  const db = await rawOpen(name, undefined, factory);
  try {
    const out: RawRecord[] = [];
    for (const store of Array.from(db.objectStoreNames)) {
      const tx = db.transaction(store, 'readonly');
      const s = tx.objectStore(store);
      const [keys, values] = await Promise.all([req(s.getAllKeys()), req(s.getAll())]);
      keys.forEach((key, i) => out.push({ store, key, value: values[i] }));
    }
    return out;
  } finally {
    db.close();
  }
}

/** Writes raw records (the attacker's view: no vault code involved). */
export async function rawPut(
  name: string,
  store: string,
  records: { key?: IDBValidKey; value: unknown }[],
): Promise<void> {
  const db = await rawOpen(name);
  try {
    const tx = db.transaction(store, 'readwrite');
    const s = tx.objectStore(store);
    for (const r of records) s.put(r.value, s.keyPath === null ? r.key : undefined);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export interface RawPage {
  page: number;
  v: number;
  f: number;
  ids: string[];
  box: ArrayBuffer;
}

/** Every subject page, by page number. */
export async function rawPages(name: string): Promise<Map<number, RawPage>> {
  const out = new Map<number, RawPage>();
  for (const r of await rawDump(name))
    if (r.store === 'subjects') out.set((r.value as RawPage).page, r.value as RawPage);
  return out;
}

/** Reads every subject page, lets `edit` change them (the attacker's hand), writes them back in one transaction. */
export async function rawEditPages(name: string, edit: (pages: Map<number, RawPage>) => void): Promise<void> {
  const pages = await rawPages(name);
  const before = new Set(pages.keys());
  edit(pages);
  const db = await rawOpen(name);
  try {
    const tx = db.transaction('subjects', 'readwrite');
    const s = tx.objectStore('subjects');
    for (const k of before) if (!pages.has(k)) s.delete(k);
    for (const p of pages.values()) s.put(p);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The page listing `id` (throws if none). */
export function pageOf(pages: Map<number, RawPage>, id: string): RawPage {
  for (const p of pages.values()) if (p.ids.includes(id)) return p;
  throw new Error(`no page holds ${id}`);
}

export async function rawDelete(name: string, store: string, key: IDBValidKey): Promise<void> {
  const db = await rawOpen(name);
  try {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).delete(key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const enc = new TextEncoder();

function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >> 8;
  }
  return out;
}

/**
 * Serialises a value into every byte form it could betray data in: raw bytes of buffers and typed arrays,
 * strings as UTF-8 and UTF-16, numbers as text, float32 and float64, CryptoKeys by their public description.
 */
export function serialise(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') {
    out.push(enc.encode(value), utf16le(value));
  } else if (typeof value === 'number') {
    out.push(
      enc.encode(String(value)),
      new Uint8Array(new Float32Array([value]).buffer),
      new Uint8Array(new Float64Array([value]).buffer),
    );
  } else if (typeof value === 'boolean') {
    out.push(enc.encode(String(value)));
  } else if (value instanceof ArrayBuffer) {
    out.push(new Uint8Array(value));
  } else if (ArrayBuffer.isView(value)) {
    out.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  } else if (value instanceof CryptoKey) {
    out.push(
      enc.encode(
        JSON.stringify({
          type: value.type,
          extractable: value.extractable,
          algorithm: value.algorithm,
          usages: value.usages,
        }),
      ),
    );
  } else if (Array.isArray(value)) {
    for (const v of value) serialise(v, out);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      serialise(k, out);
      serialise(v, out);
    }
  }
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.byteLength + 1, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength + 1; // a zero separator: no match can straddle two values by accident
  }
  return out;
}

export function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  const first = needle[0];
  outer: for (
    let i = hay.indexOf(first ?? 0);
    i !== -1 && i <= hay.length - needle.length;
    i = hay.indexOf(first ?? 0, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
