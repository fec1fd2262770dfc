/**
 * The receiver's permanent rejection of a decision, seen and cleared on the guard screen: a real DecisionService
 * (signing, outbox, sender) whose upstream answers 401 `bad_signature` puts the rejection in the status; the real
 * guard view shows it on the upstream row with a "seen" button; pressing it clears the rejection through the
 * controller (the authority asks for `override`), and nobody without a staff session can clear it. A refusal
 * because the receiver does not let this kiosk open that door is said as such, in English and Chinese; so is a
 * tablet clock out of step with the receiver's (measured from the receiver's answers), on its own status row.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionService } from '../../src/decisions/service';
import { checkEnvelopeText } from '../../src/decisions/message';
import { AdjustableClock } from '../../src/shared/clock';
import { GuardView } from '../../src/ui/guard-view';
import { setLang, t, tf } from '../../src/ui/i18n';
import { MemoryKeyStore, MemoryOutbox } from './decisions-memory-stores';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  closeKiosks();
});

/** A real DecisionService whose upstream answers every decision with `fetch`. */
async function serviceAnswering(fetch: typeof globalThis.fetch): Promise<DecisionService> {
  const service = await DecisionService.open({
    kioskId: 'lobby-1',
    url: 'http://127.0.0.1:9/decisions',
    outbox: new MemoryOutbox(),
    keys: new MemoryKeyStore(),
    backoff: { baseMs: 20, maxMs: 100 },
    fetch,
  });
  cleanup.push(() => service.stop());
  return service;
}

/** The real guard view on the page, its rejection button wired to the controller. */
function guardView(app: { acknowledgeRejection: () => void }): GuardView {
  const view = new GuardView({
    override: () => Promise.resolve({ sent: true }),
    guardLog: () => [],
    overridesLeft: () => Promise.resolve({ left: 1, limit: 1, windowMinutes: 1 }),
    logout: () => undefined,
    acknowledgeRejection: () => app.acknowledgeRejection(),
    // These tests are about a paired kiosk's rejection; pairing itself is shown in e2e (admin-words, session-egress).
    paired: () => true,
    confirmReveal: () => Promise.resolve(),
  });
  document.body.append(view.root);
  cleanup.push(() => view.root.remove());
  return view;
}

describe("the guard screen shows this tablet's clock against the receiver's", () => {
  // The receiver's answer carries its clock (`now`, receiver/app.mjs); the offset is the sender's measurement.
  for (const [offsetMs, tone, words] of [
    [300, 'ok', 'clockInStep'],
    [2500, 'warn', 'clockBehind'],
    [8000, 'bad', 'clockBehind'],
    [-1500, 'bad', 'clockAhead'],
  ] as const) {
    it(`receiver ${offsetMs} ms from this tablet: ${tone}`, async () => {
      const { app } = await openKiosk(`clock-${offsetMs}`, new AdjustableClock());
      const fetch: typeof globalThis.fetch = (async () =>
        new Response(
          JSON.stringify({
            ok: true,
            seq: 1,
            stale: offsetMs > 5000,
            actuate: offsetMs <= 5000,
            now: Date.now() + offsetMs,
          }),
          { status: 200 },
        )) as typeof globalThis.fetch;
      const service = await serviceAnswering(fetch);
      const view = guardView(app);
      cleanup.push(() => setLang('en'));
      await service.decide('grant');
      await expect.poll(() => service.status.clock?.offsetMs, { timeout: 10_000 }).toBeDefined();
      expect(Math.abs(service.status.clock!.offsetMs - offsetMs)).toBeLessThan(500);
      const row = () => view.root.querySelector<HTMLElement>('[data-testid="status-clock"]')!;
      for (const lang of ['en', 'zh'] as const) {
        setLang(lang);
        view.render({ ...app.snapshot, upstream: service.status });
        expect(row().dataset['tone']).toBe(tone);
        const seconds = (Math.abs(service.status.clock!.offsetMs) / 1000).toFixed(1);
        expect(row().querySelector('dd')!.textContent).toBe(
          words === 'clockInStep' ? t(words, lang) : tf(words, { seconds }, lang),
        );
      }
    }, 60_000);
  }
});

