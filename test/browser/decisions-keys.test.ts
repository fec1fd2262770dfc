/**
 * Decision keys and cross-tab exclusion in real Chromium: the signing key is non-extractable yet survives an
 * IndexedDB round trip (the DecisionKeyRecord contract src/store implements), and Web Locks keep two kiosk tabs
 * from reusing a sequence number or sending the same outbox entry twice.
 */
import { describe, expect, it } from 'vitest';
import { DecisionService } from '../../src/decisions/service';
import { checkEnvelopeText } from '../../src/decisions/message';
import { generateSigningKey, signText, verifyText } from '../../src/decisions/signer';
import type { DecisionKeyRecord } from '../../src/shared/decision-keys';
import { MemoryKeyStore, MemoryOutbox } from './decisions-memory-stores';

/** Test-only IndexedDB round trip (src code goes through src/store; this checks the record survives structured clone). */
async function idbRoundTrip(record: DecisionKeyRecord): Promise<DecisionKeyRecord> {
  const name = `decision-keys-test-${crypto.randomUUID()}`;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('keys');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const tx = db.transaction('keys', 'readwrite');
  tx.objectStore('keys').put(record, 'device');
  await new Promise((r, j) => ((tx.oncomplete = r), (tx.onerror = j)));
  db.close();
  const db2 = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const got = await new Promise<DecisionKeyRecord>((resolve, reject) => {
    const req = db2.transaction('keys').objectStore('keys').get('device');
    req.onsuccess = () => resolve(req.result as DecisionKeyRecord);
    req.onerror = () => reject(req.error);
  });
  db2.close();
  indexedDB.deleteDatabase(name);
  return got;
}

describe('device signing key in Chromium', () => {
  it('cannot be exported, survives IndexedDB, and still signs afterwards', async () => {
    const signingKey = await generateSigningKey();
    expect(signingKey.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', signingKey.privateKey)).rejects.toThrow();
    const back = await idbRoundTrip({ v: 1, kioskId: 'lobby-1', signingKey, lastSeq: 7, createdAt: Date.now() });
    expect(back.lastSeq).toBe(7);
    expect(back.signingKey.privateKey).toBeInstanceOf(CryptoKey);
    expect(back.signingKey.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', back.signingKey.privateKey)).rejects.toThrow();
    const sig = await signText(back.signingKey.privateKey, 'payload');
    expect(await verifyText(signingKey.publicKey, 'payload', sig)).toBe(true);
  });
});

describe('two kiosk tabs on one device (Web Locks)', () => {
  it('never hand out the same sequence number and never send one entry twice', async () => {
    const outbox = new MemoryOutbox();
    const keys = new MemoryKeyStore();
    const sent: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const fetchDouble = (async (_u: RequestInfo | URL, init?: RequestInit) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const checked = checkEnvelopeText(String(init?.body));
      if (checked.ok) sent.push(checked.value.payload.seq);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return new Response('{"ok":true}', { status: 200 });
    }) as typeof fetch;
    const lockPrefix = `tabs-${crypto.randomUUID()}`;
    const open = () =>
      DecisionService.open({
        kioskId: 'lobby-1',
        url: 'http://127.0.0.1:8787/decisions',
        outbox,
        keys,
        fetch: fetchDouble,
        lockPrefix,
      });
    const [a, b] = await Promise.all([open(), open()]);
    try {
      await twoTabs(a, b);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }

    async function twoTabs(a: DecisionService, b: DecisionService): Promise<void> {
      // The second tab found the first tab's key (no race to generate two); both sign with the same device key.
      expect(b.kid).toBe(a.kid);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).decide('grant')));
      const seqs = results.map((r) => r.seq).sort((x, y) => x - y);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const end = Date.now() + 10_000;
      while ((await outbox.count()) > 0 || inFlight > 0) {
        if (Date.now() > end) throw new Error('outbox never drained');
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(maxInFlight).toBe(1);
      expect([...sent].sort((x, y) => x - y)).toEqual(seqs);
    }
  });
});
