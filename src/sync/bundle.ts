/**
 * Making and opening watchlist bundles: AES-256-GCM payload under a random content key, the content key wrapped
 * to a site key (PBKDF2) and/or to each paired kiosk (ECDH P-256 ephemeral-static + HKDF-SHA256 -> AES-KW), and an
 * ECDSA P-256 signature by the admin over header + ciphertext.
 *
 * openBundle is the only way bundle bytes become watchlist data, and its order is the security argument: framing
 * check, then the signature under a pinned admin key, then the version (rollback) check, then key unwrapping, and
 * only then decryption and payload parsing. Nothing from the payload is read, and nothing partial is returned,
 * before all of that succeeded. This module never persists keys or subjects and never touches IndexedDB: it takes
 * CryptoKeys as parameters and returns data; the store applies the result atomically (see plan.ts).
 */
import { KioskError, isKioskError } from '../shared/errors';
import type { Subject } from '../shared/types';
import type { BundleContents, BundleKind, DeltaChanges } from './types';
import {
  GCM_TAG_BYTES,
  IV_BYTES,
  MAX_BUNDLE_BYTES,
  MAX_RECIPIENTS,
  SIGNATURE_BYTES,
  encodeHeader,
  parseBundleLayout,
  type BundleHeader,
  type KioskEntry,
  type RecipientEntry,
  type SiteEntry,
} from './format';
import { decodePayload, encodeDeltaPayload, encodeFullPayload, type DecodedPayload } from './payload';
import { KIOSK_KEY_ALGORITHM, deriveSiteKey, isP256, publicKeyId, type SiteKey, type SitePassphrase } from './keys';
import { MAX_SAFE_U64, equalBytes, invalid, toHex } from './bytes';

const ECDSA_SHA256: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
/** Domain separation for the key-wrapping key: a shared secret from another protocol can never wrap a bundle key. */
const HKDF_LABEL = new TextEncoder().encode('entrance-kiosk watchlist-bundle v1 ecdh-p256 aes-kw');
/** RFC 5869: an absent salt is HashLen zero bytes; spelled out so every implementation agrees. */
const HKDF_SALT = new Uint8Array(32);

interface ExportCommon {
  /** Watchlist version the bundle brings kiosks to; must exceed what they have installed. */
  version: number;
  /** ms since epoch; defaults to now. Informational (shown to guards), never used to accept or refuse. */
  createdAt?: number;
  /** The admin's ECDSA P-256 private key (non-extractable is fine). */
  adminSigningKey: CryptoKey;
  /** Its public half: gives the issuer key id, and the signature is checked against it before the file is handed out. */
  adminPublicKey: CryptoKey;
  /** Paired kiosks' ECDH P-256 public keys; each gets its own recipient entry. */
  recipients?: readonly CryptoKey[];
  /** The site key (from createSiteKey, held by the admin's vault). */
  siteKey?: SiteKey;
}

export type ExportOptions = ExportCommon &
  (
    | { subjects: readonly Subject[]; changes?: never; baseVersion?: never }
    | { changes: DeltaChanges; baseVersion: number; subjects?: never }
  );

export interface OpenOptions {
  /** Admin public keys pinned at provisioning (usually one; two during a key rotation). */
  pinnedAdminKeys: CryptoKey | readonly CryptoKey[];
  /** The watchlist version the kiosk has installed (0 when it has none). */
  installedVersion: number;
  /** The kiosk's ECDH private key (usage deriveBits). */
  kioskPrivateKey?: CryptoKey;
  /** Its public half, to pick the kiosk's own entry directly instead of trying each. */
  kioskPublicKey?: CryptoKey;
  /** The site key held by the vault, or the site passphrase typed by the admin. */
  siteKey?: SiteKey | SitePassphrase;
  /**
   * The kiosk's wall clock (ms). Given, a bundle whose version (an export's wall clock in seconds, or more) lies over
   * VERSION_AHEAD_MAX_S ahead of it is refused: whoever holds a pinned admin key — a stolen desk — could otherwise
   * install version 2^53−1 and no later bundle could ever be newer, the replacement desk's included (attacker review,
   * session 25). Bounded so, such a lock lasts a day at most.
   */
  now?: number;
}

/** How far a bundle's version may lie ahead of the kiosk's clock: a day, for clocks that are set by hand. */
export const VERSION_AHEAD_MAX_S = 86_400;

function inputError(reason: string, details: Record<string, string | number | boolean> = {}): KioskError {
  return new KioskError('INPUT_INVALID', { reason, ...details });
}

function isSafeVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SAFE_U64;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function kekFromSharedSecret(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  ephemeralPoint: Uint8Array<ArrayBuffer>,
  recipientKeyId: Uint8Array<ArrayBuffer>,
  usage: 'wrapKey' | 'unwrapKey',
): Promise<CryptoKey> {
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  // Binding the ephemeral point and the recipient's key id makes each wrapping key specific to one entry.
  const info = concat(HKDF_LABEL, ephemeralPoint, recipientKeyId);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info },
    ikm,
    { name: 'AES-KW', length: 256 },
    false,
    [usage],
  );
}

async function wrapForKiosk(
  contentKey: CryptoKey,
  recipient: CryptoKey,
  keyId: Uint8Array<ArrayBuffer>,
): Promise<KioskEntry> {
  const ephemeral = await crypto.subtle.generateKey(KIOSK_KEY_ALGORITHM, false, ['deriveBits']);
  const point = new Uint8Array(await crypto.subtle.exportKey('raw', ephemeral.publicKey));
  const kek = await kekFromSharedSecret(ephemeral.privateKey, recipient, point, keyId, 'wrapKey');
  const wrappedKey = new Uint8Array(await crypto.subtle.wrapKey('raw', contentKey, kek, 'AES-KW'));
  return { type: 'kiosk', keyId, ephemeralPublicKey: point, wrappedKey };
}

async function wrapForSite(contentKey: CryptoKey, site: SiteKey): Promise<SiteEntry> {
  const wrappedKey = new Uint8Array(await crypto.subtle.wrapKey('raw', contentKey, site.key, 'AES-KW'));
  return { type: 'site', iterations: site.iterations, salt: new Uint8Array(site.salt), wrappedKey };
}

/**
 * Build a signed, encrypted bundle. Throws INPUT_INVALID for a bad subject, version, key or recipient list
 * (details name the field, never a value), BUNDLE_TOO_LARGE past MAX_BUNDLE_BYTES.
 */
export async function exportBundle(opts: ExportOptions): Promise<Uint8Array<ArrayBuffer>> {
  const kind: BundleKind = opts.changes ? 'delta' : 'full';
  if (!isSafeVersion(opts.version) || opts.version < 1) throw inputError('version');
  const baseVersion = kind === 'delta' ? opts.baseVersion : 0;
  if (!isSafeVersion(baseVersion) || (kind === 'delta' && baseVersion >= opts.version))
    throw inputError('base-version');
  const createdAt = opts.createdAt ?? Date.now();
  if (!isSafeVersion(createdAt)) throw inputError('created-at');
  if (!isP256(opts.adminSigningKey, 'ECDSA', 'private') || !isP256(opts.adminPublicKey, 'ECDSA', 'public'))
    throw inputError('admin-key');

  const recipients = opts.recipients ?? [];
  if (recipients.length === 0 && !opts.siteKey) throw inputError('no-recipients');
  if (recipients.length + (opts.siteKey ? 1 : 0) > MAX_RECIPIENTS) throw inputError('too-many-recipients');
  for (const r of recipients) if (!isP256(r, 'ECDH', 'public')) throw inputError('recipient-key');

  const payload = kind === 'delta' ? encodeDeltaPayload(opts.changes!) : encodeFullPayload(opts.subjects!);

  const contentKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  const entries: RecipientEntry[] = [];
  if (opts.siteKey) entries.push(await wrapForSite(contentKey, opts.siteKey));
  const seen = new Set<string>();
  for (const r of recipients) {
    const keyId = await publicKeyId(r);
    // The same kiosk listed twice (e.g. re-paired) needs one entry, not two.
    if (seen.has(toHex(keyId))) continue;
    seen.add(toHex(keyId));
    entries.push(await wrapForKiosk(contentKey, r, keyId));
  }

  const header: BundleHeader = {
    kind,
    version: opts.version,
    baseVersion,
    createdAt,
    issuerKeyId: await publicKeyId(opts.adminPublicKey),
    iv: crypto.getRandomValues(new Uint8Array(IV_BYTES)),
    ciphertextLength: payload.length + GCM_TAG_BYTES,
    recipients: entries,
  };
  const headerBytes = encodeHeader(header);
  if (headerBytes.length + header.ciphertextLength + SIGNATURE_BYTES > MAX_BUNDLE_BYTES) {
    throw new KioskError('BUNDLE_TOO_LARGE', { max: MAX_BUNDLE_BYTES });
  }
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: header.iv, additionalData: headerBytes, tagLength: 128 },
      contentKey,
      payload,
    ),
  );
  const signed = concat(headerBytes, ciphertext);
  const signature = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, opts.adminSigningKey, signed));
  // A mismatched key pair would produce files every kiosk refuses; better to fail here, on the admin's screen.
  if (!(await crypto.subtle.verify(ECDSA_SHA256, opts.adminPublicKey, signature, signed)))
    throw inputError('admin-key-pair-mismatch');
  return concat(signed, signature);
}

