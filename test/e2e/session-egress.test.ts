/**
 * Issue 6's whole-session proof with the real reference receiver over loopback: the kiosk pairs with the receiver,
 * enrols a person, grants them at the camera and denies a stranger, then enrols a plate, grants that car and denies
 * another; every decision arrives and verifies. Over the
 * whole session every request the browser made went to the kiosk's origin or the receiver, every body sent to the
 * receiver passes the receiver's exact schema check, is under 512 bytes, and holds no image, template or name.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDecisionBody } from '../../receiver/protocol.mjs';
import { E2E_RECEIVER_PORT, E2E_UPSTREAM } from '../helpers/e2e-env.mjs';
import { journal, startReceiver, until, type ReceiverProcess } from '../receiver/helpers';
import { foreignRequests, launch, netLogRequests, startKiosk, type Browser } from './harness';
import { enrolPhotos, openGuardScreen, outcome, setPadPolicy, setupKiosk, unlockAdmin, waitForGuardOutcome } from './flows';
import { PLATE_FEEDS } from '../fixtures/feeds.mjs';

/** The decision inside a signed envelope (the payload is a JSON string inside the JSON envelope). */
function decisionOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  return (JSON.parse((JSON.parse(body) as { payload: string }).payload) as { decision?: string }).decision;
}

interface Sent {
  url: string;
  method: string;
  body: string | null;
}

