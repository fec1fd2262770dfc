// @ts-check
/**
 * TLS for the receiver: the admin's own certificate (`--tls-cert/--tls-key`), or a site CA the receiver makes at
 * first start and a server certificate it issues from it for this host's names and addresses. A tablet on the LAN
 * is not 127.0.0.1: over plain HTTP the browser refuses the camera, service workers and WebCrypto, so the kiosk app
 * and its upstream must be HTTPS. Owns the CA (its private key never leaves `<data>/tls/ca-key.pem`, 0600), the
 * issued certificate's names, and the fingerprints an admin compares on a tablet; never trusts a client cert.
 *
 * Every tablet trusts this CA, so its key is as good as control of every kiosk: whoever holds it (the receiver host, a
 * backup of the data folder) can serve the kiosk origin a modified app. The CA is therefore made with a critical
 * NameConstraints extension that permits only the names and addresses its first server certificate was issued for
 * (and, for DNS names, the names under them): it cannot vouch for any other site, not a bank, not another host the
 * tablets or an admin PC visit. A name it was not made for cannot be added later (that would need a new CA on every
 * tablet): an explicit --tls-name outside it refuses to start, a new host address is left out of the certificate.
 * A CA from before this rule (no constraints) keeps working and is reported, since tablets trust exactly that one.
 * The CA key is needed only to issue the server certificate: an admin may keep it offline between reissues, and a
 * ca.pem without its key is never replaced by a new CA (that would cut off every tablet); a reissue then fails.
 *
 * Certificates are made with @peculiar/x509 on Node's WebCrypto: node:crypto cannot sign X.509 certificates, and
 * shelling out to the openssl binary would add a system dependency and put key material on command lines and in
 * temp files; the library is maintained, typed, and uses the same WebCrypto keys as the rest of the receiver.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
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

/** id-ce-nameConstraints (RFC 5280, 4.2.1.10). */
export const NAME_CONSTRAINTS_OID = '2.5.29.30';

/**
 * @typedef {{ cert: string, key: string, ca?: string, caFile?: string, names: string[],
 *   caFingerprint?: string, caSpki?: string, created: boolean, caConstrained?: boolean, outside?: string[] }}
 *   TlsMaterial `cert` is the full chain (server certificate, then the site CA) so a browser pinning the CA's SPKI
 *   sees it. `caConstrained`: the site CA carries name constraints (false: an old CA that could vouch for any site).
 *   `outside`: this host's names and addresses the site CA may not vouch for, left out of the certificate.
 * @typedef {{ dns: string[], ip: { addr: Buffer, mask: Buffer }[] }} Permitted what a CA's name constraints permit
 */

/**
 * The site CA cannot give this start the certificate it needs: a --tls-name it may not vouch for
 * (`tls_name_outside_ca`), or its key is not there to issue one (`ca_key_missing`).
 */
export class SiteCaError extends Error {
  /** @param {string} message @param {'tls_name_outside_ca' | 'ca_key_missing'} [code] */
  constructor(message, code = 'tls_name_outside_ca') {
    super(message);
    this.name = 'SiteCaError';
    this.code = code;
  }
}

