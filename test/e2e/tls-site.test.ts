/**
 * The receiver on a site network (issue 18): it serves the built kiosk app and takes its decisions over TLS, on a
 * LAN-looking host name, from a certificate issued by the site CA it made at first start. Chromium resolves the
 * name to loopback (--host-resolver-rules) and trusts that one CA only, by its SPKI hash
 * (--ignore-certificate-errors-spki-list; never a blanket ignore): a secure context, so the app's own service
 * worker registration (src/offline/register.ts) installs and controls the page, the camera opens, WebCrypto signs,
 * and a verified grant arrives at the receiver; then the receiver is stopped and a reload still starts the kiosk,
 * from the service worker's cache alone, and it still recognises. The app is built here for that HTTPS origin
 * (KIOSK_UPSTREAM), since the upstream origin and the CSP are fixed at build time; the build inherits vitest's
 * NODE_ENV=test on purpose: such a build once skipped its service worker without a word (register.ts says why).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT, freePort, httpsGetAs, loggedOrders, startReceiver, until, type ReceiverProcess } from '../receiver/helpers';
import { launch, type Browser } from './harness';
import { enrolPhotos, outcome, setPadPolicy, setupKiosk, visitorResult, waitForGuardOutcome } from './flows';

const HOST = 'kiosk-receiver.site.test';

describe('the receiver on a site network, over TLS', () => {
  it('serves the app on a LAN name from its own CA; its service worker, camera and a verified grant work, then offline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-tls-'));
    const port = await freePort();
    const origin = `https://${HOST}:${port}`;
    const distDir = join(dir, 'dist');
    const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn', '--outDir', distDir, '--emptyOutDir'], {
      cwd: ROOT,
      // A production build (no test hooks): the receiver's --app refuses an e2e build.
      env: { ...process.env, KIOSK_UPSTREAM: origin, KIOSK_TEST_HOOKS: '0' },
      encoding: 'utf8',
    });
    expect(build.status, build.stderr).toBe(0);
    expect(readFileSync(join(distDir, 'index.html'), 'utf8').replace(/&#39;/g, "'")).toContain(`connect-src 'self' ${origin}`);

    const dataDir = join(dir, 'receiver');
    let receiver: ReceiverProcess | undefined;
    let b: Browser | undefined;
    try {
      receiver = await startReceiver([
        '--port',
        String(port),
        '--data',
        dataDir,
        '--tls',
        '--tls-name',
        HOST,
        '--app',
        distDir,
        '--origin',
        origin,
      ]);
      expect(receiver.url).toBe(`https://127.0.0.1:${port}`);
      const m =
        /TLS from the site CA (\S+) \(made now\): SHA-256 fingerprint ([0-9A-F:]{95}), SPKI sha256\/(\S+);/.exec(
          receiver.output(),
        );
      expect(m, receiver.output()).not.toBeNull();
      const [, caFile, , spki] = m!;
      const ca = readFileSync(caFile!, 'utf8');
      // The certificate is good for the LAN name only because of the site CA: nobody trusts it by default.
      expect(await httpsGetAs(port, HOST, '/health', ca)).toBe(200);
      expect(await httpsGetAs(port, HOST, '/health', undefined)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);

      b = await launch({
        fakeCamera: inject('feeds').personAOther,
        userDataDir: join(dir, 'profile'),
        extraArgs: [`--host-resolver-rules=MAP ${HOST} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${spki}`],
      });
      await setupKiosk(b.page, `${origin}/`);
      // The fake camera loops a still photo, which PAD would rightly refuse (test/e2e/liveness.test.ts covers PAD).
      await setPadPolicy(b.page, 'off');
      expect(await b.page.evaluate(() => [window.isSecureContext, location.origin])).toEqual([true, origin]);
      // The app registers its own service worker on the site origin; first run ends when every precache entry is in
      // Cache Storage, and the worker then controls this page (clients.claim on activation).
      await b.page.waitForFunction(
        () => document.querySelector('[data-testid=precache-progress]')?.getAttribute('aria-valuenow') === '100',
        undefined,
        { timeout: 120_000, polling: 500 },
      );
      const sw = await b.page.evaluate(async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        let cached = 0;
        for (const name of await caches.keys()) cached += (await (await caches.open(name)).keys()).length;
        return {
          scope: reg?.scope,
          active: reg?.active?.state,
          script: reg?.active?.scriptURL,
          controller: navigator.serviceWorker.controller?.scriptURL ?? null,
          cached,
        };
      });
      expect(sw).toEqual({
        scope: `${origin}/`,
        active: 'activated',
        script: `${origin}/sw.js`,
        controller: `${origin}/sw.js`,
        cached: expect.any(Number),
      });
      expect(sw.cached).toBeGreaterThan(10);
      const pairing = b.page.getByTestId('section-pairing');
      await pairing.getByTestId('pair-code').fill(receiver.pairingCode);
      await pairing.getByTestId('pair-submit').click();
      const paired = await outcome(b.page, 'pair-message');
      expect(paired.tone, paired.text).toBe('ok');
      expect((await enrolPhotos(b.page, 'Person A', 'allow', [inject('photos').personA])).tone).toBe('ok');
      await b.page.goto(`${origin}/#/guard`);
      await waitForGuardOutcome(b.page, 'grant');
      const grant = await until(
        () => loggedOrders(dataDir).find((o) => o.decision === 'grant' && o.actuate === true),
        60_000,
        'a verified grant at the receiver',
      );
      expect(grant).toMatchObject({ kiosk: expect.any(String), stale: false });
      expect(b.pageErrors).toEqual([]);
      expect(b.cspConsole).toEqual([]);

      // The site's server goes away: a reload must still start the kiosk (shell, workers, wasm and models all from
      // the service worker's precache) and it must still recognise the enrolled person.
      await receiver.stop();
      receiver = undefined;
      await b.page.evaluate(() => (location.hash = '#/'));
      await b.page.reload();
      expect(await b.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toBe(`${origin}/sw.js`);
      expect((await visitorResult(b.page, 'grant')).tone).toBe('grant');
      expect(b.pageErrors).toEqual([]);
      expect(b.cspConsole).toEqual([]);
    } finally {
      await b?.close();
      await receiver?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
