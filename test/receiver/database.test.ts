/**
 * Receiver state in PostgreSQL (a real server from Debian's packages, started here on a loopback port): two
 * receivers on one database serve one site, and the same decision handed to both at the same instant actuates
 * exactly once; pairings made on one are seen by the other; the schema is migrated once even when both start
 * together; of two unbound kiosks naming one free door at the same instant (one on each receiver) only one is bound
 * (without the advisory lock in store.bindDoor both were, every time); a wrong URL or password refuses to start with
 * a clear message. (SQLite, the default, is covered in receiver.test.ts: import of the old JSON state, damaged and
 * newer databases, one receiver per data folder.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver } from '../../receiver/app.mjs';
import {
  type Postgres,
  decisionBody,
  loggedOrders,
  makeKiosk,
  pairBody,
  post,
  startPostgres,
  tempDir,
} from './helpers';

type Receiver = Awaited<ReturnType<typeof createReceiver>>;

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
/** Two receivers on the one database, started at the same moment, each with its own data folder. */
async function twoReceivers(prefix: string, extra: Record<string, unknown>) {
  const dirs = [tempDir(`${prefix}a-`), tempDir(`${prefix}b-`)] as const;
  const [a, b] = (await Promise.all(
    dirs.map((d) => createReceiver({ port: 0, dataDir: d.path, db: pg.url, logger: false, ...extra })),
  )) as [Receiver, Receiver];
  return { a, b, dirs };
}

afterAll(async () => {
  await pg?.stop();
});

describe('two receivers on one PostgreSQL', () => {
  it('actuate each decision exactly once when both get it at the same time', async () => {
    // Both start at once: the migration runs once (advisory lock), the other finds the schema in place.
    const { a, b, dirs } = await twoReceivers('receiver-pg-', { kioskRate: { burst: 500, perSecond: 500 } });
    try {
      expect(a.store).toMatchObject({ kind: 'postgres' });
      expect(a.store.where).not.toContain(new URL(pg.url).password);
      const [urlA, urlB] = [await a.listen(), await b.listen()];
      const kiosk = await makeKiosk('lobby-1');
      const { code } = a.issuePairingCode();
      expect((await post(`${urlA}/pair`, await pairBody(kiosk, code))).status).toBe(200);
      // Paired on A, known to B: the state is the database's, not a process's.
      expect((await b.kiosks())['lobby-1']).toMatchObject({ kid: kiosk.kid, lastSeq: 0 });

      const N = 40;
      const statuses: number[][] = [];
      for (let seq = 1; seq <= N; seq++) {
        const body = await decisionBody(kiosk, { seq, ts: Date.now(), decision: 'grant', door: 'main' });
        const both = await Promise.all([post(`${urlA}/decisions`, body), post(`${urlB}/decisions`, body)]);
        statuses.push(both.map((r) => r.status).sort());
        for (const r of both) if (r.status === 409) expect(r.json.reason).toBe('duplicate');
      }
      expect(statuses).toEqual(Array.from({ length: N }, () => [200, 409]));
      await new Promise((r) => setTimeout(r, 300));
      const all = [...loggedOrders(dirs[0].path), ...loggedOrders(dirs[1].path)];
      expect(all.filter((o) => o.actuate === true)).toHaveLength(N);
      expect(new Set(all.map((o) => o.seq)).size).toBe(N);
      // Both did serve: the race was real, not one receiver answering everything.
      expect(loggedOrders(dirs[0].path).length).toBeGreaterThan(0);
      expect(loggedOrders(dirs[1].path).length).toBeGreaterThan(0);
      expect((await a.kiosks())['lobby-1']!.lastSeq).toBe(N);
    } finally {
      await Promise.all([a.close(), b.close()]);
      for (const d of dirs) d.remove();
    }
  });

  it('bind a free door to only one of two unbound kiosks naming it at the same instant', async () => {
    const { a, b, dirs } = await twoReceivers('receiver-pg-bind-', { pairRate: { burst: 500, perSecond: 500 } });
    try {
      const [urlA, urlB] = [await a.listen(), await b.listen()];
      const pairOn = async (r: Receiver, url: string, id: string) => {
        const k = await makeKiosk(id);
        expect((await post(`${url}/pair`, await pairBody(k, r.issuePairingCode().code))).status).toBe(200);
        return k;
      };
      const ROUNDS = 12;
      const outcomes: number[][] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        // Two tablets paired with door-less codes (a leaked one, say) both name one free door first.
        const [ka, kb] = await Promise.all([pairOn(a, urlA, `bind-a-${round}`), pairOn(b, urlB, `bind-b-${round}`)]);
        const door = `door-${round}`;
        const [bodyA, bodyB] = await Promise.all(
          [ka, kb].map((k) => decisionBody(k, { seq: 1, ts: Date.now(), decision: 'grant', door })),
        );
        const both = await Promise.all([post(`${urlA}/decisions`, bodyA!), post(`${urlB}/decisions`, bodyB!)]);
        outcomes.push(both.map((r) => r.status).sort());
        const holders = Object.entries(await a.kiosks()).filter(([, r]) => r.doors?.includes(door));
        expect(holders.map(([id]) => id)).toHaveLength(1);
      }
      expect(outcomes).toEqual(Array.from({ length: ROUNDS }, () => [200, 409]));
    } finally {
      await Promise.all([a.close(), b.close()]);
      for (const d of dirs) d.remove();
    }
  });

  it('refuses to start when the database cannot be reached or the password is wrong', async () => {
    const dir = tempDir('receiver-pg-bad-');
    try {
      const wrong = new URL(pg.url);
      wrong.password = 'not-the-password';
      await expect(createReceiver({ port: 0, dataDir: dir.path, db: wrong.toString(), logger: false })).rejects.toThrow(
        /cannot reach PostgreSQL at postgres:\/\/receiver:\*\*\*@127\.0\.0\.1:\d+\/receiver: .*password/,
      );
      await expect(createReceiver({ port: 0, dataDir: dir.path, db: 'mysql://x', logger: false })).rejects.toThrow(
        /--db must be "sqlite" or a postgres:\/\/ URL/,
      );
    } finally {
      dir.remove();
    }
  });
});
