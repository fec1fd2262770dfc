#!/usr/bin/env node
// @ts-check
/**
 * Reference door controller: how to consume the receiver's actuation orders safely (docs/receiver.md, "Orders to
 * the door"). It trusts no transport: every order must carry the pinned receiver key's signature (low-s ECDSA
 * P-256), be fresh (issued within --freshness of now, and not before this process started, so a restart cannot
 * re-open the door for an order seen before it), be new (its id never seen), and name this door: `--door` is
 * required, because without it every grant of every paired kiosk would open this door (the MQTT subscription covers
 * all kiosks); a site with a single door says so with `--any-door`. Over the webhook,
 * the HMAC header (t=…,v1=…) is checked first, before the body is even parsed. Only then does an order with
 * `actuate: true` open the door: it prints `door-client: OPEN …` and, when --gpio names a file that exists (a sysfs
 * GPIO `value` file), writes 1 and after --pulse-ms writes 0. It never opens on `decision` alone, and never on an
 * order it could not verify.
 *
 * Freshness and the seen ids rest on this host's clock, which an attacker on the LAN (spoofed NTP) or at the box (a
 * Raspberry Pi rebooted without its network comes up on fake-hwclock, in the past) can set back: a captured grant
 * was then fresh again after a restart (attacker review, session 27). With --state FILE the client also keeps, per
 * kiosk key, the highest kiosk sequence number it has taken (written and synced before the door opens) and refuses
 * any order at or below it, whatever the clock says. The kiosk's sequence numbers only grow (the receiver accepts
 * each once, in order), so this costs nothing but an order delivered out of order, which is refused.
 *
 *   node receiver/door-client.mjs --receiver-key receiver-public.jwk (--door ID | --any-door) [--freshness MS]
 *     (--state FILE | --no-state)
 *     (--listen HOST:PORT --webhook-secret FILE | --mqtt URL [--mqtt-user U --mqtt-password-file F] [--mqtt-ca F]
 *      [--mqtt-topic PREFIX]) [--gpio PATH [--pulse-ms MS]]
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { SIGNATURE_HEADER, checkWebhookSignature } from './orders.mjs';
import { importPublicKey, thumbprint, verifySignature } from './protocol.mjs';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const ORDER_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * @typedef {import('./orders.mjs').Order} Order
 * @typedef {{ key: CryptoKey, kid: string, door?: string, anyDoor: boolean, freshnessMs: number, skewMs: number,
 *   notBefore: number, seen: Map<string, number>, marks: Map<string, number>, state?: string }} Verifier `door`: the
 *   only door whose orders pass, unless `anyDoor` (a site with one door) lets every door's through; `marks`: per
 *   kiosk key id, the highest sequence number taken (kept in the `state` file when there is one)
 * @typedef {{ ok: true, order: Order } | { ok: false, reason: string }} Verdict
 */

/** A door client set up without naming its door (and without saying that any door will do). */
export class DoorRequiredError extends Error {
  constructor() {
    super('name this door (--door ID), or --any-door on a site with a single door');
    this.name = 'DoorRequiredError';
    this.code = 'door_required';
  }
}

/**
 * The marks a state file holds; an empty map when there is none. A file that is not one is an error (the client
 * then refuses to start: a door that forgot what it opened for must not guess).
 * @param {string} path
 * @returns {Map<string, number>}
 */
export function loadMarks(path) {
  if (!existsSync(path)) return new Map();
  /** @type {unknown} */
  let o;
  try {
    o = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    o = null;
  }
  const marks = isObject(o) && o.v === 1 && isObject(o.marks) ? Object.entries(o.marks) : null;
  if (!marks || !marks.every(([k, n]) => typeof k === 'string' && Number.isSafeInteger(n)))
    throw new Error(`${path} is not a door-client state file (move it away only if you know why it is damaged)`);
  return new Map(/** @type {[string, number][]} */ (marks));
}

/**
 * Writes the marks atomically and durably: a temp file synced, renamed over the old one, and the folder synced (a
 * power cut must not undo the rename: a reboot onto fake-hwclock after one is the attack this file answers).
 * @param {string} path @param {Map<string, number>} marks
 */
