/**
 * The reference receiver over real loopback HTTP: pairing, verification (signature, sequence, freshness, exact
 * schema, size, rate), CORS for the kiosk origin only, loopback-only admin routes, persisted state, and the log,
 * webhook and MQTT outputs (MQTT through a real Mosquitto). Kiosk messages are made with Node's WebCrypto.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReceiver } from '../../receiver/app.mjs';
import { checkDecisionBody } from '../../receiver/protocol.mjs';
import {
  type NodeKiosk,
  NONCE,
  ROOT,
  bearer,
  loggedOrders,
  decisionBody,
  journal,
  makeKiosk,
  pairBody,
  post,
  startMosquitto,
  startReceiver,
  tempDir,
  until,
} from './helpers';

const KIOSK_ORIGIN = 'http://127.0.0.1:4173';

interface Harness {
  url: string;
  /** The admin token: new on a fresh folder, or the one passed in when restarting on an old folder. */
  token: string | undefined;
  dataDir: string;
  logs: Record<string, unknown>[];
  receiver: Awaited<ReturnType<typeof createReceiver>>;
  close: () => Promise<void>;
}

async function start(
  opts: Partial<Parameters<typeof createReceiver>[0]> = {},
  dataDir?: string,
  token?: string,
): Promise<Harness> {
  const dir = dataDir ? { path: dataDir, remove: () => {} } : tempDir('receiver-');
  const logs: Record<string, unknown>[] = [];
  const receiver = await createReceiver({
    port: 0,
    dataDir: dir.path,
    origins: [KIOSK_ORIGIN],
    logger: {
      level: 'info',
      stream: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
    },
    ...opts,
  });
  const url = await receiver.listen();
  return {
    url,
    token: receiver.newAdminToken ?? token,
    dataDir: dir.path,
    logs,
    receiver,
    close: async () => {
      await receiver.close();
      dir.remove();
    },
  };
}

async function pair(h: Harness, kiosk: NodeKiosk): Promise<void> {
  const { code } = h.receiver.issuePairingCode();
  const res = await post(`${h.url}/pair`, await pairBody(kiosk, code));
  expect(res).toMatchObject({ status: 200, json: { ok: true, kiosk: kiosk.id, kid: kiosk.kid } });
}

let h: Harness;
let kiosk: NodeKiosk;
beforeEach(async () => {
  h = await start();
  kiosk = await makeKiosk('lobby-1');
});
afterEach(async () => {
  await h.close();
});

/** A re-pair code for `id`, issued with the admin token (the receiver admin's explicit act). */
async function repairCodeFor(r: { url: string; token: string | undefined }, id: string): Promise<string> {
  const issued = await fetch(`${r.url}/admin/pairing-code`, {
    method: 'POST',
    headers: { ...bearer(r.token), 'content-type': 'application/json' },
    body: JSON.stringify({ repair: id }),
  });
  return ((await issued.json()) as { code: string }).code;
}

describe('pairing', () => {
  it('registers a kiosk key with the one-time code, once', async () => {
    const { code } = h.receiver.issuePairingCode();
    const res = await post(`${h.url}/pair`, await pairBody(kiosk, code));
    expect(res.status).toBe(200);
    expect(res.json.kid).toBe(kiosk.kid);
    expect((await h.receiver.kiosks())['lobby-1']).toMatchObject({ kid: kiosk.kid, lastSeq: 0 });
    // Stored in the SQLite database in the data folder, not in a JSON file.
    expect(existsSync(join(h.dataDir, 'receiver.db'))).toBe(true);
    expect(existsSync(join(h.dataDir, 'receiver-state.json'))).toBe(false);
    expect(h.receiver.store).toMatchObject({ kind: 'sqlite', imported: 0 });
    const again = await post(`${h.url}/pair`, await pairBody(await makeKiosk('intruder'), code));
    expect(again).toMatchObject({ status: 403, json: { reason: 'no_pairing_code' } });
    expect(h.logs.some((l) => l.event === 'paired' && l.kiosk === 'lobby-1')).toBe(true);
  });

  it('refuses a wrong code, and a body signed by another key than it registers', async () => {
    h.receiver.issuePairingCode();
    expect(await post(`${h.url}/pair`, await pairBody(kiosk, 'AAAAA-AAAAA'))).toMatchObject({
      status: 403,
      json: { reason: 'bad_code' },
    });
    const { code } = h.receiver.issuePairingCode();
    const other = await makeKiosk('lobby-1');
    const env = JSON.parse(await pairBody(kiosk, code)) as { payload: string };
    const swapped = JSON.stringify({
      payload: env.payload,
      sig: (JSON.parse(await pairBody(other, code)) as { sig: string }).sig,
    });
    expect(await post(`${h.url}/pair`, swapped)).toMatchObject({ status: 401, json: { reason: 'bad_signature' } });
    expect(await h.receiver.kiosks()).toEqual({});
  });

  it('refuses a key coordinate in any spelling but the canonical one (one key, one key id)', async () => {
    // The 43rd character of a coordinate carries 2 spare bits; a spelling with them set decodes to the same point
    // but hashed to another key id, so a retired key could pair again (attacker review, session 25).
    const { code } = h.receiver.issuePairingCode();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(kiosk.jwk.x.at(-1)!);
    const x = kiosk.jwk.x.slice(0, -1) + alphabet[last ^ 1]!;
    expect(Buffer.from(x, 'base64url')).toEqual(Buffer.from(kiosk.jwk.x, 'base64url')); // the same 32 bytes
    const kid = createHash('sha256')
      .update(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${kiosk.jwk.y}"}`, 'utf8')
      .digest('base64url');
    const respelled = await pairBody({ ...kiosk, jwk: { ...kiosk.jwk, x }, kid }, code);
    expect(await post(`${h.url}/pair`, respelled)).toMatchObject({
      status: 400,
      json: { reason: 'bad_field', field: 'key' },
    });
    expect((await post(`${h.url}/pair`, await pairBody(kiosk, code))).status).toBe(200);
  });

  it('keeps the sequence when the same key re-pairs; a new key for a paired id needs a re-pair code', async () => {
    await h.close();
    h = await start({ pairRate: { burst: 20, perSecond: 1 } });
    await pair(h, kiosk);
    expect(
      (await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 5, ts: Date.now(), decision: 'grant' })))
        .status,
    ).toBe(200);
    await pair(h, kiosk);
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(5);
    // Still a warning: a re-pairing nobody expected means a pairing code is in the wrong hands.
    expect(h.logs.filter((l) => l.event === 'repaired')).toEqual([
      expect.objectContaining({ level: 40, kiosk: 'lobby-1', sameKey: true, wasRevoked: false }),
    ]);
    const replacement = await makeKiosk('lobby-1');
    // A plain code cannot swap the key of a paired id: 409, and the code stays usable for a new kiosk.
    const { code } = h.receiver.issuePairingCode();
    expect(await post(`${h.url}/pair`, await pairBody(replacement, code))).toMatchObject({
      status: 409,
      json: { reason: 'repair_not_allowed' },
    });
    expect((await h.receiver.kiosks())['lobby-1']!.kid).toBe(kiosk.kid);
    expect((await post(`${h.url}/pair`, await pairBody(await makeKiosk('garage'), code))).status).toBe(200);
    // The explicit admin act: a code issued over the admin route for exactly this id.
    const other = await fetch(`${h.url}/admin/pairing-code`, {
      method: 'POST',
      headers: { ...bearer(h.token), 'content-type': 'application/json' },
      body: '{"repair":"garage"}',
    });
    expect(other.status).toBe(200);
    const forGarage = ((await other.json()) as { code: string }).code;
    expect(await post(`${h.url}/pair`, await pairBody(replacement, forGarage))).toMatchObject({
      status: 409,
      json: { reason: 'repair_not_allowed' },
    });
    const issued = await fetch(`${h.url}/admin/pairing-code`, {
      method: 'POST',
      headers: { ...bearer(h.token), 'content-type': 'application/json' },
      body: '{"repair":"lobby-1"}',
    });
    const repairCode = ((await issued.json()) as { code: string; repair: string }).code;
    expect(h.logs.some((l) => l.event === 'pairing_code' && l.repair === 'lobby-1' && l.level === 40)).toBe(true);
    expect((await post(`${h.url}/pair`, await pairBody(replacement, repairCode))).status).toBe(200);
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(0);
    // A distinct warning, naming both keys, unlike an ordinary pairing's info line.
    const warned = h.logs.filter((l) => l.event === 'repaired' && l.sameKey === false);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, kiosk: 'lobby-1', kid: replacement.kid });
    expect(warned[0]!.previous).toBe(kiosk.kid.slice(0, 16).match(/.{4}/g)!.join('-'));
    expect(
      await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 6, ts: Date.now(), decision: 'grant' })),
    ).toMatchObject({
      status: 401,
      json: { reason: 'bad_signature' },
    });
    expect(
      (await post(`${h.url}/decisions`, await decisionBody(replacement, { seq: 1, ts: Date.now(), decision: 'grant' })))
        .status,
    ).toBe(200);
  });
});

