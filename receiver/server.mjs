#!/usr/bin/env node
// @ts-check
/**
 * Command line of the reference receiver (see docs/receiver.md):
 *
 *   node receiver/server.mjs [--host 127.0.0.1] [--port 8787] [--data DIR] [--db sqlite|postgres://…] [--origin URL]...
 *     [--mqtt mqtt(s)://HOST:PORT [--mqtt-topic entrance-kiosk] [--mqtt-user U --mqtt-password-file F]
 *       [--mqtt-ca FILE]] [--webhook URL [--webhook-secret FILE]] [--log-file FILE|-]
 *     [--capture FILE] [--freshness MS] [--skew MS] [--rate PER_SECOND/BURST] [--pair-ttl MS]
 *     [--admin-key FILE]... [--allow-unsigned-bundles] [--bundle-max BYTES] [--request-timeout MS] [--quiet]
 *     [--tls | --tls-cert FILE --tls-key FILE] [--tls-name NAME]... [--app DIR] [--trusted-proxy ADDR]...
 *     [--insecure-http]
 *   node receiver/server.mjs publish FILE [--data DIR] (--admin-key FILE... | --allow-unsigned-bundles)
 *   node receiver/server.mjs admin-token [--data DIR]
 *   node receiver/server.mjs pairing-code [--url URL] [--token-file FILE] [--repair KIOSK] [--doors A,B] [--ca FILE] [--qr]
 *   node receiver/server.mjs unpair KIOSK [--url URL] [--token-file FILE] [--ca FILE]
 *
 * Prints its URL and, while no kiosk is paired, a one-time pairing code on start (codes minted later go to whoever
 * asked for them, never to this output), and on first start where the admin token is: a file only this user reads
 * (`admin-token.new`; never the token itself, which this output's keepers would hold; stored hashed; `admin-token`
 * makes a new one while the receiver is stopped). Human lines are prefixed "receiver:";
 * everything else is JSON-lines logging. It listens on loopback unless told otherwise: exposing it is a deliberate
 * act, and on any other address it speaks TLS (a site CA it makes, or the admin's certificate) unless
 * --insecure-http. `publish` puts a watchlist bundle into the data directory (same checks as the PUT) and exits; a
 * running receiver serves it from its next pull on.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ORIGINS, createReceiver } from './app.mjs';
import { BundleStore, MAX_BUNDLE_BYTES, loadAdminKey } from './bundles.mjs';
import {
  ADMIN_TOKEN_FILE,
  NEW_ADMIN_TOKEN_FILE,
  endpointName,
  hashToken,
  helloProof,
  isLoopback,
  rotateAdminToken,
  writeNewTokenFile,
} from './admin.mjs';
import { lockDataDir } from './lock.mjs';
import { RECEIVER_PUBLIC_FILE } from './orders.mjs';
import { loadTls } from './tls.mjs';

const USAGE =
  'usage: node receiver/server.mjs [--host H] [--port P] [--data DIR] [--db sqlite|postgres://…] [--origin URL]... ' +
  '[--mqtt URL] ' +
  '[--mqtt-topic T] [--mqtt-user U] [--mqtt-password-file F] [--mqtt-ca F] [--ha-discovery PREFIX] [--webhook URL] [--webhook-secret F] [--log-file FILE|-] [--capture FILE] [--freshness MS] [--skew MS] ' +
  '[--rate PER_SECOND/BURST] [--pair-ttl MS] [--admin-key FILE]... [--allow-unsigned-bundles] ' +
  '[--bundle-max BYTES] [--request-timeout MS] [--tls | --tls-cert F --tls-key F] [--tls-name N]... [--app DIR] ' +
  '[--trusted-proxy ADDR]... [--insecure-http] [--quiet]\n' +
  '       node receiver/server.mjs publish FILE [--data DIR] (--admin-key FILE... | --allow-unsigned-bundles)\n' +
  '       node receiver/server.mjs admin-token [--data DIR]\n' +
  '       node receiver/server.mjs pairing-code [--url URL] [--token-file FILE] [--repair KIOSK] [--doors A,B] [--ca FILE] [--qr]\n' +
  '       node receiver/server.mjs unpair KIOSK [--url URL] [--token-file FILE] [--ca FILE]';

/** @param {string | undefined} data */
const dataDirOf = (data) =>
  resolve(data ?? process.env.RECEIVER_DATA ?? join(homedir(), '.local/state/entrance-kiosk-receiver'));

