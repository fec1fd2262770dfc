/**
 * The settings card keeps what the admin changed and has not saved when settings are stored under it (CI, stop 32:
 * a role picked right after set-up was back to the stored one when the kiosk stored another setting a moment later,
 * so the screen showed the old role's idle default). Real app layer (vault, settings service) in Chromium, the real
 * camera list (Chromium's fake device).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Camera } from '../../src/capture/camera';
import { AdjustableClock } from '../../src/shared/clock';
import { SettingsCard } from '../../src/ui/settings-card';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';

const shown: HTMLElement[] = [];
afterEach(() => {
  for (const el of shown.splice(0)) el.remove();
  closeKiosks();
});

describe('settings card', () => {
  it('carries unsaved changes over a rebuild for settings stored under it, and not once they are saved', async () => {
    const { app, ops } = await openKiosk('settings-card', new AdjustableClock());
    await ops.setup(PASS, { role: 'visitor' });
    // As in the admin view, the snapshot of a save re-renders the card before the save's promise settles.
    const actions = {
      saveSettings: async (p: Parameters<typeof ops.settings.saveSettings>[0]) => {
        const stored = await ops.settings.saveSettings(p);
        card.render(stored, app.snapshot.openSet, []);
        return stored;
      },
      repairs: () => ops.settings.repairs(),
      cameras: () => Camera.list(),
      showLanguage: () => {},
    };
    const card: SettingsCard = new SettingsCard(actions, app.snapshot.settings);
    document.body.append(card.el);
    shown.push(card.el);
    const q = <T extends HTMLElement>(id: string) => card.el.querySelector<T>(`[data-testid="${id}"]`)!;
    expect(q<HTMLSelectElement>('setting-role').value).toBe('visitor');
    expect(q<HTMLInputElement>('setting-idle').placeholder).toMatch(/: 60$/);

    // The admin picks "guard" (the idle default follows) and unticks nothing else …
    const role = q<HTMLSelectElement>('setting-role');
    role.value = 'guard';
    role.dispatchEvent(new Event('change', { bubbles: true }));
    expect(q<HTMLInputElement>('setting-idle').placeholder).toMatch(/: 900$/);
    // … while another setting is stored under the form (another screen, a sync): the card is rebuilt for it.
    const stored = await ops.settings.saveSettings({ retentionHours: 48 });
    card.render(stored, app.snapshot.openSet, []);
    expect(q<HTMLInputElement>('setting-retention').value).toBe('48'); // the new stored value is shown
    expect(q<HTMLSelectElement>('setting-role').value).toBe('guard'); // the unsaved pick is kept
    expect(q<HTMLInputElement>('setting-idle').placeholder).toMatch(/: 900$/);

    // Saved, the pick is no longer "unsaved": the card shows what was stored, as stored (a target typed as
    // 0.0000001 % comes back as 1e-7), and a later stored role is what the card shows.
    const fpir = q<HTMLInputElement>('setting-fpir-target');
    fpir.value = '0.0000001';
    fpir.dispatchEvent(new Event('input', { bubbles: true }));
    q<HTMLButtonElement>('settings-save').click();
    await expect.poll(() => q('settings-message').dataset['tone'], { timeout: 10_000 }).toBe('ok');
    expect((await ops.settings.saveSettings({})).role).toBe('guard');
    expect(q<HTMLInputElement>('setting-fpir-target').value).toBe('1e-7');
    const back = await ops.settings.saveSettings({ role: 'visitor' });
    card.render(back, app.snapshot.openSet, []);
    expect(q<HTMLSelectElement>('setting-role').value).toBe('visitor');
  });
});
