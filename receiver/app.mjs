// @ts-check
/**
 * The reference receiver as a library: a fastify app that pairs kiosks, verifies their signed decisions and hands
 * the verified ones to pluggable outputs. receiver/server.mjs is the command line around it; tests use it directly.
 *
 * A decision is accepted only if, in this order: the body is at most 1 KiB and JSON; the envelope and payload match the
 * schema exactly (no unknown field, canonical spelling); the kiosk is paired; the ECDSA P-256 signature verifies with
 * the paired key; the admin has not revoked the kiosk (`unpair`: a lost or retired tablet); the kiosk is within its
 * rate; the door it names is one of its own (bound at pairing or by its first decision); the timestamp is not in the
 * future beyond the skew tolerance; and the sequence number is strictly greater than the last one accepted from that
 * kiosk. The new sequence number is saved before any output sees the decision; a verified decision refused for good
 * (another door, a future timestamp) uses its number up all the same, so its bytes can never be accepted later. A
 * decision older than the freshness window (or marked stale by the kiosk) is accepted for the record with
 * `actuate: false`: this receiver never lets a door act on a late or unverifiable message. Every rejection is logged with a
 * reason code and answered with a status the kiosk maps to "rejected for good" (400/401/409/413/415/422) or "try again
 * later" (403 not_paired, 429, 5xx). It never stores or forwards anything a kiosk did not sign, and it has nothing to
 * store beyond the schema's fields. It also serves the admin's watchlist bundles to kiosks on the LAN
 * (GET /watchlist/bundle, published by a PUT that needs the admin token, receiver/admin.mjs, or the `publish` command;
 * receiver/bundles.mjs), as opaque files the kiosk verifies itself, and only to a paired, unrevoked kiosk that signs
 * its request with its decision key.
 */
import Fastify, { LogController } from 'fastify';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { appHandler } from '../scripts/serve.mjs';
import { appendFileSync, closeSync, createReadStream, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  MAX_BODY_BYTES,
  checkDecisionBody,
  checkPairBody,
  fingerprint,
  importPublicKey,
  isId,
  pullStatement,
  thumbprint,
  verifySignature,
} from './protocol.mjs';
import { PairingCodes } from './pairing.mjs';
import { RateLimiter } from './ratelimit.mjs';
import { openStore } from './store.mjs';
import { lockDataDir } from './lock.mjs';
import { HELLO_NONCE, adminVerdict, endpointName, helloProof, loadAdminToken } from './admin.mjs';
import { loadReceiverKey, loadWebhookSecret, signOrder } from './orders.mjs';
import { logOutput, mqttOutput, webhookOutput } from './outputs.mjs';
import { BUNDLE_MIME, BundleStore, bundleSummary, loadAdminKey, selectBundle } from './bundles.mjs';

/** Open connections one peer address may hold (a kiosk needs one or two; a browser opens at most six). */
export const MAX_CONNECTIONS_PER_ADDRESS = 16;
/** Open connections in all: well under a default 1024-descriptor limit, so the database and logs keep theirs. */
export const MAX_CONNECTIONS = 512;

/**
 * Node's request deadlines start at a request's first byte: a socket that never sends one (or a TLS client that
 * never finishes its handshake, 120 s by default) was held for ever, and a few hundred of them used up the process's
 * file descriptors, so paired kiosks' grants were lost (attacker review, session 23). Every socket is now closed
 * after `idleMs` without traffic, the server takes at most MAX_CONNECTIONS, and one peer address at most
 * `perAddress` (not applied behind a trusted proxy, whose connections all share its address).
 * @param {import('node:http').Server} server @param {{ idleMs: number, perAddress: number }} o
 */
function limitConnections(server, o) {
  server.maxConnections = MAX_CONNECTIONS;
  /** @type {Map<string, number>} */
  const open = new Map();
  server.on('connection', (/** @type {import('node:net').Socket} */ sock) => {
    const who = sock.remoteAddress ?? '?';
    const n = (open.get(who) ?? 0) + 1;
    if (n > o.perAddress) {
      sock.destroy();
      return;
    }
    open.set(who, n);
    sock.once('close', () => {
      const left = (open.get(who) ?? 1) - 1;
      if (left <= 0) open.delete(who);
      else open.set(who, left);
    });
  });
  // Node's own per-socket inactivity timer (a socket's own setTimeout never fires once the HTTP parser holds it).
  server.timeout = o.idleMs;
}

/** Kiosk origins allowed by default: the kiosk's own dev and preview servers on loopback. */
export const DEFAULT_ORIGINS = [
  'http://127.0.0.1:4173',
  'http://127.0.0.1:5173',
  'http://localhost:4173',
  'http://localhost:5173',
];

