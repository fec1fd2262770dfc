/**
 * docs/sync.md is the specification: this test opens a bundle made by src/sync with a second, independent reader
 * written from the document alone — Node's OpenSSL primitives (ECDSA verify, ECDH, HKDF, AES-KW, AES-GCM) and
 * hand-written offsets — and checks every field, so the document and the code cannot drift apart unnoticed.
 */
import { expect, test } from 'vitest';
import {
  exportBundle,
  importKioskPublicKey,
  generateAdminKeyPair,
  exportPublicKey,
  createSiteKey,
} from '../../src/sync';
import type { Subject } from '../../src/shared/types';

/** The few node:crypto functions used, typed here so this file needs no Node type package. */
interface KeyObject {
  export(o: { format: 'der'; type: 'spki' }): Uint8Array;
}
interface Cipher {
  update(b: Uint8Array): Uint8Array;
  final(): Uint8Array;
  setAAD(b: Uint8Array): void;
  setAuthTag(b: Uint8Array): void;
}
interface NodeCrypto {
  generateKeyPairSync(t: 'ec', o: { namedCurve: string }): { publicKey: KeyObject; privateKey: KeyObject };
  createPublicKey(o: { key: Uint8Array; format: 'der'; type: 'spki' } | { key: JsonWebKey; format: 'jwk' }): KeyObject;
  diffieHellman(o: { privateKey: KeyObject; publicKey: KeyObject }): Uint8Array;
  hkdfSync(h: string, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, len: number): ArrayBuffer;
  pbkdf2Sync(p: Uint8Array, s: Uint8Array, it: number, len: number, h: string): Uint8Array;
  createDecipheriv(alg: string, key: Uint8Array, iv: Uint8Array): Cipher;
  createHash(h: string): { update(b: Uint8Array): { digest(): Uint8Array } };
  verify(h: string, data: Uint8Array, key: { key: KeyObject; dsaEncoding: 'ieee-p1363' }, sig: Uint8Array): boolean;
}
const node = (
  globalThis as unknown as { process: { getBuiltinModule(n: string): NodeCrypto } }
).process.getBuiltinModule('node:crypto');

const b64url = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const concat = (...p: Uint8Array[]) => {
  const out = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of p) {
    out.set(x, at);
    at += x.length;
  }
  return out;
};

/** Node hands out Buffers; compare plain bytes. */
const sha256 = (b: Uint8Array) => new Uint8Array(node.createHash('sha256').update(b).digest());

function unwrapAesKw(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const d = node.createDecipheriv('id-aes256-wrap', kek, new Uint8Array(8).fill(0xa6));
  return new Uint8Array(concat(d.update(wrapped), d.final()));
}

/** The payload reader of docs/sync.md, "Payload", for a full bundle. */
function readFullPayload(p: Uint8Array): Subject[] {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let at = 0;
  const u8 = () => v.getUint8(at++);
  const u16 = () => ((at += 2), v.getUint16(at - 2, true));
  const u32 = () => ((at += 4), v.getUint32(at - 4, true));
  const f64 = () => ((at += 8), v.getFloat64(at - 8, true));
  const str = () => {
    const n = u16();
    at += n;
    return new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(at - n, at));
  };
  const out: Subject[] = [];
  for (let n = u32(); n > 0; n--) {
    const id = str();
    const label = str();
    const list = u8() === 0 ? 'allow' : 'deny';
    const flags = u8();
    const s: Partial<Subject> = { id, label, list };
    if (flags & 1) s.validFrom = f64();
    if (flags & 2) s.validUntil = f64();
    s.createdAt = f64();
    s.updatedAt = f64();
    s.version = f64();
    s.templates = {};
    for (let e = u8(); e > 0; e--) {
      const name = str();
      const dim = u16();
      const list: Float32Array[] = [];
      for (let t = u32(); t > 0; t--) {
        list.push(new Float32Array(p.slice(at, at + dim * 4).buffer));
        at += dim * 4;
      }
      s.templates[name] = list;
    }
    s.plates = [];
    for (let k = u16(); k > 0; k--) s.plates.push(str());
    out.push(s as Subject);
  }
  expect(at).toBe(p.length);
  return out;
}

