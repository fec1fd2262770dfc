/**
 * A bad STORED setting, end to end over the real app layer in real Chromium (vault in IndexedDB, controller with
 * its face worker, the real admin console mounted): settings damaged while the kiosk is off (an out-of-range
 * retention and a misspelt face override) run on their defaults after the restart; the admin screen names each
 * field with the value in force; the audit keeps one `config-repaired` entry per field; the stored record and the
 * watchlist are left exactly as they were until the admin saves, which clears the notice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { adminActions } from '../../src/admin-actions';
import { AdminOps } from '../../src/app/admin-ops';
import { KioskController } from '../../src/app/controller';
import { AdjustableClock } from '../../src/shared/clock';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import type { Vault } from '../../src/store';
import { AdminView } from '../../src/ui/admin-view';
import { PASS, openVault, tpl, uniqueName } from './vault-helpers';

const opened: { vault: Vault; app: KioskController; root?: HTMLElement }[] = [];
function shutDown(): void {
  for (const o of opened.splice(0)) {
    o.root?.remove();
    o.app.stop();
    o.app.faces.terminate();
    o.vault.close();
  }
}
afterEach(shutDown);

async function kiosk(name: string, clock: AdjustableClock) {
  const vault = await openVault(name, { now: () => clock.wall(), monotonic: () => clock.monotonic() });
  const app = new KioskController({ vault, video: document.createElement('video'), clock });
  const entry: (typeof opened)[number] = { vault, app };
  opened.push(entry);
  return { vault, app, ops: new AdminOps(app), entry };
}

/** The console as main.ts wires it (no camera list needed here). */
function mount(k: Awaited<ReturnType<typeof kiosk>>): AdminView {
  const { ops, app } = k;
  const view = new AdminView(adminActions(ops));
  document.body.append(view.root);
  k.entry.root = view.root;
  app.subscribe((s) => view.render(s));
  view.render(app.snapshot);
  return view;
}

const q = (root: HTMLElement, sel: string) => root.querySelector<HTMLElement>(sel);

describe('a bad stored setting', () => {
  it('runs on its default, is named on the admin screen with the value in force and audited; stored data intact', async () => {
    const clock = new AdjustableClock();
    const name = uniqueName('config-repair');
    let k = await kiosk(name, clock);
    await k.ops.setup(PASS, { role: 'attended' });
    await k.vault.enrol({ label: 'Person 1', list: 'allow', plates: ['P1X'], templates: { fr_feature: [tpl(512, 1)] } });
    const good = (await k.vault.settings.get())!;
    // Damage while the kiosk runs no check: the vault stores what it is given; only loading checks it.
    const bad = { ...good, retentionHours: 'forever', face: { pad: { liveThreshhold: 0.01 } } };
    await k.vault.settings.put(bad);
    shutDown();

    k = await kiosk(name, clock);
    const view = mount(k);
    await k.ops.unlock(PASS);
    await k.app.watchlistSettled();
    expect(k.app.snapshot.configRepairs).toEqual(['retentionHours', 'face.pad.liveThreshhold']);
    // The defaults run: retention 24 h, the default liveness threshold (never the misspelt 0.01).
    expect(k.app.snapshot.settings.retentionHours).toBe(24);
    expect(k.app.snapshot.settings.face).toEqual({});

    const notice = q(view.root, '[data-testid="config-repairs"]')!;
    expect(notice.hidden).toBe(false);
    expect(notice.dataset['code']).toBe('CONFIG_INVALID');
    const items = [...notice.querySelectorAll<HTMLElement>('li')].map((li) => [li.dataset['field'], li.dataset['inForce']]);
    expect(items[0]).toEqual(['retentionHours', '24']);
    expect(items[1]![0]).toBe('face.pad.liveThreshhold');
    expect(JSON.parse(items[1]![1]!)).toMatchObject({ liveThreshold: DEFAULT_FACE_CONFIG.pad.liveThreshold });
    expect(notice.textContent).toContain('retentionHours — value in force: 24');

    // The audit keeps it (mode system, the field as the reason), and the console's audit table shows it in words.
    const repaired = (await k.ops.audit.readAudit(50)).filter((e) => e.outcome === 'config-repaired');
    expect(repaired.map((e) => [e.mode, e.reason]).sort()).toEqual([
      ['system', 'face.pad.liveThreshhold'],
      ['system', 'retentionHours'],
    ]);
    q(view.root, '[data-testid="audit-show"]')!.click();
    await expect.poll(() => view.root.querySelectorAll('[data-testid="audit-entries"] tr[data-outcome="config-repaired"]').length).toBe(2);
    expect(q(view.root, '[data-testid="audit-entries"] tr[data-outcome="config-repaired"]')!.textContent).toContain('stored setting repaired to its default');

    // Stored data intact: the damaged record is still what was stored, the person still decides.
    expect(await k.vault.settings.get()).toEqual(bad);
    expect(k.app.listSubjects().map((s) => s.label)).toEqual(['Person 1']);

    // The admin saves the settings card: the stored record is valid again and the notice goes.
    const msg = q(view.root, '[data-testid="settings-message"]')!;
    q(view.root, '[data-testid="settings-save"]')!.click();
    await expect.poll(() => msg.dataset['tone'], { timeout: 30_000 }).toBe('ok');
    // Nothing differs from the values in force, so nothing is written: the notice stays until a real save.
    expect(notice.hidden).toBe(false);
    const retention = q(view.root, '[data-testid="setting-retention"]') as HTMLInputElement;
    retention.value = '48';
    msg.dataset['tone'] = '';
    q(view.root, '[data-testid="settings-save"]')!.click();
    await expect.poll(() => msg.dataset['tone'], { timeout: 30_000 }).toBe('ok');
    expect(k.app.snapshot.configRepairs).toEqual([]);
    expect(q(view.root, '[data-testid="config-repairs"]')!.hidden).toBe(true);
    expect((await k.vault.settings.get())!['retentionHours']).toBe(48);
    expect(k.app.listSubjects().map((s) => s.label)).toEqual(['Person 1']);
  }, 180_000);
});
