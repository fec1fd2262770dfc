/**
 * Signed orders to the door, end to end over loopback: the real receiver signs an actuation order for each
 * verified decision, sends it by webhook (HMAC header) and MQTT (a real Mosquitto with TLS, passwords and an ACL),
 * and the reference door client (receiver/door-client.mjs, run as its own process) opens only for genuine, fresh,
 * new orders for its door. Attacks: no or wrong HMAC, a leaked webhook secret with a forged order, a tampered
 * order, the receiver signature's high-s twin, a replayed order (same body, fresh HMAC), a stale one, an order for
 * another door, an anonymous MQTT client, a door account publishing, and a broker account that may publish
 * (misconfigured or stolen) injecting forged and replayed orders.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver } from '../../receiver/app.mjs';
import { makeVerifier, orderHandler } from '../../receiver/door-client.mjs';
import { mqttOutput } from '../../receiver/outputs.mjs';
import { signLowS } from '../../receiver/protocol.mjs';
import {
  type Mosquitto,
  type NodeKiosk,
  type NodeProcess,
  decisionBody,
  freePort,
  makeKiosk,
  orderLines,
  pairBody,
  post,
  startMosquitto,
  startNode,
  tempDir,
  until,
} from './helpers';

type Receiver = Awaited<ReturnType<typeof createReceiver>>;
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

async function pairKiosk(receiver: Receiver, url: string, kiosk: NodeKiosk, doors?: string[]): Promise<void> {
  const { code } = receiver.issuePairingCode(doors ? { doors } : {});
  expect((await post(`${url}/pair`, await pairBody(kiosk, code))).status).toBe(200);
}

/** Signs an order with a key that is not the receiver's, in the receiver's wire form. */
async function forgeOrder(kid: string, order: Record<string, unknown>): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ])) as CryptoKeyPair;
  const text = JSON.stringify(order);
  const raw = Buffer.from(
    await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, Buffer.from(text)),
  );
  return JSON.stringify({ order: text, sig: raw.toString('base64url'), kid });
}

