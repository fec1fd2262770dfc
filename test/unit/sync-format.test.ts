/**
 * The byte formats of the watchlist bundle without any cryptography (src/sync/format.ts, payload.ts): header and
 * payload round trips, bit-exact Float32 templates, and strict refusal of every truncation, trailing byte,
 * unknown enum and reserved bit. The signed, encrypted whole is tested in real Chromium (test/browser/sync-*.test.ts).
 */
import { describe, expect, test } from 'vitest';
import {
  FIXED_HEADER_BYTES,
  KIOSK_ENTRY_BYTES,
  MAGIC,
  SIGNATURE_BYTES,
  SITE_ENTRY_BYTES,
  encodeHeader,
  parseBundleLayout,
  type BundleHeader,
} from '../../src/sync/format';
import { decodePayload, encodeDeltaPayload, encodeFullPayload } from '../../src/sync/payload';
import type { Subject } from '../../src/shared/types';
import { isKioskError, type ErrorCode } from '../../src/shared/errors';

function bits(f: Float32Array): number[] {
  return Array.from(new Uint32Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)));
}

function subject(id: string, extra: Partial<Subject> = {}): Subject {
  return {
    id,
    label: `Zoë 张伟 ${id}`,
    list: 'deny',
    validFrom: 1_700_000_000_000,
    validUntil: 1_800_000_000_000.5,
    templates: {
      fr_feature: [new Float32Array([0.1, -0.2, 0.3, 1e-40]), new Float32Array([1, 2, 3, 4])],
      dlib_resnet: [new Float32Array([Math.PI, -0, 5e-324, 3.4e38, 7, 8])],
    },
    plates: ['沪A12345', 'B 123 XY'],
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_123,
    version: 12,
    ...extra,
  };
}

function code(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (isKioskError(e)) return e.code;
    throw e;
  }
  return undefined;
}

function header(extra: Partial<BundleHeader> = {}): BundleHeader {
  return {
    kind: 'delta',
    version: 2 ** 40 + 3,
    baseVersion: 2 ** 40,
    createdAt: 1_763_800_000_000,
    issuerKeyId: new Uint8Array(32).fill(0xaa),
    iv: new Uint8Array(12).fill(0x11),
    ciphertextLength: 100,
    recipients: [
      { type: 'site', iterations: 600_000, salt: new Uint8Array(16).fill(3), wrappedKey: new Uint8Array(40).fill(4) },
      {
        type: 'kiosk',
        keyId: new Uint8Array(32).fill(5),
        ephemeralPublicKey: Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : i)),
        wrappedKey: new Uint8Array(40).fill(6),
      },
    ],
    ...extra,
  };
}

function wholeFile(h: BundleHeader): Uint8Array<ArrayBuffer> {
  const head = encodeHeader(h);
  const out = new Uint8Array(head.length + h.ciphertextLength + SIGNATURE_BYTES);
  out.set(head);
  return out;
}

describe('payload', () => {
  test('full payload round trip keeps every field and every template bit', () => {
    // Values a float conversion could disturb: 1 ulp above 1, -0, the smallest denormal. (NaN is not a template:
    // the one subject schema refuses it on every path, see subject-schema.test.ts.)
    const nan = new Float32Array(new Uint32Array([0x3f800001, 0xbf7fffff, 0x80000000, 0x00000001]).buffer);
    const subjects = [subject('a'), subject('b', { templates: { x: [nan] }, validFrom: undefined, plates: [] })];
    delete subjects[1]!.validFrom;
    const out = decodePayload('full', encodeFullPayload(subjects));
    expect(out.kind).toBe('full');
    if (out.kind !== 'full') return;
    expect(out.subjects).toEqual(subjects);
    expect('validFrom' in out.subjects[1]!).toBe(false);
    for (const [i, s] of subjects.entries()) {
      for (const [name, list] of Object.entries(s.templates)) {
        list.forEach((t, j) => expect(bits(out.subjects[i]!.templates[name]![j]!)).toEqual(bits(t)));
      }
    }
    // -0 and denormals survive bit for bit.
    expect(bits(out.subjects[1]!.templates['x']![0]!)).toEqual([0x3f800001, 0xbf7fffff, 0x80000000, 0x00000001]);
  });

  test('a template that is a view into a larger buffer is written from its own bytes only', () => {
    const big = new Float32Array([9, 9, 1, 2, 3, 9]);
    const s = subject('v', { templates: { e: [big.subarray(2, 5)] } });
    const out = decodePayload('full', encodeFullPayload([s]));
    expect(out.kind === 'full' && Array.from(out.subjects[0]!.templates['e']![0]!)).toEqual([1, 2, 3]);
  });

  test('delta payload round trip', () => {
    const changes = { upserts: [subject('a')], deletions: ['x', 'y'] };
    expect(decodePayload('delta', encodeDeltaPayload(changes))).toEqual({ kind: 'delta', ...changes });
  });

  test('every truncation and any trailing byte is BUNDLE_INVALID', () => {
    const bytes = encodeDeltaPayload({ upserts: [subject('a')], deletions: ['x'] });
    for (let n = 0; n < bytes.length; n++)
      expect(code(() => decodePayload('delta', bytes.slice(0, n)))).toBe('BUNDLE_INVALID');
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(code(() => decodePayload('delta', longer))).toBe('BUNDLE_INVALID');
    // A full payload is not a delta payload.
    expect(code(() => decodePayload('full', bytes))).toBe('BUNDLE_INVALID');
  });

  test('a huge declared count is refused before allocating', () => {
    const bytes = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0]);
    expect(code(() => decodePayload('full', bytes))).toBe('BUNDLE_INVALID');
  });

  test('invalid UTF-8 inside the payload is refused, not replaced', () => {
    const bytes = encodeFullPayload([subject('ab')]);
    // id is at offset 4 (after the u32 count): u16 length 2, then 'a' 'b'.
    bytes[6] = 0xc3;
    bytes[7] = 0x28;
    expect(code(() => decodePayload('full', bytes))).toBe('BUNDLE_INVALID');
  });

  test('the writer refuses subjects a kiosk could not read back exactly', () => {
    const cases: Subject[] = [
      subject(''),
      subject('a', { label: 'lone \ud800 surrogate' }),
      subject('a', { list: 'maybe' as never }),
      subject('a', { createdAt: Number.NaN }),
      subject('a', { validUntil: Number.POSITIVE_INFINITY }),
      subject('a', { templates: { __proto__x: [new Float32Array(2)] } }),
      subject('a', { templates: { e: [new Float32Array(2), new Float32Array(3)] } }),
      subject('a', { templates: { e: [[1, 2] as unknown as Float32Array] } }),
      subject('a', { templates: { e: [new Float32Array(0)] } }),
      subject('a', { plates: [''] }),
      subject('x'.repeat(257)),
    ];
    cases.push(null as never, subject('a', { templates: 5 as never }), subject('a', { templates: { e: 5 as never } }));
    for (const s of cases) expect(code(() => encodeFullPayload([s]))).toBe('INPUT_INVALID');
    expect(code(() => encodeFullPayload([subject('a'), subject('a')]))).toBe('INPUT_INVALID');
    expect(code(() => encodeDeltaPayload({ upserts: [subject('a')], deletions: ['a'] }))).toBe('INPUT_INVALID');
  });

  test('an embedder key with no templates survives', () => {
    const s = subject('a', { templates: { fr_feature: [] } });
    const out = decodePayload('full', encodeFullPayload([s]));
    expect(out.kind === 'full' && out.subjects[0]!.templates).toEqual({ fr_feature: [] });
  });
});

