/**
 * Outbox delivery logic in Chromium (real Web Locks, timers and Response objects): order, one request at a time,
 * what stays and what leaves, backoff, stale restamping, retention, status for the guard, sequence persistence.
 * The network is a scripted stand-in so timing and failure order are exact; the same behaviour against the real
 * receiver is proven in test/receiver/kiosk-chromium.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionSender, type UpstreamStatus } from '../../src/decisions/sender';
import { DecisionService } from '../../src/decisions/service';
import { checkEnvelopeText, type DecisionPayload } from '../../src/decisions/message';
import { exportPublicJwk, generateSigningKey, jwkThumbprint, signPayload } from '../../src/decisions/signer';
import { serialiseEnvelope } from '../../src/decisions/message';
import type { DecisionKeyStore } from '../../src/shared/decision-keys';
import { MemoryKeyStore, MemoryOutbox } from './decisions-memory-stores';
import { PASS, openVault, uniqueName } from './vault-helpers';

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error';

/** A stand-in upstream: records every body it got, answers from a script, counts concurrent requests. */
function scriptedUpstream(script: (payload: DecisionPayload, n: number) => Reply | Promise<Reply>) {
  const got: DecisionPayload[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch: typeof globalThis.fetch = (async (_url: RequestInfo | URL, init?: RequestInit) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const checked = checkEnvelopeText(String(init?.body));
      if (!checked.ok) throw new Error(`sender sent an invalid body: ${checked.reason}`);
      got.push(checked.value.payload);
      await new Promise((r) => setTimeout(r, 2));
      const reply = await script(checked.value.payload, got.length);
      if (reply === 'network-error') throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify(reply.body ?? { ok: true }), { status: reply.status, headers: reply.headers });
    } finally {
      inFlight--;
    }
  }) as typeof globalThis.fetch;
  return { fetch, got, maxInFlight: () => maxInFlight };
}

async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const FAST = { baseMs: 20, maxMs: 100 };
const toStop: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(toStop.splice(0).map((s) => s.stop()));
});

async function openService(opts: {
  fetch: typeof fetch;
  outbox?: MemoryOutbox;
  keys?: DecisionKeyStore;
  now?: () => number;
  monotonic?: () => number;
  freshnessMs?: number;
  subjectRefs?: boolean;
}) {
  const s = await DecisionService.open({
    kioskId: 'lobby-1',
    url: 'http://127.0.0.1:9/decisions',
    outbox: opts.outbox ?? new MemoryOutbox(),
    keys: opts.keys ?? new MemoryKeyStore(),
    backoff: FAST,
    fetch: opts.fetch,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.monotonic ? { monotonic: opts.monotonic } : {}),
    ...(opts.freshnessMs === undefined ? {} : { freshnessMs: opts.freshnessMs }),
    ...(opts.subjectRefs === undefined ? {} : { subjectRefs: opts.subjectRefs }),
  });
  toStop.push(s);
  return s;
}

