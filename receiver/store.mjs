// @ts-check
/**
 * The receiver's state in a real database: paired kiosks, the last accepted sequence number of each, recently seen
 * (seq, nonce) pairs and the request journal. SQLite by default (`<data>/receiver.db`), PostgreSQL with
 * `--db postgres://…` so several receivers can serve one site. Owns the schema, its versioned migrations and the
 * one-time import of the old JSON state file; nothing else in the receiver writes SQL.
 *
 * The rule that keeps a door from opening twice: accepting a decision is ONE conditional statement,
 * `UPDATE kiosks SET last_seq = $seq … WHERE id = $kiosk AND kid = $kid AND last_seq < $seq`, so of two receivers
 * handed the same decision at the same time exactly one sees its row updated (PostgreSQL's row lock makes the second
 * re-check `last_seq < $seq` after the first commits); the loser answers duplicate/replay and actuates nothing.
 * A verified decision the receiver refuses for good has its number used up by the same kind of statement (`burn`).
 * A database this receiver cannot read (damaged file, a schema from a newer receiver, an unknown layout) stops the
 * receiver with a clear message instead of being replaced: starting empty would forget every sequence number,
 * which is exactly what a replay needs.
 *
 * SQLite comes from node-sqlite3-wasm (SQLite compiled to WebAssembly, file access through Node's fs): Node 20 has
 * no node:sqlite, and better-sqlite3 needs a prebuilt binary download or a native compile (node-gyp, headers from
 * the network), which failed here after >120 s of compiling; the wasm build installs from npm alone on any
 * platform. It has no cross-process locking of its own, which the data folder's lock (receiver/lock.mjs) provides.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const SQLITE_FILE = 'receiver.db';
/** How many recently accepted (seq, nonce) pairs are kept per kiosk, to recognise a retry of a delivered decision. */
export const RECENT = 32;

/**
 * @typedef {import('./protocol.mjs').PublicJwk} PublicJwk
 * @typedef {{ jwk: PublicJwk, kid: string, pairedAt: number, lastSeq: number, lastAcceptedAt?: number,
 *   doors?: string[], revokedAt?: number }} KioskRecord `doors`: the doors this kiosk may address (absent: not yet
 *   bound; the first decision it sends binds it to the door it names, receiver/app.mjs). `revokedAt`: when the admin
 *   unpaired it (a lost or retired tablet); its key is refused from then on, and only a re-pair code for its id
 *   pairs it again
 * @typedef {'ok' | 'duplicate' | 'replay' | 'rekeyed' | 'revoked'} AcceptVerdict
 * @typedef {{ kind: 'sqlite' | 'postgres',
 *   kiosk: (id: string) => Promise<KioskRecord | undefined>,
 *   kiosks: () => Promise<Map<string, KioskRecord>>,
 *   pair: (id: string, rec: { jwk: PublicJwk, kid: string, at: number, doors?: string[] },
 *     previousKid: string | undefined, wasRevoked?: boolean) => Promise<boolean | 'key_retired'>,
 *   retired: (kid: string) => Promise<boolean>,
 *   revoke: (id: string, at: number) => Promise<'revoked' | 'already_revoked' | 'not_paired'>,
 *   bindDoor: (id: string, kid: string, door: string) => Promise<boolean>,
 *   accept: (id: string, kid: string, seq: number, nonce: string, at: number) => Promise<AcceptVerdict>,
 *   burn: (id: string, kid: string, seq: number) => Promise<boolean>,
 *   journal: (entry: { at: number } & Record<string, unknown>) => Promise<number>,
 *   journalSince: (since: number, limit: number) => Promise<{ entries: Record<string, unknown>[], last: number }>,
 *   close: () => Promise<void> }} Store
 */