describe('a whole session, recorded', () => {
  it('sends only signed, minimal yes/no decisions to the receiver and nothing anywhere else', async () => {
    const feeds = inject('feeds');
    const photos = inject('photos');
    const plateFeeds = inject('plateFeeds');
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-session-'));
    const server = await startKiosk(inject('distDir'));
    const origin = new URL(server.url).origin;
    const receiver: ReceiverProcess = await startReceiver([
      '--host', '127.0.0.1', '--port', String(E2E_RECEIVER_PORT), '--data', join(dir, 'receiver'), '--origin', origin,
    ]);
    const sent: Sent[] = [];
    const netLogs: string[] = [];
    const browsers: Browser[] = [];
    const record = (b: Browser) => {
      browsers.push(b);
      netLogs.push(b.netLogPath);
      b.context.on('request', (r) => sent.push({ url: r.url(), method: r.method(), body: r.postData() }));
      return b;
    };
    try {
      let b = record(await launch({ fakeCamera: feeds.personAOther, userDataDir: join(dir, 'kiosk') }));
      await setupKiosk(b.page, server.url);
      await setPadPolicy(b.page, 'off');
      const pairing = b.page.getByTestId('section-pairing');
      await pairing.getByTestId('pair-code').fill(receiver.pairingCode);
      await pairing.getByTestId('pair-submit').click();
      const paired = await outcome(b.page, 'pair-message');
      expect(paired.tone, paired.text).toBe('ok');
      expect((await enrolPhotos(b.page, 'Person A', 'allow', [photos.personA])).tone).toBe('ok');
      await b.page.goto(`${server.url}#/guard`);
      await waitForGuardOutcome(b.page, 'grant');
      const granted = await until(async () => (await journal(receiver.url, receiver.adminToken)).find((e) => e.result === 'accepted' && decisionOf(e.body) === 'grant'), 60_000, 'a verified grant');
      expect(granted.status).toBe(200);
      // Paired and delivering: the guard's upstream line is healthy (an unpaired kiosk's is not, e2e admin-words).
      await b.page.waitForFunction(() => document.querySelector('[data-testid="status-upstream"]')?.getAttribute('data-tone') === 'ok', undefined, { timeout: 30_000 });
      expect(await b.page.getByTestId('status-upstream').innerText()).not.toContain('not paired');
      expect(await b.page.getByTestId('status-watchlist').getAttribute('data-tone')).toBe('ok');
      await b.close();

      b = record(await launch({ fakeCamera: feeds.personB, userDataDir: join(dir, 'kiosk') }));
      await openGuardScreen(b.page, server.url);
      await waitForGuardOutcome(b.page, 'deny-unknown');
      const deniedFace = await until(async () => (await journal(receiver.url, receiver.adminToken)).find((e) => e.result === 'accepted' && decisionOf(e.body) === 'deny' && (e.seq ?? 0) > (granted.seq ?? 0)), 60_000, 'a verified deny');
      expect(deniedFace.status).toBe(200);

      // Plates: the same kiosk switches to plate mode, enrols a van, then sees it and another car.
      await unlockAdmin(b.page, server.url);
      const settings = b.page.getByTestId('section-settings');
      await settings.getByTestId('setting-mode').selectOption('plate');
      await settings.getByTestId('settings-save').click();
      expect((await outcome(b.page, 'settings-message')).tone).toBe('ok');
      const plates = b.page.getByTestId('section-plates');
      await plates.getByTestId('plate-label').fill('Delivery van');
      await plates.getByTestId('plate-numbers').fill(PLATE_FEEDS.carA.plate);
      await plates.getByTestId('plate-submit').click();
      expect((await outcome(b.page, 'plate-message')).tone).toBe('ok');
      await b.close();
      const lastSeq = Math.max(...(await journal(receiver.url, receiver.adminToken)).map((e) => e.seq ?? 0));
      b = record(await launch({ fakeCamera: plateFeeds.carA, userDataDir: join(dir, 'kiosk') }));
      await openGuardScreen(b.page, server.url);
      await waitForGuardOutcome(b.page, 'grant', 120_000);
      await until(async () => (await journal(receiver.url, receiver.adminToken)).find((e) => e.result === 'accepted' && decisionOf(e.body) === 'grant' && (e.seq ?? 0) > lastSeq), 60_000, 'a verified plate grant');
      await b.close();
      b = record(await launch({ fakeCamera: plateFeeds.carB, userDataDir: join(dir, 'kiosk') }));
      await openGuardScreen(b.page, server.url);
      await waitForGuardOutcome(b.page, 'deny-unknown', 120_000);
      await until(async () => (await journal(receiver.url, receiver.adminToken)).find((e) => e.result === 'accepted' && decisionOf(e.body) === 'deny' && (e.seq ?? 0) > lastSeq), 60_000, 'a verified plate deny');
      for (const x of browsers) expect(x.pageErrors).toEqual([]);
    } finally {
      for (const x of browsers) await x.close();
      await server.close();
      await receiver.stop();
    }

    // Every request: the kiosk's origin or the receiver, nothing else (page, workers and service worker alike).
    const allowed = new Set([origin, E2E_UPSTREAM]);
    const elsewhere = sent.filter((s) => /^https?:/.test(s.url) && !allowed.has(new URL(s.url).origin));
    expect(elsewhere).toEqual([]);
    const foreign = foreignRequests(netLogs.flatMap((p) => netLogRequests(p)));
    expect(foreign.kiosk).toEqual([]);

    // Every body sent to the receiver: exactly the decision schema (or the pairing request), small, nothing personal.
    const toReceiver = sent.filter((s) => s.url.startsWith(E2E_UPSTREAM) && s.method === 'POST');
    const decisions = toReceiver.filter((s) => new URL(s.url).pathname === '/decisions');
    expect(decisions.length).toBeGreaterThanOrEqual(2);
    for (const s of decisions) {
      expect(checkDecisionBody(s.body ?? '').ok, s.body ?? '').toBe(true);
      expect(new TextEncoder().encode(s.body ?? '').length).toBeLessThan(512);
    }
    for (const s of toReceiver) {
      const body = s.body ?? '';
      expect(body).not.toMatch(/Person A|Delivery van|4S50233|4S5 0233|1287960|data:image|\/9j\/|iVBOR|template|label/i);
      // No run of float-like numbers (a template would be hundreds of them).
      expect(body.match(/-?\d\.\d{3,}/g)?.length ?? 0).toBeLessThan(8);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
