/**
 * Installing a signed watchlist bundle, the one path for a file an admin imports and for a bundle the kiosk pulls
 * from the receiver: the same pinning (the signature must verify against an admin key this kiosk pinned), the same
 * rollback rule (nothing older than, or equal to, the installed version; a delta only onto its base) and the same
 * atomic apply (the vault writes the plan in one transaction with a version compare-and-set).
 *
 * Owns the sync key record the admin screens keep in the vault (`SyncKeys`). Needs only the device unlock: the
 * bundle's signature is the admin's authority, so a kiosk updates unattended; callers that act for a person (the
 * file import) ask the authority first. The plan is computed against the vault's watchlist, never against memory.
 * On any failure the installed watchlist is untouched and the KioskError says why (BUNDLE_SIGNATURE, BUNDLE_ROLLBACK,
 * BUNDLE_INVALID, …). It says what it installed (version, kind, the signing key's fingerprint) for the audit entry
 * its callers write (src/app/sync-service.ts, for a file and for a pull); it writes no audit itself, and never
 * fetches: transport is src/sync/transport.ts.
 */
import { applyPlan, formatFingerprint, keepLocalRevocations, openBundle, type BundleKind } from '../sync';
import { holdsForInstall } from './local-revocations';
import { KioskError } from '../shared/errors';
import { loadIncomplete, type Vault } from '../store';

/** Key records the admin screens keep in the vault (sealed inside it; private halves come back non-extractable). */
export interface SyncKeys {
  /**
   * This tablet's admin signing pair, in records written before session 26 only: it now lives in the admin-only
   * 'sync-admin' record (src/app/sync-service.ts adminPair); one found here is dropped, not moved (keys()).
   */
  admin?: CryptoKeyPair;
  /** This kiosk's ECDH key pair for receiving bundles. */
  kiosk?: CryptoKeyPair;
  /** Admin public keys this kiosk trusts (pinned by an admin after comparing fingerprints; removable). */
  pinnedAdmins?: CryptoKey[];
  /** Kiosks this admin exports to (added by an admin after comparing fingerprints; removable). */
  recipients?: { fingerprint: string; key: CryptoKey }[];
  /** Highest bundle version this admin has exported. */
  exportedVersion?: number;
  /**
   * What the last export (full or changes) carried: its version and each person's last-change time, so the next
   * "changes" bundle holds exactly who was added, edited or deleted since (a delta applies only on that version).
   */
  exported?: { version: number; stamps: Record<string, number> };
}

export async function syncKeys(vault: Vault): Promise<SyncKeys> {
  return ((await vault.keys.get('sync')) as SyncKeys | undefined) ?? {};
}

export interface Applied {
  version: number;
  subjects: number;
  kind: BundleKind;
  /** Fingerprint of the pinned admin key that signed the bundle (as the sync card shows fingerprints). */
  issuer: string;
  /** People the bundle would have re-allowed whom an admin revoked on this tablet: kept revoked. */
  keptRevoked: number;
}

/** The fingerprint of a key id in hex (a verified bundle's issuer): its first 128 bits, grouped as keyFingerprint does. */
function fingerprintOfKeyId(hex: string): string {
  return formatFingerprint(Uint8Array.from(hex.match(/[0-9a-f]{2}/gi) ?? [], (b) => parseInt(b, 16)));
}

/** Verify, decrypt and install `bytes`; resolves once the vault holds the new watchlist. */
export async function installBundle(vault: Vault, bytes: Uint8Array, opts: { sitePassphrase?: string; now: number }): Promise<Applied> {
  const k = await syncKeys(vault);
  if (!k.pinnedAdmins?.length) throw new KioskError('BUNDLE_SIGNATURE', { reason: 'no-pinned-admin-key' });
  const installedVersion = await vault.watchlistVersion();
  const contents = await openBundle(bytes, {
    pinnedAdminKeys: k.pinnedAdmins,
    installedVersion,
    now: opts.now,
    ...(k.kiosk ? { kioskPrivateKey: k.kiosk.privateKey, kioskPublicKey: k.kiosk.publicKey } : {}),
    ...(opts.sitePassphrase ? { siteKey: { passphrase: opts.sitePassphrase } } : {}),
  });
  // Read and written as one change: an admin's delete committed between reading this tablet's revocations and
  // writing the plan was undone by the bundle's list (review, session 27).
  const { plan, kept } = await vault.asOneChange(async () => {
    const { subjects, report } = await vault.loadWatchlist();
    // Planned from a list that lost pages (or holds people back), a bundle's deletions of people not in it were
    // dropped as "not installed" and its version moved on: after the admin's rebuild a revoked person was back
    // (review, session 24). Installing waits for the rebuild, as exporting does.
    if (loadIncomplete(report)) throw new KioskError('STORE_CORRUPT_RECORD', { reason: 'install-incomplete' });
    // People revoked on this tablet stay revoked (src/app/local-revocations.ts); read before anything is written.
    const planned = keepLocalRevocations(applyPlan({ version: installedVersion, subjects }, contents), await holdsForInstall(vault, subjects), subjects);
    await vault.applyWatchlistPlan(planned.plan);
    return planned;
  });
  return {
    version: plan.toVersion,
    subjects: plan.subjects.length,
    kind: contents.kind,
    issuer: fingerprintOfKeyId(contents.issuerKeyId),
    keptRevoked: kept.length,
  };
}
