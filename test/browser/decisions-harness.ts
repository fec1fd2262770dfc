/**
 * Test page for the kiosk → receiver path in real Chromium (served by Vite with the app's security headers, driven
 * by test/receiver/kiosk-chromium.test.ts through `window.harness`).
 *
 * It runs the real DecisionService/DecisionSender against whatever receiver URL the test gives it. Storage is the
 * in-memory stand-in by default; with `persist: name` it survives a page reload, as on a real kiosk: the outbox is
 * either the real vault's (`outbox: 'vault'`, src/store, unattended unlock) or a test-only IndexedDB one, and the key
 * record is in a test-only IndexedDB store (the vault does not implement DecisionKeyStore yet; when it does, and
 * its outbox is settled, the test-only ones go). `inject()` puts a hand-made body into the outbox (a damaged or
 * hostile entry) so a test can watch the real sender meet a real rejection.
 */
import { DecisionService, type UpstreamStatus } from '../../src/decisions';
import type { BackoffPolicy } from '../../src/decisions/delivery-policy';
import { signText } from '../../src/decisions/signer';
import type { DecisionKeyRecord, DecisionKeyStore } from '../../src/shared/decision-keys';
import type { OutboxBackend, OutboxEntry } from '../../src/shared/outbox';
import { Vault } from '../../src/store';
import { MemoryKeyStore, MemoryOutbox } from './decisions-memory-stores';

function idb(name: string, store: string, keyPath?: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(store, keyPath === undefined ? {} : { keyPath });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function result<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Test-only persisted outbox: the OutboxBackend contract over one IndexedDB object store keyed by seq. */
class IdbOutbox implements OutboxBackend {
  constructor(private readonly name: string) {}

  private async run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T> | Promise<T>): Promise<T> {
    const db = await idb(this.name, 'outbox', 'seq');
    try {
      const tx = db.transaction('outbox', mode);
      const r = fn(tx.objectStore('outbox'));
      const value = r instanceof IDBRequest ? await result(r) : await r;
      await done(tx);
      return value;
    } finally {
      db.close();
    }
  }

  async put(entry: OutboxEntry): Promise<void> {
    await this.run('readwrite', (s) => s.add({ ...entry })); // add(): a duplicate seq fails
  }
  list(limit?: number): Promise<OutboxEntry[]> {
    return this.run('readonly', (s) => s.getAll(null, limit) as IDBRequest<OutboxEntry[]>);
  }
  async update(entry: OutboxEntry): Promise<void> {
    await this.run('readwrite', (s) => s.put({ ...entry }));
  }
  async remove(seq: number): Promise<void> {
    await this.run('readwrite', (s) => s.delete(seq));
  }
  count(): Promise<number> {
    return this.run('readonly', (s) => s.count());
  }
  async purgeOlderThan(maxAgeMs: number, now = Date.now()): Promise<number> {
    const old = (await this.list()).filter((e) => now - e.createdAt > maxAgeMs);
    for (const e of old) await this.remove(e.seq);
    return old.length;
  }
}

/** Test-only persisted key record (structured clone keeps the CryptoKey handles; the vault seals them instead). */
class IdbKeyStore implements DecisionKeyStore {
  constructor(private readonly name: string) {}

  async load(): Promise<DecisionKeyRecord | undefined> {
    const db = await idb(this.name, 'keys');
    try {
      return (await result(db.transaction('keys').objectStore('keys').get('device'))) as DecisionKeyRecord | undefined;
    } finally {
      db.close();
    }
  }

  async save(record: DecisionKeyRecord): Promise<void> {
    const db = await idb(this.name, 'keys');
    try {
      const tx = db.transaction('keys', 'readwrite');
      tx.objectStore('keys').put(record, 'device');
      await done(tx);
    } finally {
      db.close();
    }
  }
}

export interface HarnessOpenOptions {
  kioskId: string;
  url: string;
  door?: string;
  freshnessMs?: number;
  /** Simulates a kiosk clock that is off by this much. */
  clockOffsetMs?: number;
  backoff?: BackoffPolicy;
  /** Keep outbox and keys in IndexedDB databases named after this (survives a reload). */
  persist?: string;
  /** With `persist`: the real vault's outbox, or the test-only one. Default 'test-idb'. */
  outbox?: 'vault' | 'test-idb';
}

