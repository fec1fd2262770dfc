/**
 * Public surface of the watchlist sync: make and open signed, encrypted bundles; plan their application; move
 * them by file or LAN pull; manage the admin and kiosk keys involved.
 *
 * Callers import from here, not from the files behind it. Nothing in src/sync persists keys or subjects or opens
 * IndexedDB: the vault stores the CryptoKeys and applies a WatchlistPlan in one transaction.
 */
export {
  exportBundle,
  openBundle,
  inspectBundle,
  type ExportOptions,
  type OpenOptions,
  type BundleSummary,
} from './bundle';
export {
  applyPlan,
  changesSince,
  diffWatchlists,
  copiesOfFace,
  keepLocalRevocations,
  sameSubject,
  type LocalRevocation,
  type Tombstone,
} from './plan';
export {
  generateAdminKeyPair,
  generateKioskKeyPair,
  importAdminPublicKey,
  importKioskPublicKey,
  exportPublicKey,
  publicKeyId,
  keyFingerprint,
  formatFingerprint,
  createSiteKey,
  deriveSiteKey,
  type SiteKey,
  type SitePassphrase,
  type PublicKeyData,
} from './keys';
export {
  BUNDLE_MIME,
  BUNDLE_EXTENSION,
  BUNDLE_PULL_PATH,
  bundleBlob,
  bundleFileName,
  downloadBundle,
  shareBundle,
  readBundleFile,
  readBundleFromInput,
  readBundleFromDrop,
  singleFile,
  pullBundle,
  type ReadOptions,
  type PullOptions,
  type PullSignature,
} from './transport';
export { MAX_BUNDLE_BYTES, MIN_PBKDF2_ITERATIONS } from './format';
export type {
  BundleContents,
  BundleKind,
  DeltaChanges,
  FullContents,
  DeltaContents,
  InstalledWatchlist,
  WatchlistPlan,
} from './types';