/** One DER tag-length-value (definite length). @param {number} tag @param {Buffer} body */
function der(tag, body) {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** The TLVs one after another in `buf`. @param {Buffer} buf */
function tlvs(buf) {
  /** @type {{ tag: number, body: Buffer }[]} */
  const out = [];
  for (let at = 0; at + 2 <= buf.length;) {
    const tag = /** @type {number} */ (buf[at]);
    let len = /** @type {number} */ (buf[at + 1]);
    at += 2;
    if (len & 0x80) {
      const bytes = len & 0x7f;
      len = 0;
      for (let i = 0; i < bytes; i++) len = len * 256 + /** @type {number} */ (buf[at++]);
    }
    out.push({ tag, body: buf.subarray(at, at + len) });
    at += len;
  }
  return out;
}

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address as bytes; undefined for anything else. @param {string} ip */
function ipBytes(ip) {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return undefined;
  /** @param {string} part */
  const groups = (part) =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = ip.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return Buffer.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/**
 * The NameConstraints value permitting exactly these names: each DNS name (which per RFC 5280 also permits the names
 * under it) and each address as a single host (/32, /128). No excluded subtrees: anything not permitted is out.
 * @param {string[]} names
 */
function nameConstraints(names) {
  const subtrees = names.map((n) => {
    const ip = ipBytes(n);
    const base = ip
      ? der(0x87, Buffer.concat([ip, Buffer.alloc(ip.length, 0xff)])) // iPAddress [7]: address, then mask
      : der(0x82, Buffer.from(n.toLowerCase(), 'ascii')); // dNSName [2]
    return der(0x30, base); // GeneralSubtree, minimum 0 (default), no maximum
  });
  return der(0x30, der(0xa0, Buffer.concat(subtrees))); // permittedSubtrees [0]
}

/**
 * What a CA certificate's name constraints permit, or undefined when it has none.
 * @param {string} pem
 * @returns {Permitted | undefined}
 */
export function permittedNames(pem) {
  const ext = new x509.X509Certificate(pem).getExtension(NAME_CONSTRAINTS_OID);
  if (!ext) return undefined;
  /** @type {Permitted} */
  const out = { dns: [], ip: [] };
  const [nc] = tlvs(Buffer.from(ext.value));
  const permitted = tlvs(nc?.body ?? Buffer.alloc(0)).find((t) => t.tag === 0xa0);
  for (const subtree of tlvs(permitted?.body ?? Buffer.alloc(0))) {
    const [base] = tlvs(subtree.body);
    if (base?.tag === 0x82) out.dns.push(base.body.toString('ascii').toLowerCase());
    if (base?.tag === 0x87) {
      const half = base.body.length / 2;
      out.ip.push({ addr: base.body.subarray(0, half), mask: base.body.subarray(half) });
    }
  }
  return out;
}

/** Does `p` permit this name (RFC 5280 matching: a DNS name or one under it; an address inside a range)? */
export function permits(/** @type {Permitted} */ p, /** @type {string} */ name) {
  const ip = ipBytes(name);
  if (ip)
    return p.ip.some(
      (r) =>
        r.addr.length === ip.length &&
        ip.every((b, i) => (b & (r.mask[i] ?? 0)) === ((r.addr[i] ?? 0) & (r.mask[i] ?? 0))),
    );
  const n = name.toLowerCase();
  return p.dns.some((d) => n === d || n.endsWith(`.${d}`));
}

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
  const wanted = [...new Set([...hostNames(), ...(opts.names ?? [])])];
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  let created = false;
  // Only with no CA at all: a ca.pem without its key is an admin who moved the key offline (or lost it), and a new
  // CA in its place would silently stop every tablet that trusts the old one.
  if (!existsSync(caFile)) {
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
        // Critical, as RFC 5280 requires: a verifier that cannot read it must refuse the CA rather than ignore it.
        new x509.Extension(NAME_CONSTRAINTS_OID, true, nameConstraints(wanted)),
      ],
    });
    writeFileSync(caKeyFile, await pkcs8Pem(keys.privateKey), { mode: 0o600 });
    writeFileSync(caFile, ca.toString('pem'), { mode: 0o644 });
    created = true;
  }
  const caPem = readFileSync(caFile, 'utf8');
  const permitted = permittedNames(caPem);
  const outside = permitted ? wanted.filter((n) => !permits(permitted, n)) : [];
  const refused = outside.filter((n) => (opts.names ?? []).includes(n));
  if (refused.length > 0)
    throw new SiteCaError(
      `--tls-name ${refused.join(', ')}: the site CA ${caFile} may vouch only for the names it was made for ` +
        `(${[...(permitted?.dns ?? []), ...(permitted?.ip.length ? ['its addresses'] : [])].join(', ')}). ` +
        `For another name make a new site CA: stop the receiver, move ${dir} away, start it with every --tls-name, ` +
        'and install the new ca.pem on every tablet (docs/deployment.md)',
    );
  // This host's own names and addresses the CA was not made for (a new DHCP address, a renamed host): left out.
  const names = wanted.filter((n) => !outside.includes(n));
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server-key.pem');
  const covers = () => {
    if (!existsSync(certFile) || !existsSync(keyFile)) return false;
    const leaf = new X509Certificate(readFileSync(certFile, 'utf8'));
    const have = (leaf.subjectAltName ?? '').split(', ');
    const fresh = Date.parse(leaf.validTo) - now() > 30 * DAY;
    // Addresses compared as bytes: Node spells an IPv6 SAN in full (0:0:0:0:0:0:0:1), not as it was given (::1).
    const ips = new Set(
      have.flatMap((h) => (h.startsWith('IP Address:') ? [ipBytes(h.slice(11))?.toString('hex')] : [])),
    );
    return (
      fresh &&
      names.every((n) => {
        const ip = ipBytes(n);
        return ip ? ips.has(ip.toString('hex')) : have.includes(`DNS:${n}`);
      })
    );
  };
  if (created || !covers()) {
    if (!existsSync(caKeyFile))
      throw new SiteCaError(
        `${caKeyFile} is missing, and the server certificate must be issued again (it nears expiry, or covers fewer ` +
          `names than asked for: ${names.join(', ')}): put the site CA key back for this start`,
        'ca_key_missing',
      );
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
    caConstrained: permitted !== undefined,
    outside,
  };
}