async function verifySignature(
  bytes: Uint8Array<ArrayBuffer>,
  issuer: Uint8Array,
  signedEnd: number,
  pinned: readonly CryptoKey[],
): Promise<void> {
  for (const key of pinned) {
    if (!isP256(key, 'ECDSA', 'public')) throw inputError('pinned-admin-key');
  }
  let match: CryptoKey | undefined;
  for (const key of pinned) {
    if (equalBytes(await publicKeyId(key), issuer)) {
      match = key;
      break;
    }
  }
  if (!match) throw new KioskError('BUNDLE_SIGNATURE', { reason: 'unknown-issuer' });
  const ok = await crypto.subtle.verify(ECDSA_SHA256, match, bytes.subarray(signedEnd), bytes.subarray(0, signedEnd));
  if (!ok) throw new KioskError('BUNDLE_SIGNATURE', { reason: 'bad-signature' });
}

async function tryUnwrap(wrapped: Uint8Array<ArrayBuffer>, kek: CryptoKey): Promise<CryptoKey | undefined> {
  try {
    // AES-KW's built-in integrity check is what tells "not my entry / wrong passphrase" from success.
    return await crypto.subtle.unwrapKey('raw', wrapped, kek, 'AES-KW', { name: 'AES-GCM', length: 256 }, false, [
      'decrypt',
    ]);
  } catch {
    return undefined;
  }
}

async function unwrapContentKey(header: BundleHeader, opts: OpenOptions): Promise<CryptoKey> {
  if (opts.kioskPrivateKey) {
    if (!isP256(opts.kioskPrivateKey, 'ECDH', 'private')) throw inputError('kiosk-key');
    const ownId = opts.kioskPublicKey ? await publicKeyId(opts.kioskPublicKey) : undefined;
    for (const entry of header.recipients) {
      if (entry.type !== 'kiosk' || (ownId && !equalBytes(ownId, entry.keyId))) continue;
      let ephemeral: CryptoKey;
      try {
        ephemeral = await crypto.subtle.importKey('raw', entry.ephemeralPublicKey, KIOSK_KEY_ALGORITHM, false, []);
      } catch (e) {
        // Signed by the admin yet not a curve point: a broken admin build, not an attack on this kiosk.
        throw new KioskError('BUNDLE_INVALID', { reason: 'ephemeral-key' }, { cause: e });
      }
      const kek = await kekFromSharedSecret(
        opts.kioskPrivateKey,
        ephemeral,
        entry.ephemeralPublicKey,
        entry.keyId,
        'unwrapKey',
      );
      const key = await tryUnwrap(entry.wrappedKey, kek);
      if (key) return key;
    }
  }
  if (opts.siteKey) {
    for (const entry of header.recipients) {
      if (entry.type !== 'site') continue;
      let site: CryptoKey;
      if ('passphrase' in opts.siteKey) {
        site = (await deriveSiteKey(opts.siteKey.passphrase, entry.salt, entry.iterations)).key;
      } else {
        // A held site key only fits entries made with its own salt and work factor.
        if (opts.siteKey.iterations !== entry.iterations || !equalBytes(opts.siteKey.salt, entry.salt)) continue;
        site = opts.siteKey.key;
      }
      const key = await tryUnwrap(entry.wrappedKey, site);
      if (key) return key;
    }
  }
  const hasSite = header.recipients.some((r) => r.type === 'site');
  const hasKiosk = header.recipients.some((r) => r.type === 'kiosk');
  const details = { siteEntry: hasSite, kioskEntries: hasKiosk, reason: !opts.kioskPrivateKey && !opts.siteKey ? 'no-key-given' : 'no-entry-opened' };
  // The file has a site entry and a typed passphrase opened nothing: the passphrase is wrong (a mistyped one used to
  // read "not made for this kiosk"). With none typed, say that the file opens with one.
  if (hasSite && opts.siteKey && 'passphrase' in opts.siteKey) throw new KioskError('BUNDLE_SITE_PASSPHRASE', details);
  throw new KioskError('BUNDLE_NOT_FOR_KIOSK', hasSite && !opts.siteKey ? { ...details, rule: 'sitePassphraseNeeded' } : details);
}

/** Own, immutable copy: the caller's buffer could change between verification and decryption otherwise. */
function ownCopy(input: Uint8Array | ArrayBuffer): Uint8Array<ArrayBuffer> {
  if (input instanceof ArrayBuffer) return new Uint8Array(input.slice(0));
  if (input instanceof Uint8Array) return new Uint8Array(input);
  throw new KioskError('BUNDLE_INVALID', { reason: 'not-bytes' });
}

