/**
 * The device card over the real app layer in real Chromium: the storage estimate is the browser's own
 * (navigator.storage.estimate through the vault: bytes used grow with what the vault stores, a quota is reported);
 * the models table is the app's manifest; "new subject reference key" really rotates the HMAC key (a subject's
 * reference differs after the press and stays stable until the next), and only an admin can press it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { DeviceCards } from '../../src/ui/device-card';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, tpl } from './vault-helpers';

const cards: DeviceCards[] = [];
afterEach(() => {
  for (const c of cards.splice(0)) for (const el of [c.pairing, c.storage, c.models, c.plateDebugCard]) el.remove();
  closeKiosks();
});

describe('device card', () => {
  it('shows the storage estimate and the models, and rotates the subject key for an admin only', async () => {
    const { app, vault, ops } = await openKiosk('device-card', new AdjustableClock());
    await ops.setup(PASS, { role: 'attended' });
    await ops.settings.saveSettings({ subjectRefs: true });
    const dev = new DeviceCards(ops.device);
    cards.push(dev);
    document.body.append(dev.pairing, dev.storage, dev.models, dev.plateDebugCard);
    const q = (sel: string) => document.querySelector<HTMLElement>(sel)!;

    // Storage: the browser's estimate, shown in bytes with the quota; it grows with what the vault stores.
    await expect.poll(() => Number(q('[data-testid="storage-status"]').dataset['quota'] ?? 0), { timeout: 20_000 }).toBeGreaterThan(0);
    const before = Number(q('[data-testid="storage-status"]').dataset['usage']);
    expect(q('[data-testid="storage-used"]').textContent).toMatch(/\d.*B/);
    for (let i = 0; i < 40; i++) await vault.enrol({ label: `Person ${i}`, list: 'allow', plates: [], templates: { fr_feature: [tpl(512, i), tpl(512, 100 + i)] } });
    const out = q('[data-testid="storage-message"]');
    q('[data-testid="storage-refresh"]').click();
    await expect.poll(() => out.dataset['tone']).toBe('ok');
    expect(Number(q('[data-testid="storage-status"]').dataset['usage'])).toBeGreaterThan(before);

    // Models: the manifest the app serves, one row per file.
    await expect.poll(() => document.querySelectorAll('[data-testid="model-licences"] tbody tr').length, { timeout: 20_000 }).toBeGreaterThan(2);

    // Subject key: a reference made before and after the press differ; after, it is stable.
    const ref = () => app.decisions!.subjectRefFor('subject-1');
    const r1 = await ref();
    expect(r1).toMatch(/\S{16,}/);
    const rot = q('[data-testid="rotate-subject-key-message"]');
    q('[data-testid="rotate-subject-key"]').click();
    await expect.poll(() => rot.dataset['tone']).toBe('ok');
    const r2 = await ref();
    expect(r2).not.toBe(r1);
    expect(await ref()).toBe(r2);

    // Not an admin: refused, the key stays.
    ops.lock();
    rot.dataset['tone'] = '';
    q('[data-testid="rotate-subject-key"]').click();
    await expect.poll(() => rot.dataset['tone']).toBe('bad');
    expect(rot.dataset['code']).toBe('STORE_ADMIN_REQUIRED');
    expect(await ref()).toBe(r2);
  }, 120_000);
});
