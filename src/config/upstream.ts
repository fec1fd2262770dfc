/**
 * The upstream origin, fixed at build time: the one host besides the app's own origin that the kiosk may talk to.
 *
 * KIOSK_UPSTREAM (default the local reference receiver) goes into the Content-Security-Policy too, so the egress
 * allowlist is part of the deployed app and cannot be widened from the admin screen: a stolen passphrase cannot
 * redirect decisions to another host. The admin only picks a path on it (src/config/kiosk.ts `upstreamPath`).
 * Owns this constant only; it never opens a connection.
 */

declare const __KIOSK_UPSTREAM__: string;

/** Origin of the upstream receiver this build may talk to (CSP connect-src allows exactly this and 'self'). */
export const UPSTREAM_ORIGIN: string = typeof __KIOSK_UPSTREAM__ === 'string' ? __KIOSK_UPSTREAM__ : 'http://127.0.0.1:8787';