describe('doors: a kiosk addresses only its own', () => {
  const grant = (k: NodeKiosk, seq: number, door?: string) =>
    decisionBody(k, { seq, ts: Date.now(), decision: 'grant', ...(door ? { door } : {}) });
  const mint = async (body: unknown) =>
    fetch(`${h.url}/admin/pairing-code`, {
      method: 'POST',
      headers: { ...bearer(h.token), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('binds a kiosk paired without doors to the door its first decision names; another door is refused, nothing actuates', async () => {
    await pair(h, kiosk);
    expect((await h.receiver.kiosks())['lobby-1']!.doors).toBeUndefined();
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 1, 'main'))).status).toBe(200);
    expect((await h.receiver.kiosks())['lobby-1']!.doors).toEqual(['main']);
    // The tablet's admin (or whoever took it over) points it at another door: refused for good, no order signed.
    expect(await post(`${h.url}/decisions`, await grant(kiosk, 2, 'server-room'))).toMatchObject({
      status: 409,
      json: { ok: false, reason: 'door_not_allowed', door: 'server-room' },
    });
    expect(await post(`${h.url}/decisions`, await grant(kiosk, 3))).toMatchObject({
      status: 409,
      json: { reason: 'door_not_allowed', door: 'lobby-1' },
    });
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 4, 'main'))).status).toBe(200);
    const out = await until(() => (loggedOrders(h.dataDir).length === 2 ? loggedOrders(h.dataDir) : undefined));
    expect(out.map((d) => [d.seq, d.door, d.actuate])).toEqual([
      [1, 'main', true],
      [4, 'main', true],
    ]);
    // A kiosk that names no door is bound to the door spelled like its id.
    const garage = await makeKiosk('garage');
    await pair(h, garage);
    expect((await post(`${h.url}/decisions`, await grant(garage, 1))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(garage, 2, 'main'))).status).toBe(409);
    expect((await h.receiver.kiosks()).garage!.doors).toEqual(['garage']);
  });

  it('a kiosk paired without doors cannot claim a door another kiosk holds', async () => {
    await pair(h, kiosk);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 1, 'main'))).status).toBe(200);
    // A tablet paired with a leaked (or the start-up) code names itself after the lobby's door, or names it outright.
    for (const [id, door] of [
      ['main', undefined],
      ['intruder', 'main'],
    ] as const) {
      const rogue = await makeKiosk(id);
      await pair(h, rogue);
      expect(await post(`${h.url}/decisions`, await grant(rogue, 1, door))).toMatchObject({
        status: 409,
        json: { reason: 'door_not_allowed', door: 'main' },
      });
      expect((await h.receiver.kiosks())[id]!.doors).toBeUndefined();
    }
    // The receiver's admin may put a second kiosk at the same door, by naming it in the code.
    const exit = await makeKiosk('lobby-exit');
    const code = ((await (await mint({ doors: ['main'] })).json()) as { code: string }).code;
    expect((await post(`${h.url}/pair`, await pairBody(exit, code))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(exit, 1, 'main'))).status).toBe(200);
    const out = await until(() => (loggedOrders(h.dataDir).length === 2 ? loggedOrders(h.dataDir) : undefined));
    expect(out.map((o) => [o.kiosk, o.door, o.actuate])).toEqual([
      ['lobby-1', 'main', true],
      ['lobby-exit', 'main', true],
    ]);
  });

  it('a pairing code may name the doors; re-pairing the same key changes them only with a re-pair code for it', async () => {
    await h.close();
    h = await start({ pairRate: { burst: 20, perSecond: 1 } });
    const r = await mint({ doors: ['main', 'garage'] });
    expect(r.status).toBe(200);
    const issued = (await r.json()) as { code: string; doors: string[] };
    expect(issued.doors).toEqual(['main', 'garage']);
    expect((await post(`${h.url}/pair`, await pairBody(kiosk, issued.code))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 1, 'garage'))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 2, 'main'))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 3, 'side'))).status).toBe(409);
    // An ordinary code re-pairs the same key without widening anything.
    await pair(h, kiosk);
    expect((await h.receiver.kiosks())['lobby-1']!.doors).toEqual(['main', 'garage']);
    // The holder of this kiosk's key learns a code the admin minted for a new tablet at `side`: redeemed with this
    // kiosk's own id and key it must not widen (or move) its doors. Refused; the code stays usable for that tablet.
    const forNewTablet = ((await (await mint({ doors: ['side'] })).json()) as { code: string }).code;
    expect(await post(`${h.url}/pair`, await pairBody(kiosk, forNewTablet))).toMatchObject({
      status: 409,
      json: { reason: 'repair_not_allowed' },
    });
    expect((await h.receiver.kiosks())['lobby-1']!.doors).toEqual(['main', 'garage']);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 4, 'side'))).status).toBe(409);
    expect((await post(`${h.url}/pair`, await pairBody(await makeKiosk('side-1'), forNewTablet))).status).toBe(200);
    // The same doors in another order are no change: an ordinary code will do.
    const same = ((await (await mint({ doors: ['garage', 'main'] })).json()) as { code: string }).code;
    expect((await post(`${h.url}/pair`, await pairBody(kiosk, same))).status).toBe(200);
    // The receiver's admin moves the tablet to another door: a re-pair code for it, naming the door.
    const moved = ((await (await mint({ repair: 'lobby-1', doors: ['side'] })).json()) as { code: string }).code;
    expect((await post(`${h.url}/pair`, await pairBody(kiosk, moved))).status).toBe(200);
    expect(h.logs.filter((l) => l.event === 'repaired').at(-1)).toMatchObject({
      level: 40,
      sameKey: true,
      doors: ['side'],
      previousDoors: ['garage', 'main'],
    });
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 5, 'side'))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 6, 'main'))).status).toBe(409);
  });

  it('refuses a door list that is empty, too long, repeated or not ids', async () => {
    for (const doors of [[], ['a', 'a'], ['bad door'], Array.from({ length: 17 }, (_, i) => `d${i}`), 'main', [1]])
      expect(await mint({ doors }).then(async (r) => [r.status, await r.json()])).toEqual([
        400,
        { ok: false, reason: 'bad_field', field: 'doors' },
      ]);
    expect((await mint({ doors: ['main'], other: 1 })).status).toBe(400);
  });
});

