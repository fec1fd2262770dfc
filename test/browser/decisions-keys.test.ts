/**
 * Decision keys and cross-tab exclusion in real Chromium: the signing key, sealed by the vault (the
 * DecisionKeyRecord contract src/store implements), comes back non-extractable and still signs, and Web Locks keep two kiosk tabs
 * from reusing a sequence number or sending the same outbox entry twice.
 */
import { describe, expect, it } from 'vitest';
import { DecisionService } from '../../src/decisions/service';
import { checkEnvelopeText } from '../../src/decisions/message';
import { generateSigningKey, signText, verifyText } from '../../src/decisions/signer';
import { MemoryKeyStore, MemoryOutbox } from './decisions-memory-stores';
import { PASS, openVault, uniqueName } from './vault-helpers';

describe('device signing key in Chromium', () => {
  it('is extractable only until the vault seals it; the stored copy cannot be exported and still signs', async () => {
    // Made extractable so the vault can seal it (a CryptoKey object in IndexedDB is readable from a copied profile;
    // attacker review, session 24); what the kiosk holds after the save is the vault's non-extractable copy.
    const signingKey = await generateSigningKey();
    expect(signingKey.privateKey.extractable).toBe(true);
    const vault = await openVault(uniqueName('decision-key'));
    try {
      await vault.setup(PASS);
      await vault.decisionKeys.save({ v: 1, kioskId: 'lobby-1', signingKey, lastSeq: 7, createdAt: Date.now() });
      const back = (await vault.decisionKeys.load())!;
      expect(back.lastSeq).toBe(7);
      expect(back.signingKey.privateKey).toBeInstanceOf(CryptoKey);
      expect(back.signingKey.privateKey.extractable).toBe(false);
      await expect(crypto.subtle.exportKey('jwk', back.signingKey.privateKey)).rejects.toThrow();
      await expect(crypto.subtle.exportKey('pkcs8', back.signingKey.privateKey)).rejects.toThrow();
      const sig = await signText(back.signingKey.privateKey, 'payload');
      expect(await verifyText(signingKey.publicKey, 'payload', sig)).toBe(true);
    } finally {
      vault.close();
    }
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