/**
 * @typedef {import('./outputs.mjs').VerifiedDecision} VerifiedDecision
 * @typedef {import('./outputs.mjs').Output} Output
 * @typedef {{ burst: number, perSecond: number }} Rate
 * @typedef {{
 *   host?: string, port?: number, dataDir: string, origins?: string[],
 *   freshnessMs?: number, skewMs?: number, pullWindowMs?: number, pairTtlMs?: number,
 *   mqtt?: string, mqttTopic?: string, mqttUser?: string, mqttPassword?: string, mqttCa?: Buffer, haDiscovery?: string,
 *   webhook?: string, webhookSecretFile?: string,
 *   logFile?: string, capture?: string,
 *   kioskRate?: Rate, clientRate?: Rate, pairRate?: Rate,
 *   journalSize?: number, db?: string,
 *   tls?: { cert: string, key: string }, appDir?: string, trustedProxies?: string[],
 *   requestTimeoutMs?: number, headersTimeoutMs?: number, rejectLogRate?: Rate,
 *   bundleMaxBytes?: number, adminKeyFiles?: string[], allowUnsignedBundles?: boolean,
 *   logger?: boolean | { level?: string, stream?: { write: (line: string) => void } },
 *   now?: () => number,
 *   onEvent?: (event: ReceiverEvent) => void,
 * }} ReceiverOptions
 * @typedef {{ type: 'pairing_code', code: string, expiresAt: number, repair?: string }
 *   | { type: 'paired', kiosk: string, kid: string, fingerprint: string }
 *   | { type: 'repaired', kiosk: string, kid: string, fingerprint: string, previous: string, sameKey: boolean,
 *       wasRevoked: boolean, doors?: string[], previousDoors?: string[] }
 *   | { type: 'revoked', kiosk: string, fingerprint: string }
 *   | { type: 'decision', decision: VerifiedDecision }
 *   | { type: 'rejected', entry: JournalEntry }
 *   | { type: 'bundle_published', bundle: import('./bundles.mjs').PublishedBundle }} ReceiverEvent
 * @typedef {{ id: number, at: number, route: string, status: number, result: 'accepted' | 'rejected',
 *   reason?: string, field?: string, kiosk?: string, seq?: number, latest?: number, stale?: boolean, actuate?: boolean,
 *   ip: string, bytes: number, body?: string }} JournalEntry
 */

export { isLoopback } from './admin.mjs';

/** Routes a kiosk page may call cross-origin, with the methods it may use. Admin routes are never on this list. */
const CORS_ROUTES = new Map([
  ['/decisions', 'GET, POST'],
  ['/pair', 'GET, POST'],
  ['/health', 'GET, POST'],
  ['/watchlist/bundle', 'GET'],
]);

/**
 * @param {ReceiverOptions} opts
 */
export async function createReceiver(opts) {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  // Before reading any state: a second receiver on this folder must not even start (see receiver/lock.mjs).
  const unlock = lockDataDir(opts.dataDir);
  /** @type {Awaited<ReturnType<typeof openStore>> | undefined} */
  let store;
  try {
    store = await openStore({ dataDir: opts.dataDir, db: opts.db, journalSize: opts.journalSize });
    return await build(opts, store, unlock);
  } catch (e) {
    await store?.close().catch(() => {});
    unlock();
    throw e;
  }
}

/**
 * @param {ReceiverOptions} opts @param {import('./store.mjs').Store & { imported: number, where: string }} store
 * @param {() => void} unlock
 */
