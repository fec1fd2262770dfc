/**
 * Plate match settings: how close a read must be to a listed plate, how many frames must agree, and which
 * region's format rules judge a read — each with its default and unit where it is declared.
 *
 * Owns defaults and validation only; it never reads storage, pixels or the network, and decides nothing
 * (src/matching/plates/decide.ts does, with these values). `resolvePlateMatchConfig()` merges partial overrides
 * (the admin's settings) onto the defaults and refuses a bad value with CONFIG_INVALID naming the field: a bad
 * bound would silently widen who gets in, and an unknown region would silently judge reads by another country's
 * rules. The plate pipeline's own tunables (detector scales, crop margins, reader weights) are measured constants
 * the product never changes: src/inference/worker/plate/plate-pipeline.ts, with the measurements in docs/plates.md.
 */
import { KioskError } from '../shared/errors';

/** Regions with format rules (src/matching/plates/formats.ts REGION_RULES; a unit test keeps the two equal). */
export const PLATE_REGIONS = ['us', 'eu', 'br', 'cn'] as const;
export type PlateRegion = (typeof PLATE_REGIONS)[number];

export interface PlateMatchConfig {
  /** A listed plate matches when the confusion-weighted distance (edit cost, 1 per clear character difference)
   * is at most this. Default 0.5: look-alikes only (two strong ones or one medium); [0, 1), so a clear
   * one-character difference never matches. */
  maxDistance: number;
  /** A second subject within maxDistance + this margin (same unit) makes the outcome uncertain. Default 0.25, ≥ 0. */
  ambiguityMargin: number;
  /** Frames that must agree on the consensus (count). Default 2, integer 1..100. */
  minSupport: number;
  /** Confidence share of the agreeing frames among all frames with a read (0..1). Default 0.6. */
  minAgreement: number;
  /** Minimum consensus confidence (0..1). Default 0.5. */
  minConfidence: number;
  /** Minimum plate-likeness of the consensus for the region (0..1). Default 0.3. */
  minLikeness: number;
  /** Region whose format rules judge plate-likeness (one of PLATE_REGIONS). Default 'us'. */
  region: string;
}

export const DEFAULT_PLATE_MATCH: Readonly<PlateMatchConfig> = {
  maxDistance: 0.5,
  ambiguityMargin: 0.25,
  minSupport: 2,
  minAgreement: 0.6,
  minConfidence: 0.5,
  minLikeness: 0.3,
  region: 'us',
};

const KEYS = Object.keys(DEFAULT_PLATE_MATCH) as (keyof PlateMatchConfig)[];
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const share = (v: unknown) => num(v) && v >= 0 && v <= 1;

const CHECKS: Record<keyof PlateMatchConfig, (v: unknown) => boolean> = {
  maxDistance: (v) => num(v) && v >= 0 && v < 1,
  ambiguityMargin: (v) => num(v) && v >= 0 && v <= 10,
  minSupport: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 100,
  minAgreement: share,
  minConfidence: share,
  minLikeness: share,
  region: (v) => typeof v === 'string' && (PLATE_REGIONS as readonly string[]).includes(v),
};

/** Throws CONFIG_INVALID naming the first bad field (`maxDistance`, `region`, …) of a whole config. */
export function validatePlateMatchConfig(c: PlateMatchConfig): PlateMatchConfig {
  for (const k of KEYS) if (!CHECKS[k](c[k])) throw new KioskError('CONFIG_INVALID', { field: k });
  return c;
}

/** Defaults with `o` merged in, validated; an unknown key is refused too (a misspelt setting must not vanish). */
export function resolvePlateMatchConfig(o: Partial<PlateMatchConfig> = {}): PlateMatchConfig {
  for (const k of Object.keys(o)) if (!(KEYS as string[]).includes(k)) throw new KioskError('CONFIG_INVALID', { field: k });
  const merged: Record<string, unknown> = { ...DEFAULT_PLATE_MATCH };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) merged[k] = v;
  return validatePlateMatchConfig(merged as unknown as PlateMatchConfig);
}
