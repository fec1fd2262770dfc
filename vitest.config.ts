/**
 * Test projects, split by the runtime they run in (as workbox does):
 * - unit:    pure functions in Node (matching maths, policies, manifest checks);
 * - browser: modules that need real browser APIs (IndexedDB, WebCrypto, workers, wasm) in Debian's Chromium;
 * - e2e:     the built kiosk served over loopback, driven by playwright-core with a fake camera.
 */
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { securityHeaders } from './scripts/security-headers.mjs';
import { chromiumArgs, CHROMIUM_PATH } from './test/helpers/chromium.mjs';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        server: { headers: securityHeaders() },
        optimizeDeps: { exclude: ['onnxruntime-web'] },
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: chromiumArgs() },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
