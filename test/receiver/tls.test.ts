/**
 * TLS built into the receiver (receiver/tls.mjs) over loopback: the site CA made at first start, a server
 * certificate for the host's names and each --tls-name that a client trusting only that CA accepts (and one
 * trusting the system store refuses), the same CA kept across restarts with the server certificate reissued when
 * the names change, the admin's own certificate with --tls-cert/--tls-key, and X-Forwarded-* honoured only from a
 * trusted proxy.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReceiver } from '../../receiver/app.mjs';
import { spkiSha256 } from '../../receiver/tls.mjs';
import { httpsGetAs, makeTestCa, startReceiver, tempDir } from './helpers';

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

      const r2 = await startReceiver(['--port', '0', '--data', data.path, '--tls', '--tls-name', 'door.site.test']);
      try {
        expect(r2.output()).not.toContain('(made now)');
        expect(r2.output()).toContain(`SHA-256 fingerprint ${m[2]}`);
        expect(await httpsGetAs(r2.port, 'door.site.test', '/health', ca)).toBe(200);
      } finally {
        await r2.stop();
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