/** The same order with the signature's other valid form (r, n - s). */
function highS(envelopeText: string): string {
  const env = JSON.parse(envelopeText) as { order: string; sig: string; kid: string };
  const raw = Buffer.from(env.sig, 'base64url');
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([raw.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
  return JSON.stringify({ ...env, sig: twin.toString('base64url') });
}

describe('webhook orders and the door client', () => {
  let data: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let url: string;
  let door: NodeProcess;
  let doorUrl: string;
  let gpio: string;
  let secret: string;
  const kiosk = makeKiosk('lobby-1');

  beforeAll(async () => {
    data = tempDir('receiver-door-');
    const doorPort = await freePort();
    receiver = await createReceiver({
      port: 0,
      dataDir: data.path,
      webhook: `http://127.0.0.1:${doorPort}/open`,
      logger: false,
    });
    url = await receiver.listen();
    secret = readFileSync(join(data.path, 'webhook-secret'), 'utf8').trim();
    gpio = join(data.path, 'gpio17-value');
    writeFileSync(gpio, '0');
    door = startNode('receiver/door-client.mjs', [
      '--receiver-key',
      join(data.path, 'receiver-public.jwk'),
      '--door',
      'main',
      '--freshness',
      '1500',
      '--listen',
      `127.0.0.1:${doorPort}`,
      '--webhook-secret',
      join(data.path, 'webhook-secret'),
      '--gpio',
      gpio,
      '--pulse-ms',
      '300',
      '--state',
      join(data.path, 'door-state.json'),
    ]);
    doorUrl = `http://${(await door.waitForOutput(/listening on http:\/\/(\S+) \(webhook\)/))[1]}/open`;
    // Paired for two doors: the door client below must refuse an order for the other one itself.
    await pairKiosk(receiver, url, await kiosk, ['main', 'garage']);
  });
  afterAll(async () => {
    await door?.stop();
    await receiver?.close();
    data?.remove();
  });

  /** POSTs `body` to the door client as the webhook would, with an HMAC under `key` (the real secret by default). */
  const deliver = (body: string, mac: string | null = null, key = secret) =>
    fetch(doorUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(mac === '' ? {} : { 'x-entrance-kiosk-signature': mac ?? sign(body, key) }),
      },
      body,
    }).then((r) => r.status);
  const sign = (body: string, key: string, t = Math.floor(Date.now() / 1000)) =>
    `t=${t},v1=${createHmac('sha256', key).update(`${t}.${body}`).digest('hex')}`;

  it('opens for a genuine grant (and pulses the GPIO), does nothing for a deny', async () => {
    const k = await kiosk;
    await post(`${url}/decisions`, await decisionBody(k, { seq: 1, ts: Date.now(), decision: 'grant', door: 'main' }));
    await door.waitForOutput(/^door-client: OPEN door main \(order \S+, kiosk lobby-1 seq 1\)$/m);
    await until(() => readFileSync(gpio, 'utf8') === '1', 2000, 'GPIO high');
    await until(() => readFileSync(gpio, 'utf8') === '0', 2000, 'GPIO low again');
    await post(`${url}/decisions`, await decisionBody(k, { seq: 2, ts: Date.now(), decision: 'deny', door: 'main' }));
    await door.waitForOutput(/^door-client: no action for door main \(order \S+, kiosk lobby-1 seq 2\): deny$/m);
    expect(door.output().match(/OPEN/g)).toHaveLength(1);
  });

  it('refuses forged, tampered, replayed, stale and misaddressed webhook orders', async () => {
    const k = await kiosk;
    await post(`${url}/decisions`, await decisionBody(k, { seq: 3, ts: Date.now(), decision: 'deny', door: 'main' }));
    await until(() => orderLines(data.path).length >= 3, 5000, 'the deny in the log');
    const genuineDeny = orderLines(data.path)[2]!;
    const deny = JSON.parse(JSON.parse(genuineDeny).order as string) as Record<string, unknown>;
    const opens = () => door.output().match(/OPEN/g)?.length ?? 0;
    const before = opens();

    // Without the HMAC, with a wrong one, with an old timestamp: refused before the body is read.
    expect(await deliver(genuineDeny, '')).toBe(401);
    expect(await deliver(genuineDeny, null, 'not-the-secret-not-the-secret-xx')).toBe(401);
    expect(await deliver(genuineDeny, sign(genuineDeny, secret, Math.floor(Date.now() / 1000) - 3600))).toBe(401);
    await door.waitForOutput(/refused webhook: stale_signature/);

    // With the secret leaked: an order for the door signed by another key, or the deny flipped to a grant.
    const kid = JSON.parse(genuineDeny).kid as string;
    const grantNow = { ...deny, id: 'QUFBQUFBQUFBQUFBQUFBQQ', at: Date.now(), decision: 'grant', actuate: true };
    expect(await deliver(await forgeOrder(kid, grantNow))).toBe(422);
    await door.waitForOutput(/refused order: bad_signature/);
    const flipped = JSON.stringify({
      ...JSON.parse(genuineDeny),
      order: (JSON.parse(genuineDeny).order as string).replace('"actuate":false', '"actuate":true'),
    });
    expect(flipped).not.toBe(genuineDeny);
    expect(await deliver(flipped)).toBe(422);
    expect(await deliver(await forgeOrder('some-other-receiver', grantNow))).toBe(422);
    await door.waitForOutput(/refused order: unknown_receiver/);

    // The genuine grant of the first test, delivered again with a fresh HMAC: a replay (or stale by now).
    const genuineGrant = orderLines(data.path)[0]!;
    expect(await deliver(genuineGrant)).toBeGreaterThanOrEqual(409);
    // Its signature's high-s twin is valid ECDSA but not the one form the door accepts.
    expect(await deliver(highS(genuineGrant))).toBe(422);

    // A fresh genuine grant for another door is not this door's business.
    await post(
      `${url}/decisions`,
      await decisionBody(k, { seq: 4, ts: Date.now(), decision: 'grant', door: 'garage' }),
    );
    await door.waitForOutput(/refused order: other_door/);
    // A fresh grant for this door opens it once; the same order delivered again is a replay; later, it is stale.
    await post(`${url}/decisions`, await decisionBody(k, { seq: 5, ts: Date.now(), decision: 'grant', door: 'main' }));
    await until(() => opens() === before + 1, 5000, 'the genuine grant to open the door');
    const fresh = orderLines(data.path).at(-1)!;
    expect(await deliver(fresh)).toBe(409);
    await door.waitForOutput(/refused order: replayed_order/);
    await new Promise((r) => setTimeout(r, 1700));
    const again = JSON.stringify(JSON.parse(fresh));
    expect(await deliver(again)).toBe(422);
    await door.waitForOutput(/refused order: stale_order/);
    expect(opens()).toBe(before + 1);
  });

  it('remembers what it took across a restart: with its clock set back, a captured grant does not open again', async () => {
    // Freshness and the seen ids rest on the door host's clock, which spoofed NTP or a reboot onto fake-hwclock sets
    // back; after a restart the captured grant was fresh again (attacker review, session 27).
    const state = join(data.path, 'door-state.json');
    const k = await kiosk;
    // The running client kept, per kiosk key, the highest sequence number it took (seq 5, the last grant), synced.
    expect(JSON.parse(readFileSync(state, 'utf8'))).toEqual({ v: 1, marks: { [k.kid]: 5 } });
    expect(statSync(state).mode & 0o777).toBe(0o600);
    const grant = orderLines(data.path)[0]!; // seq 1, door main
    const at = (JSON.parse(JSON.parse(grant).order as string) as { at: number }).at;
    const jwk = JSON.parse(readFileSync(join(data.path, 'receiver-public.jwk'), 'utf8'));
    const said: string[] = [];
    // Restarted with the clock at the grant's own time: nothing it saw before the restart, a start time before it.
    const rolledBack = { say: (l: string) => said.push(l), now: () => at + 10 };
    const restarted = await makeVerifier(jwk, { door: 'main', notBefore: at - 100, state });
    expect(await orderHandler(restarted, rolledBack)(grant)).toEqual({ ok: false, reason: 'replayed_order' });
    expect(said).toEqual(['refused order: replayed_order']);
    // The same restart without the state file is what opened the door before.
    const forgetful = await makeVerifier(jwk, { door: 'main', notBefore: at - 100 });
    expect((await orderHandler(forgetful, rolledBack)(grant)).ok).toBe(true);
    // A state file that cannot be written refuses the order (said, not a crash): the door never opens unremembered.
    const unwritable = await makeVerifier(jwk, { door: 'main', notBefore: at - 100, state: join(data.path, 'no-such-dir', 's.json') });
    said.length = 0;
    expect(await orderHandler(unwritable, rolledBack)(grant)).toEqual({ ok: false, reason: 'state_not_saved' });
    expect(said).toEqual([expect.stringMatching(/^cannot save .*s\.json: /), 'refused order: state_not_saved']);
    // A damaged state file stops the client rather than letting it forget.
    const bad = join(data.path, 'damaged-state.json');
    writeFileSync(bad, '{"v":1,"marks":{"x":"7"}}');
    await expect(makeVerifier(jwk, { door: 'main', state: bad })).rejects.toThrow(/not a door-client state file/);
  });

  it('uses up the number of a genuine order it refused as early or late: a door clock behind keeps no grant for later', async () => {
    // Attacker review (session 33): with the door host's clock behind (fake-hwclock, spoofed NTP), every order was
    // refused as future_order and marked nothing; a captured one replayed once the clock reached its `at` opened.
    const k = await kiosk;
    const grant = orderLines(data.path)[0]!; // seq 1, door main
    const at = (JSON.parse(JSON.parse(grant).order as string) as { at: number }).at;
    const jwk = JSON.parse(readFileSync(join(data.path, 'receiver-public.jwk'), 'utf8'));
    const state = join(data.path, 'behind-state.json');
    const said: string[] = [];
    const say = (l: string) => said.push(l);
    const v = await makeVerifier(jwk, { door: 'main', notBefore: at - 120_000, state });
    expect(await orderHandler(v, { say, now: () => at - 60_000 })(grant)).toEqual({ ok: false, reason: 'future_order' });
    expect(JSON.parse(readFileSync(state, 'utf8'))).toEqual({ v: 1, marks: { [k.kid]: 1 } });
    // The clock reaches the order's time: the replay is old, in this run and after a restart.
    expect(await orderHandler(v, { say, now: () => at + 10 })(grant)).toEqual({ ok: false, reason: 'replayed_order' });
    const restarted = await makeVerifier(jwk, { door: 'main', notBefore: at - 100, state });
    expect(await orderHandler(restarted, { say, now: () => at + 10 })(grant)).toEqual({ ok: false, reason: 'replayed_order' });
    // A late one uses up its number too (a clock ahead, then set right).
    const late = join(data.path, 'ahead-state.json');
    const ahead = await makeVerifier(jwk, { door: 'main', notBefore: at - 120_000, state: late });
    expect(await orderHandler(ahead, { say, now: () => at + 60_000 })(grant)).toEqual({ ok: false, reason: 'stale_order' });
    expect(await orderHandler(ahead, { say, now: () => at + 10 })(grant)).toEqual({ ok: false, reason: 'replayed_order' });
    expect(said.map((l) => l.replace('refused order: ', ''))).toEqual(['future_order', 'replayed_order', 'replayed_order', 'stale_order', 'replayed_order']);
  });
});

