// @ts-check
/**
 * The upstream origin the e2e build is made for (and the e2e servers allow in their CSP): a port of its own, so a
 * kiosk started with `npm start` (receiver on 8787) and the tests never meet. KIOSK_E2E_RECEIVER_PORT moves it, so
 * two checkouts can run their e2e tests on one machine at once (the build, the servers and the tests all read it
 * here; scripts/test.mjs builds with it).
 */
export const E2E_RECEIVER_PORT = Number(process.env['KIOSK_E2E_RECEIVER_PORT'] ?? 18787);
export const E2E_UPSTREAM = `http://127.0.0.1:${E2E_RECEIVER_PORT}`;