/**
 * `publish FILE`: the admin's way to hand a bundle to the receiver without HTTP. It needs write access to the data
 * directory (0700, the receiver's user), which is the whole authorisation; --admin-key adds the signature check.
 * Exit 0 published (or already was), 1 refused, 2 usage.
 * @param {string[]} argv
 * @returns {Promise<number>}
 */
async function publishCommand(argv) {
  /** @type {{ values: { data?: string, 'admin-key'?: string[], 'allow-unsigned-bundles'?: boolean },
   *   positionals: string[] }} */
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        'admin-key': { type: 'string', multiple: true },
        'allow-unsigned-bundles': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`receiver: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`receiver: publish takes exactly one bundle file\n${USAGE}`);
    return 2;
  }
  const file = resolve(parsed.positionals[0] ?? '');
  try {
    const adminKeys = await Promise.all((parsed.values['admin-key'] ?? []).map((f) => loadAdminKey(readFileSync(f))));
    const store = new BundleStore(dataDirOf(parsed.values.data), {
      adminKeys,
      allowUnsigned: parsed.values['allow-unsigned-bundles'] === true,
    });
    const r = await store.publish(readFileSync(file));
    if (!r.ok) {
      const why = [r.field && `(${r.field})`, r.latest !== undefined && `(latest full bundle: v${r.latest})`];
      console.error(`receiver: refused ${file}: ${[r.reason, ...why].filter(Boolean).join(' ')}`);
      return 1;
    }
    const b = r.bundle;
    const what = b.kind === 'full' ? `v${b.version} (full)` : `v${b.version} (delta from v${b.baseVersion})`;
    const to = `${b.kioskKeyIds.length} kiosk key(s)${b.siteEntries > 0 ? ' + site passphrase' : ''}`;
    console.log(`receiver: ${r.already ? 'already published' : 'published'} watchlist ${what} for ${to} as ${b.path}`);
    return 0;
  } catch (e) {
    console.error(`receiver: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

/**
 * `admin-token`: replaces the admin token (the old one stops working) and prints the new one. Takes the data
 * folder's lock, so it runs only while the receiver is stopped (a running one keeps the hash it loaded).
 * @param {string[]} argv
 * @returns {number}
 */
function adminTokenCommand(argv) {
  try {
    const { values } = parseArgs({ args: argv, options: { data: { type: 'string' } }, strict: true });
    const dir = dataDirOf(values.data);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const unlock = lockDataDir(dir);
    try {
      const token = rotateAdminToken(dir);
      // A first start's file would now hold a token that no longer works (a command a person runs in a terminal
      // may print the new one: it is not a service's kept output).
      rmSync(join(dir, NEW_ADMIN_TOKEN_FILE), { force: true });
      console.log(`receiver: new admin token (shown once; the old one no longer works): ${token}`);
    } finally {
      unlock();
    }
    return 0;
  } catch (e) {
    console.error(`receiver: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

/**
 * The admin token for the commands that call a running receiver's admin routes: from --token-file or the
 * RECEIVER_ADMIN_TOKEN environment variable, never from an argument (arguments show in `ps`).
 * @param {string | undefined} tokenFile
 */
function adminTokenFrom(tokenFile) {
  return tokenFile ? readFileSync(tokenFile, 'utf8').trim() : process.env.RECEIVER_ADMIN_TOKEN?.trim();
}

/**
 * Where the admin commands send the token: refused (a message; the caller exits 2) when it would cross the network in
 * clear. The receiver refuses plain-HTTP admin calls off loopback, but only after the token has been on the wire
 * (attacker review, session 23): anyone on the LAN who saw it could mint pairing codes for any door.
 * @param {string | undefined} url @returns {string | null} the refusal, or null when the URL is fine
 */
function adminUrlProblem(url) {
  let u;
  try {
    u = new URL(url ?? 'http://127.0.0.1:8787');
  } catch {
    return `--url is not a URL: ${JSON.stringify(url)}`;
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol !== 'http:') return `--url must be https:// (or http:// to loopback), got ${u.protocol}`;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // Not "localhost" over plain http: Node tries ::1 first, and the receiver listens on 127.0.0.1 only, so any local
  // user could listen on [::1] at the same port and take the token (attacker review, session 32). A literal [::1] is
  // taken as meant: for a receiver started with --host ::1 (on one started on 127.0.0.1 it has the same exposure).
  if (host === 'localhost')
    return `refusing to send the admin token to "localhost" over plain http (it may reach another local user's listener on ::1): use --url http://127.0.0.1:${u.port || '80'}`;
  if (isLoopback(host)) return null;
  return `refusing to send the admin token in clear to ${u.host}: use --url https://${u.host} (with --ca for the site CA)`;
}

/** The receiver did not prove itself before the token was sent (`adminPost`, over plain http). */
class NotTheReceiverError extends Error {}

/**
 * One HTTP exchange on `agent`, resolved with its status, body and the socket it went over. The request is written
 * only once `check(socket)` has passed (it may throw), so nothing leaves on a connection the caller has not vetted.
 * @param {URL} url @param {Record<string, unknown>} opts @param {string} body
 * @param {(socket: import('node:net').Socket) => void} check
 * @returns {Promise<{ status: number, text: string, socket: import('node:net').Socket }>}
 */
async function exchange(url, opts, body, check) {
  const { request } = await import(url.protocol === 'https:' ? 'node:https' : 'node:http');
  return new Promise((ok, fail) => {
    /** @type {import('node:net').Socket} */
    let sent;
    const req = request(url, { ...opts, timeout: 10_000 }, (/** @type {import('node:http').IncomingMessage} */ r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (/** @type {string} */ c) => (text += c));
      // (kept-alive, the socket is back in the agent's pool by now: r.socket is null)
      r.on('end', () => {
        clearTimeout(deadline);
        ok({ status: r.statusCode ?? 0, text, socket: sent });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    // And 10 s in all, not only idle: a listener trickling bytes must not hold the command until the receiver is back.
    const deadline = setTimeout(() => req.destroy(new Error('no whole answer within 10 s')), 10_000);
    req.on('error', (/** @type {Error} */ e) => {
      clearTimeout(deadline);
      fail(e);
    });
    req.once('socket', (/** @type {import('node:net').Socket} */ socket) => {
      const send = () => {
        try {
          check(socket);
        } catch (e) {
          req.destroy(/** @type {Error} */ (e));
          return;
        }
        sent = socket;
        req.end(body);
      };
      // A new connection has no peer address until it is up; a reused one has it now.
      if (socket.remoteAddress === undefined || socket.connecting) socket.once('connect', send);
      else send();
    });
  });
}

/**
 * POSTs `body` to an admin route of the running receiver. Resolves its status and parsed JSON answer ({} when it was
 * not JSON); rejects when the receiver cannot be reached, or (NotTheReceiverError) over plain http when the listener
 * could not prove it is the receiver that holds this token: any local user can listen on the receiver's port while
 * it is down, or on another loopback address relaying to it (attacker review, session 33). The proof
 * (receiver/admin.mjs, helloProof) is asked on one kept-alive connection and the token goes over that same
 * connection or not at all. Over https the site CA already authenticates the receiver.
 * @param {{ url?: string, ca?: string }} where @param {string} token @param {string} path @param {string} body
 * @returns {Promise<{ status: number, j: Record<string, unknown> & { reason?: string, field?: string } }>}
 */
async function adminPost(where, token, path, body) {
  const base = where.url ?? 'http://127.0.0.1:8787';
  const url = new URL(path, base);
  const tls = url.protocol === 'https:';
  const { Agent } = await import(tls ? 'node:https' : 'node:http');
  // One connection for the proof and the token: a second one could reach whoever listens there by then.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ...(where.ca ? { ca: readFileSync(where.ca) } : {}) });
  try {
    /** @type {import('node:net').Socket | undefined} */
    let proven;
    if (!tls) {
      const nonce = randomBytes(32).toString('base64url');
      const hello = await exchange(new URL(`/admin/hello?nonce=${nonce}`, base), { agent, method: 'GET' }, '', () => {});
      /** @type {unknown} */
      let proof;
      try {
        proof = JSON.parse(hello.text).proof;
      } catch {
        // judged below
      }
      const at = endpointName(hello.socket.remoteAddress, hello.socket.remotePort);
      const from = endpointName(hello.socket.localAddress, hello.socket.localPort);
      const want = Buffer.from(helloProof(hashToken(token), nonce, from, at));
      const got = Buffer.from(typeof proof === 'string' ? proof : '');
      if (hello.status !== 200 || got.length !== want.length || !timingSafeEqual(got, want))
        throw new NotTheReceiverError(
          `the listener at ${at} did not prove it is the receiver holding this admin token (HTTP ${hello.status}): ` +
            'the token was not sent. Wrong token, the receiver is not running there, or another program is listening on its port',
        );
      proven = hello.socket;
    }
    const res = await exchange(
      url,
      {
        agent,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      body,
      (socket) => {
        if (proven !== undefined && socket !== proven)
          throw new NotTheReceiverError('the receiver closed the proven connection before the token was sent: try again');
      },
    );
    /** @type {Record<string, unknown> & { reason?: string, field?: string }} */
    let j = {};
    try {
      j = JSON.parse(res.text);
    } catch {
      // the caller reports the status
    }
    return { status: res.status, j };
  } finally {
    agent.destroy();
  }
}

/** Why an admin command got no answer, for a human. @param {string | undefined} url @param {unknown} e */
const adminFailure = (url, e) =>
  e instanceof NotTheReceiverError
    ? `receiver: refused: ${e.message}`
    : `receiver: cannot reach ${url ?? 'http://127.0.0.1:8787'}: ${e instanceof Error ? e.message : String(e)}`;

/** Why an admin route said no, for a human. @param {{ reason?: string }} j */
const adminHint = (j) =>
  j.reason === 'admin_token_required'
    ? ' (wrong admin token)'
    : j.reason === 'admin_needs_tls'
      ? ' (use the https:// URL from this host)'
      : '';

const NO_TOKEN =
  'receiver: the admin token is needed: --token-file FILE or RECEIVER_ADMIN_TOKEN (written to admin-token.new in the data folder at first start; `admin-token` makes a new one)';

/**
 * `pairing-code`: mints a fresh one-time pairing code on the RUNNING receiver (the codes live in its memory) through
 * its admin route, so a second tablet can be paired without curl. The code is printed here, to the admin who asked,
 * and never by the receiver itself (its output ends up in logs). --repair KIOSK mints the code that may give that
 * paired kiosk a new key, pair it again after `unpair`, or change its doors. --doors A,B: the doors the kiosk paired
 * with this code may address (without it, a new kiosk is bound to the door its first decision names). --ca: the site
 * CA for a receiver on TLS (its data folder's tls/ca.pem). --qr also prints the code as a QR code in the terminal, for
 * the kiosk's "scan pairing code". Exit 0 printed a code, 1 refused or unreachable, 2 usage.
 * @param {string[]} argv
 * @returns {Promise<number>}
 */
async function pairingCodeCommand(argv) {
  /** @type {{ url?: string, 'token-file'?: string, repair?: string, doors?: string, ca?: string, qr?: boolean }} */
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        'token-file': { type: 'string' },
        repair: { type: 'string' },
        doors: { type: 'string' },
        ca: { type: 'string' },
        qr: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`receiver: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  const clear = adminUrlProblem(values.url);
  if (clear) {
    console.error(`receiver: ${clear}`);
    return 2;
  }
  const token = adminTokenFrom(values['token-file']);
  if (!token) {
    console.error(NO_TOKEN);
    return 2;
  }
  const doors = values.doors?.split(',').map((d) => d.trim());
  const wanted = { ...(values.repair === undefined ? {} : { repair: values.repair }), ...(doors ? { doors } : {}) };
  const body = Object.keys(wanted).length === 0 ? '' : JSON.stringify(wanted);
  try {
    const res = await adminPost(values, token, '/admin/pairing-code', body);
    const j = /** @type {{ code?: string, expiresAt?: number, repair?: string, doors?: string[], reason?: string, field?: string }} */ (res.j);
    if (res.status !== 200 || typeof j.code !== 'string') {
      const hint =
        adminHint(j) ||
        (j.field === 'doors'
          ? ': --doors takes 1-16 different door ids, comma-separated, each 1-32 of A-Z a-z 0-9 . _ - (starting with a letter or digit)'
          : '');
      const field = j.field ? ` (${j.field})` : '';
      console.error(`receiver: no pairing code: HTTP ${res.status} ${j.reason ?? ''}${field}${hint}`);
      return 1;
    }
    const until = new Date(j.expiresAt ?? 0);
    const mins = Math.round(((j.expiresAt ?? 0) - Date.now()) / 60_000);
    console.log(
      `receiver: pairing code: ${j.code} (single use, valid until ${until.toISOString()}, about ${mins} min` +
        `${j.repair ? `; may RE-PAIR kiosk ${j.repair} with a new key, after unpair, or with other doors` : ''}` +
        `${j.doors ? `; the kiosk may address door(s) ${j.doors.join(', ')} only` : ''})`,
    );
    if (values.qr) console.log((await import('uqr')).renderUnicodeCompact(j.code, { ecc: 'M', border: 2 }));
    return 0;
  } catch (e) {
    console.error(adminFailure(values.url, e));
    return 1;
  }
}

/**
 * `unpair KIOSK`: revokes a paired kiosk on the RUNNING receiver (a tablet that is lost, stolen or retired) through
 * its admin route: from the next request on its key is refused (401 kiosk_revoked) and its id can be paired again
 * only with `pairing-code --repair KIOSK`. Same token and --url/--ca as `pairing-code`. Exit 0 revoked (or already
 * was), 1 unknown kiosk, refused or unreachable, 2 usage.
 * @param {string[]} argv
 * @returns {Promise<number>}
 */
async function unpairCommand(argv) {
  /** @type {{ values: { url?: string, 'token-file'?: string, ca?: string }, positionals: string[] }} */
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, 'token-file': { type: 'string' }, ca: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`receiver: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  const [kiosk, ...rest] = parsed.positionals;
  if (kiosk === undefined || rest.length > 0) {
    console.error(`receiver: unpair takes exactly one kiosk id\n${USAGE}`);
    return 2;
  }
  const clear = adminUrlProblem(parsed.values.url);
  if (clear) {
    console.error(`receiver: ${clear}`);
    return 2;
  }
  const token = adminTokenFrom(parsed.values['token-file']);
  if (!token) {
    console.error(NO_TOKEN);
    return 2;
  }
  try {
    const res = await adminPost(parsed.values, token, `/admin/kiosks/${encodeURIComponent(kiosk)}/revoke`, '');
    const j = /** @type {{ ok?: boolean, already?: boolean, fingerprint?: string, reason?: string, field?: string }} */ (res.j);
    if (res.status !== 200 || j.ok !== true) {
      const field = j.field ? ` (${j.field})` : '';
      const hint = adminHint(j) || (j.reason === 'not_paired' ? ` (no kiosk ${kiosk} is paired)` : '');
      console.error(`receiver: not unpaired: HTTP ${res.status} ${j.reason ?? ''}${field}${hint}`);
      return 1;
    }
    console.log(
      `receiver: kiosk ${kiosk} ${j.already ? 'was already unpaired' : 'unpaired'} (key ${j.fingerprint}): its decisions ` +
        `are refused (kiosk_revoked); to pair this id again: node receiver/server.mjs pairing-code --repair ${kiosk}`,
    );
    return 0;
  } catch (e) {
    console.error(adminFailure(parsed.values.url, e));
    return 1;
  }
}

if (process.argv[2] === 'pairing-code') process.exit(await pairingCodeCommand(process.argv.slice(3)));
if (process.argv[2] === 'unpair') process.exit(await unpairCommand(process.argv.slice(3)));
if (process.argv[2] === 'publish') process.exit(await publishCommand(process.argv.slice(3)));
if (process.argv[2] === 'admin-token') process.exit(adminTokenCommand(process.argv.slice(3)));

/** @param {string[]} argv */
function parse(argv) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (e) {
    console.error(`receiver: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    process.exit(2);
  }
}

const OPTIONS = /** @type {const} */ ({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8787' },
  data: { type: 'string' },
  db: { type: 'string' },
  origin: { type: 'string', multiple: true },
  mqtt: { type: 'string' },
  'mqtt-topic': { type: 'string', default: 'entrance-kiosk' },
  'mqtt-user': { type: 'string' },
  'mqtt-password-file': { type: 'string' },
  'mqtt-ca': { type: 'string' },
  'ha-discovery': { type: 'string' },
  webhook: { type: 'string' },
  'webhook-secret': { type: 'string' },
  'log-file': { type: 'string' },
  capture: { type: 'string' },
  freshness: { type: 'string', default: '5000' },
  skew: { type: 'string', default: '1000' },
  rate: { type: 'string', default: '5/30' },
  'pair-ttl': { type: 'string', default: '600000' },
  'request-timeout': { type: 'string', default: '30000' },
  'admin-key': { type: 'string', multiple: true },
  'allow-unsigned-bundles': { type: 'boolean', default: false },
  'bundle-max': { type: 'string', default: String(MAX_BUNDLE_BYTES) },
  tls: { type: 'boolean', default: false },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-name': { type: 'string', multiple: true },
  app: { type: 'string' },
  'trusted-proxy': { type: 'string', multiple: true },
  'insecure-http': { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
});

const { values } = parse(process.argv.slice(2));

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

/** @param {string} name @param {string} v */
function nonNegative(name, v) {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`receiver: --${name} must be a non-negative number, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}

const rateMatch = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(values.rate);
if (!rateMatch) {
  console.error('receiver: --rate must look like PER_SECOND/BURST, e.g. 5/30');
  process.exit(2);
}
const dataDir = dataDirOf(values.data);
const bundleMax = nonNegative('bundle-max', values['bundle-max']);
if (!Number.isInteger(bundleMax) || bundleMax < 1 || bundleMax > MAX_BUNDLE_BYTES) {
  console.error(`receiver: --bundle-max must be an integer from 1 to ${MAX_BUNDLE_BYTES}`);
  process.exit(2);
}

/** @param {string} line */
const say = (line) => process.stdout.write(`receiver: ${line}\n`);

// A tablet on the LAN gets no camera, service worker or WebCrypto over plain HTTP, and the admin token must not
// cross the LAN in clear: off loopback, TLS is the default.
const offLoopback = !['127.0.0.1', '::1', 'localhost'].includes(values.host);
const wantTls = values.tls || Boolean(values['tls-cert']) || (offLoopback && !values['insecure-http']);
/** @type {import('./tls.mjs').TlsMaterial | undefined} */
let tls;
if (wantTls) {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    tls = await loadTls({
      dataDir,
      ...(values['tls-cert'] ? { certFile: values['tls-cert'] } : {}),
      ...(values['tls-key'] ? { keyFile: values['tls-key'] } : {}),
      names: values['tls-name'] ?? [],
    });
  } catch (e) {
    console.error(`receiver: TLS: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}

const receiver = await createReceiver({
  host: values.host,
  port: nonNegative('port', values.port),
  dataDir,
  ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
  ...(values.app ? { appDir: resolve(values.app) } : {}),
  ...(values['trusted-proxy'] ? { trustedProxies: values['trusted-proxy'] } : {}),
  ...((values.db ?? process.env.RECEIVER_DB) ? { db: values.db ?? process.env.RECEIVER_DB } : {}),
  origins: values.origin ?? DEFAULT_ORIGINS,
  freshnessMs: nonNegative('freshness', values.freshness),
  skewMs: nonNegative('skew', values.skew),
  pairTtlMs: nonNegative('pair-ttl', values['pair-ttl']),
  requestTimeoutMs: Math.max(1000, nonNegative('request-timeout', values['request-timeout'])),
  kioskRate: { perSecond: Number(rateMatch[1]), burst: Number(rateMatch[2]) },
  ...(values.mqtt ? { mqtt: values.mqtt, mqttTopic: values['mqtt-topic'] } : {}),
  ...(values['mqtt-user'] ? { mqttUser: values['mqtt-user'] } : {}),
  ...(values['mqtt-password-file'] ? { mqttPassword: readFileSync(values['mqtt-password-file'], 'utf8').trim() } : {}),
  ...(values['mqtt-ca'] ? { mqttCa: readFileSync(values['mqtt-ca']) } : {}),
  ...(values['ha-discovery'] ? { haDiscovery: values['ha-discovery'] } : {}),
  ...(values.webhook ? { webhook: values.webhook } : {}),
  ...(values['webhook-secret'] ? { webhookSecretFile: resolve(values['webhook-secret']) } : {}),
  ...(values['log-file'] ? { logFile: values['log-file'] } : {}),
  ...(values.capture ? { capture: resolve(values.capture) } : {}),
  adminKeyFiles: values['admin-key'] ?? [],
  allowUnsignedBundles: values['allow-unsigned-bundles'],
  bundleMaxBytes: bundleMax,
  logger: values.quiet ? { level: 'warn' } : { level: 'info' },
  // No pairing_code here: a code minted later (the `pairing-code` command, the admin route) is shown only to the
  // admin who asked for it, never in this process's output, which journald, a container log or a log shipper keeps.
  onEvent: (e) => {
    if (e.type === 'paired') say(`paired kiosk ${e.kiosk}, key fingerprint ${e.fingerprint}`);
    if (e.type === 'repaired') {
      const doors = e.doors ? `; doors ${(e.previousDoors ?? ['(not bound)']).join(', ')} -> ${e.doors.join(', ')}` : '';
      say(
        e.sameKey
          ? `WARNING: RE-PAIRED ${e.wasRevoked ? 'revoked ' : ''}kiosk ${e.kiosk} with the same key ${e.fingerprint}, sequence kept${doors}`
          : `WARNING: RE-PAIRED ${e.wasRevoked ? 'revoked ' : ''}kiosk ${e.kiosk}: key ${e.previous} replaced by ${e.fingerprint}, sequence reset${doors}`,
      );
    }
    if (e.type === 'revoked') say(`WARNING: kiosk ${e.kiosk} UNPAIRED (revoked): key ${e.fingerprint} is refused from now on`);
    if (e.type === 'bundle_published')
      say(`published watchlist v${e.bundle.version} (${e.bundle.kind}) as ${e.bundle.file}`);
  },
}).catch((/** @type {unknown} */ e) => {
  console.error(`receiver: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

let url;
try {
  url = await receiver.listen();
} catch (e) {
  console.error(
    `receiver: cannot listen on ${values.host}:${values.port}: ${e instanceof Error ? e.message : String(e)}`,
  );
  process.exit(1);
}
say(`listening on ${url} (decisions: ${url}/decisions, data: ${dataDir})`);
if (tls?.caFile)
  say(
    `TLS from the site CA ${tls.caFile}${tls.created ? ' (made now)' : ''}: SHA-256 fingerprint ${tls.caFingerprint}, ` +
      `SPKI sha256/${tls.caSpki}; certificate for ${tls.names.join(', ')}. Trust this CA on the tablets ` +
      '(docs/deployment.md) and compare the fingerprint.',
  );
if (tls?.caFile && tls.caConstrained === false)
  say(
    `WARNING: the site CA ${tls.caFile} has no name constraints (made by an older receiver): it can vouch for any ` +
      'site to every tablet that trusts it. Replace it when you can (docs/deployment.md, "The site CA key").',
  );
if (tls?.outside?.length)
  say(
    `WARNING: not in the certificate: ${tls.outside.join(', ')} (the site CA may not vouch for them; tablets must ` +
      `use one of ${tls.names.join(', ')})`,
  );
if (tls && !tls.caFile) say(`TLS with the given certificate for ${tls.names.join(', ') || 'its subject'}`);
if (values.app) say(`serving the kiosk app from ${resolve(values.app)} at ${url}/`);
say(
  `state in ${receiver.store.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} ${receiver.store.where}` +
    (receiver.store.imported ? ` (imported ${receiver.store.imported} kiosk(s) from receiver-state.json)` : ''),
);
say(
  `orders to doors are signed by receiver key ${receiver.receiverKey.fingerprint} ` +
    `(public key for door controllers: ${join(dataDir, RECEIVER_PUBLIC_FILE)})`,
);
if (receiver.webhookSecret)
  say(
    `webhook HMAC secret ${receiver.webhookSecret.created ? 'created' : 'read'}: ${receiver.webhookSecret.path} ` +
      '(the webhook endpoint needs the same secret)',
  );
// Never on this output: journald, a container runtime or a log shipper keeps it, and the token mints pairing codes
// for every door (attacker review, session 27). It goes to a file only this user can read.
if (receiver.newAdminToken)
  say(
    `admin token created: in ${writeNewTokenFile(dataDir, receiver.newAdminToken)} (readable by this user only; ` +
      `stored hashed in ${join(dataDir, ADMIN_TOKEN_FILE)}). Move it somewhere safe and delete that file; send it as ` +
      `"Authorization: Bearer <token>", or give the file to pairing-code --token-file`,
  );
else if (existsSync(join(dataDir, NEW_ADMIN_TOKEN_FILE)))
  say(
    `the admin token is still in ${join(dataDir, NEW_ADMIN_TOKEN_FILE)}, in clear: move it somewhere safe and ` +
      `delete the file`,
  );
else
  say(
    `admin routes need the admin token written at first start ` +
      `(lost it? stop the receiver, run: node receiver/server.mjs admin-token --data ${dataDir})`,
  );
{
  const published = receiver.bundles();
  const latest = Math.max(0, ...published.filter((b) => b.kind === 'full').map((b) => b.version));
  const keys = receiver.adminKeys();
  say(
    `watchlist bundles: ${url}/watchlist/bundle, ${published.length} published` +
      (latest ? ` (latest full v${latest})` : '') +
      ', served to paired kiosks only' +
      (keys.length
        ? `, publishing requires the admin key ${keys.map((k) => k.fingerprint).join(' or ')}`
        : values['allow-unsigned-bundles']
          ? ', publishing does not check signatures (--allow-unsigned-bundles)'
          : ', publishing is refused until an --admin-key is pinned'),
  );
}
// A live pairing code is authority to add a kiosk that sends grants; printed on every start it would sit in logs
// for whoever reads them. So only a receiver with no kiosk yet prints one; later codes come from `pairing-code`,
// whose caller alone sees them (the admin route answers with the code; nothing here prints it).
{
  const paired = Object.keys(await receiver.kiosks()).length;
  if (paired === 0) {
    const first = receiver.issuePairingCode();
    say(`pairing code: ${first.code} (single use, valid until ${new Date(first.expiresAt).toISOString()})`);
  } else
    say(
      `${paired} kiosk(s) paired; a code for another: node receiver/server.mjs pairing-code ` +
        `[--doors A,B] (admin token from RECEIVER_ADMIN_TOKEN or --token-file)`,
    );
}

let closing = false;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    receiver.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
