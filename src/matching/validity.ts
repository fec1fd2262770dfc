/**
 * When a watchlist entry may be let in: its validity period against the wall clock. One rule for faces and plates
 * (validFrom inclusive, validUntil exclusive, so "expire now" takes effect at once). Pure; the caller passes the
 * wall time from its Clock and never a frame timestamp.
 */

export interface Validity {
  validFrom?: number;
  validUntil?: number;
}

/** Whether an entry with this validity may be let in at wall time `wall` (ms since the epoch). */
export function validAt(s: Validity, wall: number): boolean {
  return (s.validFrom === undefined || wall >= s.validFrom) && (s.validUntil === undefined || wall < s.validUntil);
}