export function saveMarks(path, marks) {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ v: 1, marks: Object.fromEntries(marks) })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * @param {import('./orders.mjs').PublicJwk} jwk
 * @param {{ door?: string, anyDoor?: boolean, freshnessMs?: number, skewMs?: number, notBefore?: number,
 *   state?: string }} opts
 *   exactly one of `door` and `anyDoor: true`: the default must not be "open for every door"
 * @returns {Promise<Verifier>}
 */
export async function makeVerifier(jwk, opts) {
  const anyDoor = opts.anyDoor === true;
  if ((opts.door === undefined) === !anyDoor) throw new DoorRequiredError();
  if (opts.door !== undefined && !ID.test(opts.door)) throw new Error(`not a door id: ${JSON.stringify(opts.door)}`);
  // A window that is not a finite positive number (NaN from `--freshness 5s`) made every age comparison false: no
  // order was ever stale and the seen-ids list never emptied, so a held-back grant opened the door whenever it came.
  for (const [name, v] of /** @type {const} */ ([
    ['freshnessMs', opts.freshnessMs],
    ['skewMs', opts.skewMs],
    ['notBefore', opts.notBefore],
  ])) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw new RangeError(`${name} must be a finite number ≥ 0, got ${String(v)}`);
  }
  return {
    key: await importPublicKey(jwk),
    kid: await thumbprint(jwk),
    ...(opts.door === undefined ? {} : { door: opts.door }),
    anyDoor,
    freshnessMs: opts.freshnessMs ?? 5000,
    skewMs: opts.skewMs ?? 1000,
    notBefore: opts.notBefore ?? Date.now(),
    seen: new Map(),
    marks: opts.state === undefined ? new Map() : loadMarks(opts.state),
    ...(opts.state === undefined ? {} : { state: opts.state }),
  };
}

/** @param {unknown} x @returns {x is Record<string, unknown>} */
const isObject = (x) => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Verifies one order envelope. Records its id on success, so a second delivery of the same order is refused.
 * @param {Verifier} v @param {string} text @param {number} now
 * @returns {Promise<Verdict>}
 */
export async function verifyOrder(v, text, now) {
  /** @type {unknown} */
  let env;
  try {
    env = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'bad_json' };
  }
  if (!isObject(env) || Object.keys(env).join() !== 'order,sig,kid') return { ok: false, reason: 'bad_envelope' };
  const { order: orderText, sig, kid } = env;
  if (typeof orderText !== 'string' || typeof sig !== 'string' || typeof kid !== 'string')
    return { ok: false, reason: 'bad_envelope' };
  if (kid !== v.kid) return { ok: false, reason: 'unknown_receiver' };
  if (!(await verifySignature(v.key, orderText, sig))) return { ok: false, reason: 'bad_signature' };
  /** @type {unknown} */
  let o;
  try {
    o = JSON.parse(orderText);
  } catch {
    return { ok: false, reason: 'bad_order' };
  }
  // Signed by our receiver, so well formed unless the receiver has a bug; checked anyway, a door fails closed.
  if (
    !isObject(o) ||
    o.v !== 1 ||
    typeof o.id !== 'string' ||
    !ORDER_ID.test(o.id) ||
    !Number.isSafeInteger(o.at) ||
    typeof o.door !== 'string' ||
    !ID.test(o.door) ||
    typeof o.actuate !== 'boolean' ||
    !Number.isSafeInteger(o.seq) ||
    !isObject(o.source) ||
    typeof o.source.kid !== 'string'
  )
    return { ok: false, reason: 'bad_order' };
  const order = /** @type {Order} */ (/** @type {unknown} */ (o));
  // Fails closed: a verifier with no door passes other doors' orders only when built with anyDoor.
  if (!v.anyDoor && order.door !== v.door) return { ok: false, reason: 'other_door' };
  // This door's genuine order refused as early or late still uses up its number, as at the receiver: with this host's
  // clock behind (fake-hwclock, spoofed NTP) every order was refused as future and marked nothing, and a captured
  // one replayed once the clock reached its `at` opened the door (attacker review, session 33).
  const early = order.at > now + v.skewMs;
  if (early || now - order.at > v.freshnessMs || order.at < v.notBefore - v.skewMs) {
    const taken = v.marks.get(order.source.kid);
    if (taken === undefined || order.seq > taken) v.marks.set(order.source.kid, order.seq);
    return { ok: false, reason: early ? 'future_order' : 'stale_order' };
  }
  for (const [id, at] of v.seen) if (now - at > v.freshnessMs + v.skewMs) v.seen.delete(id);
  if (v.seen.has(order.id)) return { ok: false, reason: 'replayed_order' };
  // Whatever the clock says: an order from a kiosk at or below the sequence number already taken from it is old.
  const mark = v.marks.get(order.source.kid);
  if (mark !== undefined && order.seq <= mark) return { ok: false, reason: 'replayed_order' };
  v.seen.set(order.id, order.at);
  v.marks.set(order.source.kid, order.seq);
  return { ok: true, order };
}

