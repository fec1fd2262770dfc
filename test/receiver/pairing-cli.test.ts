/**
 * The receiver mints a pairing code from its own command line (`node receiver/server.mjs pairing-code`), so a second
 * tablet is paired without curl: the real receiver runs, the CLI asks it over the admin route with the token from
 * the environment or a file, and a Node kiosk pairs with the printed code. Without the token, or with a wrong one,
 * nothing is minted and the message says why.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, decisionBody, freePort, makeKiosk, pairBody, post, startReceiver, tempDir, until, type ReceiverProcess } from './helpers';

function cli(args: string[], env: Record<string, string> = {}, command = 'pairing-code'): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const { RECEIVER_ADMIN_TOKEN: _drop, ...base } = process.env;
    const child = spawn(process.execPath, ['receiver/server.mjs', command, ...args], { cwd: ROOT, env: { ...base, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => res({ code, out }));
  });
}

describe('pairing-code command', () => {
  const data = tempDir('rcv-paircli-');
  let receiver: ReceiverProcess;

  beforeAll(async () => {
    receiver = await startReceiver(['--port', String(await freePort()), '--data', data.path, '--quiet']);
  });
  afterAll(async () => {
    await receiver?.stop();
    data.remove();
  });

  it('mints a code on the running receiver that a kiosk can pair with; the start-up code is retired', async () => {
    const token = receiver.adminToken!;
    expect(token).toMatch(/^ekr_/);
    const r = await cli(['--url', receiver.url], { RECEIVER_ADMIN_TOKEN: token });
    expect(r.code, r.out).toBe(0);
    const code = /^receiver: pairing code: ([0-9A-Z]{5}-[0-9A-Z]{5}) \(single use, valid until \S+, about 10 min\)$/m.exec(r.out)?.[1];
    expect(code, r.out).toBeDefined();
    expect(code).not.toBe(receiver.pairingCode);
    // One code is live at a time: the one printed at start no longer pairs, the new one does.
    expect((await post(`${receiver.url}/pair`, await pairBody(await makeKiosk('old-code'), receiver.pairingCode))).status).not.toBe(200);
    expect((await post(`${receiver.url}/pair`, await pairBody(await makeKiosk('lobby-2'), code!))).status).toBe(200);
  });

  it("shows a minted code to its caller only, never in the receiver's own output (journald, container logs)", async () => {
    const token = receiver.adminToken!;
    const minted: string[] = [];
    for (const args of [[], ['--doors', 'main'], ['--repair', 'lobby-2']]) {
      const r = await cli(['--url', receiver.url, ...args], { RECEIVER_ADMIN_TOKEN: token });
      expect(r.code, r.out).toBe(0);
      minted.push(/^receiver: pairing code: (\S+) /m.exec(r.out)![1]!);
    }
    const direct = await fetch(`${receiver.url}/admin/pairing-code`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    minted.push(((await direct.json()) as { code: string }).code);
    // The admin route's answer reached the caller; the receiver's stdout/stderr (and so its logs) never held a code.
    // (--quiet: only the re-pair code's warning is logged; the output has caught up once it is there.)
    await until(() => receiver.logLines().some((l) => l.event === 'pairing_code' && l.repair === 'lobby-2'));
    await new Promise((r) => setTimeout(r, 200));
    for (const code of minted) expect(receiver.output()).not.toContain(code);
    expect(receiver.output()).not.toContain(minted.at(-1)!.replace('-', ''));
    // Only the start-up code (no kiosk paired yet) was printed, once.
    expect(receiver.output().match(/pairing code:/g)).toHaveLength(1);
  });

  it('reads the token from a file (never from an argument) and can mint a re-pairing code', async () => {
    const file = join(data.path, 'token.txt');
    writeFileSync(file, `${receiver.adminToken}\n`, { mode: 0o600 });
    const r = await cli(['--url', receiver.url, '--token-file', file, '--repair', 'lobby-2']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/may RE-PAIR kiosk lobby-2 with a new key/);
    const qr = await cli(['--url', receiver.url, '--token-file', file, '--qr']);
    expect(qr.code, qr.out).toBe(0);
    expect(qr.out.split('\n').filter((l) => /[▀▄█]/.test(l)).length).toBeGreaterThan(8);
    // Doors: named with the code (spaces after commas forgiven), and an odd list refused with the rule.
    const doors = await cli(['--url', receiver.url, '--token-file', file, '--doors', 'main, garage']);
    expect(doors.code, doors.out).toBe(0);
    expect(doors.out).toMatch(/the kiosk may address door\(s\) main, garage only/);
    for (const odd of ['', 'a,,b', 'main,main', 'bad door']) {
      const r = await cli(['--url', receiver.url, '--token-file', file, '--doors', odd]);
      expect([r.code, r.out]).toEqual([1, expect.stringMatching(/HTTP 400 bad_field \(doors\): --doors takes 1-16 different door ids/)]);
    }
    const unknown = await cli(['--url', receiver.url, '--token-file', file, '--repair', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/HTTP 404 not_paired/);
  });

  it('refuses without the token or with a wrong one, and says so', async () => {
    const none = await cli(['--url', receiver.url]);
    expect(none.code).toBe(2);
    expect(none.out).toMatch(/admin token is needed/);
    // A wrong token is not even sent: the receiver's proof (keyed with the right token's hash) does not match it.
    const wrong = await cli(['--url', receiver.url], { RECEIVER_ADMIN_TOKEN: `ekr_${'A'.repeat(43)}` });
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/refused: the listener at 127\.0\.0\.1:\d+ did not prove it is the receiver holding this admin token \(HTTP 200\): the token was not sent\. Wrong token/);
    const away = await cli(['--url', `http://127.0.0.1:${await freePort()}`], { RECEIVER_ADMIN_TOKEN: receiver.adminToken! });
    expect(away.code).toBe(1);
    expect(away.out).toMatch(/cannot reach/);
  });

  it('never sends the admin token in clear off loopback: a plain http:// URL to another host is refused before connecting', async () => {
    // The receiver refuses plain-HTTP admin calls off loopback, but only once the token has crossed the LAN.
    const { createServer } = await import('node:net');
    let connections = 0;
    const listener = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r));
    const port = (listener.address() as { port: number }).port;
    // This host's own LAN address when it has one (not loopback, so the rule applies), else a documentation address.
    const { networkInterfaces } = await import('node:os');
    const lan = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '192.0.2.2';
    try {
      const env = { RECEIVER_ADMIN_TOKEN: receiver.adminToken! };
      for (const [command, args] of [['pairing-code', []], ['unpair', ['lobby-1']]] as const) {
        const r = await cli(['--url', `http://${lan}:${port}`, ...args], env, command);
        expect(r.code, r.out).toBe(2);
        expect(r.out).toContain(`refusing to send the admin token in clear to ${lan}:${port}: use --url https://${lan}:${port}`);
      }
      expect(connections).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('never sends the admin token to "localhost" over plain http: another local user can listen on [::1] at that port', async () => {
    // The receiver listens on 127.0.0.1 only; "localhost" resolves to ::1 first, where any user may bind the port.
    const { createServer } = await import('node:net');
    let connections = 0;
    const impostor = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    const port = Number(new URL(receiver.url).port);
    const v6 = await new Promise<boolean>((r) => {
      impostor.once('error', () => r(false));
      impostor.listen(port, '::1', () => r(true));
    });
    try {
      const r = await cli(['--url', `http://localhost:${port}`], { RECEIVER_ADMIN_TOKEN: receiver.adminToken! });
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(`use --url http://127.0.0.1:${port}`);
      expect(connections).toBe(0);
      // The literal loopback address reaches the receiver itself.
      expect((await cli(['--url', `http://127.0.0.1:${port}`], { RECEIVER_ADMIN_TOKEN: receiver.adminToken! })).code).toBe(0);
    } finally {
      if (v6) impostor.close();
    }
  });

  it("never sends the admin token to a listener that cannot prove it is the receiver (another local user on its port while it is down)", async () => {
    // Any local user may listen on 127.0.0.1:8787 while the receiver restarts; an http server that answers every
    // request (the hello with a made-up proof) and keeps every header it is sent.
    const { createServer } = await import('node:http');
    const heard: string[] = [];
    const impostor = createServer((req, res) => {
      heard.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ proof: 'A'.repeat(43), code: 'AAAAA-AAAAA', ok: true }));
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const port = (impostor.address() as { port: number }).port;
    try {
      const env = { RECEIVER_ADMIN_TOKEN: receiver.adminToken! };
      for (const [command, args] of [['pairing-code', []], ['unpair', ['lobby-1']]] as const) {
        const r = await cli([...args, '--url', `http://127.0.0.1:${port}`], env, command);
        expect(r.code, r.out).toBe(1);
        expect(r.out).toContain(`refused: the listener at 127.0.0.1:${port} did not prove it is the receiver holding this admin token`);
        expect(r.out).not.toMatch(/pairing code:|unpaired/);
      }
      // It was asked (the hello), and heard no token.
      expect(heard.length).toBe(2);
      expect(heard.every((h) => h.startsWith('GET /admin/hello?nonce='))).toBe(true);
      expect(heard.join('\n')).not.toMatch(/ekr_|authorization/i);
    } finally {
      impostor.close();
    }
  });

  it('never sends the admin token through a relay to the real receiver: its proof names the address it was reached on', async () => {
    // Another local user's program on another loopback port, passing bytes to and from the receiver: it can relay
    // the receiver's proof, but that proof is for the receiver's own address, not the relay's.
    const { createServer, connect } = await import('node:net');
    const target = new URL(receiver.url);
    let passed = '';
    const relay = createServer((sock) => {
      const up = connect(Number(target.port), target.hostname);
      sock.on('data', (d: Buffer) => (passed += d.toString('latin1')));
      sock.pipe(up).pipe(sock);
      sock.on('error', () => up.destroy());
      up.on('error', () => sock.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as { port: number }).port;
    try {
      const r = await cli(['--url', `http://127.0.0.1:${port}`], { RECEIVER_ADMIN_TOKEN: receiver.adminToken! });
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain(`refused: the listener at 127.0.0.1:${port} did not prove it is the receiver`);
      expect(passed).toMatch(/^GET \/admin\/hello\?nonce=[A-Za-z0-9_-]{43} /);
      expect(passed).not.toMatch(/ekr_|authorization/i);
      // The same command straight to the receiver proves it and mints.
      expect((await cli(['--url', receiver.url], { RECEIVER_ADMIN_TOKEN: receiver.adminToken! })).code).toBe(0);
    } finally {
      relay.close();
    }
  });

  it('never sends the admin token through a listener that held its connection until the receiver came back on the port', async () => {
    // Attacker review (session 33): a local user takes 127.0.0.1:P while the receiver is down, accepts the command's
    // connection, closes its listener (the accepted connection stays), the receiver starts again on P, and the
    // attacker passes the command's hello on to it over a new connection. Bound to the receiver's end alone, the
    // proof matched (same 127.0.0.1:P) and the command sent its token down the attacker's connection.
    const { createServer, connect } = await import('node:net');
    const dir = tempDir('rcv-handover-');
    const port = await freePort();
    // A receiver for port P, its token known, then stopped: it is "down" when the admin runs the command.
    const first = await startReceiver(['--port', String(port), '--data', dir.path, '--quiet']);
    const token = first.adminToken!;
    await first.stop();
    let passed = '';
    let restarted: ReceiverProcess | undefined;
    const attacker = createServer((sock) => {
      attacker.close();
      let held = Buffer.alloc(0);
      const hold = (d: Buffer) => (held = Buffer.concat([held, d]));
      sock.on('data', hold);
      sock.on('error', () => undefined);
      void (async () => {
        restarted = await startReceiver(['--port', String(port), '--data', dir.path, '--quiet']);
        const up = connect(port, '127.0.0.1', () => {
          sock.off('data', hold);
          passed += held.toString('latin1');
          up.write(held);
          sock.on('data', (d: Buffer) => (passed += d.toString('latin1')));
          sock.pipe(up).pipe(sock);
        });
        up.on('error', () => sock.destroy());
      })();
    });
    await new Promise<void>((r) => attacker.listen(port, '127.0.0.1', r));
    try {
      const r = await cli(['--url', `http://127.0.0.1:${port}`], { RECEIVER_ADMIN_TOKEN: token });
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain(`refused: the listener at 127.0.0.1:${port} did not prove it is the receiver`);
      // The hand-over happened: the hello reached the receiver through the attacker's two connections.
      expect(restarted).toBeDefined();
      expect(passed).toMatch(/^GET \/admin\/hello\?nonce=[A-Za-z0-9_-]{43} /);
      expect(passed).not.toMatch(/ekr_|authorization/i);
      // Straight to the receiver that came back, the same token proves it and mints.
      expect((await cli(['--url', `http://127.0.0.1:${port}`], { RECEIVER_ADMIN_TOKEN: token })).code).toBe(0);
    } finally {
      attacker.close();
      await restarted?.stop();
      dir.remove();
    }
  }, 120_000);

  it('unpairs a lost tablet: its key is refused from then on, and it pairs again only with a re-pair code', async () => {
    const env = { RECEIVER_ADMIN_TOKEN: receiver.adminToken! };
    const lost = await makeKiosk('lost-1');
    const minted = await cli(['--url', receiver.url], env);
    const code = /^receiver: pairing code: (\S+) /m.exec(minted.out)![1]!;
    expect((await post(`${receiver.url}/pair`, await pairBody(lost, code))).status).toBe(200);
    const grant = (seq: number) => decisionBody(lost, { seq, ts: Date.now(), decision: 'grant' });
    expect((await post(`${receiver.url}/decisions`, await grant(1))).status).toBe(200);

    const r = await cli(['lost-1', '--url', receiver.url], env, 'unpair');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^receiver: kiosk lost-1 unpaired \(key \S+\): its decisions are refused \(kiosk_revoked\); to pair this id again: node receiver\/server.mjs pairing-code --repair lost-1$/m);
    await receiver.waitForOutput(/^receiver: WARNING: kiosk lost-1 UNPAIRED \(revoked\)/m);
    expect(await post(`${receiver.url}/decisions`, await grant(2))).toMatchObject({ status: 401, json: { reason: 'kiosk_revoked' } });
    const again = await cli(['lost-1', '--url', receiver.url], env, 'unpair');
    expect([again.code, again.out]).toEqual([0, expect.stringMatching(/kiosk lost-1 was already unpaired/)]);
    // The found tablet comes back only through the admin's re-pair code for its id, and only wiped and set up
    // again (a new key): its old key is retired for good, so grants a thief signed with it stay worthless.
    // (An ordinary code pairs neither; receiver.test.ts. Pairing attempts here are few: 5 per address, then 1 per 10 s.)
    const repair = /^receiver: pairing code: (\S+) /m.exec((await cli(['--url', receiver.url, '--repair', 'lost-1'], env)).out)![1]!;
    expect(await post(`${receiver.url}/pair`, await pairBody(lost, repair))).toMatchObject({ status: 403, json: { reason: 'key_retired' } });
    const wiped = await makeKiosk('lost-1');
    expect((await post(`${receiver.url}/pair`, await pairBody(wiped, repair))).status).toBe(200);
    await receiver.waitForOutput(/^receiver: WARNING: RE-PAIRED revoked kiosk lost-1: key \S+ replaced by \S+, sequence reset$/m);
    expect((await post(`${receiver.url}/decisions`, await decisionBody(wiped, { seq: 1, ts: Date.now(), decision: 'grant' }))).status).toBe(200);

    const unknown = await cli(['nobody', '--url', receiver.url], env, 'unpair');
    expect([unknown.code, unknown.out]).toEqual([1, expect.stringMatching(/HTTP 404 not_paired \(no kiosk nobody is paired\)/)]);
    expect((await cli(['--url', receiver.url], env, 'unpair')).code).toBe(2);
    const noToken = await cli(['lost-1', '--url', receiver.url], {}, 'unpair');
    expect([noToken.code, noToken.out]).toEqual([2, expect.stringMatching(/admin token is needed/)]);
  });
});
