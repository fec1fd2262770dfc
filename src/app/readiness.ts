/**
 * When a kiosk counts as set up: may it decide at all, and may it sign and queue a decision for upstream.
 *
 * Set up means: the admin finished set-up (the vault exists and is open, phase 'running'), someone is enrolled for
 * the kiosk's mode (a face template of the active embedder in face mode, a plate in plate mode), and, for anything
 * to leave the device, the kiosk is paired with the receiver it sends to. Before that a kiosk decides nothing, and
 * an unpaired kiosk decides only on its own screens and audit: it signs and queues nothing, so no stale decision is
 * delivered (and no door actuated) when it is paired later.
 * Owns that one rule. Must never: read the store, the clock or the network; the controller passes the facts.
 */

export interface ReadinessFacts {
  /** The controller's phase ('running' = vault open, settings and watchlist loaded). */
  phase: string;
  mode: 'face' | 'plate';
  /** Face templates of the active embedder in the loaded watchlist. */
  templates: number;
  /** Plates in the loaded watchlist. */
  plates: number;
  /** Origin the kiosk's decision key is paired with, if any. */
  pairedOrigin: string | undefined;
  /** Origin decisions go to (the build's upstream). */
  upstreamOrigin: string;
}

export type NotReady = 'setup' | 'watchlist' | 'pairing';

export interface Readiness {
  /** Frames may be turned into decisions (screens, guard log, audit). */
  decide: boolean;
  /** Decisions may be signed and queued for upstream. */
  send: boolean;
  /** What is missing, in the order an admin fixes it. */
  missing: NotReady[];
}

export function kioskReadiness(f: ReadinessFacts): Readiness {
  const missing: NotReady[] = [];
  if (f.phase !== 'running') missing.push('setup');
  if ((f.mode === 'face' ? f.templates : f.plates) === 0) missing.push('watchlist');
  if (f.pairedOrigin !== f.upstreamOrigin) missing.push('pairing');
  const decide = !missing.includes('setup') && !missing.includes('watchlist');
  return { decide, send: decide && !missing.includes('pairing'), missing };
}
