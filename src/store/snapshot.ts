/**
 * The shape of the vault's verified index snapshot: what the sealed root said (generation, page versions, settings
 * version, bundle version) when it was last opened. Data only, so the vault core can hold one and manifest.ts can
 * produce one without the two importing each other (that pair was the only import cycle in src; the unit test
 * test/unit/import-cycles.test.ts keeps src free of cycles). Sealing and opening stay in manifest.ts.
 */
export interface IndexSnapshot {
  /** The verified generation (0 before set-up, or when the root could not be read). */
  gen: number;
  /** The root record's clear version as stored, even if it failed to open: what a writer compares against. */
  rawGen: number;
  settingsV: number;
  /** Current version of every subject page; null when the root could not be verified. */
  pages: Map<number, number> | null;
  /** The next never-used page number; new subjects fill page nextPage - 1 first. */
  nextPage: number;
  /** About how many bytes page nextPage - 1 holds (a placement hint only: it never decides what is valid). */
  lastPageBytes: number;
  /** Version of the last watchlist bundle applied (0: none); sealed here so a rollback of it is a rollback of all. */
  watchlistVersion: number;
  issues: string[];
}
