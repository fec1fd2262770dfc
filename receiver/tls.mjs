// @ts-check
/**
 * TLS for the receiver: the admin's own certificate (`--tls-cert/--tls-key`), or a site CA the receiver makes at
 * first start and a server certificate it issues from it for this host's names and addresses. A tablet on the LAN
 * is not 127.0.0.1: over plain HTTP the browser refuses the camera, service workers and WebCrypto, so the kiosk app
 * and its upstream must be HTTPS. Owns the CA (its private key never leaves `<data>/tls/ca-key.pem`, 0600), the
 * issued certificate's names, and the fingerprints an admin compares on a tablet; never trusts a client cert.
 *
 * Certificates are made with @peculiar/x509 on Node's WebCrypto: node:crypto cannot sign X.509 certificates, and
 * shelling out to the openssl binary would add a system dependency and put key material on command lines and in
 * temp files; the library is maintained, typed, and uses the same WebCrypto keys as the rest of the receiver.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const subtle = globalThis.crypto.subtle;
x509.cryptoProvider.set(globalThis.crypto);

export const TLS_DIR = 'tls';
const EC = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN = { name: 'ECDSA', hash: 'SHA-256' };
const DAY = 86_400_000;

/**
 * @typedef {{ cert: string, key: string, ca?: string, caFile?: string, names: string[],
 *   caFingerprint?: string, caSpki?: string, created: boolean }} TlsMaterial
 *   `cert` is the full chain (server certificate, then the site CA) so a browser pinning the CA's SPKI sees it.
 */

/** @param {CryptoKey} key */
async function pkcs8Pem(key) {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
}

/** The host's names and non-internal addresses, plus loopback: what a server certificate must cover by default. */
export function hostNames() {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname()]);
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) names.add(a.address);
  return [...names];
}

/** @param {string} n */
const isIp = (n) => /^[\d.]+$/.test(n) || n.includes(':');

/**
 * SHA-256 of a certificate's SubjectPublicKeyInfo, base64: what Chromium's --ignore-certificate-errors-spki-list
 * and HPKP-style pins take.
 * @param {string} pem
 */
export function spkiSha256(pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Loads the admin's certificate, or the site CA and server certificate in `<data>/tls/`, making them at first
 * start. A server certificate that does not cover `names` (a new address, a new --tls-name) is reissued from the
 * same CA, so tablets that trust the CA keep working.
 * @param {{ dataDir: string, certFile?: string, keyFile?: string, names?: string[], now?: () => number }} opts
 * @returns {Promise<TlsMaterial>}
 */
export async function loadTls(opts) {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('--tls-cert and --tls-key go together');
    const cert = readFileSync(opts.certFile, 'utf8');
    const key = readFileSync(opts.keyFile, 'utf8');
    const leaf = new X509Certificate(cert);
    return { cert, key, names: (leaf.subjectAltName ?? '').split(', ').filter(Boolean), created: false };
  }
  const now = opts.now ?? Date.now;
  const dir = join(opts.dataDir, TLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = [...new Set([...hostNames(), ...(opts.names ?? [])])];
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  let created = false;
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    const keys = /** @type {CryptoKeyPair} */ (await subtle.generateKey(EC, true, ['sign', 'verify']));
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=Entrance kiosk site CA (${hostname()}), O=entrance-kiosk`,
      keys,
      notBefore: new Date(now() - DAY),
      notAfter: new Date(now() + 10 * 365 * DAY),
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    writeFileSync(caKeyFile, await pkcs8Pem(keys.privateKey), { mode: 0o600 });
    writeFileSync(caFile, ca.toString('pem'), { mode: 0o644 });
    created = true;
  }
  const caPem = readFileSync(caFile, 'utf8');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server-key.pem');
  const covers = () => {
    if (!existsSync(certFile) || !existsSync(keyFile)) return false;
    const leaf = new X509Certificate(readFileSync(certFile, 'utf8'));
    const have = (leaf.subjectAltName ?? '').split(', ');
    const fresh = Date.parse(leaf.validTo) - now() > 30 * DAY;
    return fresh && names.every((n) => have.includes(isIp(n) ? `IP Address:${n}` : `DNS:${n}`));
  };
  if (created || !covers()) {
    const ca = new x509.X509Certificate(caPem);
    const caKey = await subtle.importKey(
      'pkcs8',
      Buffer.from(readFileSync(caKeyFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'),
      EC,
      false,
      ['sign'],
    );
    const keys = /** @type {CryptoKeyPair} */ (await subtle.generateKey(EC, true, ['sign', 'verify']));
    const leaf = await x509.X509CertificateGenerator.create({
      subject: `CN=${names.find((n) => !isIp(n) && n !== 'localhost') ?? 'localhost'}`,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKey,
      notBefore: new Date(now() - DAY),
      // Under 398 days: browsers refuse longer-lived server certificates even from a private CA they trust.
      notAfter: new Date(now() + 397 * DAY),
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((n) => ({ type: /** @type {'ip' | 'dns'} */ (isIp(n) ? 'ip' : 'dns'), value: n })),
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      ],
    });
    writeFileSync(keyFile, await pkcs8Pem(keys.privateKey), { mode: 0o600 });
    writeFileSync(certFile, leaf.toString('pem'), { mode: 0o644 });
  }
  const caCert = new X509Certificate(caPem);
  return {
    cert: `${readFileSync(certFile, 'utf8').trim()}\n${caPem.trim()}\n`,
    key: readFileSync(keyFile, 'utf8'),
    ca: caPem,
    caFile,
    names,
    caFingerprint: caCert.fingerprint256,
    caSpki: spkiSha256(caPem),
    created,
  };
}