describe('the door client must be told its door', () => {
  it('refuses to start without --door unless --any-door says so; the library refuses the same', async () => {
    const dir = tempDir('door-config-');
    try {
      const keyFile = join(dir.path, 'receiver-public.jwk');
      writeFileSync(keyFile, JSON.stringify((await makeKiosk('receiver')).jwk));
      const common = ['--receiver-key', keyFile, '--webhook-secret', keyFile];
      /** Its exit code, or 'still running' (then stopped) when it has not exited within 5 s. */
      const exitOf = async (p: NodeProcess) => {
        const quiet = new Promise<string>((r) => setTimeout(() => r('still running'), 5000));
        const code = await Promise.race([p.stop('SIGCONT'), quiet]);
        await p.stop();
        return code;
      };
      // Without --door, a grant at the lobby kiosk would also open, say, the server room.
      const bare = startNode('receiver/door-client.mjs', [...common, '--listen', `127.0.0.1:${await freePort()}`]);
      expect(await exitOf(bare)).toBe(2);
      expect(bare.output()).toMatch(/^door-client: name this door with --door ID .* says --any-door$/m);
      const both = startNode('receiver/door-client.mjs', [
        ...common,
        '--door',
        'main',
        '--any-door',
        '--listen',
        '127.0.0.1:0',
      ]);
      expect(await exitOf(both)).toBe(2);
      expect(both.output()).toMatch(/--door and --any-door exclude each other/);
      // Without --state (or the explicit --no-state), a restart with the clock set back would replay a captured order.
      const stateless = startNode('receiver/door-client.mjs', [...common, '--door', 'main', '--listen', '127.0.0.1:0']);
      expect(await exitOf(stateless)).toBe(2);
      expect(stateless.output()).toMatch(/^door-client: give --state FILE \(.*\), or --no-state to run without$/m);
      const contradict = startNode('receiver/door-client.mjs', [
        ...common,
        '--door',
        'main',
        '--state',
        join(dir.path, 'state.json'),
        '--no-state',
        '--listen',
        '127.0.0.1:0',
      ]);
      expect(await exitOf(contradict)).toBe(2);
      expect(contradict.output()).toMatch(/--state and --no-state exclude each other/);
      const single = startNode('receiver/door-client.mjs', [...common, '--any-door', '--no-state', '--listen', '127.0.0.1:0']);
      try {
        await single.waitForOutput(
          /^door-client: listening on http:\/\/\S+ \(webhook\), receiver key \S+, for ANY door \(--any-door\)$/m,
        );
        expect(single.output()).toMatch(/^door-client: --no-state: after a restart with this host clock set back/m);
      } finally {
        await single.stop();
      }
      const jwk = (await makeKiosk('receiver')).jwk;
      await expect(makeVerifier(jwk, {})).rejects.toMatchObject({ code: 'door_required' });
      await expect(makeVerifier(jwk, { door: 'main', anyDoor: true })).rejects.toMatchObject({ code: 'door_required' });
      expect(await makeVerifier(jwk, { anyDoor: true })).toMatchObject({ anyDoor: true });
      expect(await makeVerifier(jwk, { door: 'main' })).toMatchObject({ door: 'main', anyDoor: false });
    } finally {
      dir.remove();
    }
  });

  it('refuses a freshness window or pulse that is not a whole number of milliseconds (a NaN window never expires)', async () => {
    // `--freshness 5s` was Number('5s') = NaN: every age comparison false, so a held-back grant opened the door
    // whenever it arrived (attacker review, session 23). The CLI exits 2; the library refuses the same.
    const dir = tempDir('door-numbers-');
    try {
      const keyFile = join(dir.path, 'receiver-public.jwk');
      const jwk = (await makeKiosk('receiver')).jwk;
      writeFileSync(keyFile, JSON.stringify(jwk));
      const common = [
        '--receiver-key',
        keyFile,
        '--webhook-secret',
        keyFile,
        '--door',
        'main',
        '--no-state',
        '--listen',
        '127.0.0.1:0',
      ];
      for (const [flag, value] of [
        ['--freshness', '5s'],
        ['--freshness', '0'],
        ['--freshness', '5.5'],
        ['--pulse-ms', 'abc'],
        ['--pulse-ms', '1e3'],
      ]) {
        const p = startNode('receiver/door-client.mjs', [...common, flag!, value!]);
        const quiet = new Promise<string>((r) => setTimeout(() => r('still running'), 5000));
        const code = await Promise.race([p.stop('SIGCONT'), quiet]);
        await p.stop();
        expect(code, `${flag} ${value}`).toBe(2);
        expect(p.output()).toContain(`door-client: ${flag} must be a whole number of milliseconds > 0, got "${value}"`);
      }
      for (const freshnessMs of [Number.NaN, Infinity, -5]) {
        await expect(makeVerifier(jwk, { door: 'main', freshnessMs })).rejects.toThrow(
          /freshnessMs must be a finite number/,
        );
      }
      await expect(makeVerifier(jwk, { door: 'main', skewMs: Number.NaN })).rejects.toThrow(/skewMs/);
    } finally {
      dir.remove();
    }
  });
});