describe('header and envelope', () => {
  test('layout: fixed part, entries, ciphertext, signature', () => {
    const h = header();
    const file = wholeFile(h);
    expect(file.subarray(0, 8)).toEqual(MAGIC);
    expect(file.length).toBe(FIXED_HEADER_BYTES + SITE_ENTRY_BYTES + KIOSK_ENTRY_BYTES + 100 + 64);
    const layout = parseBundleLayout(file);
    expect(layout.header).toEqual(h);
    expect(layout.headerEnd).toBe(FIXED_HEADER_BYTES + SITE_ENTRY_BYTES + KIOSK_ENTRY_BYTES);
    expect(layout.signedEnd).toBe(layout.headerEnd + 100);
    // Little-endian u64 version at offset 12.
    expect(new DataView(file.buffer).getUint32(12, true)).toBe(3);
    expect(new DataView(file.buffer).getUint32(16, true)).toBe(256);
  });

  test('every truncation is BUNDLE_INVALID, as is a trailing byte', () => {
    const file = wholeFile(header());
    for (let n = 0; n < file.length; n++)
      expect(code(() => parseBundleLayout(file.slice(0, n)))).toBe('BUNDLE_INVALID');
    const longer = new Uint8Array(file.length + 1);
    longer.set(file);
    expect(code(() => parseBundleLayout(longer))).toBe('BUNDLE_INVALID');
  });

  test('wrong magic, newer format, unknown kind, reserved bits, bad entries are BUNDLE_INVALID', () => {
    const base = wholeFile(header());
    const edits: [number, number][] = [
      [0, 0x50], // magic
      [8, 2], // format version
      [9, 3], // kind
      [10, 1], // reserved
      [84, 0], // recipient count low byte -> 0 recipients
      [86, 9], // first entry type
      [86 + SITE_ENTRY_BYTES + 33, 0x02], // ephemeral point prefix must be 0x04
    ];
    for (const [at, v] of edits) {
      const f = base.slice();
      f[at] = v;
      expect(
        code(() => parseBundleLayout(f)),
        `offset ${at}`,
      ).toBe('BUNDLE_INVALID');
    }
  });

  test('too few PBKDF2 iterations, a full bundle with a base, a delta not moving forward are refused both ways', () => {
    const bad: Partial<BundleHeader>[] = [
      { recipients: [{ type: 'site', iterations: 599_999, salt: new Uint8Array(16), wrappedKey: new Uint8Array(40) }] },
      { kind: 'full', baseVersion: 1 },
      { kind: 'delta', version: 5, baseVersion: 5 },
      { version: 0, baseVersion: 0, kind: 'full' },
      { recipients: [] },
    ];
    for (const h of bad) expect(code(() => encodeHeader(header(h)))).toBe('BUNDLE_INVALID');
    // The reader applies the same rules to bytes the writer would not produce.
    const f = wholeFile(header({ kind: 'full', baseVersion: 0 }));
    f[20] = 1; // base version 1 on a full bundle
    expect(code(() => parseBundleLayout(f))).toBe('BUNDLE_INVALID');
  });

  test('a u64 beyond 2^53 is refused rather than rounded', () => {
    const f = wholeFile(header());
    f[19] = 0x01; // version high byte
    expect(code(() => parseBundleLayout(f))).toBe('BUNDLE_INVALID');
  });
});
