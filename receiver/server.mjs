#!/usr/bin/env node
// @ts-check
/**
 * Command line of the reference receiver (see docs/receiver.md):
 *
 *   node receiver/server.mjs [--host 127.0.0.1] [--port 8787] [--data DIR] [--origin URL]...
 *     [--mqtt mqtt://127.0.0.1:1883 [--mqtt-topic entrance-kiosk]] [--webhook URL] [--log-file FILE|-]
 *     [--capture FILE] [--freshness MS] [--skew MS] [--rate PER_SECOND/BURST] [--pair-ttl MS] [--quiet]
 *
 * Prints its URL and a one-time pairing code on start (human lines prefixed "receiver:"; everything else is
 * JSON-lines logging). It listens on loopback unless told otherwise: exposing it is a deliberate act.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ORIGINS, createReceiver } from './app.mjs';

const USAGE =
  'usage: node receiver/server.mjs [--host H] [--port P] [--data DIR] [--origin URL]... [--mqtt URL] ' +
  '[--mqtt-topic T] [--webhook URL] [--log-file FILE|-] [--capture FILE] [--freshness MS] [--skew MS] ' +
  '[--rate PER_SECOND/BURST] [--pair-ttl MS] [--quiet]';

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
  origin: { type: 'string', multiple: true },
  mqtt: { type: 'string' },
  'mqtt-topic': { type: 'string', default: 'entrance-kiosk' },
  webhook: { type: 'string' },
  'log-file': { type: 'string' },
  capture: { type: 'string' },
  freshness: { type: 'string', default: '5000' },
  skew: { type: 'string', default: '1000' },
  rate: { type: 'string', default: '5/30' },
  'pair-ttl': { type: 'string', default: '600000' },
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
const dataDir = resolve(
  values.data ?? process.env.RECEIVER_DATA ?? join(homedir(), '.local/state/entrance-kiosk-receiver'),
);

/** @param {string} line */
const say = (line) => process.stdout.write(`receiver: ${line}\n`);

const receiver = await createReceiver({
  host: values.host,
  port: nonNegative('port', values.port),
  dataDir,
  origins: values.origin ?? DEFAULT_ORIGINS,
  freshnessMs: nonNegative('freshness', values.freshness),
  skewMs: nonNegative('skew', values.skew),
  pairTtlMs: nonNegative('pair-ttl', values['pair-ttl']),
  kioskRate: { perSecond: Number(rateMatch[1]), burst: Number(rateMatch[2]) },
  ...(values.mqtt ? { mqtt: values.mqtt, mqttTopic: values['mqtt-topic'] } : {}),
  ...(values.webhook ? { webhook: values.webhook } : {}),
  ...(values['log-file'] ? { logFile: values['log-file'] } : {}),
  ...(values.capture ? { capture: resolve(values.capture) } : {}),
  logger: values.quiet ? { level: 'warn' } : { level: 'info' },
  onEvent: (e) => {
    if (e.type === 'pairing_code')
      say(`pairing code: ${e.code} (single use, valid until ${new Date(e.expiresAt).toISOString()})`);
    if (e.type === 'paired') say(`paired kiosk ${e.kiosk}, key fingerprint ${e.fingerprint}`);
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
receiver.issuePairingCode();

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
