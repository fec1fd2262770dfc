/**
 * Test page for the LAN pull of watchlist bundles in real Chromium (served by Vite with the app's COOP/COEP/CSP
 * headers, driven by test/receiver/bundles-chromium.test.ts through `window.bundles`).
 *
 * It plays both ends that live in a browser: the admin desk (keys made here, bundles made by src/sync's
 * exportBundle and handed to the test as base64 for publishing) and the kiosk (src/sync's pullBundle against the
 * receiver, then openBundle with the pinned admin key and the kiosk's own key). Keys never leave the page; the
 * test only sees public key ids and what openBundle returned.
 */
import {
  exportBundle,
  exportPublicKey,
  generateAdminKeyPair,
  generateKioskKeyPair,
  keyFingerprint,
  openBundle,
  publicKeyId,
  pullBundle,
} from '../../src/sync';
import { KioskError } from '../../src/shared/errors';
import { pullStatement } from '../../src/decisions';
import { pairWithReceiver } from '../../src/decisions/pairing';
import { generateSigningKey, signText } from '../../src/decisions/signer';
import type { Subject } from '../../src/shared/types';

let admin: CryptoKeyPair | undefined;
let kiosk: CryptoKeyPair | undefined;
/** The kiosk's decision key (what the kiosk signs decisions and pulls with) and its id. */
let decisionKey: CryptoKeyPair | undefined;
const KIOSK_ID = 'lobby-1';

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`bundles harness: ${what} missing, call setup() first`);
  return v;
}

function subject(id: string, version: number): Subject {
  return {
    id,
    label: `label ${id}`,
    list: 'allow',
    templates: { fr_feature: [new Float32Array(512).map((_, i) => Math.sin(i + id.length) / 22.6)] },
    plates: [`PLATE-${id.toUpperCase()}`],
    createdAt: 1,
    updatedAt: version,
    version,
  };
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface PullResult {
  /** undefined: the receiver had nothing (204/404). */
  bytes?: number;
  opened?: { kind: string; version: number; baseVersion: number; ids: string[]; deletions: string[] };
  error?: { code: string; details?: unknown };
}

const bundles = {
  isolated: (): boolean => crossOriginIsolated,

  /** Fresh admin and kiosk keys; returns what the test may know: public key ids, the admin JWK and fingerprint. */
  async setup(): Promise<{ kioskKeyId: string; adminKeyId: string; adminJwk: JsonWebKey; adminFingerprint: string }> {
    [admin, kiosk, decisionKey] = await Promise.all([
      generateAdminKeyPair(),
      generateKioskKeyPair(),
      generateSigningKey(),
    ]);
    return {
      kioskKeyId: hex(await publicKeyId(kiosk.publicKey)),
      adminKeyId: hex(await publicKeyId(admin.publicKey)),
      adminJwk: await exportPublicKey(admin.publicKey, 'jwk'),
      adminFingerprint: await keyFingerprint(admin.publicKey),
    };
  },

  /** A full bundle (base64) with subjects `ids`, encrypted to this page's kiosk key. */
  async full(version: number, ids: string[]): Promise<string> {
    const a = need(admin, 'admin key');
    return base64(
      await exportBundle({
        subjects: ids.map((id) => subject(id, version)),
        version,
        adminSigningKey: a.privateKey,
        adminPublicKey: a.publicKey,
        recipients: [need(kiosk, 'kiosk key').publicKey],
      }),
    );
  },

  /** A delta bundle (base64) from `baseVersion`, encrypted to this page's kiosk key. */
  async delta(baseVersion: number, version: number, upserts: string[], deletions: string[]): Promise<string> {
    const a = need(admin, 'admin key');
    return base64(
      await exportBundle({
        changes: { upserts: upserts.map((id) => subject(id, version)), deletions },
        baseVersion,
        version,
        adminSigningKey: a.privateKey,
        adminPublicKey: a.publicKey,
        recipients: [need(kiosk, 'kiosk key').publicKey],
      }),
    );
  },

  /** Pairs this page's decision key with the receiver (the kiosk's pairing card, with a code the test minted). */
  async pair(upstreamOrigin: string, code: string): Promise<string> {
    const { kid } = await pairWithReceiver({
      decisionsUrl: `${upstreamOrigin}/decisions`,
      kiosk: KIOSK_ID,
      keyPair: need(decisionKey, 'decision key'),
      code,
    });
    return kid;
  },

  /**
   * The kiosk's side: pull from the receiver, then verify and open what came with the pinned admin key. `stranger`
   * signs the pull with a key the receiver never paired, under another id.
   */
  async pull(
    upstreamOrigin: string,
    installedVersion: number,
    sendKeyId = true,
    stranger = false,
  ): Promise<PullResult> {
    const k = need(kiosk, 'kiosk key');
    const signer = stranger ? (await generateSigningKey()).privateKey : need(decisionKey, 'decision key').privateKey;
    const id = stranger ? 'lobby-9' : KIOSK_ID;
    try {
      const bytes = await pullBundle({
        installedVersion,
        upstreamOrigin,
        timeoutMs: 10_000,
        sign: async (since, key) => {
          const ts = Date.now();
          return { kiosk: id, ts, sig: await signText(signer, pullStatement(id, since, key, ts)) };
        },
        ...(sendKeyId ? { kioskKeyId: await publicKeyId(k.publicKey) } : {}),
      });
      if (!bytes) return {};
      const c = await openBundle(bytes, {
        pinnedAdminKeys: need(admin, 'admin key').publicKey,
        installedVersion,
        kioskPrivateKey: k.privateKey,
        kioskPublicKey: k.publicKey,
      });
      const ids = (c.kind === 'full' ? c.subjects : c.upserts).map((s) => s.id);
      return {
        bytes: bytes.length,
        opened: {
          kind: c.kind,
          version: c.version,
          baseVersion: c.baseVersion,
          ids,
          deletions: c.kind === 'delta' ? c.deletions : [],
        },
      };
    } catch (e) {
      if (e instanceof KioskError) return { error: { code: e.code, details: e.details } };
      return { error: { code: String(e) } };
    }
  },
};

export type BundlesHarness = typeof bundles;
(globalThis as unknown as { bundles: BundlesHarness }).bundles = bundles;
document.title = 'bundles harness ready';