describe('DecisionService + DecisionSender', () => {
  it('delivers in sequence order, one request at a time, and empties the outbox', async () => {
    const up = scriptedUpstream(() => ({ status: 200, body: { ok: true, stale: false, actuate: true } }));
    const outbox = new MemoryOutbox();
    const s = await openService({ fetch: up.fetch, outbox });
    const seqs = [];
    for (const d of ['grant', 'deny', 'grant', 'deny', 'grant'] as const) seqs.push((await s.decide(d)).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    await until(() => s.status.counts.delivered === 5);
    expect(up.got.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(up.got.map((p) => p.decision)).toEqual(['grant', 'deny', 'grant', 'deny', 'grant']);
    expect(up.maxInFlight()).toBe(1);
    expect(await outbox.count()).toBe(0);
    expect(s.status).toMatchObject({ state: 'idle', depth: 0, lastDelivered: { seq: 5, stale: false, actuate: true } });
    expect(s.status.problem).toBeUndefined();
  });

  it('keeps an entry through network failures and delivers it once the upstream answers', async () => {
    let down = true;
    const up = scriptedUpstream(() => (down ? 'network-error' : { status: 200 }));
    const outbox = new MemoryOutbox();
    const s = await openService({ fetch: up.fetch, outbox });
    const statuses: UpstreamStatus[] = [];
    s.subscribe((st) => statuses.push(st));
    await s.decide('grant');
    await s.decide('deny');
    // The status passes through 'sending' on every retry; settle on a moment between attempts.
    await until(() => s.status.problem?.code === 'UPSTREAM_UNREACHABLE' && up.got.length >= 3 && s.status.state === 'waiting');
    expect(s.status).toMatchObject({
      state: 'waiting',
      depth: 2,
      problem: { code: 'UPSTREAM_UNREACHABLE', reason: 'network', seq: 1 },
    });
    expect(s.status.nextAttemptAt).toBeGreaterThan(Date.now() - 1000);
    expect((await outbox.list())[0]?.attempts).toBeGreaterThan(0);
    // Nothing after seq 1 was tried while seq 1 was failing: order holds.
    expect(new Set(up.got.map((p) => p.seq))).toEqual(new Set([1]));
    down = false;
    await until(() => s.status.counts.delivered === 2);
    const delivered = up.got.filter((_, i) => i >= up.got.length - 2).map((p) => p.seq);
    expect(delivered).toEqual([1, 2]);
    expect(s.status.problem).toBeUndefined();
    expect(statuses.some((st) => st.state === 'waiting')).toBe(true);
  });

  it('drops a permanently rejected entry, tells the guard, and goes on with the next', async () => {
    const up = scriptedUpstream((p) =>
      p.seq === 1 ? { status: 401, body: { ok: false, reason: 'bad_signature' } } : { status: 200 },
    );
    const outbox = new MemoryOutbox();
    const s = await openService({ fetch: up.fetch, outbox });
    await s.decide('grant');
    await s.decide('grant');
    await until(() => s.status.counts.delivered === 1);
    expect(s.status.lastRejection).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      reason: 'bad_signature',
      status: 401,
      seq: 1,
    });
    expect(s.status.counts.rejected).toBe(1);
    expect(await outbox.count()).toBe(0);
    s.sender.clearRejection();
    expect(s.status.lastRejection).toBeUndefined();
  });

  it('counts a 409 duplicate (our lost earlier answer) as delivered, not as a rejection', async () => {
    const up = scriptedUpstream(() => ({ status: 409, body: { ok: false, reason: 'duplicate' } }));
    const s = await openService({ fetch: up.fetch });
    await s.decide('grant');
    await until(() => s.status.counts.delivered === 1);
    expect(s.status.counts).toMatchObject({ duplicates: 1, rejected: 0 });
    expect(s.status.lastRejection).toBeUndefined();
  });

  it('waits at least as long as a 429 Retry-After asks and reports the controller busy', async () => {
    let n = 0;
    const up = scriptedUpstream(() =>
      ++n === 1 ? { status: 429, body: { reason: 'rate_limited' }, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const s = await openService({ fetch: up.fetch });
    const before = Date.now();
    await s.decide('grant');
    await until(() => s.status.problem?.code === 'UPSTREAM_BUSY');
    expect(s.status.nextAttemptAt! - before).toBeGreaterThanOrEqual(990);
    await until(() => s.status.counts.delivered === 1, 4000);
    expect(Date.now() - before).toBeGreaterThanOrEqual(990);
  });

  it('keeps decisions queued while the kiosk is not paired', async () => {
    let paired = false;
    const up = scriptedUpstream(() =>
      paired ? { status: 200 } : { status: 403, body: { ok: false, reason: 'not_paired' } },
    );
    const outbox = new MemoryOutbox();
    const s = await openService({ fetch: up.fetch, outbox });
    await s.decide('deny');
    await until(() => s.status.problem?.code === 'UPSTREAM_NOT_PAIRED');
    expect(await outbox.count()).toBe(1);
    paired = true;
    await until(() => s.status.counts.delivered === 1);
  });

  it('re-signs a decision that outlived the freshness window as stale (same seq, ts, nonce)', async () => {
    let clock = 1_795_000_000_000;
    let down = true;
    const up = scriptedUpstream(() =>
      down ? 'network-error' : { status: 200, body: { ok: true, stale: true, actuate: false } },
    );
    const s = await openService({ fetch: up.fetch, now: () => clock, freshnessMs: 5000 });
    await s.decide('grant');
    await until(() => up.got.length >= 1 && s.status.state === 'waiting');
    const first = up.got[0]!;
    expect(first.stale).toBeUndefined();
    clock += 6000;
    down = false;
    await s.sender.flush();
    await until(() => s.status.counts.delivered === 1);
    const last = up.got[up.got.length - 1]!;
    expect(last).toEqual({ ...first, stale: true });
    expect(s.status.lastError).toMatchObject({ code: 'UPSTREAM_STALE', seq: 1 });
    expect(s.status.counts.stale).toBe(1);
  });

  it('a grant queued while the clock ran fast goes out stale once the clock is corrected (the monotonic clock ran on)', async () => {
    // The receiver checks only the signed time: sent unmarked at the real time the fast clock had stamped, it opened
    // the door an hour after the visitor left. Here the wall clock is set back an hour while the grant waits.
    let wall = 1_795_000_000_000 + 3_600_000;
    let mono = 1_000;
    let down = true;
    const up = scriptedUpstream(() => (down ? 'network-error' : { status: 200, body: { ok: true, stale: true, actuate: false } }));
    const s = await openService({ fetch: up.fetch, now: () => wall, monotonic: () => mono, freshnessMs: 5000 });
    await s.decide('grant');
    await until(() => up.got.length >= 1 && s.status.state === 'waiting');
    const first = up.got[0]!;
    expect(first.stale).toBeUndefined();
    wall -= 3_600_000; // NTP corrects the clock
    mono += 3_600_000; // an hour passes: the signed ts is "now" again on every clock that counts wall time
    down = false;
    await s.sender.flush();
    await until(() => s.status.counts.delivered === 1);
    expect(up.got[up.got.length - 1]).toEqual({ ...first, stale: true });
  });

  it('a grant stamped ahead of the clock now is sent as stale', async () => {
    let wall = 1_795_000_000_000;
    let down = true;
    const up = scriptedUpstream(() => (down ? 'network-error' : { status: 200, body: { ok: true, stale: true, actuate: false } }));
    const s = await openService({ fetch: up.fetch, now: () => wall, monotonic: () => 1_000, freshnessMs: 5000 });
    await s.decide('grant');
    await until(() => up.got.length >= 1 && s.status.state === 'waiting');
    const sent = up.got[0]!;
    wall -= 2000; // the clock set back 2 s: the signed time is now in this clock's future
    down = false;
    await s.sender.flush();
    await until(() => s.status.counts.delivered === 1);
    expect(up.got[up.got.length - 1]).toEqual({ ...sent, stale: true });
  });

  it('a grant queued before this page started is never sent as fresh, however recent its time', async () => {
    const wall = 1_795_000_000_000;
    let down = true;
    const up = scriptedUpstream(() => (down ? 'network-error' : { status: 200, body: { ok: true, stale: true, actuate: false } }));
    const outbox = new MemoryOutbox();
    const keys = new MemoryKeyStore();
    const first = await openService({ fetch: up.fetch, outbox, keys, now: () => wall, monotonic: () => 1_000, freshnessMs: 5000 });
    await first.decide('grant');
    await until(() => up.got.length >= 1 && first.status.state === 'waiting');
    const sent = up.got[0]!;
    await first.stop();
    // A restart at once: fresh by both clocks, but this page did not queue it, so how long it waited is unknown.
    down = false;
    const second = await openService({ fetch: up.fetch, outbox, keys, now: () => wall, monotonic: () => 1_000, freshnessMs: 5000 });
    await until(() => second.status.counts.delivered === 1);
    expect(up.got[up.got.length - 1]).toEqual({ ...sent, stale: true });
  });

  it('drops entries past the retention limit unsent and says so', async () => {
    const up = scriptedUpstream(() => ({ status: 200 }));
    const outbox = new MemoryOutbox();
    const { privateKey } = await generateSigningKey();
    const old = Date.now() - 8 * 24 * 3600_000;
    const payload: DecisionPayload = {
      v: 1,
      kiosk: 'lobby-1',
      seq: 1,
      ts: old,
      decision: 'grant',
      nonce: 'AAECAwQFBgcICQoLDA0ODw',
    };
    await outbox.put({
      seq: 1,
      createdAt: old,
      body: serialiseEnvelope(await signPayload(privateKey, payload)),
      attempts: 3,
    });
    const sender = new DecisionSender({
      url: 'http://127.0.0.1:9/decisions',
      outbox,
      restamp: async (b) => b,
      fetch: up.fetch,
      backoff: FAST,
    });
    toStop.push(sender);
    await sender.start();
    expect(up.got).toEqual([]);
    expect(sender.status).toMatchObject({ depth: 0, counts: { expired: 1 }, lastError: { code: 'UPSTREAM_EXPIRED' } });
  });

  it('replays what was queued before a restart, continuing the sequence', async () => {
    let down = true;
    const up = scriptedUpstream(() => (down ? 'network-error' : { status: 200 }));
    const outbox = new MemoryOutbox();
    const keys = new MemoryKeyStore();
    const first = await openService({ fetch: up.fetch, outbox, keys });
    await first.decide('grant');
    await first.decide('deny');
    await first.stop();
    expect(await outbox.count()).toBe(2);
    down = false;
    const second = await openService({ fetch: up.fetch, outbox, keys });
    expect(second.kid).toBe(first.kid);
    await until(() => second.status.counts.delivered === 2);
    expect((await second.decide('grant')).seq).toBe(3);
    await until(() => second.status.counts.delivered === 3);
    const deliveredSeqs = up.got.slice(-3).map((p) => p.seq);
    expect(deliveredSeqs).toEqual([1, 2, 3]);
  });

  it('reserves each sequence number in the store before signing', async () => {
    const up = scriptedUpstream(() => ({ status: 200 }));
    const keys = new MemoryKeyStore();
    const s = await openService({ fetch: up.fetch, keys });
    const savesBefore = keys.saves;
    await Promise.all([s.decide('grant'), s.decide('deny'), s.decide('grant')]);
    expect((await keys.load())?.lastSeq).toBe(3);
    expect(keys.saves - savesBefore).toBe(3);
  });

  it('replaces an unusable stored record with a fresh key, sealed by the vault and non-extractable from then on', async () => {
    const vault = await openVault(uniqueName('decision-service'));
    try {
      await vault.setup(PASS);
      const keys = vault.decisionKeys;
      await keys.save({ v: 1, kioskId: 'lobby-1', signingKey: {} as CryptoKeyPair, lastSeq: -4, createdAt: 0 });
      const s = await openService({ fetch: scriptedUpstream(() => ({ status: 200 })).fetch, keys });
      const rec = await keys.load();
      expect(rec?.lastSeq).toBe(0);
      expect(rec?.signingKey.privateKey.extractable).toBe(false);
      expect(s.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(s.kid).toBe(await jwkThumbprint(await exportPublicJwk(rec!.signingKey.publicKey)));
    } finally {
      vault.close();
    }
  });

  it('sends no subject reference unless an admin opted in, and never the subject id', async () => {
    const up = scriptedUpstream(() => ({ status: 200 }));
    const keys = new MemoryKeyStore();
    const outbox = new MemoryOutbox();
    const off = await openService({ fetch: up.fetch, keys, outbox });
    await off.decide('grant', { subjectId: 'subject-42' });
    await until(() => off.status.counts.delivered === 1);
    await off.stop();
    // The admin turns the setting on: the app opens the service again with it (the first time makes the HMAC key).
    const s = await openService({ fetch: up.fetch, keys, outbox, subjectRefs: true });
    await s.decide('grant', { subjectId: 'subject-42' });
    await s.decide('grant', { subjectId: 'subject-42' });
    await until(() => s.status.counts.delivered === 2);
    expect(up.got[0]!.sub).toBeUndefined();
    expect(up.got[1]!.sub).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(up.got[2]!.sub).toBe(up.got[1]!.sub);
    expect(JSON.stringify(up.got)).not.toContain('subject-42');
    await s.rotateSubjectKey();
    await s.decide('grant', { subjectId: 'subject-42' });
    await until(() => s.status.counts.delivered === 3);
    expect(up.got[3]!.sub).not.toBe(up.got[1]!.sub);
  });

  it('signs a manual override as manual, and keeps the flag when it is re-signed as stale', async () => {
    // The receiver's log tells overrides from the kiosk's own decisions (attacker review, session 25: an override was
    // a plain grant upstream, and the tablet's audit of it could be purged).
    let clock = 1_795_000_000_000;
    let down = true;
    const up = scriptedUpstream(() => (down ? 'network-error' : { status: 200, body: { ok: true, stale: true, actuate: false } }));
    const s = await openService({ fetch: up.fetch, now: () => clock, freshnessMs: 5000 });
    await s.decide('grant');
    await s.decide('grant', { manual: true });
    await until(() => up.got.length >= 1 && s.status.state === 'waiting');
    clock += 6000;
    down = false;
    await s.sender.flush();
    await until(() => s.status.counts.delivered === 2);
    const last = new Map(up.got.map((p) => [p.seq, p]));
    expect([1, 2].map((seq) => [last.get(seq)?.manual, last.get(seq)?.stale])).toEqual([
      [undefined, true],
      [true, true],
    ]);
    expect(up.got.filter((p) => p.seq === 2 && !p.stale).every((p) => p.manual === true)).toBe(true);
  });

  it('refuses a door id that does not fit the schema', async () => {
    const s = await openService({ fetch: scriptedUpstream(() => ({ status: 200 })).fetch });
    await expect(s.decide('grant', { door: 'Main Entrance (north)' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
