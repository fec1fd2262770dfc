// @ts-check
/**
 * Where verified decisions go: pluggable outputs (JSON-lines log, webhook POST, MQTT publish).
 *
 * Every output receives the same signed actuation order (receiver/orders.mjs): the kiosk's signed decision, whether
 * it arrived in time, and whether a door may act on it (`actuate` is true only for a fresh, verified grant), under
 * the receiver's own signature. Stale decisions are delivered too, for the record, with `actuate: false`; anything
 * that failed verification never reaches an output. The webhook adds an HMAC header, MQTT can run with a user,
 * a password and TLS; neither transport is what a door should trust, the order's signature is. Outputs run after
 * the sequence number is saved and never block the kiosk's answer: a slow webhook or a missing broker is logged,
 * it does not make the kiosk retry (the kiosk's part is done once the receiver has verified and recorded it).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'mqtt';
import { SIGNATURE_HEADER, webhookSignature } from './orders.mjs';
import { redact } from './store.mjs';

/**
 * @typedef {{ kiosk: string, seq: number, ts: number, decision: 'grant' | 'deny', door?: string, sub?: string,
 *   stale: boolean, actuate: boolean, kid: string, receivedAt: number, ageMs: number }} VerifiedDecision
 * @typedef {import('./orders.mjs').SignedOrder} SignedOrder
 * @typedef {{ name: string, publish: (o: SignedOrder) => Promise<void>, close: () => Promise<void> }} Output
 * @typedef {{ info: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void,
 *   error: (obj: object, msg?: string) => void }} Logger
 */

/**
 * Appends one JSON line (the signed order envelope) per decision to `path` ('-' = stdout).
 * @param {string} path
 * @returns {Output}
 */
export function logOutput(path) {
  if (path === '-') {
    return {
      name: 'log',
      publish: async (o) => {
        process.stdout.write(`${o.text}\n`);
      },
      close: async () => {},
    };
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  return {
    name: 'log',
    publish: (o) =>
      new Promise((resolve, reject) => {
        stream.write(`${o.text}\n`, (e) => (e ? reject(e) : resolve()));
      }),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}

/**
 * POSTs each signed order to `url`, with the HMAC header (t=…,v1=…) over the timestamp and the exact body.
 * @param {string} url
 * @param {{ secret: string, timeoutMs?: number, now?: () => number }} opts
 * @returns {Output}
 */
export function webhookOutput(url, opts) {
  const now = opts.now ?? Date.now;
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`--webhook must be http(s): ${url}`);
  return {
    name: 'webhook',
    publish: async (o) => {
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: webhookSignature(opts.secret, o.text, Math.floor(now() / 1000)),
        },
        body: o.text,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    },
    close: async () => {},
  };
}

/** The door's state in Home Assistant (Jinja): on for an order that opened it and is at most 5 s old. */
export const HA_VALUE_TEMPLATE =
  "{{ 'ON' if value_json.actuate and (as_timestamp(now()) * 1000 - value_json.at) < 5000 else 'OFF' }}";

/**
 * Home Assistant MQTT discovery config for one door as a binary_sensor (keys as in HA's MQTT binary sensor docs).
 * @param {string} door @param {string} stateTopic
 */
export function haDoorConfig(door, stateTopic) {
  return {
    name: `Entrance ${door}`,
    unique_id: `entrance_kiosk_${door}`,
    object_id: `entrance_kiosk_${door}`,
    device_class: 'door',
    state_topic: stateTopic,
    // On only while the order is fresh (its `at` within 5 s of HA's clock): the state topic is retained, so after a
    // restart of HA or the broker, or for a new subscriber, the last order comes again, and a door shown on for it
    // fired any automation that triggers on the door opening, with nobody at the kiosk (attacker review, session 27).
    value_template: HA_VALUE_TEMPLATE,
    payload_on: 'ON',
    payload_off: 'OFF',
    off_delay: 5,
    json_attributes_topic: stateTopic,
    device: {
      identifiers: [`entrance_kiosk_${door}`],
      name: `Entrance kiosk door ${door}`,
      manufacturer: 'entrance-kiosk',
      model: 'reference receiver',
    },
  };
}

/**
 * Publishes each signed order (QoS 1, not retained) to `<prefix>/<kiosk>/decision`. Connects in the background and
 * keeps reconnecting; messages published while the broker is away wait in the client's queue. With `mqtts://`,
 * `ca` pins the broker's CA (the system store is not consulted then); `username`/`password` log in.
 * @param {string} url
 * With `haDiscovery` (Home Assistant's discovery prefix, usually "homeassistant"), each door also appears in Home
 * Assistant as a binary_sensor (device_class door: on = the last order opened it, off again after 5 s): a retained
 * discovery config at `<ha>/binary_sensor/entrance_kiosk_<door>/config` the first time the door is seen, and the
 * last order's summary, retained, at `<prefix>/door/<door>/last` (state and attributes). Home Assistant then shows
 * what the receiver decided; it is a display, not what a lock should act on (that is the signed order).
 * @param {{ topicPrefix?: string, logger: Logger, clientId?: string, username?: string, password?: string,
 *   ca?: Buffer, haDiscovery?: string }} opts
 * @returns {Output & { connected: () => boolean, ready: Promise<void> }}
 */
export function mqttOutput(url, opts) {
  const prefix = opts.topicPrefix ?? 'entrance-kiosk';
  /** Doors whose Home Assistant discovery config this process has published (retained, so once is enough). */
  const announced = new Set();
  const client = connect(url, {
    clientId: opts.clientId ?? `kiosk-receiver-${process.pid}`,
    reconnectPeriod: 2000,
    connectTimeout: 5000,
    clean: true,
    ...(opts.username === undefined ? {} : { username: opts.username }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
    ...(opts.ca === undefined ? {} : { ca: opts.ca, rejectUnauthorized: true }),
  });
  /** @type {Promise<void>} */
  const ready = new Promise((resolve) => client.once('connect', () => resolve()));
  // A password given in the URL (mqtt://user:pw@host) is not logged: logs go to journald and log shippers.
  client.on('connect', () => opts.logger.info({ event: 'mqtt_connected', url: redact(url) }, 'mqtt connected'));
  client.on('error', (e) => opts.logger.warn({ event: 'mqtt_error', reason: e.message }, 'mqtt error'));
  return {
    name: 'mqtt',
    ready,
    connected: () => client.connected,
    publish: async (o) => {
      await client.publishAsync(`${prefix}/${o.order.kiosk}/decision`, o.text, { qos: 1, retain: false });
      if (opts.haDiscovery === undefined) return;
      const door = o.order.door;
      const last = `${prefix}/door/${door}/last`;
      if (!announced.has(door)) {
        await client.publishAsync(
          `${opts.haDiscovery}/binary_sensor/entrance_kiosk_${door}/config`,
          JSON.stringify(haDoorConfig(door, last)),
          { qos: 1, retain: true },
        );
        announced.add(door);
      }
      const { id, at, kiosk, seq, decision, actuate, stale } = o.order;
      await client.publishAsync(last, JSON.stringify({ id, at, kiosk, seq, decision, actuate, stale }), {
        qos: 1,
        retain: true,
      });
    },
    close: async () => {
      await client.endAsync(false).catch(() => undefined);
    },
  };
}