describe('the door client takes orders one at a time', () => {
  it('logs and acts in arrival order even when later signatures verify first', async () => {
    // Node verifies ECDSA on its thread pool, so 60 orders handed over at once finish in any order unless the
    // client queues them; a replay must never be logged (or acted on) before its original.
    // A key pair standing in for the receiver's signing key.
    const { jwk, kid, keys: pair } = await makeKiosk('receiver');
    const v = await makeVerifier(jwk, { door: 'main', notBefore: Date.now() - 1000 });
    const lines: string[] = [];
    const handle = orderHandler(v, { say: (l) => lines.push(l) });
    const envelope = async (n: number) => {
      const order = JSON.stringify({
        v: 1,
        id: Buffer.alloc(16, n).toString('base64url'),
        at: Date.now(),
        door: 'main',
        kiosk: 'lobby-1',
        seq: n,
        decision: 'grant',
        actuate: true,
        source: { payload: '', sig: '', kid: 'lobby-1-key' },
      });
      return JSON.stringify({ order, sig: await signLowS(pair.privateKey, order), kid });
    };
    const sent: { text: string; expect: RegExp }[] = [];
    for (let n = 1; n <= 20; n++) {
      const genuine = await envelope(n);
      sent.push({
        text: await forgeOrder(kid, JSON.parse(JSON.parse(genuine).order as string)),
        expect: /bad_signature/,
      });
      sent.push({ text: genuine, expect: new RegExp(`OPEN door main .* seq ${n}\\)`) });
      sent.push({ text: genuine, expect: /replayed_order/ });
    }
    const verdicts = await Promise.all(sent.map((o) => handle(o.text)));
    expect(verdicts.filter((x) => x.ok)).toHaveLength(20);
    expect(lines).toHaveLength(sent.length);
    lines.forEach((line, i) => expect(line).toMatch(sent[i]!.expect));
  });
});