describe('guard acknowledges a permanent rejection', () => {
  it('shows the rejection until a guard or the admin marks it seen', async () => {
    const { app, ops } = await openKiosk('ack-rejection', new AdjustableClock());
    await ops.setup(PASS, { role: 'attended' });
    // The upstream refuses the first decision for good (a receiver that does not know this kiosk's key).
    const fetch: typeof globalThis.fetch = (async (_u: RequestInfo | URL, init?: RequestInit) => {
      const checked = checkEnvelopeText(String(init?.body));
      if (!checked.ok) throw new Error(checked.reason);
      return new Response(JSON.stringify({ ok: false, reason: 'bad_signature' }), { status: 401 });
    }) as typeof globalThis.fetch;
    const service = await serviceAnswering(fetch);
    const own = app.decisions;
    app.decisions = service;
    cleanup.push(() => void (app.decisions = own));

    const view = guardView(app);
    const show = () => view.render({ ...app.snapshot, upstream: service.status });

    await service.decide('grant');
    await expect.poll(() => service.status.lastRejection?.reason, { timeout: 10_000 }).toBe('bad_signature');
    show();
    const row = () => view.root.querySelector<HTMLElement>('[data-testid="status-upstream"]');
    expect(row()?.dataset['tone']).toBe('bad');
    const ack = view.root.querySelector<HTMLButtonElement>('[data-testid="ack-rejection"]');
    expect(ack).not.toBeNull();

    // Nobody logged in: the controller refuses, the rejection stays.
    ops.lock();
    expect(() => app.acknowledgeRejection()).toThrow(expect.objectContaining({ code: 'GUARD_REQUIRED' }));
    expect(service.status.lastRejection).toBeDefined();

    // The admin (staff) presses "seen": cleared, and the button goes with it.
    await ops.unlock(PASS);
    ack!.click();
    expect(service.status.lastRejection).toBeUndefined();
    show();
    expect(view.root.querySelector('[data-testid="ack-rejection"]')).toBeNull();
    expect(row()?.dataset['tone']).toBe('ok');
  }, 90_000);

  // The receiver's refusals only its admin can lift: another door, a kiosk unpaired there (a lost tablet).
  for (const [reason, status, words] of [
    ['door_not_allowed', 409, 'upstreamDoorNotAllowed'],
    ['kiosk_revoked', 401, 'upstreamRevoked'],
    // Not the receiver admin's to lift but the tablet's clock: said as such, not as a generic rejection.
    ['future_timestamp', 422, 'upstreamClockAhead'],
  ] as const) {
    it(`says in words, in English and Chinese, what the receiver's ${reason} means`, async () => {
      const { app, ops } = await openKiosk(`upstream-${reason}`, new AdjustableClock());
      await ops.setup(PASS, { role: 'attended' });
      // The receiver's answer (receiver/app.mjs, "doors" and "unpair").
      const fetch: typeof globalThis.fetch = (async () =>
        new Response(JSON.stringify({ ok: false, reason, door: 'server-room' }), { status })) as typeof globalThis.fetch;
      const service = await serviceAnswering(fetch);
      const view = guardView(app);
      cleanup.push(() => setLang('en'));
      await service.decide('grant');
      await expect.poll(() => service.status.lastRejection?.reason, { timeout: 10_000 }).toBe(reason);
      const row = () => view.root.querySelector<HTMLElement>('[data-testid="status-upstream"]')!;
      for (const lang of ['en', 'zh'] as const) {
        setLang(lang);
        view.render({ ...app.snapshot, upstream: service.status });
        expect(row().textContent).toContain(t(words, lang));
        expect(row().dataset['tone']).toBe('bad');
        // The codes are for support, in the row's title only.
        expect(row().title).toBe(`UPSTREAM_REJECTED · ${reason}`);
      }
      expect(t(words, 'zh')).not.toBe(t(words, 'en'));
      // Not the generic wording every other permanent rejection gets.
      expect(row().textContent).not.toContain('rejected a decision');
    }, 90_000);
  }
});
