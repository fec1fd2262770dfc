/**
 * The capability table, cell by cell: what nobody, a guard and the admin may do, and the typed refusal each
 * capability gets. The routing and the app layer ask these functions (src/app/authority.ts); the browser test
 * (test/browser/authority.test.ts) proves the app layer enforces them without any view.
 */
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, allowed, refusalFor, type Capability } from '../../src/app/authority';
import { ROLE_IDLE_SECONDS, resolveKioskSettings, sessionIdleMs, validateSettingsPatch, defaultSettings } from '../../src/config/kiosk';

const GUARD: Capability[] = ['override', 'view-identities', 'guard-screen'];

describe('capability table', () => {
  it.each(CAPABILITIES.map((c) => [c]))('%s', (cap) => {
    expect(allowed('none', cap)).toBe(false);
    expect(allowed('admin', cap)).toBe(true);
    expect(allowed('guard', cap)).toBe(GUARD.includes(cap));
    expect(refusalFor(cap)).toBe(GUARD.includes(cap) ? 'GUARD_REQUIRED' : 'STORE_ADMIN_REQUIRED');
  });

  it('lists every capability once', () => {
    expect(new Set(CAPABILITIES).size).toBe(CAPABILITIES.length);
    expect(CAPABILITIES).toEqual(expect.arrayContaining(['override', 'enrol', 'edit', 'export', 'import', 'wipe', 'settings', 'manage-guards', 'pair']));
  });
});

describe('device role settings', () => {
  it('a fresh or damaged role is the locked-down visitor kiosk', () => {
    expect(defaultSettings().role).toBe('visitor');
    expect(resolveKioskSettings({ role: 'superuser' }).role).toBe('visitor');
    expect(resolveKioskSettings({ role: 'attended' }).role).toBe('attended');
  });

  it('idle timeouts follow the role unless set, and bad values are refused naming the field', () => {
    const d = defaultSettings();
    expect(sessionIdleMs(d)).toBe(ROLE_IDLE_SECONDS.visitor * 1000);
    expect(sessionIdleMs({ role: 'guard', sessionIdleSeconds: 0 })).toBe(ROLE_IDLE_SECONDS.guard * 1000);
    expect(sessionIdleMs({ role: 'guard', sessionIdleSeconds: 30 })).toBe(30_000);
    for (const [patch, field] of [
      [{ role: 'root' }, 'role'],
      [{ sessionIdleSeconds: 5 }, 'sessionIdleSeconds'],
      [{ sessionIdleSeconds: 1.5 }, 'sessionIdleSeconds'],
      [{ overrideLimit: 0 }, 'overrideLimit'],
      [{ overrideWindowMinutes: 100_000 }, 'overrideWindowMinutes'],
    ] as const) {
      expect(() => validateSettingsPatch(d, patch as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: expect.objectContaining({ field }) }));
    }
    expect(resolveKioskSettings({ overrideLimit: -1, sessionIdleSeconds: 99999 })).toMatchObject({ overrideLimit: 6, sessionIdleSeconds: 0 });
  });
});