const cspViolations: { blockedURI: string; directive: string }[] = [];
document.addEventListener('securitypolicyviolation', (e) =>
  cspViolations.push({ blockedURI: e.blockedURI, directive: e.effectiveDirective }),
);

let outbox: OutboxBackend = new MemoryOutbox();
let keys: DecisionKeyStore = new MemoryKeyStore();
let service: DecisionService | undefined;
const statusLog: UpstreamStatus[] = [];

function current(): DecisionService {
  if (!service) throw new Error('harness: open() first');
  return service;
}

const harness = {
  isolated: () => globalThis.crossOriginIsolated,
  cspViolations: () => cspViolations,
  /** Forget the device: new stores, as on a freshly installed kiosk. */
  async reset(): Promise<void> {
    await service?.stop();
    service = undefined;
    outbox = new MemoryOutbox();
    keys = new MemoryKeyStore();
    statusLog.length = 0;
  },
  async open(o: HarnessOpenOptions): Promise<{ kid: string; fingerprint: string }> {
    await service?.stop();
    if (o.persist !== undefined) {
      if (o.outbox === 'vault') {
        const vault = await Vault.open({ name: `${o.persist}-vault`, requestPersistence: false, retentionTimerMs: 0 });
        if (vault.state.status === 'uninitialised')
          await vault.setup('decisions harness passphrase 7319!', { unattended: true });
        else if (vault.state.status === 'locked') await vault.unlockDevice();
        outbox = vault.outbox;
      } else {
        outbox = new IdbOutbox(`${o.persist}-outbox`);
      }
      keys = new IdbKeyStore(`${o.persist}-keys`);
    }
    const offset = o.clockOffsetMs ?? 0;
    service = await DecisionService.open({
      kioskId: o.kioskId,
      url: o.url,
      outbox,
      keys,
      ...(o.door === undefined ? {} : { door: o.door }),
      ...(o.freshnessMs === undefined ? {} : { freshnessMs: o.freshnessMs }),
      ...(o.backoff === undefined ? {} : { backoff: o.backoff }),
      now: () => Date.now() + offset,
    });
    service.subscribe((s) => statusLog.push(s));
    return { kid: service.kid, fingerprint: service.fingerprint };
  },
  pair: (code: string) => current().pair(code),
  decide: (decision: 'grant' | 'deny', door?: string) => current().decide(decision, door === undefined ? {} : { door }),
  status: () => current().status,
  statusLog: () => statusLog,
  async close(): Promise<void> {
    await service?.stop();
    service = undefined;
  },
  outbox: () => outbox.list(),
  /**
   * Queues a hand-made body under the next sequence number. `sign: true` signs `payload` with the device key
   * (a schema violation the key holder made); otherwise `body` is queued as given.
   */
  async inject(entry: { body?: string; payload?: string; sign?: boolean }): Promise<number> {
    const rec = await keys.load();
    if (!rec) throw new Error('harness: no key record');
    const seq = rec.lastSeq + 1;
    await keys.save({ ...rec, lastSeq: seq });
    let body = entry.body ?? '';
    if (entry.payload !== undefined) {
      const payload = entry.payload.replace('"seq":0', `"seq":${seq}`).replace('"ts":0', `"ts":${Date.now()}`);
      const sig = entry.sign ? await signText(rec.signingKey.privateKey, payload) : 'A'.repeat(86);
      body = JSON.stringify({ payload, sig });
    }
    await current().sender.enqueue({ seq, createdAt: Date.now(), body });
    return seq;
  },
  /** A plain cross-origin fetch from this page (for CORS/CSP checks). */
  async rawFetch(
    url: string,
    init: { method?: string; body?: string; contentType?: string } = {},
  ): Promise<{ status?: number; error?: string }> {
    try {
      const res = await fetch(url, {
        method: init.method ?? 'GET',
        mode: 'cors',
        credentials: 'omit',
        ...(init.body === undefined
          ? {}
          : { body: init.body, headers: { 'content-type': init.contentType ?? 'application/json' } }),
      });
      return { status: res.status };
    } catch (e) {
      return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
  },
};

export type Harness = typeof harness;
(globalThis as unknown as { harness: Harness }).harness = harness;
document.title = 'decisions harness ready';
