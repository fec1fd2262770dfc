/**
 * Data shapes of the watchlist sync: what a verified bundle contains and what the store is asked to write.
 *
 * Data only, no behaviour, so the pure plan function and its Node unit tests can import it without pulling in
 * WebCrypto or the DOM. Nothing here is ever built from an unverified bundle: a BundleContents value exists only
 * after the signature, the version checks and the decryption all succeeded.
 */
import type { Subject } from '../shared/types';

export type BundleKind = 'full' | 'delta';

/** Changes since a base version: subjects to insert or replace whole, ids to remove. Disjoint. */
export interface DeltaChanges {
  upserts: Subject[];
  deletions: string[];
}

interface ContentsBase {
  /** Watchlist version this bundle brings the kiosk to (monotonic, >= 1). */
  version: number;
  /** When the admin made the bundle (ms since epoch; informational, never used to decide). */
  createdAt: number;
  /** SHA-256 of the signing admin key's SPKI, hex: which pinned key verified it. */
  issuerKeyId: string;
}

/** A full watchlist: the kiosk's set becomes exactly `subjects`. */
export interface FullContents extends ContentsBase {
  kind: 'full';
  baseVersion: 0;
  subjects: Subject[];
}

/** A delta: applies only to a kiosk whose installed version is exactly `baseVersion`. */
export interface DeltaContents extends ContentsBase, DeltaChanges {
  kind: 'delta';
  baseVersion: number;
}

/** The verified, decrypted content of a bundle (the result of openBundle). */
export type BundleContents = FullContents | DeltaContents;

/** What the kiosk has installed, as the store read it inside the transaction that will apply the plan. */
export interface InstalledWatchlist {
  version: number;
  subjects: readonly Subject[];
}

/**
 * Everything the store must write, in one transaction: either replace the whole set with `subjects`, or apply
 * `puts` and `deletes`; both give the same end state. The installed version becomes `toVersion` in the same
 * transaction, and only if it still is `fromVersion` when the transaction reads it.
 */
export interface WatchlistPlan {
  kind: BundleKind;
  fromVersion: number;
  toVersion: number;
  /** The complete new watchlist, sorted by id. */
  subjects: Subject[];
  /** Records to write (insert or replace whole). */
  puts: Subject[];
  /** Ids to remove (only ids that are installed). */
  deletes: string[];
}
