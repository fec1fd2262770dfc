// @ts-check
/**
 * How every test launches Debian's Chromium (see ../shared/docs/browser-testing.md for why each flag is here).
 * The background-networking flags stop Chromium itself from calling Google's hosts, so the network log a test
 * records holds only what the kiosk asked for.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * @param {{ fakeCamera?: string | null, fakeDevice?: boolean, webgpu?: boolean, extra?: string[] }} [opts]
 *   fakeCamera: absolute path of a .y4m feed, or null for no camera flags at all.
 *   fakeDevice: Chromium's built-in fake camera (an animated test pattern, a new picture every frame), no file.
 * @returns {string[]}
 */
export function chromiumArgs(opts = {}) {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--metrics-recording-only',
    '--no-pings',
  ];
  if (opts.fakeCamera || opts.fakeDevice) args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream');
  if (opts.fakeCamera) args.push(`--use-file-for-fake-video-capture=${opts.fakeCamera}`);
  if (opts.webgpu) args.push('--enable-unsafe-webgpu');
  return [...args, ...(opts.extra ?? [])];
}