describe('revocation: a lost or retired tablet', () => {
  const revoke = (id: string, token = h.token) =>
    fetch(`${h.url}/admin/kiosks/${id}/revoke`, { method: 'POST', headers: bearer(token) });
  const grant = (k: NodeKiosk, seq: number) => decisionBody(k, { seq, ts: Date.now(), decision: 'grant' });

  it("refuses a revoked kiosk's key for good; only a re-pair code for its id pairs it again", async () => {
    await h.close();
    h = await start({ pairRate: { burst: 20, perSecond: 1 } });
    await pair(h, kiosk);
    expect((await post(`${h.url}/decisions`, await grant(kiosk, 1))).status).toBe(200);
    // Admin only; an unknown id is said to be unknown.
    expect((await fetch(`${h.url}/admin/kiosks/lobby-1/revoke`, { method: 'POST' })).status).toBe(401);
    expect(await revoke('nobody').then(async (r) => [r.status, await r.json()])).toEqual([
      404,
      { ok: false, reason: 'not_paired', kiosk: 'nobody' },
    ]);
    const r = await revoke('lobby-1');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, kiosk: 'lobby-1', revoked: true, already: false });
    expect(h.logs.some((l) => l.event === 'revoked' && l.kiosk === 'lobby-1' && l.level === 40)).toBe(true);
    expect(await revoke('lobby-1').then((x) => x.json())).toMatchObject({ ok: true, already: true });
    // The thief's (or the drawer's) copy of the key: refused, final for a kiosk (401), journaled, no order.
    for (const seq of [2, Number.MAX_SAFE_INTEGER])
      expect(await post(`${h.url}/decisions`, await grant(kiosk, seq))).toMatchObject({
        status: 401,
        json: { reason: 'kiosk_revoked', kiosk: 'lobby-1' },
      });
    expect((await journal(h.url, h.token)).filter((e) => e.reason === 'kiosk_revoked')).toHaveLength(2);
    expect((await h.receiver.kiosks())['lobby-1']).toMatchObject({ lastSeq: 1, revokedAt: expect.any(Number) });
    // An ordinary code pairs it again neither with its old key (retired for good) nor with a new one; the code
    // stays usable.
    const replacement = await makeKiosk('lobby-1');
    const { code } = h.receiver.issuePairingCode();
    expect(await post(`${h.url}/pair`, await pairBody(kiosk, code))).toMatchObject({
      status: 403,
      json: { reason: 'key_retired' },
    });
    expect(await post(`${h.url}/pair`, await pairBody(replacement, code))).toMatchObject({
      status: 409,
      json: { reason: 'repair_not_allowed' },
    });
    expect(await post(`${h.url}/decisions`, await grant(kiosk, 2))).toMatchObject({ status: 401 });
    // The admin's explicit act: a re-pair code for that id, here for the replacement tablet's new key.
    const repairCode = await repairCodeFor(h, 'lobby-1');
    // Not the revoked key, even with that code: a thief holding the tablet could have signed grants far ahead in
    // sequence and time, and the "found" tablet re-paired would make them open the door (attacker review, session
    // 25). The code stays usable.
    const presigned = await decisionBody(kiosk, { seq: 2 ** 40, ts: Date.now() + 1_000, decision: 'grant' });
    expect(await post(`${h.url}/pair`, await pairBody(kiosk, repairCode))).toMatchObject({
      status: 403,
      json: { reason: 'key_retired' },
    });
    expect((await post(`${h.url}/pair`, await pairBody(replacement, repairCode))).status).toBe(200);
    expect(h.logs.find((l) => l.event === 'repaired')).toMatchObject({ level: 40, wasRevoked: true });
    expect((await h.receiver.kiosks())['lobby-1']!.revokedAt).toBeUndefined();
    expect((await post(`${h.url}/decisions`, await grant(replacement, 1))).status).toBe(200);
    expect(await post(`${h.url}/decisions`, await grant(kiosk, 3))).toMatchObject({
      status: 401,
      json: { reason: 'bad_signature' },
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await post(`${h.url}/decisions`, presigned)).toMatchObject({
      status: 401,
      json: { reason: 'bad_signature' },
    });
    // The replaced key stays retired: not under this id with another re-pair code, nor under a new id.
    const againCode = await repairCodeFor(h, 'lobby-1');
    expect(await post(`${h.url}/pair`, await pairBody(kiosk, againCode))).toMatchObject({
      status: 403,
      json: { reason: 'key_retired' },
    });
    const elsewhere = { ...kiosk, id: 'lobby-9' };
    expect(await post(`${h.url}/pair`, await pairBody(elsewhere, h.receiver.issuePairingCode().code))).toMatchObject({
      status: 403,
      json: { reason: 'key_retired' },
    });
    const out = await until(() => (loggedOrders(h.dataDir).length === 2 ? loggedOrders(h.dataDir) : undefined));
    expect(out.map((o) => [o.seq, o.actuate])).toEqual([
      [1, true],
      [1, true],
    ]);
    // One key under two ids (a tablet renamed keeps its key): retiring it under one id retires it under the other.
    const twin = await makeKiosk('side-1');
    expect((await post(`${h.url}/pair`, await pairBody(twin, h.receiver.issuePairingCode().code))).status).toBe(200);
    const renamed = { ...twin, id: 'side-2' };
    expect((await post(`${h.url}/pair`, await pairBody(renamed, h.receiver.issuePairingCode().code))).status).toBe(200);
    expect((await post(`${h.url}/decisions`, await grant(twin, 1))).status).toBe(200);
    expect((await revoke('side-2')).status).toBe(200);
    expect(await post(`${h.url}/decisions`, await grant(twin, 2))).toMatchObject({
      status: 401,
      json: { reason: 'kiosk_revoked' },
    });
  });

  it('keeps a revocation across a restart', async () => {
    const dir = tempDir('receiver-revoke-');
    try {
      const a = await start({}, dir.path);
      await pair(a, kiosk);
      expect(
        (await fetch(`${a.url}/admin/kiosks/lobby-1/revoke`, { method: 'POST', headers: bearer(a.token) })).status,
      ).toBe(200);
      await a.receiver.close();
      // A database from before retired keys (schema v3) carries its revocations over when it is upgraded.
      const { Database } = (await import('node-sqlite3-wasm')).default;
      const db = new Database(join(dir.path, 'receiver.db'));
      db.run('DROP TABLE retired_keys');
      db.run('DELETE FROM schema_migrations WHERE version = 4');
      db.close();
      const b = await start({}, dir.path, a.token);
      try {
        expect(await post(`${b.url}/decisions`, await grant(kiosk, 1))).toMatchObject({
          status: 401,
          json: { reason: 'kiosk_revoked' },
        });
        const code = await repairCodeFor(b, 'lobby-1');
        expect(await post(`${b.url}/pair`, await pairBody(kiosk, code))).toMatchObject({
          status: 403,
          json: { reason: 'key_retired' },
        });
      } finally {
        await b.receiver.close();
      }
    } finally {
      dir.remove();
    }
  });
});

