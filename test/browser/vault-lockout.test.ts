/**
 * Wrong passphrases: a clear error and nothing else changed; back-off that survives a new vault instance and a
 * real page reload (the harness page in an iframe, reloaded: a new JS realm over the same IndexedDB); parallel
 * attempts are counted one by one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Vault } from '../../src/store';
import { isKioskError } from '../../src/shared/errors';
import type { VaultHarness } from './vault-harness';
import { PASS, TEST_ITERATIONS, expectCode, openVault, rawDump, serialise, tpl, uniqueName } from './vault-helpers';

const opened: Vault[] = [];
async function open(name: string, opts = {}): Promise<Vault> {
  const v = await openVault(name, opts);
  opened.push(v);
  return v;
}
afterEach(() => {
  for (const v of opened.splice(0)) v.close();
});

const WRONG = 'Wrong-Lantern 42 harbour';

describe('wrong passphrase', () => {
  it('is refused with STORE_WRONG_PASSPHRASE and changes nothing but the attempt counter', async () => {
    const name = uniqueName('wrong');
    const v = await open(name);
    await v.setup(PASS);
    await v.enrol({ label: 'Someone', list: 'allow', plates: ['X-1'], templates: { fr: [tpl(512, 1)] } });
    v.close();
    const before = (await rawDump(name)).filter((r) => !(r.store === 'meta' && r.key === 'lockout'));
    const k = await open(name);
    const d = await expectCode(k.unlockAdmin(WRONG), 'STORE_WRONG_PASSPHRASE');
    expect(d).toMatchObject({ failures: 1, waitMs: 0 });
    expect(k.state).toMatchObject({ status: 'locked', admin: false, failures: 1 });
    const after = await rawDump(name);
    expect(
      after
        .filter((r) => !(r.store === 'meta' && r.key === 'lockout'))
        .map((r) => serialise([r.store, r.key, r.value])),
    ).toEqual(before.map((r) => serialise([r.store, r.key, r.value])));
    expect(after.find((r) => r.key === 'lockout')?.value).toMatchObject({ failures: 1 });
    await k.unlockAdmin(PASS);
    expect((await k.lockout()).failures).toBe(0);
  });

  it('backs off exponentially after three failures; the back-off survives a new instance; time lifts it', async () => {
    const name = uniqueName('backoff');
    let now = 1_800_000_000_000;
    const clock = { now: () => now };
    const v = await open(name, clock);
    await v.setup(PASS);
    v.close();
    const k = await open(name, clock);
    await expectCode(k.unlockAdmin(WRONG), 'STORE_WRONG_PASSPHRASE');
    await expectCode(k.unlockAdmin(WRONG), 'STORE_WRONG_PASSPHRASE');
    expect(await expectCode(k.unlockAdmin(WRONG), 'STORE_WRONG_PASSPHRASE')).toMatchObject({
      failures: 3,
      waitMs: 30_000,
    });
    // even the right passphrase is not tried during the wait
    expect(await expectCode(k.unlockAdmin(PASS), 'STORE_LOCKED_OUT')).toMatchObject({ waitMs: 30_000, failures: 3 });
    k.close();

    now += 10_000;
    const r = await open(name, clock); // "reload": new instance, state read from IndexedDB
    expect(r.state).toMatchObject({ failures: 3, lockedUntil: 1_800_000_030_000 });
    expect(await expectCode(r.unlockAdmin(PASS), 'STORE_LOCKED_OUT')).toMatchObject({ waitMs: 20_000 });
    now += 20_001;
    // next failure doubles the wait
    expect(await expectCode(r.unlockAdmin(WRONG), 'STORE_WRONG_PASSPHRASE')).toMatchObject({
      failures: 4,
      waitMs: 60_000,
    });
    now += 60_001;
    await r.unlockAdmin(PASS);
    expect(r.state).toMatchObject({ admin: true, failures: 0, lockedUntil: 0 });
  });

  it('parallel attempts are counted one after another (no burst past the limit)', async () => {
    const name = uniqueName('parallel');
    const v = await open(name);
    await v.setup(PASS);
    v.close();
    const k = await open(name);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => k.unlockAdmin(WRONG)));
    const codes = results.map((r) => (r.status === 'rejected' && isKioskError(r.reason) ? r.reason.code : 'ok'));
    expect(codes).toEqual([
      'STORE_WRONG_PASSPHRASE',
      'STORE_WRONG_PASSPHRASE',
      'STORE_WRONG_PASSPHRASE',
      'STORE_LOCKED_OUT',
      'STORE_LOCKED_OUT',
    ]);
    expect((await k.lockout()).failures).toBe(3);
  });

  it('the back-off survives a real page reload', async () => {
    const name = uniqueName('reload');
    const frame = document.createElement('iframe');
    document.body.append(frame);
    const load = async (): Promise<VaultHarness> => {
      const loaded = new Promise<void>((resolve) => frame.addEventListener('load', () => resolve(), { once: true }));
      if (frame.src) frame.contentWindow?.location.reload();
      else frame.src = '/test/browser/vault-harness.html';
      await loaded;
      const w = frame.contentWindow as unknown as { vaultHarness?: VaultHarness };
      for (let i = 0; i < 200 && !w.vaultHarness; i++) await new Promise((r) => setTimeout(r, 50));
      if (!w.vaultHarness) throw new Error('harness did not start');
      return w.vaultHarness;
    };
    try {
      let h = await load();
      await h.setup(name, TEST_ITERATIONS);
      h.close();
      for (let i = 0; i < 3; i++)
        expect(await h.tryAdmin(name, WRONG)).toMatchObject({ ok: false, code: 'STORE_WRONG_PASSPHRASE' });
      const realmBefore = frame.contentWindow;
      (frame.contentWindow as unknown as { __marker?: number }).__marker = 1;
      h = await load();
      expect(frame.contentWindow).toBe(realmBefore); // same browsing context...
      expect((frame.contentWindow as unknown as { __marker?: number }).__marker).toBeUndefined(); // ...new document
      const l = await h.lockout(name);
      expect(l.failures).toBe(3);
      expect(l.waitMs).toBeGreaterThan(25_000);
      expect(await h.tryAdmin(name, 'Bench-Vault 2026 lantern')).toMatchObject({ ok: false, code: 'STORE_LOCKED_OUT' });
      h.close();
    } finally {
      frame.remove();
    }
  });
});