async function build(opts, store, unlock) {
  const now = opts.now ?? Date.now;
  const freshnessMs = opts.freshnessMs ?? 5000;
  const skewMs = opts.skewMs ?? 1000;
  const pullWindowMs = opts.pullWindowMs ?? 300_000;
  const origins = new Set((opts.origins ?? DEFAULT_ORIGINS).map((o) => new URL(o).origin));
  const emit = opts.onEvent ?? (() => {});
  const adminKeys = await Promise.all(
    (opts.adminKeyFiles ?? []).map((f) =>
      loadAdminKey(readFileSync(f)).catch((/** @type {unknown} */ e) => {
        throw new Error(`${f}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }),
    ),
  );
  const adminToken = loadAdminToken(opts.dataDir);
  const receiverKey = await loadReceiverKey(opts.dataDir);
  const webhookSecret = opts.webhook ? loadWebhookSecret(opts.dataDir, opts.webhookSecretFile) : undefined;
  const pairing = new PairingCodes({ ttlMs: opts.pairTtlMs ?? 10 * 60_000, now });
  // The latest time this process accepted a decision that was fresh by both clocks (the kiosk's `ts` and ours agreed
  // within the window): a clock that reads earlier than it by more than the window has been set back, and a grant is
  // then no fresher than its `ts` says (attacker review, session 32: a signed grant refused with a retryable answer
  // keeps its number; set the clock back to its `ts` and it would actuate). Only fresh acceptances raise it, so a
  // clock that ran ahead (its decisions stale) and is put right locks nothing out; in memory only, so no other
  // receiver's clock and no past error outlives a restart.
  let clockFloor = 0;
  const kioskLimiter = new RateLimiter({ ...(opts.kioskRate ?? { burst: 30, perSecond: 5 }), now });
  const clientLimiter = new RateLimiter({ ...(opts.clientRate ?? { burst: 120, perSecond: 40 }), now });
  const pairLimiter = new RateLimiter({ ...(opts.pairRate ?? { burst: 5, perSecond: 0.1 }), now });
  // One bucket for all unsigned rejections' log lines: a flood of junk (from any number of addresses) cannot fill the
  // disk through the log; and one per paired kiosk for refusals of its validly signed requests, so that junk cannot
  // hide them (reject). What is not logged is counted and reported on the next line of the same bucket.
  const rejectLog = new RateLimiter({ ...(opts.rejectLogRate ?? { burst: 50, perSecond: 5 }), now });
  /** Rejections not logged since the last line from the same bucket (see reject), by bucket. */
  const unloggedRejections = new Map();
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout);
  /** @type {Map<string, { kid: string, key: CryptoKey }>} */
  const keys = new Map();
  let journalId = 0;
  /** Journal writes, in order; /decisions/log waits for them so it shows every answer already given. */
  let journalWrites = Promise.resolve();

  const app = Fastify({
    logger: opts.logger ?? { level: 'info' },
    // One line per outcome is logged by the handlers (with a reason code) instead of fastify's per-request pair.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    // X-Forwarded-* (client address for rate limits and logs, https for the admin rule) only from the listed
    // proxies; from anyone else they are ignored, so a LAN client cannot claim to be someone else.
    trustProxy: opts.trustedProxies && opts.trustedProxies.length > 0 ? opts.trustedProxies : false,
    // Node's own deadlines, checked every second: a client that trickles its headers or body (slow-loris) is
    // answered 408 and cut off instead of holding a socket forever.
    serverFactory: (handler) => {
      const limits = { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.min(1000, requestTimeout) };
      const server = opts.tls
        ? createTlsServer(
            {
              ...limits,
              cert: opts.tls.cert,
              key: opts.tls.key,
              minVersion: 'TLSv1.2',
              handshakeTimeout: headersTimeout,
            },
            handler,
          )
        : createServer(limits, handler);
      server.keepAliveTimeout = 5000;
      limitConnections(server, {
        idleMs: headersTimeout,
        perAddress: opts.trustedProxies?.length ? Infinity : MAX_CONNECTIONS_PER_ADDRESS,
      });
      return server;
    },
  });

  /** @type {Output[]} */
  const outputs = [logOutput(opts.logFile ?? join(opts.dataDir, 'decisions.jsonl'))];
  if (opts.webhook && webhookSecret) outputs.push(webhookOutput(opts.webhook, { secret: webhookSecret.secret, now }));
  /** @type {ReturnType<typeof mqttOutput> | undefined} */
  let mqtt;
  if (opts.mqtt) {
    mqtt = mqttOutput(opts.mqtt, {
      topicPrefix: opts.mqttTopic,
      logger: app.log,
      ...(opts.mqttUser === undefined ? {} : { username: opts.mqttUser }),
      ...(opts.mqttPassword === undefined ? {} : { password: opts.mqttPassword }),
      ...(opts.mqttCa === undefined ? {} : { ca: opts.mqttCa }),
      ...(opts.haDiscovery === undefined ? {} : { haDiscovery: opts.haDiscovery }),
    });
    outputs.push(mqtt);
  }
  if (opts.capture) mkdirSync(dirname(opts.capture), { recursive: true, mode: 0o700 });

  /**
   * @param {Omit<JournalEntry, 'id' | 'at'>} e
   * @returns {JournalEntry}
   */
  function record(e) {
    const entry = { id: ++journalId, at: now(), ...e };
    const { id: _local, ...row } = entry;
    journalWrites = journalWrites
      .then(() => store.journal(row))
      .then(
        () => {},
        (/** @type {unknown} */ err) =>
          app.log.error(
            { event: 'journal_failed', reason: err instanceof Error ? err.message : String(err) },
            'journal write failed',
          ),
      );
    if (opts.capture) appendFileSync(opts.capture, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    return entry;
  }

  /**
   * Logs, journals and answers a rejection.
   * @param {import('fastify').FastifyRequest} req
   * @param {import('fastify').FastifyReply} reply
   * @param {number} status
   * @param {string} reason
   * @param {{ field?: string, kiosk?: string, seq?: number, latest?: number, retryAfterMs?: number, door?: string }} [extra]
   * @param {{ signedBy?: string }} [how] `signedBy`: the request carried this paired kiosk's valid signature. Its log
   *   lines then come from that kiosk's own bucket: a flood of unsigned junk from the LAN drained the one shared
   *   bucket, and a stolen tablet's `kiosk_revoked` attempt made meanwhile was never logged (attacker review,
   *   session 23); a kiosk flooding with its own key fills only its own.
   */
  function reject(req, reply, status, reason, extra = {}, how = {}) {
    const body = typeof req.body === 'string' ? req.body : undefined;
    const { retryAfterMs, ...fields } = extra;
    const entry = record({
      route: req.routeOptions.url ?? req.url,
      status,
      result: 'rejected',
      reason,
      ...fields,
      ip: req.ip,
      bytes: body === undefined ? Number(req.headers['content-length'] ?? 0) : Buffer.byteLength(body),
      ...(body === undefined ? {} : { body }),
    });
    const bucket = how.signedBy === undefined ? 'all' : `kiosk:${how.signedBy}`;
    if (rejectLog.take(bucket).ok) {
      const missed = unloggedRejections.get(bucket) ?? 0;
      const skipped = missed > 0 ? { unlogged: missed } : {};
      unloggedRejections.delete(bucket);
      req.log.warn(
        { event: 'rejected', route: entry.route, status, reason, ...fields, ip: req.ip, ...skipped },
        `rejected: ${reason}`,
      );
    } else unloggedRejections.set(bucket, (unloggedRejections.get(bucket) ?? 0) + 1);
    emit({ type: 'rejected', entry });
    if (retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    return reply.code(status).send({ ok: false, reason, ...fields });
  }

  /**
   * Admin routes: the admin token (receiver/admin.mjs), never from a web page, never in clear off the host. Answers
   * the refusal itself and returns false, or returns true.
   * @param {import('fastify').FastifyRequest} req @param {import('fastify').FastifyReply} reply
   */
  function admitAdmin(req, reply) {
    const v = adminVerdict({
      remoteAddress: req.socket.remoteAddress,
      // TLS here, or (from a trusted proxy only) X-Forwarded-Proto: https.
      encrypted: req.protocol === 'https',
      headers: req.headers,
      tokenHash: adminToken.hash,
    });
    if (v.ok) return true;
    if (v.status === 401) reply.header('www-authenticate', 'Bearer realm="entrance-kiosk-receiver"');
    reject(req, reply, v.status, v.reason);
    return false;
  }

  const bundles = new BundleStore(opts.dataDir, {
    maxBytes: opts.bundleMaxBytes,
    adminKeys,
    allowUnsigned: opts.allowUnsignedBundles === true,
    warn: (msg, fields) => app.log.warn({ event: 'bundle_skipped', ...fields }, msg),
  });

  /** @type {Map<string, number>} when each kiosk's clock was last reported behind (log rate limit) */
  const clockWarned = new Map();
  /** @param {string} kiosk @param {number} at */
  function clockWarnDue(kiosk, at) {
    const last = clockWarned.get(kiosk);
    if (last !== undefined && at - last < 600_000) return false;
    // Paired kiosks only reach here, so the map stays as small as the site; re-inserting keeps it in time order.
    clockWarned.delete(kiosk);
    clockWarned.set(kiosk, at);
    if (clockWarned.size > 10_000) clockWarned.delete(/** @type {string} */ (clockWarned.keys().next().value));
    return true;
  }

  /** @param {string} kiosk @param {import('./store.mjs').KioskRecord} rec */
  async function keyFor(kiosk, rec) {
    const cached = keys.get(kiosk);
    if (cached && cached.kid === rec.kid) return cached.key;
    const key = await importPublicKey(rec.jwk);
    keys.set(kiosk, { kid: rec.kid, key });
    return key;
  }

  app.removeAllContentTypeParsers();
  // Bodies stay text: the signature covers exact bytes, and the capture must show exactly what arrived.
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => {
    done(null, body);
  });

  app.addHook('onRequest', async (req, reply) => {
    const limit = clientLimiter.take(req.ip);
    if (!limit.ok) return reject(req, reply, 429, 'rate_limited', { retryAfterMs: limit.retryAfterMs });
    const origin = req.headers.origin;
    const path = req.url.split('?')[0] ?? '';
    const methods = CORS_ROUTES.get(path);
    if (origin === undefined || methods === undefined) return;
    if (!origins.has(origin)) {
      // No CORS headers: the browser refuses the response, and a non-browser client learns why.
      return reject(req, reply, 403, 'origin_not_allowed');
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    reply.header('access-control-expose-headers', 'Retry-After');
    if (req.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', methods);
      reply.header('access-control-allow-headers', 'content-type');
      reply.header('access-control-max-age', '600');
      // Chromium's Private Network Access preflight, for a kiosk served from a public origin.
      if (req.headers['access-control-request-private-network'] === 'true') {
        reply.header('access-control-allow-private-network', 'true');
      }
      return reply.code(204).send();
    }
  });

  for (const path of CORS_ROUTES.keys()) app.options(path, async (_req, reply) => reply.code(204).send());

  app.get('/health', async () => ({ ok: true, v: 1 }));

  app.post('/decisions', async (req, reply) => {
    const text = req.body;
    if (typeof text !== 'string') return reject(req, reply, 400, 'bad_json');
    const checked = checkDecisionBody(text);
    if (!checked.ok) {
      const field = checked.field === undefined ? {} : { field: checked.field };
      return reject(req, reply, checked.reason === 'too_large' ? 413 : 400, checked.reason, field);
    }
    const { envelope, payload: p } = checked.value;
    const ids = { kiosk: p.kiosk, seq: p.seq };
    const rec = await store.kiosk(p.kiosk);
    if (!rec) return reject(req, reply, 403, 'not_paired', ids);
    const key = await keyFor(p.kiosk, rec);
    if (!(await verifySignature(key, envelope.payload, envelope.sig)))
      return reject(req, reply, 401, 'bad_signature', ids);
    // Unpaired by the admin (a lost or retired tablet): its key opens nothing. Final for the kiosk (401), and
    // journaled like every refusal, so a stolen tablet still trying shows up in the log.
    if (rec.revokedAt !== undefined) return reject(req, reply, 401, 'kiosk_revoked', ids, { signedBy: p.kiosk });
    // A key retired under another id (one tablet renamed keeps its key: two rows can share it) opens nothing here
    // either: "retired for good" is per key (review, session 25).
    if (await store.retired(rec.kid)) return reject(req, reply, 401, 'kiosk_revoked', ids, { signedBy: p.kiosk });
    // Only a sequence number the kiosk has not used yet takes a token: copies of its old decisions (every order
    // carries one, to MQTT, webhooks and logs) resent from the LAN drained the kiosk's own bucket, and its real grants
    // were then refused as rate-limited and went stale — a door held shut by replays (attacker review, session 25).
    // They are answered `replay` or `duplicate` below either way; the per-address limit still bounds them.
    const limit = p.seq > rec.lastSeq ? kioskLimiter.take(p.kiosk) : { ok: true, retryAfterMs: 0 };
    if (!limit.ok) return reject(req, reply, 429, 'rate_limited', { ...ids, retryAfterMs: limit.retryAfterMs });
    // A kiosk addresses only its own doors: those its pairing code named, or else the one its first decision named
    // (a kiosk that names none addresses the door spelled like its id). Without this, any paired tablet — the
    // weakest one, or one whose admin passphrase leaked — could send grants for every door on this receiver.
    const door = p.door ?? p.kiosk;
    let doors = rec.doors;
    // Only a new decision binds: an old one replayed (read off an MQTT topic or a journal) would otherwise choose the
    // door of a kiosk paired before doors were kept, and leave its own one free for another (attacker review,
    // session 27). Not new, it can never be accepted (accept needs seq > last_seq), so it is answered below as the
    // replay or duplicate it is, without a door check.
    const fresh = p.seq > rec.lastSeq;
    if (doors === undefined && fresh) {
      // First use binds only a door no other kiosk holds: a tablet paired with a leaked code cannot claim the
      // lobby's door by naming it (two kiosks at one door need a code naming it: the receiver admin's explicit act).
      // The check and the bind are one atomic step in the database (store.bindDoor): checked here first and bound
      // after, two kiosks naming one free door at once (several receivers on PostgreSQL) could both be bound.
      if (await store.bindDoor(p.kiosk, rec.kid, door)) {
        doors = [door];
        req.log.info({ event: 'door_bound', kiosk: p.kiosk, door }, `kiosk ${p.kiosk} bound to door ${door}`);
      } else doors = (await store.kiosk(p.kiosk))?.doors ?? [];
    }
    // A verified decision refused for good uses up its sequence number (one conditional statement, like accepting
    // it): the kiosk drops it, and the same signed bytes must never actuate later. A grant refused as future-dated
    // would otherwise open the door for whoever resends it once the receiver's clock reaches its `ts` (from a kiosk
    // whose clock runs ahead); one refused for another door would once that door is added to the kiosk's. Their raw
    // bodies stay in the journal and the capture (what the kiosk sent is what an admin needs to see), and are no
    // replay material there: resent, they are answered `replay`.
    if (doors !== undefined && !doors.includes(door)) {
      await store.burn(p.kiosk, rec.kid, p.seq);
      return reject(req, reply, 409, 'door_not_allowed', { ...ids, door }, { signedBy: p.kiosk });
    }
    const receivedAt = now();
    const ageMs = receivedAt - p.ts;
    if (ageMs < -skewMs) {
      await store.burn(p.kiosk, rec.kid, p.seq);
      return reject(req, reply, 422, 'future_timestamp', ids, { signedBy: p.kiosk });
    }
    // The sequence check and its update are one conditional statement in the database (receiver/store.mjs): of two
    // receivers given this decision at once, exactly one gets 'ok'. Saved before any output sees the decision.
    const verdict = await store.accept(p.kiosk, rec.kid, p.seq, p.nonce, receivedAt);
    if (verdict === 'rekeyed') return reject(req, reply, 401, 'bad_signature', ids); // re-paired with another key
    if (verdict === 'revoked') return reject(req, reply, 401, 'kiosk_revoked', ids, { signedBy: p.kiosk }); // unpaired meanwhile
    if (verdict !== 'ok') return reject(req, reply, 409, verdict, ids, { signedBy: p.kiosk });
    // Accepted (its number used up, so it is no replay material either way) but never actuated on a clock set back.
    const setBack = receivedAt < clockFloor - freshnessMs;
    if (setBack)
      req.log.warn(
        { event: 'clock_set_back', kiosk: p.kiosk, behindMs: clockFloor - receivedAt },
        `this receiver's clock reads ${((clockFloor - receivedAt) / 1000).toFixed(1)} s earlier than a decision it ` +
          'accepted before: no grant actuates until it is put right (keep it in step by NTP)',
      );
    const stale = p.stale === true || ageMs > freshnessMs || setBack;
    if (!stale) clockFloor = Math.max(clockFloor, receivedAt);
    // Sent as fresh (the kiosk marks what it queued too long) yet older than the window on arrival: a LAN that slow
    // is rare, a kiosk clock behind this one is not, and then none of its grants opens a door. Said once per kiosk
    // per 10 minutes, so the receiver's admin sees why (the kiosk's guard screen shows its measured offset too).
    if (p.stale !== true && ageMs > freshnessMs && clockWarnDue(p.kiosk, receivedAt))
      req.log.warn(
        { event: 'clock_behind', kiosk: p.kiosk, ageMs },
        `kiosk ${p.kiosk}: a decision it sent as fresh arrived ${(ageMs / 1000).toFixed(1)} s old; its clock is ` +
          "probably behind this receiver's (keep both in step by NTP)",
      );
    const actuate = !stale && p.decision === 'grant';

    /** @type {VerifiedDecision} */
    const decision = {
      kiosk: p.kiosk,
      seq: p.seq,
      ts: p.ts,
      decision: p.decision,
      stale,
      actuate,
      kid: rec.kid,
      receivedAt,
      ageMs,
    };
    if (p.door !== undefined) decision.door = p.door;
    if (p.sub !== undefined) decision.sub = p.sub;
    const late = stale ? { reason: 'stale' } : {};
    // A guard's or admin's override, signed as such by the kiosk: logged so, at warning level, so the receiver keeps
    // its own trail of who was let in by hand (the tablet's audit can be purged there).
    const manual = p.manual === true ? { manual: true } : {};
    record({
      route: '/decisions',
      status: 200,
      result: 'accepted',
      ...late,
      ...ids,
      stale,
      actuate,
      ...manual,
      ip: req.ip,
      bytes: Buffer.byteLength(text),
      body: text,
    });
    if (stale)
      req.log.warn(
        { event: 'accepted', reason: 'stale', ...ids, decision: p.decision, actuate, ageMs, ...manual },
        'stale decision recorded, not actuated',
      );
    else if (p.manual === true)
      req.log.warn(
        { event: 'accepted', ...ids, decision: p.decision, actuate, ageMs, ...manual },
        `MANUAL override (${p.decision}) accepted`,
      );
    else req.log.info({ event: 'accepted', ...ids, decision: p.decision, actuate, ageMs }, 'decision accepted');
    emit({ type: 'decision', decision });
    const signed = await signOrder(receiverKey.privateKey, receiverKey.kid, decision, envelope, now());
    for (const out of outputs) {
      out.publish(signed).catch((/** @type {unknown} */ e) => {
        app.log.error(
          { event: 'output_failed', output: out.name, ...ids, reason: e instanceof Error ? e.message : String(e) },
          'output failed',
        );
      });
    }
    // `now`: the receiver's clock, so a kiosk can see its own clock drift before its grants go stale (the kiosk
    // measures the offset; it never stamps decisions with it).
    return { ok: true, seq: p.seq, stale, actuate, now: receivedAt };
  });

  app.post('/pair', async (req, reply) => {
    const limit = pairLimiter.take(req.ip);
    if (!limit.ok) return reject(req, reply, 429, 'rate_limited', { retryAfterMs: limit.retryAfterMs });
    const text = req.body;
    if (typeof text !== 'string') return reject(req, reply, 400, 'bad_json');
    const checked = checkPairBody(text);
    if (!checked.ok) {
      const field = checked.field === undefined ? {} : { field: checked.field };
      return reject(req, reply, checked.reason === 'too_large' ? 413 : 400, checked.reason, field);
    }
    const { envelope, payload: p } = checked.value;
    if (Math.abs(now() - p.ts) > 5 * 60_000) return reject(req, reply, 422, 'bad_timestamp', { kiosk: p.kiosk });
    /** @type {CryptoKey} */
    let key;
    try {
      key = await importPublicKey(p.key);
    } catch {
      return reject(req, reply, 400, 'bad_key', { kiosk: p.kiosk });
    }
    if (!(await verifySignature(key, envelope.payload, envelope.sig)))
      return reject(req, reply, 401, 'bad_signature', { kiosk: p.kiosk });
    const kid = await thumbprint(p.key);
    // A revoked kiosk's key, or one a re-pairing replaced, never pairs again (under any id): grants it signed while
    // out of sight would be accepted again. A tablet found again is wiped and set up, which makes a new key. Checked
    // before the code is redeemed, so the code stays usable; store.pair checks again in its transaction.
    if (await store.retired(kid)) return reject(req, reply, 403, 'key_retired', { kiosk: p.kiosk });
    const prev = await store.kiosk(p.kiosk);
    const wasRevoked = prev?.revokedAt !== undefined;
    // A new key for a paired id, any key for a revoked one, or other doors for it need the code the admin issued for
    // that id (receiver/pairing.mjs, needsRepairCode).
    const current = prev && { kid: prev.kid, ...(prev.doors ? { doors: prev.doors } : {}), revoked: wasRevoked };
    const { verdict, doors } = await pairing.redeem(p.proof, p.kiosk, kid, current);
    if (verdict === 'repair_not_allowed') return reject(req, reply, 409, verdict, { kiosk: p.kiosk });
    if (verdict !== 'ok') return reject(req, reply, 403, verdict, { kiosk: p.kiosk });
    // The same key keeps its sequence (resetting it would re-open every old message to replay); a new key starts a
    // new sequence space, and old messages cannot verify under it. Conditional on what we read above: if another
    // pairing (here or on another receiver) changed this id meanwhile, nothing is written.
    const paired = await store.pair(
      p.kiosk,
      { jwk: p.key, kid, at: now(), ...(doors ? { doors } : {}) },
      prev?.kid,
      wasRevoked,
    );
    if (paired === 'key_retired') return reject(req, reply, 403, 'key_retired', { kiosk: p.kiosk });
    if (!paired) return reject(req, reply, 409, 'repair_not_allowed', { kiosk: p.kiosk });
    keys.delete(p.kiosk);
    record({
      route: '/pair',
      status: 200,
      result: 'accepted',
      kiosk: p.kiosk,
      ip: req.ip,
      bytes: Buffer.byteLength(text),
      body: text,
    });
    if (prev) {
      // Every re-pairing of a known id is a warning, the same key included: it may have moved the kiosk to other
      // doors or brought a revoked one back, and an unexpected one means a pairing code is in the wrong hands.
      const sameKey = prev.kid === kid;
      const was = {
        kiosk: p.kiosk,
        kid,
        fingerprint: fingerprint(kid),
        previous: fingerprint(prev.kid),
        sameKey,
        wasRevoked,
        ...(doors ? { doors } : {}),
        ...(prev.doors ? { previousDoors: prev.doors } : {}),
      };
      req.log.warn(
        { event: 'repaired', ...was },
        sameKey
          ? `kiosk RE-PAIRED with the same key (sequence kept${doors ? ', doors set by the code' : ''})`
          : 'kiosk RE-PAIRED with a new key: its old key is retired for good and its sequence starts over',
      );
      emit({ type: 'repaired', ...was });
    } else {
      req.log.info({ event: 'paired', kiosk: p.kiosk, kid, fingerprint: fingerprint(kid) }, 'kiosk paired');
      emit({ type: 'paired', kiosk: p.kiosk, kid, fingerprint: fingerprint(kid) });
    }
    return { ok: true, kiosk: p.kiosk, kid };
  });

  // An admin command's first question over plain http (receiver/admin.mjs, helloProof): are you this receiver? No
  // token needed (the answer proves the hash without revealing it); never from a web page, like every admin route.
  app.get('/admin/hello', async (req, reply) => {
    const site = req.headers['sec-fetch-site'];
    if (req.headers.origin !== undefined || (site !== undefined && site !== 'none'))
      return reject(req, reply, 403, 'admin_only');
    const nonce = /** @type {Record<string, unknown>} */ (req.query ?? {}).nonce;
    if (typeof nonce !== 'string' || !HELLO_NONCE.test(nonce))
      return reject(req, reply, 400, 'bad_field', { field: 'nonce' });
    return {
      proof: helloProof(
        adminToken.hash,
        nonce,
        endpointName(req.socket.remoteAddress, req.socket.remotePort),
        endpointName(req.socket.localAddress, req.socket.localPort),
      ),
    };
  });

  app.post('/admin/pairing-code', async (req, reply) => {
    if (!admitAdmin(req, reply)) return reply;
    // Optional body {"repair":"<kiosk id>", "doors":["<door id>", …]}: `repair` is the explicit admin act that lets
    // this code give a paired id a new key; `doors` are the doors the kiosk paired with it may address (1-16 ids).
    /** @type {{ repair?: string, doors?: string[] }} */
    const how = {};
    if (typeof req.body === 'string' && req.body !== '') {
      /** @type {unknown} */
      let b;
      try {
        b = JSON.parse(req.body);
      } catch {
        return reject(req, reply, 400, 'bad_json');
      }
      const o = /** @type {Record<string, unknown>} */ (b);
      if (typeof b !== 'object' || b === null || Object.keys(o).some((k) => k !== 'repair' && k !== 'doors'))
        return reject(req, reply, 400, 'extra_field');
      if (o.repair !== undefined) {
        if (typeof o.repair !== 'string' || (await store.kiosk(o.repair)) === undefined)
          return reject(req, reply, 404, 'not_paired', { field: 'repair' });
        how.repair = o.repair;
      }
      if (o.doors !== undefined) {
        const d = o.doors;
        if (!Array.isArray(d) || d.length < 1 || d.length > 16 || !d.every(isId) || new Set(d).size !== d.length)
          return reject(req, reply, 400, 'bad_field', { field: 'doors' });
        how.doors = d;
      }
    }
    return issuePairingCode(how);
  });

  // Unpairing (`server.mjs unpair <id>`): for a tablet that is lost, stolen or retired. The kiosk's row stays, marked
  // revoked: its key is refused (401 kiosk_revoked) from the next request on, its id can be paired again only with a
  // re-pair code for it (an ordinary code, even with the same key, is `repair_not_allowed`), and its last sequence
  // number and doors are kept (a first-use binding by another kiosk still cannot take its door).
  app.post('/admin/kiosks/:kiosk/revoke', async (req, reply) => {
    if (!admitAdmin(req, reply)) return reply;
    const id = /** @type {{ kiosk: string }} */ (req.params).kiosk;
    if (!isId(id)) return reject(req, reply, 400, 'bad_field', { field: 'kiosk' });
    const rec = await store.kiosk(id);
    const at = now();
    const result = rec === undefined ? 'not_paired' : await store.revoke(id, at);
    if (rec === undefined || result === 'not_paired') return reject(req, reply, 404, 'not_paired', { kiosk: id });
    keys.delete(id);
    const already = result === 'already_revoked';
    const fp = fingerprint(rec.kid);
    if (!already) {
      req.log.warn(
        { event: 'revoked', kiosk: id, fingerprint: fp },
        `kiosk ${id} REVOKED: its key is refused; only a re-pair code for it pairs it again`,
      );
      emit({ type: 'revoked', kiosk: id, fingerprint: fp });
    }
    return { ok: true, kiosk: id, revoked: true, already, revokedAt: already ? rec.revokedAt : at, fingerprint: fp };
  });

  app.get('/decisions/log', async (req, reply) => {
    if (!admitAdmin(req, reply)) return reply;
    const since = Number(/** @type {{ since?: string }} */ (req.query).since ?? 0);
    await journalWrites;
    return store.journalSince(Number.isSafeInteger(since) && since > 0 ? since : 0, opts.journalSize ?? 1000);
  });

  app.get('/watchlist/bundle', { exposeHeadRoute: false }, async (req, reply) => {
    // Every answer, including errors: a kiosk must never be handed yesterday's bundle by a cache.
    reply.header('cache-control', 'no-store');
    const q = /** @type {Record<string, unknown>} */ (req.query);
    const sinceText = q.since;
    if (typeof sinceText !== 'string' || !/^(0|[1-9]\d{0,15})$/.test(sinceText) || !Number.isSafeInteger(+sinceText))
      return reject(req, reply, 400, 'bad_query', { field: 'since' });
    const kiosk = q.kiosk;
    if (kiosk !== undefined && (typeof kiosk !== 'string' || !/^[0-9a-fA-F]{64}$/.test(kiosk)))
      return reject(req, reply, 400, 'bad_query', { field: 'kiosk' });
    const since = Number(sinceText);
    const kioskId = kiosk?.toLowerCase();
    // Only a paired, unrevoked kiosk is served, by the key it decides with (pullStatement in receiver/protocol.mjs).
    // Bundles are encrypted, but an open route handed every site-passphrase entry to anyone on the LAN for offline
    // guessing, and kept feeding a tablet the admin had unpaired. A signature within the time window is all it
    // takes: replaying one inside the window fetches what that kiosk was sent, no more (and over TLS nobody sees it).
    const { id, ts: tsText, sig } = q;
    if (id === undefined && tsText === undefined && sig === undefined) return reject(req, reply, 401, 'unsigned_pull');
    if (!isId(id)) return reject(req, reply, 400, 'bad_query', { field: 'id' });
    if (typeof tsText !== 'string' || !/^[1-9]\d{0,15}$/.test(tsText) || !Number.isSafeInteger(+tsText))
      return reject(req, reply, 400, 'bad_query', { field: 'ts' });
    if (typeof sig !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(sig))
      return reject(req, reply, 400, 'bad_query', { field: 'sig' });
    const rec = await store.kiosk(id);
    if (!rec) return reject(req, reply, 403, 'not_paired', { kiosk: id });
    const signed = pullStatement(id, since, kioskId, Number(tsText));
    if (!(await verifySignature(await keyFor(id, rec), signed, sig)))
      return reject(req, reply, 401, 'bad_signature', { kiosk: id });
    if (rec.revokedAt !== undefined) return reject(req, reply, 401, 'kiosk_revoked', { kiosk: id }, { signedBy: id });
    // A key retired under another id (one tablet renamed keeps its key) is refused here too, as for decisions: the
    // admin unpaired that tablet, and its bundles must stop with it (attacker review, session 27).
    if (await store.retired(rec.kid)) return reject(req, reply, 401, 'kiosk_revoked', { kiosk: id }, { signedBy: id });
    if (Math.abs(now() - Number(tsText)) > pullWindowMs)
      return reject(req, reply, 401, 'pull_expired', { kiosk: id }, { signedBy: id });
    const choice = selectBundle(bundles.list(), since, kioskId);
    const pull = { event: 'bundle_pull', kiosk: id, since, ...(kioskId ? { kioskKey: kioskId.slice(0, 16) } : {}) };
    if (choice.status !== 200) {
      req.log.info({ ...pull, status: choice.status }, choice.status === 204 ? 'kiosk is up to date' : 'no bundle');
      if (choice.status === 204) return reply.code(204).send();
      return reply.code(404).send({ ok: false, reason: 'no_bundle' });
    }
    const b = choice.bundle;
    /** @type {number} */
    let fd;
    try {
      fd = openSync(b.path, 'r');
    } catch {
      // Removed by the admin between listing and opening: the kiosk's next pull sees the folder as it is now.
      reply.header('retry-after', '1');
      return reply.code(503).send({ ok: false, reason: 'bundle_changed' });
    }
    if (fstatSync(fd).size !== b.size) {
      closeSync(fd);
      reply.header('retry-after', '1');
      return reply.code(503).send({ ok: false, reason: 'bundle_changed' });
    }
    req.log.info({ ...pull, status: 200, kind: b.kind, version: b.version, base: b.baseVersion }, 'bundle served');
    const name =
      b.kind === 'full' ? `watchlist-v${b.version}.kwb` : `watchlist-v${b.version}-from-v${b.baseVersion}.kwb`;
    return reply
      .header('content-type', BUNDLE_MIME)
      .header('content-length', String(b.size))
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('x-content-type-options', 'nosniff')
      .send(createReadStream('', { fd, autoClose: true }));
  });

  // The built kiosk app, from the same origin as the receiver (so its upstream is 'self'): every GET/HEAD no route
  // claims. Served with the app's own security headers (CSP, COOP/COEP) by the same handler as scripts/serve.mjs.
  const serveApp = opts.appDir ? appHandler(opts.appDir) : undefined;
  app.setNotFoundHandler((req, reply) => {
    if (serveApp && (req.method === 'GET' || req.method === 'HEAD')) {
      reply.hijack();
      serveApp(req.raw, reply.raw);
      return;
    }
    return reject(req, reply, 404, 'not_found');
  });

  app.setErrorHandler((err, req, reply) => {
    const e = /** @type {{ code?: string, statusCode?: number, message?: string }} */ (err);
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reject(req, reply, 413, 'too_large');
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reject(req, reply, 415, 'unsupported_media_type');
    const status = e.statusCode ?? 500;
    if (status < 500) return reject(req, reply, status, 'bad_request');
    req.log.error({ event: 'internal_error', reason: e.message }, 'internal error');
    return reject(req, reply, 500, 'internal');
  });

  // Publishing, in its own encapsulated scope so the large binary body parser exists for this route only: every
  // other route keeps refusing anything but small JSON before reading it. Registered after the error and not-found
  // handlers so the scope inherits them (a 413 must be journaled and answered like every other refusal).
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      [BUNDLE_MIME, 'application/octet-stream'],
      { parseAs: 'buffer', bodyLimit: bundles.maxBytes },
      (_req, body, done) => done(null, body),
    );
    scope.put(
      '/watchlist/bundle',
      {
        bodyLimit: bundles.maxBytes,
        // Refused before the body is read: a stranger cannot make the receiver buffer 256 MiB.
        onRequest: async (req, reply) => {
          if (!admitAdmin(req, reply)) return reply;
        },
      },
      async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const body = req.body;
        if (!Buffer.isBuffer(body)) return reject(req, reply, 415, 'unsupported_media_type');
        const result = await bundles.publish(body);
        if (!result.ok) {
          const { status, reason, ok: _ok, ...extra } = result;
          return reject(req, reply, status, reason, extra);
        }
        const b = result.bundle;
        const summary = bundleSummary(b);
        req.log.info({ event: 'bundle_published', already: result.already, ...summary }, 'watchlist bundle published');
        if (!result.already) emit({ type: 'bundle_published', bundle: b });
        return reply.code(result.status).send({ ok: true, already: result.already, ...summary });
      },
    );
  });

  /** @param {{ repair?: string, doors?: string[] }} [how] */
  function issuePairingCode(how = {}) {
    const issued = pairing.issue(how);
    const extra = {
      ...(how.repair === undefined ? {} : { repair: how.repair }),
      ...(how.doors ? { doors: how.doors } : {}),
    };
    if (how.repair === undefined)
      app.log.info({ event: 'pairing_code', expiresAt: issued.expiresAt, ...extra }, 'pairing code issued');
    else
      app.log.warn(
        { event: 'pairing_code', expiresAt: issued.expiresAt, ...extra },
        `pairing code issued that may RE-PAIR kiosk ${how.repair} (a new key, after unpair, or other doors)`,
      );
    emit({ type: 'pairing_code', code: issued.display, expiresAt: issued.expiresAt, ...extra });
    return { code: issued.display, expiresAt: issued.expiresAt, ...extra };
  }

  return {
    app,
    issuePairingCode,
    /** Where the state lives, and how many kiosks this start imported from the old JSON file. */
    store: { kind: store.kind, where: store.where, imported: store.imported },
    bundles: () => bundles.list().map(bundleSummary),
    adminKeys: () => adminKeys.map((k) => ({ id: k.id, fingerprint: k.fingerprint })),
    bundlesDir: bundles.dir,
    /** @returns {Promise<Record<string, import('./store.mjs').KioskRecord>>} */
    kiosks: async () => Object.fromEntries(await store.kiosks()),
    /** The receiver's order-signing key: public JWK (also in <data>/receiver-public.jwk), key id, fingerprint. */
    receiverKey: { jwk: receiverKey.jwk, kid: receiverKey.kid, fingerprint: receiverKey.fingerprint },
    /** Where the webhook's HMAC secret is, and whether this start made it. */
    webhookSecret: webhookSecret && { path: webhookSecret.path, created: webhookSecret.created },
    /** The admin token if it was created by this start (server.mjs writes it to admin-token.new), else undefined. */
    newAdminToken: adminToken.created,
    /** Resolves once the MQTT output (if any) has connected. */
    mqttReady: () => mqtt?.ready ?? Promise.resolve(),
    /** @returns {Promise<string>} the base URL */
    async listen() {
      await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8787 });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') throw new Error('unexpected listen address');
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    },
    async close() {
      try {
        await app.close();
        await Promise.all(outputs.map((o) => o.close()));
        await journalWrites;
        await store.close();
      } finally {
        unlock();
      }
    },
  };
}