describe('decisions', () => {
  beforeEach(async () => {
    await pair(h, kiosk);
  });

  it("logs a kiosk's manual override as one, at warning level, in the log and the journal", async () => {
    // The tablet's own audit of an override can be purged there; the receiver keeps its own trail (session 25).
    const manual = await post(
      `${h.url}/decisions`,
      await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant', manual: true }),
    );
    expect(manual).toMatchObject({ status: 200, json: { ok: true, actuate: true } });
    await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'grant' }));
    const accepted = h.logs.filter((l) => l.event === 'accepted');
    expect(accepted.map((l) => [l.seq, l.manual, l.level])).toEqual([
      [1, true, 40],
      [2, undefined, 30],
    ]);
    const entries = (await journal(h.url, h.token)).filter((e) => e.route === '/decisions' && e.result === 'accepted');
    expect(entries.map((e) => [e.seq, e.manual])).toEqual([
      [1, true],
      [2, undefined],
    ]);
  });

  it('accepts a verified grant and deny, records them, and lets only the fresh grant actuate', async () => {
    const grantBody = await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant', door: 'main' });
    const before = Date.now();
    const grant = await post(`${h.url}/decisions`, grantBody);
    expect(grant).toMatchObject({ status: 200, json: { ok: true, seq: 1, stale: false, actuate: true } });
    // The receiver's clock at acceptance, so a kiosk can see its own drift (it never stamps decisions with it).
    expect(grant.json.now).toBeGreaterThanOrEqual(before);
    expect(grant.json.now).toBeLessThanOrEqual(Date.now());
    const deny = await post(
      `${h.url}/decisions`,
      await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'deny', door: 'main' }),
    );
    expect(deny).toMatchObject({ status: 200, json: { ok: true, seq: 2, stale: false, actuate: false } });
    const out = await until(() => (loggedOrders(h.dataDir).length === 2 ? loggedOrders(h.dataDir) : undefined));
    expect(out.map((d) => [d.seq, d.decision, d.door, d.actuate])).toEqual([
      [1, 'grant', 'main', true],
      [2, 'deny', 'main', false],
    ]);
    expect(Object.keys(out[0]!)).toEqual([
      'v',
      'id',
      'at',
      'door',
      'kiosk',
      'seq',
      'decision',
      'actuate',
      'stale',
      'ageMs',
      'source',
    ]);
    // The kiosk's own signed decision rides along, byte for byte, with its key id (a decision without a door is
    // addressed to the kiosk's own entrance: "doors" above).
    expect(out[0]!.source).toEqual({ ...JSON.parse(grantBody), kid: kiosk.kid });
    // Signed by the receiver's key, whose public half is in the data folder for door controllers.
    const line = JSON.parse(readFileSync(join(h.dataDir, 'decisions.jsonl'), 'utf8').split('\n')[0]!) as {
      order: string;
      sig: string;
      kid: string;
    };
    const pub = JSON.parse(readFileSync(join(h.dataDir, 'receiver-public.jwk'), 'utf8')) as JsonWebKey;
    expect(line.kid).toBe(h.receiver.receiverKey.kid);
    const key = await crypto.subtle.importKey('jwk', pub, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const ok = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      Buffer.from(line.sig, 'base64url'),
      Buffer.from(line.order, 'utf8'),
    );
    expect(ok).toBe(true);
    const log = await journal(h.url, h.token);
    expect(log.filter((e) => e.route === '/decisions').map((e) => [e.result, e.seq])).toEqual([
      ['accepted', 1],
      ['accepted', 2],
    ]);
  });

  it('rejects a forged signature and logs why', async () => {
    const body = await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'deny' });
    const forged = body.replace('"decision\\":\\"deny', '"decision\\":\\"grant');
    expect(forged).not.toBe(body);
    expect(await post(`${h.url}/decisions`, forged)).toMatchObject({
      status: 401,
      json: { ok: false, reason: 'bad_signature' },
    });
    const other = await makeKiosk('lobby-1'); // right id, wrong key
    expect(
      await post(`${h.url}/decisions`, await decisionBody(other, { seq: 1, ts: Date.now(), decision: 'grant' })),
    ).toMatchObject({ status: 401 });
    expect(h.logs.filter((l) => l.event === 'rejected' && l.reason === 'bad_signature')).toHaveLength(2);
    expect((await journal(h.url, h.token)).filter((e) => e.reason === 'bad_signature')).toHaveLength(2);
    expect(loggedOrders(h.dataDir)).toEqual([]);
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(0);
  });

  it('rejects a replayed sequence; the identical retry is told "duplicate"; neither reaches an output', async () => {
    const first = await decisionBody(kiosk, { seq: 3, ts: Date.now(), decision: 'grant' });
    expect((await post(`${h.url}/decisions`, first)).status).toBe(200);
    expect(await post(`${h.url}/decisions`, first)).toMatchObject({
      status: 409,
      json: { reason: 'duplicate', seq: 3 },
    });
    const sameSeqNewNonce = await decisionBody(kiosk, {
      seq: 3,
      ts: Date.now(),
      decision: 'grant',
      nonce: 'BBECAwQFBgcICQoLDA0ODw',
    });
    expect(await post(`${h.url}/decisions`, sameSeqNewNonce)).toMatchObject({
      status: 409,
      json: { reason: 'replay' },
    });
    const older = await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'grant' });
    expect(await post(`${h.url}/decisions`, older)).toMatchObject({ status: 409, json: { reason: 'replay' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(loggedOrders(h.dataDir).map((d) => d.seq)).toEqual([3]);
    expect(h.logs.filter((l) => l.event === 'rejected').map((l) => l.reason)).toEqual([
      'duplicate',
      'replay',
      'replay',
    ]);
  });

  it('records a stale decision without letting it actuate, whether the kiosk or the clock says so', async () => {
    const late = await post(
      `${h.url}/decisions`,
      await decisionBody(kiosk, { seq: 1, ts: Date.now() - 10_000, decision: 'grant' }),
    );
    expect(late).toMatchObject({ status: 200, json: { ok: true, stale: true, actuate: false } });
    const flagged = await post(
      `${h.url}/decisions`,
      await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'grant', stale: true }),
    );
    expect(flagged).toMatchObject({ status: 200, json: { stale: true, actuate: false } });
    const out = await until(() => (loggedOrders(h.dataDir).length === 2 ? loggedOrders(h.dataDir) : undefined));
    expect(out.every((d) => d.stale === true && d.actuate === false)).toBe(true);
    expect((await journal(h.url, h.token)).filter((e) => e.reason === 'stale')).toHaveLength(2);
    expect(h.logs.filter((l) => l.reason === 'stale' && l.level === 40)).toHaveLength(2);
    // The unmarked one arrived 10 s old though sent as fresh: the kiosk's clock is probably behind, said once.
    const behind = () => h.logs.filter((l) => l.event === 'clock_behind');
    expect(behind()).toHaveLength(1);
    expect(behind()[0]).toMatchObject({ kiosk: kiosk.id, level: 40 });
    expect(Number(behind()[0]!.ageMs)).toBeGreaterThanOrEqual(10_000);
    const again = await post(
      `${h.url}/decisions`,
      await decisionBody(kiosk, { seq: 3, ts: Date.now() - 9_000, decision: 'grant' }),
    );
    expect(again).toMatchObject({ status: 200, json: { stale: true, actuate: false } });
    expect(behind()).toHaveLength(1); // not again within 10 minutes
  });

  it('tolerates clock skew up to the limit and rejects timestamps from further in the future', async () => {
    expect(
      (await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 1, ts: Date.now() + 500, decision: 'grant' })))
        .json,
    ).toMatchObject({ actuate: true });
    expect(
      await post(
        `${h.url}/decisions`,
        await decisionBody(kiosk, { seq: 2, ts: Date.now() + 60_000, decision: 'grant' }),
      ),
    ).toMatchObject({
      status: 422,
      json: { reason: 'future_timestamp' },
    });
    // Refused, and its number used up all the same (next test).
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(2);
  });

  it('uses up the sequence number of a verified grant it refuses for good: resent later, it never actuates', async () => {
    await h.close();
    let clock = Date.now();
    h = await start({ now: () => clock });
    await pair(h, kiosk);
    // The kiosk's clock runs an hour ahead: its grant is refused, and the kiosk drops it (422 is final).
    const ahead = await decisionBody(kiosk, { seq: 1, ts: clock + 3_600_000, decision: 'grant', door: 'main' });
    expect(await post(`${h.url}/decisions`, ahead)).toMatchObject({
      status: 422,
      json: { reason: 'future_timestamp', seq: 1 },
    });
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(1);
    // Its clock is put right and it carries on from its next number.
    expect(
      (
        await post(
          `${h.url}/decisions`,
          await decisionBody(kiosk, { seq: 2, ts: clock, decision: 'deny', door: 'main' }),
        )
      ).status,
    ).toBe(200);
    // A grant for a door the kiosk may not address is used up too, even once the admin adds that door.
    const garage = await decisionBody(kiosk, { seq: 3, ts: clock, decision: 'grant', door: 'garage' });
    expect(await post(`${h.url}/decisions`, garage)).toMatchObject({
      status: 409,
      json: { reason: 'door_not_allowed' },
    });
    const issued = await fetch(`${h.url}/admin/pairing-code`, {
      method: 'POST',
      headers: { ...bearer(h.token), 'content-type': 'application/json' },
      body: '{"repair":"lobby-1","doors":["main","garage"]}',
    });
    const code = ((await issued.json()) as { code: string }).code;
    expect((await post(`${h.url}/pair`, await pairBody(kiosk, code))).status).toBe(200);
    expect(await post(`${h.url}/decisions`, garage)).toMatchObject({ status: 409, json: { reason: 'replay' } });
    // An hour later whoever kept the refused bytes (the wire, the journal) sends them: a replay, nothing opens.
    clock += 3_600_000;
    expect(await post(`${h.url}/decisions`, ahead)).toMatchObject({ status: 409, json: { reason: 'replay', seq: 1 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(loggedOrders(h.dataDir).map((o) => [o.seq, o.actuate])).toEqual([[2, false]]);
    expect((await journal(h.url, h.token)).find((e) => e.reason === 'future_timestamp')?.body).toBe(ahead);
  });

  it('never actuates a grant while its clock reads earlier than a fresh decision it accepted before', async () => {
    // A signed grant refused with a retryable answer (429, 5xx) keeps its number; whoever kept it and can set this
    // host's clock back to its `ts` had a fresh grant to send (attacker review, session 32).
    await h.close();
    let clock = Date.now();
    h = await start({ now: () => clock });
    await pair(h, kiosk);
    let seq = 0;
    const grant = async (ts = clock) =>
      post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: ++seq, ts, decision: 'grant', door: 'main' }));
    expect(await grant()).toMatchObject({ status: 200, json: { actuate: true } });
    // Set back a minute (the grant is fresh by it; the rate limiter no longer answers a clock stepped back with 429).
    clock -= 60_000;
    expect(await grant()).toMatchObject({ status: 200, json: { stale: true, actuate: false } });
    expect(h.logs.filter((l) => l.event === 'clock_set_back' && l.level === 40)).toHaveLength(1);
    // A step back within the freshness window (an NTP correction) stops nothing.
    clock += 57_000;
    expect(await grant()).toMatchObject({ status: 200, json: { actuate: true } });
    // A clock that ran an hour ahead (its decisions stale, so they raise nothing) and is then put right opens again
    // at once: nothing is locked out for the hour.
    clock += 3_600_000;
    expect(await grant(clock - 3_600_000)).toMatchObject({ status: 200, json: { stale: true, actuate: false } });
    clock -= 3_600_000;
    expect(await grant()).toMatchObject({ status: 200, json: { actuate: true } });
    await new Promise((r) => setTimeout(r, 100));
    expect(loggedOrders(h.dataDir).map((o) => [o.seq, o.actuate])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, false],
      [5, true],
    ]);
  });

  it('rejects an extra field even when correctly signed, and an unpaired kiosk', async () => {
    const payload = `{"v":1,"kiosk":"lobby-1","seq":1,"ts":${Date.now()},"decision":"grant","nonce":"${NONCE}","name":"Alice"}`;
    const { sign } = await import('./helpers');
    const body = JSON.stringify({ payload, sig: await sign(kiosk.keys.privateKey, payload) });
    expect(await post(`${h.url}/decisions`, body)).toMatchObject({
      status: 400,
      json: { reason: 'extra_field', field: 'name' },
    });
    const stranger = await makeKiosk('garage');
    expect(
      await post(`${h.url}/decisions`, await decisionBody(stranger, { seq: 1, ts: Date.now(), decision: 'grant' })),
    ).toMatchObject({
      status: 403,
      json: { reason: 'not_paired' },
    });
    const log = await journal(h.url, h.token);
    expect(log.find((e) => e.reason === 'extra_field')?.body).toBe(body);
  });

  it('refuses oversized bodies (413) and non-JSON content types (415)', async () => {
    const big = JSON.stringify({ payload: 'x'.repeat(2000), sig: 'A'.repeat(86) });
    expect(await post(`${h.url}/decisions`, big)).toMatchObject({ status: 413, json: { reason: 'too_large' } });
    const between = JSON.stringify({ payload: 'x'.repeat(600), sig: 'A'.repeat(86) });
    expect(await post(`${h.url}/decisions`, between)).toMatchObject({ status: 413, json: { reason: 'too_large' } });
    const body = await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant' });
    expect(await post(`${h.url}/decisions`, body, { 'content-type': 'text/plain' })).toMatchObject({
      status: 415,
      json: { reason: 'unsupported_media_type' },
    });
    expect(h.logs.filter((l) => l.event === 'rejected').map((l) => l.reason)).toEqual([
      'too_large',
      'too_large',
      'unsupported_media_type',
    ]);
  });
});