/** Versioned migrations; each runs once, in order, in one transaction with its version row. */
const MIGRATIONS = [
  {
    version: 1,
    sql: (/** @type {'sqlite' | 'postgres'} */ kind) => [
      `CREATE TABLE kiosks (id TEXT PRIMARY KEY, jwk TEXT NOT NULL, kid TEXT NOT NULL, paired_at BIGINT NOT NULL,
        last_seq BIGINT NOT NULL, last_accepted_at BIGINT)`,
      `CREATE TABLE recent (kiosk TEXT NOT NULL, seq BIGINT NOT NULL, nonce TEXT NOT NULL, PRIMARY KEY (kiosk, seq))`,
      kind === 'postgres'
        ? 'CREATE TABLE journal (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, entry TEXT NOT NULL)'
        : 'CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at BIGINT NOT NULL, entry TEXT NOT NULL)',
    ],
  },
  {
    // The doors each kiosk may address (JSON array; NULL until bound): one compromised tablet must not open every
    // door on the receiver.
    version: 2,
    sql: () => ['ALTER TABLE kiosks ADD COLUMN doors TEXT'],
  },
  {
    // Revocation (a lost, stolen or retired tablet): the row stays, so its id cannot be paired again with an
    // ordinary code and its last sequence number is not forgotten.
    version: 3,
    sql: () => ['ALTER TABLE kiosks ADD COLUMN revoked_at BIGINT'],
  },
  {
    // Keys retired for good: a revoked kiosk's key and a key replaced by a re-pairing. Pairing one again would make
    // grants signed with it while it was out of sight (a thief holding the tablet, sequence numbers far ahead and
    // timestamps in the future) acceptable once more (attacker review, session 25). Revocations made before this
    // table existed are carried over.
    version: 4,
    sql: () => [
      'CREATE TABLE retired_keys (kid TEXT PRIMARY KEY, kiosk TEXT NOT NULL, retired_at BIGINT NOT NULL)',
      `INSERT INTO retired_keys (kid, kiosk, retired_at)
       SELECT kid, MIN(id), MIN(revoked_at) FROM kiosks WHERE revoked_at IS NOT NULL GROUP BY kid`,
    ],
  },
];
export const SCHEMA_VERSION = MIGRATIONS.length;

export class StoreError extends Error {
  /** @param {string} message @param {unknown} [cause] */
  constructor(message, cause) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreError';
    this.code = 'store_unusable';
  }
}

/**
 * The minimal SQL surface both engines offer here: numbered `$1` parameters, rows as objects.
 * @typedef {{ query: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
 *   tx: <T>(fn: (q: Db['query']) => Promise<T>) => Promise<T>, close: () => Promise<void>,
 *   kind: 'sqlite' | 'postgres' }} Db
 */

/**
 * @param {string} path
 * @returns {Promise<Db>}
 */
async function openSqlite(path) {
  const { Database } = (await import('node-sqlite3-wasm')).default;
  // node-sqlite3-wasm locks the file by creating the folder `<db>.lock` and removes it only on unlock or close: a
  // receiver killed mid-statement (SIGKILL, the OOM killer, a power cut) leaves it, and every later start read
  // "busy" as a damaged database whose advice, restore a backup, would bring back revoked kiosks (review, session 27).
  // Only the receiver holding the data folder's lock (receiver/lock.mjs, taken before this) opens this file, so a
  // lock folder found now is left from a process that is gone.
  rmSync(`${path}.lock`, { recursive: true, force: true });
  /** @type {import('node-sqlite3-wasm').Database} */
  let db;
  try {
    db = new Database(path);
    // A file that is not a database fails here; a damaged one fails the check.
    const check = db.all('PRAGMA quick_check');
    const verdict = check.map((r) => Object.values(r)[0]).join('; ');
    if (verdict !== 'ok') throw new Error(verdict);
  } catch (e) {
    throw new StoreError(
      `${path} is damaged or not a receiver database (${e instanceof Error ? e.message : String(e)}); ` +
        'refusing to start with unknown sequence numbers: restore it from a backup (then revoke again every tablet ' +
        'unpaired since the backup was taken) or move it away',
      e,
    );
  }
  /** @param {string} sql @param {unknown[]} [params] */
  const query = async (sql, params = []) =>
    /** @type {Record<string, unknown>[]} */ (
      db.all(
        sql.replace(/\$(\d+)/g, '?$1'),
        /** @type {import('node-sqlite3-wasm').BindValues} */ (/** @type {unknown} */ (params)),
      )
    );
  return {
    kind: 'sqlite',
    query,
    // One process, one connection, and callers never await anything but this connection inside a transaction:
    // nothing else can interleave.
    async tx(fn) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn(query);
        db.exec('COMMIT');
        return r;
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    },
    close: async () => db.close(),
  };
}

/**
 * @param {string} url
 * @returns {Promise<Db>}
 */