/**
 * Opens the door for an order that passed verifyOrder: prints, and pulses the GPIO file when there is one.
 * @param {Order} order @param {{ gpio?: string, pulseMs?: number, say: (line: string) => void }} how
 */
export function act(order, how) {
  const what = `order ${order.id}, kiosk ${order.kiosk} seq ${order.seq}`;
  if (!order.actuate) {
    how.say(`no action for door ${order.door} (${what}): ${order.stale ? 'stale ' : ''}${order.decision}`);
    return;
  }
  how.say(`OPEN door ${order.door} (${what})`);
  if (how.gpio !== undefined && existsSync(how.gpio)) {
    writeFileSync(how.gpio, '1');
    setTimeout(() => writeFileSync(/** @type {string} */ (how.gpio), '0'), how.pulseMs ?? 3000);
  }
}

/**
 * The door's one entry point for orders from any transport: verifies and acts on one order at a time, in arrival
 * order. Node's WebCrypto verifies on its thread pool, so two orders checked at once finish in either order; a
 * door's log and its pulses must follow the order the broker or webhook delivered them in, or an audit reads a
 * replay before its original.
 * With a state file, the new mark is written and synced before the door opens: a crash after the pulse must not
 * forget it.
 * @param {Verifier} v
 * @param {{ gpio?: string, pulseMs?: number, say: (line: string) => void, now?: () => number }} how `now`: this
 *   host's clock (Date.now unless given)
 * @returns {(text: string) => Promise<Verdict>}
 */