describe('hostile input that once got past (issue 18)', () => {
  it('answers 403 not_paired for kiosk ids that name Object.prototype members, and pairs them as plain ids', async () => {
    await pair(h, kiosk);
    for (const id of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'.replace(/_/g, 'x')]) {
      const stranger = await makeKiosk(id);
      expect(
        await post(`${h.url}/decisions`, await decisionBody(stranger, { seq: 1, ts: Date.now(), decision: 'grant' })),
      ).toMatchObject({ status: 403, json: { reason: 'not_paired', kiosk: id } });
    }
    // "__proto__" itself is not a valid kiosk id (the schema allows no leading "_"), so the schema refuses it first.
    const proto = await makeKiosk('__proto__');
    expect(
      (await post(`${h.url}/decisions`, await decisionBody(proto, { seq: 1, ts: Date.now(), decision: 'grant' })))
        .status,
    ).toBe(400);
    // A kiosk really called "constructor" pairs, decides and survives a restart like any other.
    const ctor = await makeKiosk('constructor');
    await pair(h, ctor);
    expect(
      (await post(`${h.url}/decisions`, await decisionBody(ctor, { seq: 1, ts: Date.now(), decision: 'grant' }))).json,
    ).toMatchObject({ ok: true, actuate: true });
    const dir = h.dataDir;
    await h.receiver.close();
    const again = await start({}, dir);
    try {
      expect(Object.keys(await again.receiver.kiosks()).sort()).toEqual(['constructor', 'lobby-1']);
      expect(
        await post(`${again.url}/decisions`, await decisionBody(ctor, { seq: 1, ts: Date.now(), decision: 'grant' })),
      ).toMatchObject({ status: 409, json: { reason: 'duplicate' } });
    } finally {
      await again.receiver.close();
    }
    h = await start();
  });

  it('refuses the high-s twin of a valid signature (401), for decisions and for pairing', async () => {
    await pair(h, kiosk);
    const { sign } = await import('./helpers');
    const payload = `{"v":1,"kiosk":"lobby-1","seq":1,"ts":${Date.now()},"decision":"grant","nonce":"${NONCE}"}`;
    const high = JSON.stringify({ payload, sig: await sign(kiosk.keys.privateKey, payload, true) });
    expect(await post(`${h.url}/decisions`, high)).toMatchObject({ status: 401, json: { reason: 'bad_signature' } });
    const low = JSON.stringify({ payload, sig: await sign(kiosk.keys.privateKey, payload) });
    expect((await post(`${h.url}/decisions`, low)).status).toBe(200);
    const other = await makeKiosk('garage');
    const { code } = h.receiver.issuePairingCode();
    const env = JSON.parse(await pairBody(other, code)) as { payload: string };
    const highPair = JSON.stringify({
      payload: env.payload,
      sig: await sign(other.keys.privateKey, env.payload, true),
    });
    expect(await post(`${h.url}/pair`, highPair)).toMatchObject({ status: 401, json: { reason: 'bad_signature' } });
  });

  it('cuts off a slow-loris body: 408 and a closed socket after the request deadline, state untouched', async () => {
    await h.close();
    h = await start({ requestTimeoutMs: 1000 });
    await pair(h, kiosk);
    const { port } = new URL(h.url);
    const started = Date.now();
    const { answer, closedAfterMs } = await new Promise<{ answer: string; closedAfterMs: number }>((resolve) => {
      const sock = connect(Number(port), '127.0.0.1');
      let answer = '';
      sock.on('data', (d: Buffer) => (answer += d.toString()));
      sock.on('error', () => {});
      sock.write(
        'POST /decisions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{',
      );
      const drip = setInterval(() => sock.write(' '), 100);
      sock.on('close', () => {
        clearInterval(drip);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // Closed by the deadline (1 s, checked every second), long before the 400 bytes would have arrived (40 s).
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(5000);
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(0);
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
  });

  it('closes a connection that never sends a byte, and holds at most 16 open connections per peer address', async () => {
    // Node's request deadlines start at the first byte: silent sockets were held for ever, and a few hundred of them
    // used up the process's file descriptors, so paired kiosks' grants were lost (attacker review, session 23).
    await h.close();
    h = await start({ requestTimeoutMs: 1000 });
    const { port } = new URL(h.url);
    const open = () =>
      new Promise<{ sock: Socket; closed: Promise<number> }>((resolve) => {
        const started = Date.now();
        const sock = connect(Number(port), '127.0.0.1');
        sock.on('error', () => {});
        // Read (and drop) what the receiver sends: a paused socket never sees the receiver's FIN behind a 408, so
        // 'close' never came and the test hung on a slow machine (CI, session 24).
        sock.resume();
        const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now() - started)));
        sock.on('connect', () => resolve({ sock, closed }));
      });
    const silent = await open();
    const after = await silent.closed;
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(3000);

    const many = await Promise.all(Array.from({ length: 20 }, open));
    const early = await Promise.all(
      many.map((c) => Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 500))])),
    );
    expect(early.filter((ms) => ms >= 0)).toHaveLength(4); // the 17th to 20th, at once
    for (const c of many) c.sock.destroy();
    await Promise.all(many.map((c) => c.closed));
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
  });

  it('logs rejections at a bounded rate and says how many went unlogged', async () => {
    let clock = Date.now();
    await h.close();
    h = await start({ rejectLogRate: { burst: 3, perSecond: 1 }, now: () => clock });
    for (let i = 0; i < 20; i++) await post(`${h.url}/decisions`, '{"junk":1}');
    const rejected = () => h.logs.filter((l) => l.event === 'rejected');
    expect(rejected()).toHaveLength(3);
    expect((await journal(h.url, h.token)).filter((e) => e.result === 'rejected')).toHaveLength(20);
    clock += 1000;
    await post(`${h.url}/decisions`, '{"junk":2}');
    expect(rejected()).toHaveLength(4);
    expect(rejected()[3]).toMatchObject({ reason: 'extra_field', unlogged: 17 });

    // A stolen tablet's signed attempt is logged even while junk has drained the shared bucket: signed refusals come
    // from the kiosk's own bucket (attacker review, session 23: junk from the LAN hid the kiosk_revoked line).
    await pair(h, kiosk);
    const revoked = await fetch(`${h.url}/admin/kiosks/lobby-1/revoke`, { method: 'POST', headers: bearer(h.token) });
    expect(revoked.status).toBe(200);
    for (let i = 0; i < 20; i++) await post(`${h.url}/decisions`, '{"junk":3}');
    const before = rejected().length;
    const thief = await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 2, ts: clock, decision: 'grant' }));
    expect(thief).toMatchObject({ status: 401, json: { reason: 'kiosk_revoked' } });
    expect(rejected().slice(before)).toEqual([expect.objectContaining({ reason: 'kiosk_revoked', kiosk: 'lobby-1' })]);
    // The junk is still bounded: its bucket stays empty.
    await post(`${h.url}/decisions`, '{"junk":4}');
    expect(rejected().length).toBe(before + 1);
  });

  it('lets one receiver hold a data folder: a second one refuses to start, a stale lock is taken over', async () => {
    await expect(start({}, h.dataDir)).rejects.toThrow(/held by another receiver \(pid \d+\)/);
    const cli = spawnSync(process.execPath, ['receiver/server.mjs', '--port', '0', '--data', h.dataDir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/receiver: .*receiver\.lock is held by another receiver \(pid \d+\)/);
    // The first receiver is unharmed and still answers.
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
    // A crashed receiver's lock (its pid no longer runs) does not keep the folder locked forever.
    const dir = tempDir('receiver-stale-lock-');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir.path, 'receiver.lock'), `${dead.stdout}\n`);
    const after = await start({}, dir.path);
    expect(readFileSync(join(dir.path, 'receiver.lock'), 'utf8').trim()).toMatch(new RegExp(`^${process.pid} `));
    await after.close();
    expect(existsSync(join(dir.path, 'receiver.lock'))).toBe(false);
    dir.remove();
  });

  it('restarts after a crash even when the old pid is in use again (a container is pid 1 every time)', async () => {
    // The lock held only a pid: after a power cut the same pid (this process's own, or another program's) counted as
    // "held", and the receiver never started again, so the door stayed shut (attacker review, session 23).
    const dir = tempDir('receiver-reused-pid-');
    const lock = join(dir.path, 'receiver.lock');
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const startOf = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    };
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      await until(() => existsSync(`/proc/${sleeper.pid}/stat`));
      const cases: [string, string, boolean][] = [
        ['our own pid, written before a reboot', `${process.pid} not-this-boot ${startOf(process.pid)}`, true],
        ['our own pid, older format (pid only)', `${process.pid}`, true],
        ['a live pid of another program started after the crash', `${sleeper.pid} ${bootId} 1`, true],
        ['a live receiver (same pid, boot and start time)', `${sleeper.pid} ${bootId} ${startOf(sleeper.pid!)}`, false],
      ];
      for (const [what, text, starts] of cases) {
        writeFileSync(lock, `${text}\n`);
        if (starts) {
          const r = await start({}, dir.path);
          expect(readFileSync(lock, 'utf8').trim(), what).toMatch(new RegExp(`^${process.pid} ${bootId} \\d+$`));
          // A second receiver in this process is still refused while the first runs.
          await expect(start({}, dir.path), what).rejects.toThrow(/held by another receiver/);
          await r.close();
          expect(existsSync(lock), what).toBe(false);
        } else {
          await expect(start({}, dir.path), what).rejects.toThrow(
            new RegExp(`held by another receiver \\(pid ${sleeper.pid}\\)`),
          );
        }
      }
    } finally {
      sleeper.kill();
      dir.remove();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a kiosk exceeds its rate', async () => {
    await h.close();
    h = await start({ kioskRate: { burst: 3, perSecond: 1 } });
    await pair(h, kiosk);
    const statuses = [];
    let last;
    for (let seq = 1; seq <= 4; seq++) {
      last = await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq, ts: Date.now(), decision: 'grant' }));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.json.reason).toBe('rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await h.receiver.kiosks())['lobby-1']!.lastSeq).toBe(3);
  });

  it("copies of a kiosk's old decisions do not use up its rate: its next grant still gets through", async () => {
    // Every order carries the kiosk's signed decision (MQTT, webhooks, logs): resent from the LAN, copies drained
    // the kiosk's bucket and its real grants were refused and went stale (attacker review, session 25).
    await h.close();
    h = await start({ kioskRate: { burst: 3, perSecond: 0.01 } });
    await pair(h, kiosk);
    const old = await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant' });
    expect((await post(`${h.url}/decisions`, old)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await post(`${h.url}/decisions`, old)).json.reason).toBe('duplicate');
    const older = await decisionBody(kiosk, {
      seq: 1,
      ts: Date.now(),
      decision: 'grant',
      nonce: 'AQECAwQFBgcICQoLDA0ODw',
    });
    expect((await post(`${h.url}/decisions`, older)).json.reason).toBe('replay');
    expect(
      (await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'grant' })))
        .status,
    ).toBe(200);
  });
});