async function openPostgres(url) {
  const pg = (await import('pg')).default;
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {}); // an idle client's error: the next query reports it
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => {});
    throw new StoreError(`cannot reach PostgreSQL at ${redact(url)}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  return {
    kind: 'postgres',
    query: async (sql, params = []) => (await pool.query(sql, params)).rows,
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await fn(async (sql, params = []) => (await client.query(sql, params)).rows);
        await client.query('COMMIT');
        return r;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** @param {string} url the URL without its password, for messages and logs (the MQTT output's too) */
export function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}

/**
 * Brings the schema up to SCHEMA_VERSION. Refuses a database from a newer receiver or with tables it did not make.
 * @param {Db} db @param {string} where
 */
async function migrate(db, where) {
  await db.tx(async (q) => {
    // Two receivers starting at once on one PostgreSQL: one migrates, the other waits and finds it done. Even
    // "CREATE TABLE IF NOT EXISTS" races without the lock (both see no table, one fails on the catalog).
    if (db.kind === 'postgres') await q('SELECT pg_advisory_xact_lock(7231840091)');
    await q('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)');
    const rows = await q('SELECT MAX(version) AS v FROM schema_migrations');
    const current = Number(rows[0]?.v ?? 0);
    if (current > SCHEMA_VERSION)
      throw new StoreError(
        `${where} has schema v${current}, newer than this receiver knows (v${SCHEMA_VERSION}); upgrade the receiver`,
      );
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      for (const sql of m.sql(db.kind)) await q(sql);
      await q('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
    }
  });
}

/** @param {Record<string, unknown>} r @returns {KioskRecord} */
function kioskOf(r) {
  /** @type {KioskRecord} */
  const rec = {
    jwk: JSON.parse(String(r.jwk)),
    kid: String(r.kid),
    pairedAt: Number(r.paired_at),
    lastSeq: Number(r.last_seq),
  };
  if (r.last_accepted_at !== null && r.last_accepted_at !== undefined) rec.lastAcceptedAt = Number(r.last_accepted_at);
  if (typeof r.doors === 'string') rec.doors = JSON.parse(r.doors);
  if (r.revoked_at !== null && r.revoked_at !== undefined) rec.revokedAt = Number(r.revoked_at);
  return rec;
}

/**
 * Imports `<data>/receiver-state.json` (the pre-database format) into an empty store, then renames it to
 * `receiver-state.json.migrated`, so it is done once and the old file stays as a backup.
 * @param {Db} db @param {string} dataDir
 */
async function importJsonState(db, dataDir) {
  const path = join(dataDir, 'receiver-state.json');
  if (!existsSync(path)) return 0;
  /** @type {{ v?: unknown, kiosks?: Record<string, { jwk: unknown, kid: unknown, pairedAt: unknown,
   *   lastSeq: unknown, lastAcceptedAt?: unknown, recent?: unknown }> }} */
  let old;
  try {
    old = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new StoreError(`${path} is not valid JSON; refusing to start with unknown sequence numbers`, e);
  }
  if (old.v !== 1 || typeof old.kiosks !== 'object' || old.kiosks === null)
    throw new StoreError(`${path} is not a receiver state file (v1)`);
  const entries = Object.entries(old.kiosks);
  await db.tx(async (q) => {
    const have = await q('SELECT COUNT(*) AS n FROM kiosks');
    if (Number(have[0]?.n ?? 0) > 0)
      throw new StoreError(`${path} exists but the database already has kiosks; move one of them away`);
    for (const [id, r] of entries) {
      const jwk = /** @type {Record<string, unknown>} */ (r.jwk);
      if (
        typeof jwk !== 'object' ||
        jwk === null ||
        typeof jwk.x !== 'string' ||
        typeof jwk.y !== 'string' ||
        typeof r.kid !== 'string' ||
        typeof r.pairedAt !== 'number' ||
        !Number.isSafeInteger(r.lastSeq)
      )
        throw new StoreError(`${path}: record for kiosk ${JSON.stringify(id)} is malformed`);
      const clean = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
      await q(
        'INSERT INTO kiosks (id, jwk, kid, paired_at, last_seq, last_accepted_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [id, JSON.stringify(clean), r.kid, r.pairedAt, r.lastSeq, r.lastAcceptedAt ?? null],
      );
      const recent = Array.isArray(r.recent) ? r.recent : [];
      for (const pair of recent.slice(-RECENT))
        if (Array.isArray(pair) && Number.isSafeInteger(pair[0]) && typeof pair[1] === 'string')
          await q('INSERT INTO recent (kiosk, seq, nonce) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
            id,
            pair[0],
            pair[1],
          ]);
    }
  });
  renameSync(path, `${path}.migrated`);
  return entries.length;
}

/**
 * Opens (and migrates) the store: PostgreSQL when `db` is a postgres:// URL, else SQLite in the data folder.
 * @param {{ dataDir: string, db?: string, journalSize?: number }} opts
 * @returns {Promise<Store & { imported: number, where: string }>}
 */
export async function openStore(opts) {
  const pgUrl = opts.db !== undefined && /^postgres(ql)?:\/\//.test(opts.db) ? opts.db : undefined;
  if (opts.db !== undefined && pgUrl === undefined && opts.db !== 'sqlite')
    throw new StoreError(`--db must be "sqlite" or a postgres:// URL, got ${JSON.stringify(opts.db)}`);
  const where = pgUrl ? redact(pgUrl) : join(opts.dataDir, SQLITE_FILE);
  const db = pgUrl ? await openPostgres(pgUrl) : await openSqlite(where);
  const journalSize = opts.journalSize ?? 1000;
  let imported = 0;
  try {
    try {
      await migrate(db, where);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        `${where} could not be brought to schema v${SCHEMA_VERSION} (${e instanceof Error ? e.message : String(e)}); ` +
          'refusing to start',
        e,
      );
    }
    imported = await importJsonState(db, opts.dataDir);
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  let journalWrites = 0;

  return {
    kind: db.kind,
    where,
    imported,
    async kiosk(id) {
      const rows = await db.query('SELECT * FROM kiosks WHERE id = $1', [id]);
      return rows[0] ? kioskOf(rows[0]) : undefined;
    },
    async retired(kid) {
      return (await db.query('SELECT 1 AS hit FROM retired_keys WHERE kid = $1', [kid])).length > 0;
    },
    async kiosks() {
      const rows = await db.query('SELECT * FROM kiosks ORDER BY id');
      return new Map(rows.map((r) => [String(r.id), kioskOf(r)]));
    },
    async pair(id, rec, previousKid, wasRevoked = false) {
      const doors = rec.doors === undefined ? null : JSON.stringify(rec.doors);
      // Re-pairing clears a revocation, and only the one the caller saw: a revoke that lands meanwhile is kept.
      const asSeen = wasRevoked ? 'revoked_at IS NOT NULL' : 'revoked_at IS NULL';
      return db.tx(async (q) => {
        if ((await q('SELECT 1 AS hit FROM retired_keys WHERE kid = $1', [rec.kid])).length > 0) return 'key_retired';
        if (previousKid === undefined) {
          // A new id: fails (returns false) if another pairing created it meanwhile.
          const r = await q(
            `INSERT INTO kiosks (id, jwk, kid, paired_at, last_seq, doors) VALUES ($1, $2, $3, $4, 0, $5)
             ON CONFLICT (id) DO NOTHING RETURNING id`,
            [id, JSON.stringify(rec.jwk), rec.kid, rec.at, doors],
          );
          return r.length === 1;
        }
        // Re-pairing: the code's doors when it names some, else the kiosk keeps the doors it had.
        if (previousKid === rec.kid) {
          // The same key again keeps its sequence: resetting it would re-open every old message to replay.
          const r = await q(
            `UPDATE kiosks SET paired_at = $1, doors = COALESCE($2, doors), revoked_at = NULL
             WHERE id = $3 AND kid = $4 AND ${asSeen} RETURNING id`,
            [rec.at, doors, id, rec.kid],
          );
          return r.length === 1;
        }
        const r = await q(
          `UPDATE kiosks SET jwk = $1, kid = $2, paired_at = $3, last_seq = 0, last_accepted_at = NULL,
           doors = COALESCE($4, doors), revoked_at = NULL WHERE id = $5 AND kid = $6 AND ${asSeen} RETURNING id`,
          [JSON.stringify(rec.jwk), rec.kid, rec.at, doors, id, previousKid],
        );
        if (r.length !== 1) return false;
        await q('DELETE FROM recent WHERE kiosk = $1', [id]);
        await q(`INSERT INTO retired_keys (kid, kiosk, retired_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING`, [
          previousKid,
          id,
          rec.at,
        ]);
        return true;
      });
    },
    async revoke(id, at) {
      const r = await db.tx(async (q) => {
        const hit = await q('UPDATE kiosks SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING kid', [
          at,
          id,
        ]);
        if (hit.length === 1)
          await q(
            'INSERT INTO retired_keys (kid, kiosk, retired_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING',
            [hit[0]?.kid, id, at],
          );
        return hit;
      });
      if (r.length === 1) return 'revoked';
      return (await db.query('SELECT 1 AS hit FROM kiosks WHERE id = $1', [id])).length > 0
        ? 'already_revoked'
        : 'not_paired';
    },
    async bindDoor(id, kid, door) {
      // True: bound now to `door`, which no other kiosk holds (revoked ones included); false: already bound, revoked,
      // re-keyed, or the door is another's.
      // Only while unbound, and only a door no other kiosk holds, checked and written in ONE statement: of two kiosks
      // naming one free door at the same moment (on one receiver or on several) exactly one is bound, and a kiosk
      // bound twice at once is written once. Door ids are `isId` spellings (no quote, no backslash), so the door is
      // in another kiosk's JSON list exactly when its quoted form is a substring of it. On PostgreSQL the statement
      // alone is not enough: under READ COMMITTED two updates of DIFFERENT rows each see the door free in their own
      // snapshot (write skew), so a transaction-scoped advisory lock serialises binds, and the second statement's
      // snapshot is taken after the first one commits. SQLite runs one statement at a time (one connection here).
      const held = db.kind === 'postgres' ? 'strpos(other.doors, $4) > 0' : 'instr(other.doors, $4) > 0';
      return db.tx(async (q) => {
        if (db.kind === 'postgres') await q('SELECT pg_advisory_xact_lock(7231840092)');
        const r = await q(
          `UPDATE kiosks SET doors = $1 WHERE id = $2 AND kid = $3 AND doors IS NULL AND revoked_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM kiosks AS other WHERE other.id <> $2 AND ${held}) RETURNING id`,
          [JSON.stringify([door]), id, kid, JSON.stringify(door)],
        );
        return r.length === 1;
      });
    },
    async accept(id, kid, seq, nonce, at) {
      return db.tx(async (q) => {
        const won = await q(
          `UPDATE kiosks SET last_seq = $1, last_accepted_at = $2
           WHERE id = $3 AND kid = $4 AND last_seq < $1 AND revoked_at IS NULL RETURNING id`,
          [seq, at, id, kid],
        );
        if (won.length === 1) {
          await q('INSERT INTO recent (kiosk, seq, nonce) VALUES ($1, $2, $3)', [id, seq, nonce]);
          await q(
            `DELETE FROM recent WHERE kiosk = $1 AND seq NOT IN
             (SELECT seq FROM recent WHERE kiosk = $1 ORDER BY seq DESC LIMIT ${RECENT})`,
            [id],
          );
          return 'ok';
        }
        const now = await q('SELECT kid, revoked_at FROM kiosks WHERE id = $1', [id]);
        if (now[0]?.kid !== kid) return 'rekeyed';
        // Revoked while this request was on its way: the revocation wins.
        if (now[0]?.revoked_at !== null && now[0]?.revoked_at !== undefined) return 'revoked';
        const same = await q('SELECT 1 AS hit FROM recent WHERE kiosk = $1 AND seq = $2 AND nonce = $3', [
          id,
          seq,
          nonce,
        ]);
        return same.length > 0 ? 'duplicate' : 'replay';
      });
    },
    async burn(id, kid, seq) {
      // Like accept, without accepting: the number is used up and nothing is remembered as delivered, so the same
      // bytes later are `replay`. Only ever raises last_seq; a kiosk re-keyed meanwhile is left alone.
      const r = await db.query(
        'UPDATE kiosks SET last_seq = $1 WHERE id = $2 AND kid = $3 AND last_seq < $1 RETURNING id',
        [seq, id, kid],
      );
      return r.length === 1;
    },
    async journal(entry) {
      const rows = await db.query('INSERT INTO journal (at, entry) VALUES ($1, $2) RETURNING id', [
        entry.at,
        JSON.stringify(entry),
      ]);
      const id = Number(rows[0]?.id);
      // Bounded: prune now and then rather than on every insert.
      if (++journalWrites % 100 === 0) await db.query('DELETE FROM journal WHERE id <= $1', [id - journalSize]);
      return id;
    },
    async journalSince(since, limit) {
      const rows = await db.query(
        `SELECT id, entry FROM (SELECT id, entry FROM journal WHERE id > $1 ORDER BY id DESC LIMIT $2) AS t
         ORDER BY id`,
        [since, limit],
      );
      const last = await db.query('SELECT MAX(id) AS m FROM journal');
      return {
        entries: rows.map((r) => ({ ...JSON.parse(String(r.entry)), id: Number(r.id) })),
        last: Number(last[0]?.m ?? 0),
      };
    },
    close: () => db.close(),
  };
}