test('a bundle made by src/sync opens with an independent reader that follows docs/sync.md', async () => {
  const admin = await generateAdminKeyPair();
  const kiosk = node.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const kioskSpki = kiosk.publicKey.export({ format: 'der', type: 'spki' });
  const site = await createSiteKey('a long site passphrase', 600_000);
  const t = new Float32Array(new Uint32Array([0x3f800000, 0x80000000, 0x3e800001, 0x00000001, 0xbf000000]).buffer);
  const subjects: Subject[] = [
    {
      id: 'id-1',
      label: 'Ana 李',
      list: 'deny',
      validUntil: 1_900_000_000_000,
      templates: { fr_feature: [t, t.map((x) => x * 2)], zz: [] },
      plates: ['京A 12345'],
      createdAt: 1,
      updatedAt: 2.5,
      version: 9,
    },
  ];
  const bytes = await exportBundle({
    subjects,
    version: 42,
    createdAt: 1_763_900_000_123,
    adminSigningKey: admin.privateKey,
    adminPublicKey: admin.publicKey,
    recipients: [await importKioskPublicKey(kioskSpki)],
    siteKey: site,
  });

  const v = new DataView(bytes.buffer);
  const u64 = (o: number) => v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x4b, 0x57, 0x42, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect([bytes[8], bytes[9], v.getUint16(10, true)]).toEqual([1, 1, 0]);
  expect([u64(12), u64(20), u64(28)]).toEqual([42, 0, 1_763_900_000_123]);
  const adminSpki = await exportPublicKey(admin.publicKey, 'spki');
  expect(bytes.subarray(36, 68)).toEqual(sha256(adminSpki));
  const iv = bytes.subarray(68, 80);
  const L = v.getUint32(80, true);
  expect(v.getUint16(84, true)).toBe(2);

  // Site entry first (61 bytes), then the kiosk entry (138 bytes).
  expect(bytes[86]).toBe(1);
  expect(v.getUint32(87, true)).toBe(600_000);
  const salt = bytes.subarray(91, 107);
  const siteWrapped = bytes.subarray(107, 147);
  const k = 147;
  expect(bytes[k]).toBe(2);
  expect(bytes.subarray(k + 1, k + 33)).toEqual(sha256(kioskSpki));
  const epk = bytes.subarray(k + 33, k + 98);
  const kioskWrapped = bytes.subarray(k + 98, k + 138);
  const H = k + 138;
  expect(bytes.length).toBe(H + L + 64);

  // Signature over [0, H + L), P1363 r||s.
  const adminKey = node.createPublicKey({ key: adminSpki, format: 'der', type: 'spki' });
  const signed = bytes.subarray(0, H + L);
  expect(node.verify('sha256', signed, { key: adminKey, dsaEncoding: 'ieee-p1363' }, bytes.subarray(H + L))).toBe(true);
  const tampered = signed.slice();
  tampered[20]! ^= 1;
  expect(node.verify('sha256', tampered, { key: adminKey, dsaEncoding: 'ieee-p1363' }, bytes.subarray(H + L))).toBe(
    false,
  );

  // Kiosk entry: ECDH with the ephemeral point, HKDF, AES-KW.
  const ephemeral = node.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(epk.subarray(1, 33)), y: b64url(epk.subarray(33, 65)) },
    format: 'jwk',
  });
  const z = node.diffieHellman({ privateKey: kiosk.privateKey, publicKey: ephemeral });
  const info = concat(
    new TextEncoder().encode('entrance-kiosk watchlist-bundle v1 ecdh-p256 aes-kw'),
    epk,
    bytes.subarray(k + 1, k + 33),
  );
  const kek = new Uint8Array(node.hkdfSync('sha256', z, new Uint8Array(32), info, 32));
  const cek = unwrapAesKw(kek, kioskWrapped);
  expect(cek.length).toBe(32);

  // Site entry: PBKDF2 of the NFC passphrase gives the same content key.
  const siteKek = node.pbkdf2Sync(
    new TextEncoder().encode('a long site passphrase'.normalize('NFC')),
    salt,
    600_000,
    32,
    'sha256',
  );
  expect(unwrapAesKw(siteKek, siteWrapped)).toEqual(cek);

  // AES-256-GCM, additional data = the header, tag = last 16 bytes of the ciphertext.
  const ct = bytes.subarray(H, H + L);
  const d = node.createDecipheriv('aes-256-gcm', cek, iv);
  d.setAAD(bytes.subarray(0, H));
  d.setAuthTag(ct.subarray(L - 16));
  const payload = concat(d.update(ct.subarray(0, L - 16)), d.final());

  const got = readFullPayload(payload);
  expect(got).toEqual(subjects);
  const bits = (f: Float32Array) => [...new Uint32Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength))];
  expect(bits(got[0]!.templates['fr_feature']![0]!)).toEqual(bits(t));
});