/**
 * Verify, check the version, decrypt and parse a bundle. Resolves only with the complete verified contents;
 * otherwise rejects with BUNDLE_INVALID (not a well-formed bundle), BUNDLE_TOO_LARGE, BUNDLE_SIGNATURE (not signed
 * by a pinned admin key, or altered), BUNDLE_ALREADY_INSTALLED (version = installed), BUNDLE_ROLLBACK (version < installed, or a delta whose base is not the
 * installed version), BUNDLE_VERSION_AHEAD (version over a day ahead of `now`), BUNDLE_SITE_PASSPHRASE (the site passphrase typed does not open the file's site entry),
 * BUNDLE_NOT_FOR_KIOSK (no other recipient entry opens with the keys given).
 */
export async function openBundle(input: Uint8Array | ArrayBuffer, opts: OpenOptions): Promise<BundleContents> {
  if (!isSafeVersion(opts.installedVersion)) throw inputError('installed-version');
  const size = input instanceof ArrayBuffer || input instanceof Uint8Array ? input.byteLength : 0;
  if (size > MAX_BUNDLE_BYTES) throw new KioskError('BUNDLE_TOO_LARGE', { size, max: MAX_BUNDLE_BYTES });
  const bytes = ownCopy(input);

  const { header, headerEnd, signedEnd } = parseBundleLayout(bytes);
  const pinned = Array.isArray(opts.pinnedAdminKeys)
    ? (opts.pinnedAdminKeys as readonly CryptoKey[])
    : [opts.pinnedAdminKeys as CryptoKey];
  if (pinned.length === 0) throw inputError('no-pinned-admin-key');
  await verifySignature(bytes, header.issuerKeyId, signedEnd, pinned);

  // From here on the header is the admin's own words.
  if (opts.now !== undefined && header.version > Math.floor(opts.now / 1000) + VERSION_AHEAD_MAX_S) {
    throw new KioskError('BUNDLE_VERSION_AHEAD', { bundle: header.version, limit: Math.floor(opts.now / 1000) + VERSION_AHEAD_MAX_S });
  }
  // The same version again is not a rollback: say it is already there (nothing to do), not that it is older.
  if (header.version === opts.installedVersion) {
    throw new KioskError('BUNDLE_ALREADY_INSTALLED', { installed: opts.installedVersion, bundle: header.version });
  }
  if (header.version <= opts.installedVersion) {
    throw new KioskError('BUNDLE_ROLLBACK', {
      reason: 'not-newer',
      installed: opts.installedVersion,
      bundle: header.version,
    });
  }
  if (header.kind === 'delta' && header.baseVersion !== opts.installedVersion) {
    throw new KioskError('BUNDLE_ROLLBACK', {
      reason: 'base-mismatch',
      installed: opts.installedVersion,
      base: header.baseVersion,
    });
  }

  const contentKey = await unwrapContentKey(header, opts);
  let plaintext: Uint8Array<ArrayBuffer>;
  try {
    plaintext = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: header.iv, additionalData: bytes.subarray(0, headerEnd), tagLength: 128 },
        contentKey,
        bytes.subarray(headerEnd, signedEnd),
      ),
    );
  } catch (e) {
    throw new KioskError('BUNDLE_INVALID', { reason: 'decrypt' }, { cause: e });
  }

  let decoded: DecodedPayload;
  try {
    decoded = decodePayload(header.kind, plaintext);
  } catch (e) {
    if (isKioskError(e)) throw e;
    throw invalid('payload');
  }
  const common = { version: header.version, createdAt: header.createdAt, issuerKeyId: toHex(header.issuerKeyId) };
  if (decoded.kind === 'full') return { kind: 'full', baseVersion: 0, ...common, subjects: decoded.subjects };
  return {
    kind: 'delta',
    baseVersion: header.baseVersion,
    ...common,
    upserts: decoded.upserts,
    deletions: decoded.deletions,
  };
}

/** What the header of a file claims, for a preview before the passphrase prompt. UNVERIFIED: never act on it. */
export interface BundleSummary {
  kind: BundleKind;
  version: number;
  baseVersion: number;
  createdAt: number;
  issuerKeyId: string;
  /** PBKDF2 site entries: the site passphrase (or a held site key) can open it. */
  siteEntries: number;
  /** Key ids (hex) of the kiosks it is encrypted to. */
  kioskKeyIds: string[];
  size: number;
}

/** Parse only the framing (BUNDLE_INVALID if malformed). The result is unauthenticated. */
export function inspectBundle(input: Uint8Array | ArrayBuffer): BundleSummary {
  const bytes = ownCopy(input);
  const { header } = parseBundleLayout(bytes);
  return {
    kind: header.kind,
    version: header.version,
    baseVersion: header.baseVersion,
    createdAt: header.createdAt,
    issuerKeyId: toHex(header.issuerKeyId),
    siteEntries: header.recipients.filter((r) => r.type === 'site').length,
    kioskKeyIds: header.recipients.flatMap((r) => (r.type === 'kiosk' ? [toHex(r.keyId)] : [])),
    size: bytes.length,
  };
}
