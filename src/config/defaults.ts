/**
 * Embedded defaults: what a freshly installed kiosk runs with before an admin changes anything.
 *
 * The upstream origin is fixed at build time (KIOSK_UPSTREAM, default the local reference receiver) because the
 * same value goes into the Content-Security-Policy: the egress allowlist is part of the deployed app and cannot be
 * widened from the admin screen, so a stolen passphrase cannot redirect decisions to another host.
 */

declare const __KIOSK_UPSTREAM__: string;

/** Origin of the upstream receiver this build may talk to (CSP connect-src allows exactly this and 'self'). */
export const UPSTREAM_ORIGIN: string = typeof __KIOSK_UPSTREAM__ === 'string' ? __KIOSK_UPSTREAM__ : 'http://127.0.0.1:8787';

export const DEFAULTS = {
  /** Where signed decisions are POSTed. Must stay on UPSTREAM_ORIGIN. */
  upstreamUrl: `${UPSTREAM_ORIGIN}/decisions`,
  /** Camera constraints for the kiosk preview. */
  camera: { width: 640, height: 480, frameRate: 15 },
  /** Longest the detector may take per frame before the worker is restarted (ms). */
  detectTimeoutMs: 10_000,
} as const;