describe('MQTT with TLS, passwords and an ACL (real Mosquitto)', () => {
  const USERS = { receiver: 'receiver-pw-1234', door: 'door-pw-1234', intruder: 'intruder-pw-1234' };
  // As docs/receiver.md recommends: only the receiver writes orders, doors only read. The "intruder" account
  // stands for a misconfigured or stolen account that may write: the door client must not trust the broker.
  const ACL = [
    'user receiver',
    'topic write entrance-kiosk/#',
    '',
    'user door',
    'topic read entrance-kiosk/#',
    '',
    'user intruder',
    'topic write entrance-kiosk/#',
    '',
  ].join('\n');
  let broker: Mosquitto;
  let data: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let url: string;
  let door: NodeProcess;
  const tls = () => ({ ca: readFileSync(broker.caFile!), rejectUnauthorized: true });

  beforeAll(async () => {
    broker = await startMosquitto({ users: USERS, acl: ACL });
    data = tempDir('receiver-door-mqtt-');
    receiver = await createReceiver({
      port: 0,
      dataDir: data.path,
      mqtt: broker.url,
      mqttUser: 'receiver',
      mqttPassword: USERS.receiver,
      mqttCa: readFileSync(broker.caFile!),
      logger: false,
    });
    url = await receiver.listen();
    await receiver.mqttReady();
    const pw = join(data.path, 'door-password');
    writeFileSync(pw, `${USERS.door}\n`);
    door = startNode('receiver/door-client.mjs', [
      '--receiver-key',
      join(data.path, 'receiver-public.jwk'),
      '--door',
      'main',
      '--mqtt',
      broker.url,
      '--mqtt-user',
      'door',
      '--mqtt-password-file',
      pw,
      '--mqtt-ca',
      broker.caFile!,
      '--state',
      join(data.path, 'door-state.json'),
    ]);
    await door.waitForOutput(/subscribed to entrance-kiosk\/\+\/decision/);
  });
  afterAll(async () => {
    await door?.stop();
    await receiver?.close();
    await broker?.stop();
    data?.remove();
  });

  it('logs the broker it connected to without a password given in the URL', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = {
      info: (o: Record<string, unknown>) => lines.push(o),
      warn: (o: Record<string, unknown>) => lines.push(o),
    };
    const withPassword = broker.url.replace('://', `://receiver:${encodeURIComponent(USERS.receiver)}@`);
    const out = mqttOutput(withPassword, {
      logger: logger as never,
      ca: readFileSync(broker.caFile!),
      clientId: 'redaction-check',
    });
    try {
      await out.ready;
      const connected = lines.find((l) => l['event'] === 'mqtt_connected');
      expect(String(connected?.['url'])).toContain('receiver:***@');
      expect(JSON.stringify(lines)).not.toContain(USERS.receiver);
    } finally {
      await out.close();
    }
  });

  it('refuses anonymous clients, wrong passwords and clients that do not trust its CA', async () => {
    const refuse = (opts: Parameters<typeof connectAsync>[1]) =>
      connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts }).then(
        async (c) => {
          await c.endAsync();
          return 'connected';
        },
        (e: Error) => e.message,
      );
    expect(await refuse({ ...tls() })).toMatch(/Not authorized/i);
    expect(await refuse({ ...tls(), username: 'receiver', password: 'wrong' })).toMatch(
      /Not authorized|Bad user name or password/i,
    );
    expect(await refuse({ username: 'receiver', password: USERS.receiver })).toMatch(/self[- ]signed|certificate/i);
    expect(await refuse({ ...tls(), username: 'door', password: USERS.door })).toBe('connected');
  });

  it('delivers genuine orders; a door account cannot publish; forged and replayed orders are refused', async () => {
    const watcher = await connectAsync(broker.url, { ...tls(), username: 'door', password: USERS.door });
    const seen: string[] = [];
    watcher.on('message', (_t, p) => seen.push(p.toString()));
    await watcher.subscribeAsync('entrance-kiosk/#', { qos: 1 });
    try {
      const k = await makeKiosk('lobby-1');
      const { code } = receiver.issuePairingCode();
      expect((await post(`${url}/pair`, await pairBody(k, code))).status).toBe(200);
      await post(
        `${url}/decisions`,
        await decisionBody(k, { seq: 1, ts: Date.now(), decision: 'grant', door: 'main' }),
      );
      await door.waitForOutput(/^door-client: OPEN door main \(order \S+, kiosk lobby-1 seq 1\)$/m);
      const genuine = await until(() => seen[0], 5000, 'the order on the broker');

      // The door's own account may read but not write: the broker drops its publish (no subscriber sees it).
      const doorClient = await connectAsync(broker.url, { ...tls(), username: 'door', password: USERS.door });
      await doorClient.publishAsync('entrance-kiosk/lobby-1/decision', 'from-the-door-account', { qos: 1 });
      await doorClient.endAsync();

      // An account that can write (misconfigured ACL, stolen password) injects a forged and a replayed order.
      const intruder = await connectAsync(broker.url, { ...tls(), username: 'intruder', password: USERS.intruder });
      const order = JSON.parse(JSON.parse(genuine).order as string) as Record<string, unknown>;
      const forged = await forgeOrder(JSON.parse(genuine).kid as string, {
        ...order,
        id: 'QkJCQkJCQkJCQkJCQkJCQg',
        at: Date.now(),
      });
      await intruder.publishAsync('entrance-kiosk/lobby-1/decision', forged, { qos: 1 });
      await intruder.publishAsync('entrance-kiosk/lobby-1/decision', genuine, { qos: 1 });
      await intruder.endAsync();
      await door.waitForOutput(/refused order: bad_signature[\s\S]*refused order: replayed_order/);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).not.toContain('from-the-door-account');
      expect(seen).toContain(forged);
      expect(door.output().match(/OPEN/g)).toHaveLength(1);
    } finally {
      await watcher.endAsync();
    }
  });
});
