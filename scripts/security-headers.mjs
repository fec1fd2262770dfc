// @ts-check
/**
 * Security headers for every server that hands out the kiosk (vite dev, vite preview, scripts/serve.mjs).
 *
 * One place decides the egress policy: the page may talk to its own origin and to the configured upstream
 * receiver, nothing else. COOP/COEP make the page crossOriginIsolated so onnxruntime-web can use
 * SharedArrayBuffer threads. 'wasm-unsafe-eval' is the narrowest grant that lets MediaPipe, ORT and tesseract
 * compile WebAssembly; no 'unsafe-eval' is granted.
 */

/** Default upstream: the local reference receiver started by `npm start`. */
export const DEFAULT_UPSTREAM = 'http://127.0.0.1:8787';

/** The upstream origin this build/server allows (KIOSK_UPSTREAM, default the local receiver). */
export function upstreamOrigin() {
  return new URL(process.env.KIOSK_UPSTREAM ?? DEFAULT_UPSTREAM).origin;
}

/**
 * `dev`: Vite's dev server, which injects the stylesheet as inline <style> elements (hot reload), so only there
 * does style-src allow 'unsafe-inline'. The built app links its CSS and sets no style attribute: everywhere a tablet
 * is served from (the built page's meta policy, `vite preview`, scripts/serve.mjs, the receiver's --app) inline
 * styles are refused, so a markup sink added by mistake could not be used to restyle or exfiltrate through CSS
 * (injection review, session 24).
 * @param {{ upstream?: string, dev?: boolean }} [opts]
 * @returns {Record<string, string>}
 */
export function securityHeaders(opts = {}) {
  const upstream = opts.upstream ? new URL(opts.upstream).origin : upstreamOrigin();
  const csp = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    `connect-src 'self' ${upstream}`,
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    opts.dev ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "manifest-src 'self'",
  ].join('; ');
  return {
    'Content-Security-Policy': csp,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'Permissions-Policy': 'camera=(self), microphone=(), geolocation=()',
  };
}
