/**
 * The admin's maintenance card over the real app layer in real Chromium: the vault in IndexedDB (one subject per
 * page, so a page stands for a person), the controller and its watchlist service, the authority, and the card's
 * own DOM driven by clicks. An attacker's hand (plain IndexedDB, no vault code) damages one person's page and the
 * index root while the kiosk is off. After the restart the kiosk does not run (the index vouches for nothing, not even
 * the settings) though the admin is in; the card shows the quarantined page and the held-back allow-list entries;
 * rebuilding the index (after a confirmation) starts the kiosk with exactly the people whose pages authenticate, clearing the quarantine empties it, and the rest of the
 * watchlist stays intact across another restart. Nobody but the admin can do any of it, and unattended restart can
 * be turned off (the next start needs the passphrase) only with the passphrase entered again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdminOps } from '../../src/app/admin-ops';
import { KioskController } from '../../src/app/controller';
import { VaultMaintenance } from '../../src/app/vault-maintenance';
import { AdjustableClock } from '../../src/shared/clock';
import type { Vault } from '../../src/store';
import { GuardView } from '../../src/ui/guard-view';
import { MaintenanceCard } from '../../src/ui/maintenance-card';
import { PASS, expectCode, openVault, pageOf, rawDump, rawEditPages, rawPut, tpl, uniqueName } from './vault-helpers';

const opened: { vault: Vault; app: KioskController; card: MaintenanceCard }[] = [];
function shutDown(): void {
  for (const o of opened.splice(0)) {
    o.card.el.remove();
    o.app.stop();
    o.vault.close();
  }
}
afterEach(shutDown);

/** A kiosk on the named vault with the maintenance card on screen (the admin view mounts the same card). */
async function kiosk(name: string, clock: AdjustableClock) {
  const vault = await openVault(name, { pageTargetBytes: 1, now: () => clock.wall(), monotonic: () => clock.monotonic() });
  const app = new KioskController({ vault, video: document.createElement('video'), clock });
  const ops = new AdminOps(app);
  const maint = new VaultMaintenance(app);
  const card = new MaintenanceCard(maint);
  document.body.append(card.el);
  vault.subscribe((e) => e.type === 'state' && card.render(e.state.unattended));
  card.render(vault.state.unattended);
  opened.push({ vault, app, card });
  return { vault, app, ops, maint, card };
}

function person(i: number, list: 'allow' | 'deny' = 'allow') {
  return { label: `Person ${i}`, list, plates: [`P${i}X`], templates: { fr_feature: [tpl(512, i)] } };
}

const el = (card: MaintenanceCard, id: string): HTMLElement => {
  const x = card.el.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!x) throw new Error(`no ${id} in the card`);
  return x;
};
const text = (card: MaintenanceCard, id: string) => el(card, id).textContent;

/** Press a card button (and its confirmation, for the irreversible ones); resolves with the outcome line. */
async function press(card: MaintenanceCard, id: string, confirm = false): Promise<{ tone: string; code: string | null }> {
  const out = el(card, 'maint-message');
  out.dataset['tone'] = '';
  el(card, id).click();
  if (confirm) {
    // The confirmation shows once it knows what to say (Clear checks the quarantine first).
    const yes = el(card, `${id}-confirm`);
    await vi.waitUntil(() => yes.closest<HTMLElement>('.confirm')?.hidden === false, { timeout: 30_000, interval: 20 });
    yes.click();
  }
  await vi.waitUntil(() => out.dataset['tone'] === 'ok' || out.dataset['tone'] === 'bad', { timeout: 30_000, interval: 20 });
  return { tone: out.dataset['tone'] ?? '', code: out.dataset['code'] ?? null };
}

/** Flip one bit of a sealed record's box: the attacker cannot make a valid one without the key. */
function flip(box: ArrayBuffer, at: number): ArrayBuffer {
  const b = new Uint8Array(box.slice(0));
  const i = at < 0 ? b.length + at : at;
  b[i] = (b[i] ?? 0) ^ 1;
  return b.buffer;
}

const sorted = (xs: string[]) => [...xs].sort();
const listed = (app: KioskController) => sorted(app.listSubjects().map((s) => s.id));

