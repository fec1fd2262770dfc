/**
 * The puller's status after the kiosk is paired (src/app/bundle-pull.ts receiverPaired): a refusal for "not paired"
 * (or "unpaired") must not stay on the screens under a successful pairing, and no other refusal may be dropped by it.
 * The vault here is a stand-in for the few members the puller reads before it asks the transport; the transport
 * answers as the receiver does. Installing is covered with the real vault and receiver in the e2e watchlist-pull test.
 */
import { describe, expect, it } from 'vitest';
import { BundlePuller } from '../../src/app/bundle-pull';
import { KioskError } from '../../src/shared/errors';
import type { Vault } from '../../src/store';

function puller(answers: Array<KioskError | undefined>) {
  const vault = {
    state: { status: 'unlocked' },
    keys: { get: async () => undefined },
    watchlistVersion: async () => 0,
  };
  let calls = 0;
  const p = new BundlePuller({
    vault: vault as unknown as Vault,
    clock: { monotonic: () => 0, wall: () => 1_800_000_000_000 },
    sign: async () => ({ kioskId: 'k', ts: 1, sig: 's' }) as never,
    installed: async () => {},
    pull: async () => {
      const a = answers[Math.min(calls++, answers.length - 1)];
      if (a) throw a;
      return undefined;
    },
  });
  return { p, calls: () => calls };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('BundlePuller.receiverPaired', () => {
  it('drops a "not paired" refusal without pulling when no schedule is set', async () => {
    const { p, calls } = puller([new KioskError('UPSTREAM_NOT_PAIRED')]);
    await p.pullNow();
    expect(p.status.error?.code).toBe('UPSTREAM_NOT_PAIRED');
    p.receiverPaired();
    expect(p.status.error).toBeNull();
    expect(calls()).toBe(1);
  });

  it('pulls again at once when a schedule is set, and shows that pull’s outcome', async () => {
    const { p, calls } = puller([new KioskError('UPSTREAM_REJECTED', { reason: 'kiosk_revoked' }), undefined]);
    p.schedule(60); // its first pull starts at once and is answered "unpaired"
    while (p.status.checkedAt === null) await settle();
    expect(p.status.error?.details?.['reason']).toBe('kiosk_revoked');
    const before = calls();
    p.receiverPaired();
    await p.pullNow(); // joins the pull receiverPaired started
    expect(calls()).toBe(before + 1);
    expect(p.status.error).toBeNull();
    p.stop();
  });

  it('keeps every other refusal: a bad bundle, a clock off, the receiver down', async () => {
    for (const e of [
      new KioskError('BUNDLE_SIGNATURE'),
      new KioskError('UPSTREAM_REJECTED', { reason: 'pull_expired' }),
      new KioskError('UPSTREAM_UNREACHABLE'),
    ]) {
      const { p, calls } = puller([e]);
      await p.pullNow();
      p.receiverPaired();
      expect(p.status.error).toBe(e);
      expect(calls()).toBe(1);
    }
  });
});