describe('CORS and admin routes', () => {
  it('answers the preflight for the kiosk origin only', async () => {
    const ok = await fetch(`${h.url}/decisions`, {
      method: 'OPTIONS',
      headers: {
        origin: KIOSK_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(KIOSK_ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(ok.headers.get('access-control-allow-private-network')).toBeNull();
    const pna = await fetch(`${h.url}/decisions`, {
      method: 'OPTIONS',
      headers: {
        origin: KIOSK_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-private-network': 'true',
      },
    });
    expect(pna.headers.get('access-control-allow-private-network')).toBe('true');
    const evil = await fetch(`${h.url}/decisions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:6666', 'access-control-request-method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const post_ = await post(`${h.url}/decisions`, '{}', { origin: 'https://evil.example' });
    expect(post_).toMatchObject({ status: 403, json: { reason: 'origin_not_allowed' } });
  });

  it('puts CORS headers on error answers too, so the kiosk can read why', async () => {
    const big = await fetch(`${h.url}/decisions`, {
      method: 'POST',
      headers: { origin: KIOSK_ORIGIN, 'content-type': 'application/json' },
      body: 'x'.repeat(3000),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get('access-control-allow-origin')).toBe(KIOSK_ORIGIN);
    expect(big.headers.get('access-control-expose-headers')).toMatch(/retry-after/i);
  });

  it('serves the log and pairing codes only with the admin token: loopback alone grants nothing', async () => {
    const log = `${h.url}/decisions/log`;
    const auth = bearer(h.token);
    expect(h.token).toMatch(/^ekr_[A-Za-z0-9_-]{43}$/);
    // The folder keeps only the hash: the token itself is nowhere on disk.
    const stored = readFileSync(join(h.dataDir, 'admin-token.sha256'), 'utf8');
    expect(stored).toBe(`sha256:${createHash('sha256').update(h.token!).digest('hex')}\n`);
    expect(stored).not.toContain(h.token!);
    const noToken = await fetch(log);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await fetch(log, { headers: { authorization: `Bearer ekr_${'A'.repeat(43)}` } })).status).toBe(401);
    expect((await fetch(log, { headers: { authorization: h.token! } })).status).toBe(401);
    expect((await fetch(`${h.url}/admin/pairing-code`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(log, { headers: auth })).status).toBe(200);
    // A web page never gets in, even holding the token.
    expect((await fetch(log, { headers: { ...auth, origin: KIOSK_ORIGIN } })).status).toBe(403);
    expect((await fetch(log, { headers: { ...auth, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    const code = await fetch(`${h.url}/admin/pairing-code`, { method: 'POST', headers: auth });
    expect(code.status).toBe(200);
    expect(((await code.json()) as { code: string }).code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    // The refusals are journaled without the token they carried.
    expect(JSON.stringify(await journal(h.url, h.token))).not.toContain(h.token!.slice(4));
    expect(JSON.stringify(h.logs)).not.toContain(h.token!.slice(4));
  });

  it('grants nothing through a same-host reverse proxy that rewrites Host (nginx default) without the token', async () => {
    const target = new URL(h.url);
    // A tiny proxy as nginx does it by default: the receiver sees a loopback peer and Host = its own address.
    const proxy = createServer((req, res) => {
      const up = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const via = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      expect((await fetch(`${via}/decisions/log`)).status).toBe(401);
      expect((await fetch(`${via}/admin/pairing-code`, { method: 'POST' })).status).toBe(401);
      expect((await fetch(`${via}/decisions/log`, { headers: { host: 'receiver.lan' } })).status).toBe(401);
      expect((await fetch(`${via}/decisions/log`, { headers: bearer(h.token) })).status).toBe(200);
      expect((await journal(h.url, h.token)).filter((e) => e.reason === 'admin_token_required')).toHaveLength(3);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('persistence', () => {
  it('remembers pairings and sequence numbers across a restart', async () => {
    const dir = tempDir('receiver-persist-');
    const a = await start({}, dir.path);
    await pair(a, kiosk);
    const body = await decisionBody(kiosk, { seq: 7, ts: Date.now(), decision: 'grant' });
    expect((await post(`${a.url}/decisions`, body)).status).toBe(200);
    await a.close();
    // A receiver killed mid-statement leaves the database library's lock folder behind: the next start must not
    // take it for a damaged database (whose advice, restore a backup, would bring back revoked kiosks).
    mkdirSync(join(dir.path, 'receiver.db.lock'));
    const b = await start({}, dir.path, a.token);
    try {
      expect(b.receiver.newAdminToken).toBeUndefined(); // shown once: a restart keeps the token it had
      expect((await fetch(`${b.url}/decisions/log`, { headers: bearer(a.token) })).status).toBe(200);
      expect(await post(`${b.url}/decisions`, body)).toMatchObject({ status: 409, json: { reason: 'duplicate' } });
      expect(
        await post(`${b.url}/decisions`, await decisionBody(kiosk, { seq: 6, ts: Date.now(), decision: 'grant' })),
      ).toMatchObject({
        status: 409,
        json: { reason: 'replay' },
      });
      expect(
        (await post(`${b.url}/decisions`, await decisionBody(kiosk, { seq: 8, ts: Date.now(), decision: 'grant' })))
          .status,
      ).toBe(200);
    } finally {
      await b.close();
      dir.remove();
    }
  });

  it('imports the old JSON state file once, keeping sequence numbers and recent nonces', async () => {
    const dir = tempDir('receiver-import-');
    const old = {
      v: 1,
      kiosks: {
        'lobby-1': { jwk: kiosk.jwk, kid: kiosk.kid, pairedAt: 1, lastSeq: 7, recent: [[7, NONCE]] },
        constructor: { jwk: kiosk.jwk, kid: kiosk.kid, pairedAt: 1, lastSeq: 2, recent: [] },
      },
    };
    writeFileSync(join(dir.path, 'receiver-state.json'), JSON.stringify(old));
    const a = await start({}, dir.path);
    try {
      expect(a.receiver.store).toMatchObject({ kind: 'sqlite', imported: 2 });
      expect(existsSync(join(dir.path, 'receiver-state.json'))).toBe(false);
      expect(existsSync(join(dir.path, 'receiver-state.json.migrated'))).toBe(true);
      const seven = await decisionBody(kiosk, { seq: 7, ts: Date.now(), decision: 'grant' });
      expect(await post(`${a.url}/decisions`, seven)).toMatchObject({ status: 409, json: { reason: 'duplicate' } });
      // An old decision replayed (its bytes read off an MQTT topic or the journal) binds no door to a kiosk paired
      // before doors were kept: it is a replay, and the kiosk's next real decision binds its own door.
      const old5 = await decisionBody(kiosk, { seq: 5, ts: Date.now(), decision: 'grant', door: 'main' });
      expect(await post(`${a.url}/decisions`, old5)).toMatchObject({ status: 409, json: { reason: 'replay' } });
      expect((await a.receiver.kiosks())['lobby-1']!.doors).toBeUndefined();
      const next = await decisionBody(kiosk, { seq: 8, ts: Date.now(), decision: 'deny' });
      expect((await post(`${a.url}/decisions`, next)).status).toBe(200);
      expect((await a.receiver.kiosks())['lobby-1']!.doors).toEqual(['lobby-1']);
      expect((await a.receiver.kiosks()).constructor).toMatchObject({ lastSeq: 2, kid: kiosk.kid });
    } finally {
      await a.receiver.close();
    }
    const b = await start({}, dir.path);
    try {
      expect(b.receiver.store.imported).toBe(0);
      expect((await b.receiver.kiosks())['lobby-1']!.lastSeq).toBe(8);
    } finally {
      await b.close();
      dir.remove();
    }
  });

  it('refuses to start on a damaged database, one from a newer receiver, or a damaged old state file', async () => {
    const made = tempDir('receiver-newer-');
    const first = await start({}, made.path);
    await first.receiver.close();
    const { Database } = (await import('node-sqlite3-wasm')).default;
    const db = new Database(join(made.path, 'receiver.db'));
    expect(db.all('SELECT version FROM schema_migrations')).toEqual([1, 2, 3, 4].map((version) => ({ version })));
    db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)');
    db.close();
    await expect(createReceiver({ port: 0, dataDir: made.path, logger: false })).rejects.toThrow(
      /schema v99, newer than this receiver knows \(v4\)/,
    );
    made.remove();
    const damaged = tempDir('receiver-damaged-');
    writeFileSync(join(damaged.path, 'receiver.db'), Buffer.alloc(4096, 0x5a));
    await expect(createReceiver({ port: 0, dataDir: damaged.path, logger: false })).rejects.toThrow(
      /receiver\.db is damaged or not a receiver database .*refusing to start/,
    );
    // Left as it was, for the admin to restore or inspect.
    expect(readFileSync(join(damaged.path, 'receiver.db'))).toEqual(Buffer.alloc(4096, 0x5a));
    expect(existsSync(join(damaged.path, 'receiver.lock'))).toBe(false);
    damaged.remove();

    const dir = tempDir('receiver-corrupt-');
    writeFileSync(join(dir.path, 'receiver-state.json'), '{"v":1,"kiosks":{"lobby-1":{"kid":3}}}');
    await expect(createReceiver({ port: 0, dataDir: dir.path, logger: false })).rejects.toThrow(/malformed/);
    writeFileSync(join(dir.path, 'receiver-state.json'), '{"v":1,"kios');
    await expect(createReceiver({ port: 0, dataDir: dir.path, logger: false })).rejects.toThrow(/not valid JSON/);
    dir.remove();
  });
});

describe('outputs', () => {
  it('POSTs each verified decision to the webhook, and nothing for rejected ones', async () => {
    const got: { body: string; type: string | undefined; mac: string | undefined }[] = [];
    const hook = createServer((req: IncomingMessage, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        const mac = req.headers['x-entrance-kiosk-signature'];
        got.push({ body: b, type: req.headers['content-type'], mac: typeof mac === 'string' ? mac : undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const addr = hook.address() as { port: number };
    await h.close();
    h = await start({ webhook: `http://127.0.0.1:${addr.port}/hook` });
    try {
      await pair(h, kiosk);
      await post(
        `${h.url}/decisions`,
        await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant', door: 'main' }),
      );
      await post(
        `${h.url}/decisions`,
        (await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'grant' })).replace('grant', 'deny'),
      );
      await until(() => got.length >= 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toHaveLength(1);
      expect(got[0]!.type).toBe('application/json');
      // Stripe-style HMAC over "<t>.<body>" with the secret the receiver made in its data folder.
      const secret = readFileSync(join(h.dataDir, 'webhook-secret'), 'utf8').trim();
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(got[0]!.mac ?? '')!;
      expect(Math.abs(Number(t) * 1000 - Date.now())).toBeLessThan(10_000);
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${got[0]!.body}`).digest('hex'));
      expect(JSON.parse((JSON.parse(got[0]!.body) as { order: string }).order)).toMatchObject({
        kiosk: 'lobby-1',
        seq: 1,
        decision: 'grant',
        door: 'main',
        actuate: true,
        stale: false,
      });
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  describe('MQTT (real Mosquitto)', () => {
    let broker: Awaited<ReturnType<typeof startMosquitto>>;
    afterAll(async () => {
      await broker?.stop();
    });

    it('publishes the verified decision to <prefix>/<kiosk>/decision', async () => {
      broker = await startMosquitto();
      const sub = await connectAsync(broker.url, { clientId: 'test-subscriber' });
      const messages: { topic: string; payload: Record<string, unknown> }[] = [];
      sub.on('message', (topic, payload) =>
        messages.push({
          topic,
          payload: JSON.parse((JSON.parse(payload.toString()) as { order: string }).order) as Record<string, unknown>,
        }),
      );
      await sub.subscribeAsync('entrance-kiosk/#', { qos: 1 });
      await h.close();
      h = await start({ mqtt: broker.url });
      try {
        await h.receiver.mqttReady();
        await pair(h, kiosk);
        await post(`${h.url}/decisions`, await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant' }));
        await post(
          `${h.url}/decisions`,
          await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'deny', nonce: 'CCECAwQFBgcICQoLDA0ODw' }),
        );
        await post(
          `${h.url}/decisions`,
          await decisionBody(kiosk, { seq: 2, ts: Date.now() - 30_000, decision: 'deny' }),
        );
        await until(() => messages.length >= 2, 10_000, 'two MQTT messages');
        await new Promise((r) => setTimeout(r, 200));
        expect(
          messages.map((m) => [m.topic, m.payload.seq, m.payload.decision, m.payload.actuate, m.payload.stale]),
        ).toEqual([
          ['entrance-kiosk/lobby-1/decision', 1, 'grant', true, false],
          ['entrance-kiosk/lobby-1/decision', 2, 'deny', false, true],
        ]);
      } finally {
        await sub.endAsync();
      }
    });
  });
});

describe('Home Assistant MQTT discovery (real Mosquitto)', () => {
  // HA's MQTT binary_sensor options (home-assistant.io/integrations/binary_sensor.mqtt), the subset a config may use
  // here, with their types; state_topic is the one required key.
  const BINARY_SENSOR_KEYS: Record<string, string> = {
    name: 'string',
    unique_id: 'string',
    object_id: 'string',
    device_class: 'string',
    state_topic: 'string',
    value_template: 'string',
    payload_on: 'string',
    payload_off: 'string',
    off_delay: 'number',
    json_attributes_topic: 'string',
    device: 'object',
  };
  const DEVICE_CLASSES = ['door', 'lock', 'opening', 'garage_door', 'occupancy'];

  it('announces each door as a binary_sensor (retained) and keeps its last order as state', async () => {
    const broker = await startMosquitto();
    try {
      await h.close();
      h = await start({ mqtt: broker.url, haDiscovery: 'homeassistant' });
      await h.receiver.mqttReady();
      await pair(h, kiosk);
      await post(
        `${h.url}/decisions`,
        await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant', door: 'main' }),
      );
      await post(
        `${h.url}/decisions`,
        await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'deny', door: 'main' }),
      );
      // A Home Assistant that connects later still finds both: they are retained.
      await new Promise((r) => setTimeout(r, 300));
      const ha = await connectAsync(broker.url, { clientId: 'home-assistant' });
      const got = new Map<string, string>();
      ha.on('message', (topic, payload) => got.set(topic, payload.toString()));
      await ha.subscribeAsync(['homeassistant/#', 'entrance-kiosk/door/#'], { qos: 1 });
      try {
        await until(() => got.size >= 2, 5000, 'retained discovery config and state');
        const config = JSON.parse(got.get('homeassistant/binary_sensor/entrance_kiosk_main/config')!) as Record<
          string,
          unknown
        >;
        for (const [k, v] of Object.entries(config)) expect([k, typeof v]).toEqual([k, BINARY_SENSOR_KEYS[k]]);
        expect(DEVICE_CLASSES).toContain(config.device_class);
        expect(config.state_topic).toBe('entrance-kiosk/door/main/last');
        expect(config.unique_id).toBe('entrance_kiosk_main');
        expect((config.device as { identifiers: string[] }).identifiers).toEqual(['entrance_kiosk_main']);
        const last = JSON.parse(got.get('entrance-kiosk/door/main/last')!) as Record<string, unknown>;
        expect(last).toMatchObject({ kiosk: 'lobby-1', seq: 2, decision: 'deny', actuate: false });
        // HA renders value_template with Jinja; its expression here is simple enough to check by hand: on only for
        // an order that opened the door and is at most 5 s old, so the retained state sent again after a restart of
        // HA or the broker does not show the door opening (and fire automations) a second time.
        expect(config.value_template).toBe(
          "{{ 'ON' if value_json.actuate and (as_timestamp(now()) * 1000 - value_json.at) < 5000 else 'OFF' }}",
        );
        expect([config.payload_on, config.payload_off]).toEqual(['ON', 'OFF']);
      } finally {
        await ha.endAsync();
      }
    } finally {
      await h.close();
      h = await start();
      await broker.stop();
    }
  });
});

describe('command line', () => {
  it('prints its URL and a pairing code, logs JSON lines with reasons, survives a restart, stops on SIGTERM', async () => {
    const dir = tempDir('receiver-cli-');
    const capture = join(dir.path, 'capture.jsonl');
    const args = ['--port', '0', '--data', dir.path, '--origin', KIOSK_ORIGIN, '--capture', capture];
    const r1 = await startReceiver(args);
    try {
      expect(r1.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(r1.pairingCode).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
      expect(r1.adminToken).toMatch(/^ekr_[A-Za-z0-9_-]{43}$/);
      // The token is handed over in a file only this user can read, never on the output a service manager keeps
      // (whoever reads those logs would mint pairing codes for any door).
      expect(r1.output()).not.toContain(r1.adminToken!);
      expect(r1.output()).not.toMatch(/ekr_/);
      expect(statSync(join(dir.path, 'admin-token.new')).mode & 0o777).toBe(0o600);
      expect((await post(`${r1.url}/pair`, await pairBody(kiosk, r1.pairingCode))).status).toBe(200);
      await r1.waitForOutput(/^receiver: paired kiosk lobby-1, key fingerprint \S+/m);
      const good = await decisionBody(kiosk, { seq: 1, ts: Date.now(), decision: 'grant' });
      expect((await post(`${r1.url}/decisions`, good)).status).toBe(200);
      expect((await post(`${r1.url}/decisions`, good.replace('grant', 'deny'))).status).toBe(401);
      await until(() => r1.logLines().some((l) => l.event === 'rejected' && l.reason === 'bad_signature'));
      expect(await r1.stop()).toBe(0);

      const r2 = await startReceiver(args.map((a) => (a === '0' ? String(r1.port) : a)));
      try {
        expect(r2.url).toBe(r1.url);
        // With a kiosk paired, a restart prints no live pairing code for the logs to keep, only how to mint one.
        expect(r2.pairingCode).toBe('');
        expect(r2.output()).not.toMatch(/pairing code:/);
        expect(r2.output()).toMatch(
          /^receiver: 1 kiosk\(s\) paired; a code for another: node receiver\/server.mjs pairing-code/m,
        );
        // Later starts write no token; while the first start's file is there, each start says to collect it.
        expect(r2.adminToken).toBeUndefined();
        expect(r2.output()).toMatch(/^receiver: the admin token is still in \S+admin-token\.new, in clear: move it somewhere safe/m);
        expect(r2.output()).not.toContain(r1.adminToken!);
        expect((await fetch(`${r2.url}/decisions/log`, { headers: bearer(r1.adminToken) })).status).toBe(200);
        // A new token cannot be made under a running receiver (it holds the folder).
        const busy = spawnSync(process.execPath, ['receiver/server.mjs', 'admin-token', '--data', dir.path], {
          cwd: ROOT,
          encoding: 'utf8',
        });
        expect([busy.status, busy.stderr]).toEqual([1, expect.stringMatching(/held by another receiver/)]);
        expect(await post(`${r2.url}/decisions`, good)).toMatchObject({ status: 409, json: { reason: 'duplicate' } });
        expect(
          (await post(`${r2.url}/decisions`, await decisionBody(kiosk, { seq: 2, ts: Date.now(), decision: 'deny' })))
            .status,
        ).toBe(200);
      } finally {
        expect(await r2.stop()).toBe(0);
      }
      const rotated = spawnSync(process.execPath, ['receiver/server.mjs', 'admin-token', '--data', dir.path], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(rotated.status).toBe(0);
      const fresh = /new admin token .*: (ekr_\S+)$/m.exec(rotated.stdout)![1]!;
      expect(existsSync(join(dir.path, 'admin-token.new'))).toBe(false); // it held the token that stopped working
      expect(readFileSync(join(dir.path, 'admin-token.sha256'), 'utf8')).toBe(
        `sha256:${createHash('sha256').update(fresh).digest('hex')}\n`,
      );
      // The capture file holds every body either process received, with its verdict: what a test checks against the schema.
      const captured = readFileSync(capture, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { route: string; status: number; body: string });
      const decisions = captured.filter((c) => c.route === '/decisions');
      expect(decisions.map((c) => c.status)).toEqual([200, 401, 409, 200]);
      for (const c of decisions) expect(checkDecisionBody(c.body).ok).toBe(true);
    } finally {
      dir.remove();
    }
  });
});
