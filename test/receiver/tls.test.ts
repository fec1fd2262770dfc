/**
 * TLS built into the receiver (receiver/tls.mjs) over loopback: the site CA made at first start, a server
 * certificate for the host's names and each --tls-name that a client trusting only that CA accepts (and one
 * trusting the system store refuses), the same CA kept across restarts, its critical NameConstraints (openssl
 * refuses a certificate its key signs for any other name or address; a --tls-name it was not made for is refused
 * at start), a CA from before the constraints still used and reported, the admin's own certificate with
 * --tls-cert/--tls-key, and X-Forwarded-* honoured only from a trusted proxy.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
// @peculiar/x509 needs the Reflect metadata polyfill first (as in receiver/tls.mjs).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { createReceiver } from '../../receiver/app.mjs';
import { NAME_CONSTRAINTS_OID, loadTls, permits, permittedNames, spkiSha256 } from '../../receiver/tls.mjs';
import { httpsGetAs, issueLeaf, makeTestCa, startNode, startReceiver, tempDir } from './helpers';

describe('TLS built in', () => {
  it('makes a site CA once, issues a certificate for the host and --tls-name, and keeps the CA across restarts', async () => {
    const data = tempDir('receiver-tls-');
    try {
      const r1 = await startReceiver(['--port', '0', '--data', data.path, '--tls', '--tls-name', 'receiver.site.test']);
      expect(r1.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const m = /TLS from the site CA (\S+) \(made now\): SHA-256 fingerprint (\S+), SPKI sha256\/(\S+);/.exec(
        r1.output(),
      )!;
      const ca = readFileSync(m[1]!, 'utf8');
      expect(m[2]).toBe(new X509Certificate(ca).fingerprint256);
      expect(m[3]).toBe(spkiSha256(ca));
      expect(await httpsGetAs(r1.port, 'receiver.site.test', '/health', ca)).toBe(200);
      expect(await httpsGetAs(r1.port, 'localhost', '/health', ca)).toBe(200);
      expect(await httpsGetAs(r1.port, 'receiver.site.test', '/health', undefined)).toMatch(/SELF_SIGNED|UNABLE_TO/);
      expect(await httpsGetAs(r1.port, 'other.site.test', '/health', ca)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      const leaf = new X509Certificate(readFileSync(join(data.path, 'tls/server.pem'), 'utf8'));
      expect(leaf.checkIssued(new X509Certificate(ca))).toBe(true);
      expect(leaf.ca).toBe(false);
      expect(Date.parse(leaf.validTo) - Date.now()).toBeLessThan(398 * 86_400_000);
      expect(await r1.stop()).toBe(0);

      // A name the CA was not made for: its name constraints forbid it, so the receiver says how to get one.
      const other = startNode('receiver/server.mjs', [
        '--port',
        '0',
        '--data',
        data.path,
        '--tls-name',
        'door.site.test',
        '--tls',
      ]);
      const exited = new Promise<string>((r) => setTimeout(() => r('still running'), 30_000));
      expect(await Promise.race([other.stop('SIGCONT'), exited])).toBe(1);
      await other.stop();
      expect(other.output()).toMatch(
        /^receiver: TLS: --tls-name door\.site\.test: the site CA \S+ may vouch only for the names it was made for .*receiver\.site\.test.* make a new site CA/m,
      );
      const r2 = await startReceiver(['--port', '0', '--data', data.path, '--tls', '--tls-name', 'receiver.site.test']);
      try {
        expect(r2.output()).not.toContain('(made now)');
        expect(r2.output()).toContain(`SHA-256 fingerprint ${m[2]}`);
        expect(r2.output()).not.toContain('WARNING');
        expect(await httpsGetAs(r2.port, 'receiver.site.test', '/health', ca)).toBe(200);
      } finally {
        await r2.stop();
      }
    } finally {
      data.remove();
    }
  });

  it("makes a site CA that may vouch only for the receiver's own names: critical NameConstraints, checked by openssl", async () => {
    const data = tempDir('receiver-tls-nc-');
    const openssl = (args: string[]) => spawnSync('openssl', args, { cwd: data.path, encoding: 'utf8' });
    try {
      const tls = await loadTls({ dataDir: data.path, names: ['receiver.site.test'] });
      expect(tls).toMatchObject({ created: true, caConstrained: true, outside: [] });
      const dir = join(data.path, 'tls');
      const nc = new x509.X509Certificate(readFileSync(join(dir, 'ca.pem'), 'utf8')).getExtension(NAME_CONSTRAINTS_OID);
      expect(nc?.critical).toBe(true);
      const text = openssl(['x509', '-in', 'tls/ca.pem', '-noout', '-ext', 'nameConstraints']).stdout;
      expect(text).toMatch(/X509v3 Name Constraints: critical\n\s+Permitted:\n/);
      for (const name of ['DNS:receiver.site.test', 'DNS:localhost', 'IP:127.0.0.1/255.255.255.255'])
        expect(text).toContain(`      ${name}\n`);
      expect(text).not.toMatch(/Excluded/);
      // Its own server certificate verifies, for each of its names.
      const verify = (leaf: string, host: string) =>
        openssl(['verify', '-CAfile', 'tls/ca.pem', '-purpose', 'sslserver', '-verify_hostname', host, leaf]);
      expect(verify('tls/server.pem', 'receiver.site.test')).toMatchObject({
        status: 0,
        stdout: 'tls/server.pem: OK\n',
      });
      // Whoever takes the CA key (the host, a backup) signs a certificate for another site: no tool trusting the CA
      // accepts it, a name or an address.
      for (const [name, san] of [
        ['www.bank.example', 'DNS:www.bank.example'],
        ['203.0.113.7', 'IP:203.0.113.7'],
        ['receiver.site.test.evil.example', 'DNS:receiver.site.test.evil.example'],
      ] as const) {
        issueLeaf(data.path, {
          ca: 'tls/ca.pem',
          caKey: 'tls/ca-key.pem',
          name: 'rogue',
          subject: `/CN=${name}`,
          san,
          serverAuth: true,
        });
        const v = verify('rogue.pem', name);
        expect(v.status, `${name}: ${v.stdout}`).not.toBe(0);
        expect(v.stdout + v.stderr).toMatch(/permitted subtree violation/);
      }
      // The matching rule itself (RFC 5280): a DNS name or one under it; an address exactly.
      const p = permittedNames(tls.ca!)!;
      expect(
        ['receiver.site.test', 'a.receiver.site.test', 'LOCALHOST', '127.0.0.1', '::1'].every((n) => permits(p, n)),
      ).toBe(true);
      expect(
        ['site.test', 'xreceiver.site.test', '127.0.0.2', '::2', '0:0:0:0:0:0:0:1'].map((n) => permits(p, n)),
      ).toEqual([false, false, false, false, true]);
      // Asking for a name the CA was not made for is refused with a typed error; the CA stays as it was.
      await expect(loadTls({ dataDir: data.path, names: ['door.site.test'] })).rejects.toMatchObject({
        code: 'tls_name_outside_ca',
      });
      const again = () => loadTls({ dataDir: data.path, names: ['receiver.site.test'] });
      expect((await again()).caFingerprint).toBe(tls.caFingerprint);
      // The CA key moved offline: the certificate is still served, a reissue says what is missing, no new CA appears.
      renameSync(join(dir, 'ca-key.pem'), join(data.path, 'offline-ca-key.pem'));
      expect((await again()).caFingerprint).toBe(tls.caFingerprint);
      const nextYear = () => Date.now() + 380 * 86_400_000;
      await expect(loadTls({ dataDir: data.path, names: ['receiver.site.test'], now: nextYear })).rejects.toMatchObject(
        {
          code: 'ca_key_missing',
        },
      );
      renameSync(join(data.path, 'offline-ca-key.pem'), join(dir, 'ca-key.pem'));
      const renewed = await loadTls({ dataDir: data.path, names: ['receiver.site.test'], now: nextYear });
      expect(renewed.caFingerprint).toBe(tls.caFingerprint);
    } finally {
      data.remove();
    }
  });

  it('keeps using a site CA made before name constraints, and says it has none', async () => {
    const data = tempDir('receiver-tls-old-');
    try {
      const dir = join(data.path, 'tls');
      mkdirSync(dir, { recursive: true });
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'ca-key.pem',
          '-out',
          'ca.pem',
          '-subj',
          '/CN=old site CA',
          '-days',
          '2',
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign',
        ],
        { cwd: dir, encoding: 'utf8' },
      );
      expect(made.status, made.stderr).toBe(0);
      const r = await startReceiver(['--port', '0', '--data', data.path, '--tls', '--tls-name', 'receiver.site.test']);
      try {
        expect(r.output()).toMatch(/^receiver: WARNING: the site CA \S+ has no name constraints/m);
        expect(
          await httpsGetAs(r.port, 'receiver.site.test', '/health', readFileSync(join(dir, 'ca.pem'), 'utf8')),
        ).toBe(200);
      } finally {
        await r.stop();
      }
    } finally {
      data.remove();
    }
  });

  it("uses the site's own certificate with --tls-cert/--tls-key", async () => {
    const data = tempDir('receiver-owncert-');
    try {
      const own = makeTestCa(data.path);
      const r = await startReceiver([
        '--port',
        '0',
        '--data',
        join(data.path, 'd'),
        '--tls-cert',
        own.cert,
        '--tls-key',
        own.key,
      ]);
      try {
        expect(r.output()).toMatch(
          /receiver: TLS with the given certificate for DNS:localhost|IP Address:127\.0\.0\.1/,
        );
        expect(await httpsGetAs(r.port, 'localhost', '/health', readFileSync(own.ca, 'utf8'))).toBe(200);
      } finally {
        await r.stop();
      }
    } finally {
      data.remove();
    }
  });

  it("closes a TLS connection that never finishes its handshake (not after Node's 120 s), and one that goes quiet after it", async () => {
    // A client that opened TCP and sent nothing held its socket for 120 s, and a few hundred such exhausted the
    // receiver's descriptors (attacker review, session 23).
    const data = tempDir('receiver-tls-idle-');
    try {
      const own = makeTestCa(data.path);
      const r = await createReceiver({
        port: 0,
        dataDir: join(data.path, 'd'),
        logger: false,
        requestTimeoutMs: 1000,
        tls: { cert: readFileSync(own.cert, 'utf8'), key: readFileSync(own.key, 'utf8') },
      });
      try {
        const { port } = new URL(await r.listen());
        const closedAfter = (after: (s: import('node:net').Socket) => void) =>
          new Promise<number>((resolve) => {
            const started = Date.now();
            const s = netConnect(Number(port), '127.0.0.1', () => after(s));
            s.on('error', () => {});
            // Drain what the receiver sends, or a paused socket never reads the FIN and never closes.
            s.resume();
            s.on('close', () => resolve(Date.now() - started));
          });
        const silent = await closedAfter(() => {});
        expect(silent).toBeGreaterThanOrEqual(900);
        expect(silent).toBeLessThan(3000);
        const handshaken = await new Promise<number>((resolve) => {
          const started = Date.now();
          const s = tlsConnect({
            port: Number(port),
            host: '127.0.0.1',
            servername: 'localhost',
            ca: readFileSync(own.ca),
          });
          s.on('error', () => {});
          s.resume();
          s.on('close', () => resolve(Date.now() - started));
        });
        expect(handshaken).toBeLessThan(3000);
        expect(await httpsGetAs(Number(port), 'localhost', '/health', readFileSync(own.ca, 'utf8'))).toBe(200);
      } finally {
        await r.close();
      }
    } finally {
      data.remove();
    }
  });

  it('honours X-Forwarded-For only from a trusted proxy (rate limits per real client, not per header)', async () => {
    const hit = async (url: string, xff: string) =>
      (await fetch(`${url}/health`, { headers: { 'x-forwarded-for': xff } })).status;
    for (const trusted of [false, true]) {
      const data = tempDir('receiver-proxy-');
      const r = await createReceiver({
        port: 0,
        dataDir: data.path,
        logger: false,
        clientRate: { burst: 2, perSecond: 0.001 },
        ...(trusted ? { trustedProxies: ['127.0.0.1'] } : {}),
      });
      try {
        const url = await r.listen();
        const got = [await hit(url, '192.0.2.1'), await hit(url, '192.0.2.1'), await hit(url, '192.0.2.1')];
        // A different claimed client: its own bucket only when the claim comes from a trusted proxy.
        got.push(await hit(url, '192.0.2.2'));
        expect(got).toEqual(trusted ? [200, 200, 429, 200] : [200, 200, 429, 429]);
      } finally {
        await r.close();
        data.remove();
      }
    }
  });
});