describe('maintenance card: quarantine, index rebuild, unattended restart', () => {
  it('shows a damaged page and a damaged index, rebuilds and clears them, and keeps the rest of the watchlist', async () => {
    const clock = new AdjustableClock();
    const name = uniqueName('maintenance');
    let k = await kiosk(name, clock);
    await k.ops.setup(PASS, { role: 'attended' });
    const people = await k.vault.subjects.putMany([person(0), person(1), person(2), person(3), person(4, 'deny')]);
    await k.app.watchlistSettled();
    expect(listed(k.app)).toEqual(sorted(people.map((s) => s.id)));
    const ids = (from: number) => sorted(people.slice(from).map((s) => s.id));

    // Off, the attacker damages person 0's page and the index root.
    shutDown();
    await rawEditPages(name, (pages) => {
      const p = pageOf(pages, people[0]!.id);
      p.box = flip(p.box, 20);
    });
    const root = (await rawDump(name)).find((r) => r.store === 'index' && r.key === 'root')!.value as { box: ArrayBuffer };
    await rawPut(name, 'index', [{ key: 'root', value: { ...root, box: flip(root.box, -1) } }]);

    // Restart: the index cannot vouch for the settings, so the kiosk does not start deciding (fail closed); the
    // admin is in, and the card is how they get it going again.
    k = await kiosk(name, clock);
    await expectCode(k.ops.unlock(PASS), 'STORE_CORRUPT_RECORD');
    expect(k.vault.state.admin).toBe(true);
    expect(k.app.snapshot.phase).not.toBe('running');
    expect(listed(k.app)).toEqual([]);

    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'ok', code: null });
    expect(text(k.card, 'maint-loaded')).toBe('1');
    expect(text(k.card, 'maint-held-back')).toBe('3');
    expect(el(k.card, 'maint-held-back').dataset['tone']).toBe('bad');
    expect(text(k.card, 'maint-issues')).toBe('the index failed its integrity check');
    expect(text(k.card, 'maint-quarantined')).toBe('1');
    expect(k.vault.state.quarantined).toBe(1);
    const row = el(k.card, 'maint-quarantine').querySelector<HTMLElement>('tbody tr')!;
    expect([row.dataset['store'], row.dataset['reason']]).toEqual(['subjects', 'integrity']);
    // No name or id of a person on the card.
    for (const p of people) {
      expect(k.card.el.textContent).not.toContain(p.id);
      expect(k.card.el.textContent).not.toContain(p.label);
    }

    // Rebuild: the first press only asks; cancelling changes nothing.
    el(k.card, 'maint-rebuild').click();
    expect(el(k.card, 'maint-rebuild').hidden).toBe(true);
    el(k.card, 'maint-rebuild-cancel').click();
    expect(el(k.card, 'maint-rebuild').hidden).toBe(false);
    expect(listed(k.app)).toEqual([]);

    expect(await press(k.card, 'maint-rebuild', true)).toEqual({ tone: 'ok', code: null });
    expect(text(k.card, 'maint-loaded')).toBe('4');
    expect(text(k.card, 'maint-held-back')).toBe('0');
    expect(k.card.el.querySelector('[data-testid="maint-issues"]')).toBeNull();
    expect(text(k.card, 'maint-quarantined')).toBe('1');
    // The kiosk runs and decides with exactly the people whose pages authenticate, and edits work again.
    expect(k.app.snapshot.phase).toBe('running');
    expect(listed(k.app)).toEqual(ids(1));
    await k.ops.people.updateSubject(people[1]!.id, { label: 'Person 1 renamed' });
    expect((await k.vault.subjects.get(people[1]!.id))?.label).toBe('Person 1 renamed');

    expect(await press(k.card, 'maint-clear', true)).toEqual({ tone: 'ok', code: null });
    expect(el(k.card, 'maint-quarantine-empty').textContent).toBe('The quarantine is empty.');
    expect(k.vault.state.quarantined).toBe(0);
    expect(listed(k.app)).toEqual(ids(1));

    // Another restart: the same four, nothing missing, held back or quarantined.
    shutDown();
    k = await kiosk(name, clock);
    await k.ops.unlock(PASS);
    await k.app.watchlistSettled();
    expect(listed(k.app)).toEqual(ids(1));
    expect((await k.maint.check()).check).toEqual({ total: 4, loaded: 4, heldBack: 0, quarantinedNow: 0, missingPages: 0, issues: [] });

    // Nobody but the admin: the card's buttons and the service itself are refused once the admin logs out.
    k.ops.lock();
    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'bad', code: 'STORE_ADMIN_REQUIRED' });
    expect(await press(k.card, 'maint-rebuild', true)).toEqual({ tone: 'bad', code: 'STORE_ADMIN_REQUIRED' });
    await expectCode(k.maint.clearQuarantine(), 'STORE_ADMIN_REQUIRED');
    await expectCode(k.maint.setUnattended(false, PASS), 'STORE_ADMIN_REQUIRED');
    expect(k.vault.state.unattended).toBe(true);
  });

  it('refuses to export the watchlist while a page failed its check, until the admin rebuilds the index', async () => {
    // Exported as it loaded, the bundle left out the damaged page's people, and every kiosk installing it removed them.
    const clock = new AdjustableClock();
    const name = uniqueName('export-damaged');
    let k = await kiosk(name, clock);
    await k.ops.setup(PASS, { role: 'attended' });
    const people = await k.vault.subjects.putMany([person(0), person(1), person(2)]);
    await k.app.watchlistSettled();
    const site = { sitePassphrase: 'site passphrase for the export test' };
    expect((await k.ops.sync.exportWatchlist(site)).version).toBeGreaterThan(0);
    shutDown();
    await rawEditPages(name, (pages) => {
      const p = pageOf(pages, people[0]!.id);
      p.box = flip(p.box, 20);
    });

    k = await kiosk(name, clock);
    await k.ops.unlock(PASS).catch(() => undefined); // however the start reports it, the admin is in
    expect(k.vault.state.admin).toBe(true);
    await k.app.watchlistSettled();
    // The page that failed might have held a deny-listed person: nobody on the allow list decides until the admin
    // has looked (attacker review, session 24), and the guard screen says so, in red.
    expect(listed(k.app)).toEqual([]);
    expect(k.app.snapshot.watchlist.heldBack).toBe(2);
    const guard = new GuardView({
      override: () => Promise.resolve({ sent: false }),
      guardLog: () => [],
      overridesLeft: () => Promise.resolve({ left: 5, limit: 5, windowMinutes: 60 }),
      logout: () => undefined,
      acknowledgeRejection: () => Promise.resolve(),
      paired: () => false,
      confirmReveal: () => Promise.resolve(),
    });
    document.body.append(guard.root);
    try {
      guard.render(k.app.snapshot);
      const row = guard.root.querySelector<HTMLElement>('[data-testid="status-watchlist"]')!;
      expect(row.textContent).toContain('the stored list is damaged');
      expect(row.textContent).toContain('2 on the allow list held back until then');
      expect(row.textContent).toContain('Stored data');
      expect(row.dataset['tone']).toBe('bad');
    } finally {
      guard.root.remove();
    }
    expect(await expectCode(k.ops.sync.exportWatchlist(site), 'STORE_CORRUPT_RECORD')).toMatchObject({ reason: 'export-incomplete' });
    await expectCode(k.ops.sync.exportChanges(site), 'STORE_CORRUPT_RECORD');
    // Refused again after a check (looking is not accepting the loss); allowed once the index is rebuilt.
    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'ok', code: null });
    await expectCode(k.ops.sync.exportWatchlist(site), 'STORE_CORRUPT_RECORD');
    expect(await press(k.card, 'maint-rebuild', true)).toEqual({ tone: 'ok', code: null });
    expect(listed(k.app)).toEqual(sorted(people.slice(1).map((p) => p.id)));
    expect(k.app.snapshot.watchlist).toMatchObject({ heldBack: 0, damaged: false });
    const after = await k.ops.sync.exportChanges(site);
    expect(after.version).toBeGreaterThan(0);
  });

  it('lists key records still stored outside the seal (made before keys were sealed), and only those', async () => {
    const clock = new AdjustableClock();
    const k = await kiosk(uniqueName('unsealed'), clock);
    await k.ops.setup(PASS, { role: 'attended' });
    await k.vault.keys.put('sync', { admin: await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) });
    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'ok', code: null });
    expect(k.card.el.querySelector('[data-testid="maint-unsealed-keys"]')).toBeNull();
    // A pair made non-extractable, as every key was before session 24: it cannot be sealed, so it is named.
    const old = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await k.vault.keys.put('sync', { admin: old });
    expect(await k.vault.keys.unsealed()).toEqual(['sync']);
    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'ok', code: null });
    expect(text(k.card, 'maint-unsealed-keys')).toMatch(/^1 · made before keys were sealed/);
    expect(el(k.card, 'maint-unsealed-keys').dataset['tone']).toBe('bad');
  });

  it("says what clearing costs when this tablet's own revocations are in the quarantine, and only then", async () => {
    // Review (session 33): while the record is quarantined, installs and revocations refuse; clearing forgets the
    // holds, and the confirmation said only that the records were unreadable anyway.
    const clock = new AdjustableClock();
    const name = uniqueName('revocations-card');
    const k = await kiosk(name, clock);
    await k.ops.setup(PASS, { role: 'attended' });
    const p = await k.vault.enrol(person(1));
    await k.ops.people.deleteSubject(p.id);
    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'ok', code: null });
    expect(k.card.el.querySelector('[data-testid="maint-revocations-quarantined"]')).toBeNull();
    const raw = (await rawDump(name)).find((r) => r.store === 'secrets' && r.key === 'local-revocations')!;
    const value = raw.value as { box: ArrayBuffer };
    await rawPut(name, 'secrets', [{ key: 'local-revocations', value: { ...value, box: flip(value.box, 15) } }]);
    await expectCode(k.ops.people.deleteSubject((await k.vault.enrol(person(2))).id), 'STORE_CORRUPT_RECORD');
    expect(await press(k.card, 'maint-check')).toEqual({ tone: 'ok', code: null });
    expect(text(k.card, 'maint-revocations-quarantined')).toMatch(/^This tablet's own revocations .* are in the quarantine\. .*Make the same changes on the desk first\.$/);
    // Clear pressed at once (no Check first): its confirmation says what clearing costs, from a check of its own.
    k.card.el.querySelector('[data-testid="maint-report"]')!.replaceChildren();
    el(k.card, 'maint-clear').click();
    await vi.waitUntil(() => text(k.card, 'maint-clear-warning') !== '', { timeout: 30_000, interval: 20 });
    expect(text(k.card, 'maint-clear-warning')).toMatch(/^Delete the quarantined records for good\? This tablet's own revocations are among them: .*desk first\.$/);
    el(k.card, 'maint-clear-cancel').click();
    expect(await press(k.card, 'maint-clear', true)).toMatchObject({ tone: 'ok' });
    expect(k.card.el.querySelector('[data-testid="maint-revocations-quarantined"]')).toBeNull();
  });

  it('turns unattended restart off only with the passphrase; the next start then needs it', async () => {
    const clock = new AdjustableClock();
    const name = uniqueName('unattended');
    let k = await kiosk(name, clock);
    await k.ops.setup(PASS, { role: 'attended' });
    expect(text(k.card, 'maint-unattended')).toBe('on');

    (el(k.card, 'maint-unattended-pass') as HTMLInputElement).value = 'not the passphrase 77';
    expect(await press(k.card, 'maint-unattended-toggle')).toEqual({ tone: 'bad', code: 'STORE_WRONG_PASSPHRASE' });
    expect(k.vault.state.unattended).toBe(true);
    expect(text(k.card, 'maint-unattended')).toBe('on');

    (el(k.card, 'maint-unattended-pass') as HTMLInputElement).value = PASS;
    expect(await press(k.card, 'maint-unattended-toggle')).toEqual({ tone: 'ok', code: null });
    expect(k.vault.state.unattended).toBe(false);
    expect(text(k.card, 'maint-unattended')).toBe('off');
    expect(text(k.card, 'maint-unattended-toggle')).toBe('Turn unattended restart on');

    shutDown();
    k = await kiosk(name, clock);
    await expectCode(k.vault.unlockDevice(), 'STORE_LOCKED');
    await k.ops.unlock(PASS);
    (el(k.card, 'maint-unattended-pass') as HTMLInputElement).value = PASS;
    expect(await press(k.card, 'maint-unattended-toggle')).toEqual({ tone: 'ok', code: null });
    shutDown();
    k = await kiosk(name, clock);
    await k.vault.unlockDevice();
    expect(k.vault.state.status).toBe('unlocked');
  });
});