export function orderHandler(v, how) {
  /** @type {Promise<unknown>} */
  let queue = Promise.resolve();
  return (text) => {
    const next = queue.then(async () => {
      const marksBefore = JSON.stringify([...v.marks]);
      /** @type {Verdict} */
      let verdict = await verifyOrder(v, text, (how.now ?? Date.now)());
      // Every raised mark is saved: an order taken (before the door opens) and one used up by a refusal alike.
      if (v.state !== undefined && JSON.stringify([...v.marks]) !== marksBefore) {
        try {
          saveMarks(v.state, v.marks);
        } catch (e) {
          // Not remembered, not opened (a full disk, a card gone read-only): said, never a crash on every order.
          // The mark stays in memory, so the order is refused again until a restart, which reloads the file.
          how.say(`cannot save ${v.state}: ${e instanceof Error ? e.message : String(e)}`);
          if (verdict.ok) verdict = { ok: false, reason: 'state_not_saved' };
        }
      }
      if (!verdict.ok) how.say(`refused order: ${verdict.reason}`);
      else act(verdict.order, how);
      return verdict;
    });
    queue = next.catch(() => undefined);
    return next;
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      'receiver-key': { type: 'string' },
      door: { type: 'string' },
      'any-door': { type: 'boolean', default: false },
      freshness: { type: 'string', default: '5000' },
      listen: { type: 'string' },
      'webhook-secret': { type: 'string' },
      mqtt: { type: 'string' },
      'mqtt-user': { type: 'string' },
      'mqtt-password-file': { type: 'string' },
      'mqtt-ca': { type: 'string' },
      'mqtt-topic': { type: 'string', default: 'entrance-kiosk' },
      gpio: { type: 'string' },
      'pulse-ms': { type: 'string', default: '3000' },
      state: { type: 'string' },
      'no-state': { type: 'boolean', default: false },
    },
    strict: true,
  });
  /** @param {string} line */
  const say = (line) => process.stdout.write(`door-client: ${line}\n`);
  const keyFile = values['receiver-key'];
  if (!keyFile || (!values.listen && !values.mqtt) || (values.listen && !values['webhook-secret'])) {
    console.error('door-client: need --receiver-key and either --listen with --webhook-secret, or --mqtt');
    process.exit(2);
  }
  if ((values.door === undefined) === !values['any-door']) {
    console.error(
      values['any-door']
        ? 'door-client: --door and --any-door exclude each other'
        : 'door-client: name this door with --door ID (without it, a grant for any door would open this one); ' +
            'a site with a single door says --any-door',
    );
    process.exit(2);
  }
  /** A whole number of milliseconds, > 0, or exit 2 (`--freshness 5s` was NaN, and a NaN window never expires). */
  const millis = (/** @type {'freshness' | 'pulse-ms'} */ name) => {
    const raw = values[name];
    const n = Number(raw);
    if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      console.error(`door-client: --${name} must be a whole number of milliseconds > 0, got ${JSON.stringify(raw)}`);
      process.exit(2);
    }
    return n;
  };
  // Safe by default: the state file is what keeps a clock set back from re-opening the door for a captured order, so
  // running without one is an explicit choice (--no-state), not what a forgotten flag gives (attacker residual, s32).
  if ((values.state === undefined) === !values['no-state']) {
    console.error(
      values['no-state']
        ? 'door-client: --state and --no-state exclude each other'
        : 'door-client: give --state FILE (it keeps each kiosk\'s highest sequence number taken, so an order captured ' +
            'before cannot open the door again after a restart with this host clock set back), or --no-state to run without',
    );
    process.exit(2);
  }
  const freshnessMs = millis('freshness');
  const pulseMs = millis('pulse-ms');
  const v = await makeVerifier(JSON.parse(readFileSync(keyFile, 'utf8')), {
    ...(values.door === undefined ? { anyDoor: true } : { door: values.door }),
    freshnessMs,
    ...(values.state === undefined ? {} : { state: values.state }),
  });
  if (values.state === undefined)
    say(
      '--no-state: after a restart with this host clock set back, an order captured before could open the door ' +
        'again (give --state FILE on a door that matters)',
    );
  const serves = v.door === undefined ? 'ANY door (--any-door)' : `door ${v.door}`;
  const how = { say, pulseMs, ...(values.gpio ? { gpio: values.gpio } : {}) };
  const handle = orderHandler(v, how);

  if (values.listen) {
    const secret = readFileSync(values['webhook-secret'] ?? '', 'utf8').trim();
    const [host, port] = values.listen.split(/:(?=\d+$)/);
    const server = createServer(
      { requestTimeout: 5000, headersTimeout: 5000, connectionsCheckingInterval: 1000 },
      (req, res) => {
        let body = '';
        let tooBig = false;
        req.setEncoding('utf8');
        req.on('data', (c) => {
          body += c;
          if (body.length > 8192) {
            tooBig = true;
            req.destroy();
          }
        });
        req.on('end', async () => {
          if (tooBig || req.method !== 'POST') return res.writeHead(400).end();
          const h = req.headers[SIGNATURE_HEADER];
          const mac = checkWebhookSignature(secret, body, typeof h === 'string' ? h : undefined, Date.now(), 60_000);
          if (mac !== 'ok') {
            say(`refused webhook: ${mac}`);
            return res.writeHead(401).end();
          }
          const verdict = await handle(body);
          res.writeHead(verdict.ok ? 200 : verdict.reason === 'replayed_order' ? 409 : 422).end();
        });
      },
    );
    await new Promise((r) => server.listen(Number(port), host, () => r(undefined)));
    const a = /** @type {import('node:net').AddressInfo} */ (server.address());
    say(`listening on http://${a.address}:${a.port} (webhook), receiver key ${v.kid.slice(0, 16)}, for ${serves}`);
  }
  if (values.mqtt) {
    const { connectAsync } = await import('mqtt');
    const client = await connectAsync(values.mqtt, {
      clientId: `door-client-${process.pid}`,
      ...(values['mqtt-user'] ? { username: values['mqtt-user'] } : {}),
      ...(values['mqtt-password-file'] ? { password: readFileSync(values['mqtt-password-file'], 'utf8').trim() } : {}),
      ...(values['mqtt-ca'] ? { ca: readFileSync(values['mqtt-ca']), rejectUnauthorized: true } : {}),
      reconnectPeriod: 2000,
    });
    client.on('message', (_topic, payload) => void handle(payload.toString('utf8')));
    const topic = `${values['mqtt-topic']}/+/decision`;
    await client.subscribeAsync(topic, { qos: 1 });
    say(`subscribed to ${topic} on ${values.mqtt}, receiver key ${v.kid.slice(0, 16)}, for ${serves}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(`door-client: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
