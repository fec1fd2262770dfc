/**
 * Wires the admin console (src/ui/admin-view.ts) to the admin services (src/app/admin-ops.ts): each card's actions
 * are its capability's service, plus what only the page knows (leaving the screen on lock, the camera list, a
 * language switch that reloads). One place, used by main.ts and by the browser tests that mount the real console.
 *
 * Owns only this mapping; it decides nothing and holds no state.
 */
import type { AdminOps } from './app/admin-ops';
import type { KioskSettings } from './config/kiosk';
import type { AdminActions } from './ui/admin-view';

export interface PageHooks {
  /** After the admin locks the console (main.ts goes home). */
  afterLock?: () => void;
  /** Cameras to choose from in settings. */
  cameras?: () => Promise<{ deviceId: string; label: string }[]>;
  /** After settings were saved (main.ts reloads on a language change). */
  afterSave?: (patch: Partial<KioskSettings>) => void;
  /** Every screen in this language (main.ts reloads), when settings chose the stored language the screen is not in. */
  showLanguage?: (l: 'en' | 'zh') => void;
}

export function adminActions(ops: AdminOps, hooks: PageHooks = {}): AdminActions {
  return {
    setup: (p, o) => ops.setup(p, o),
    unlock: (p) => ops.unlock(p),
    lock: () => {
      ops.lock();
      hooks.afterLock?.();
    },
    wipe: (c) => ops.wipe(c),
    people: ops.people,
    enrolment: ops.enrolment,
    sync: ops.sync,
    pull: { savePullMinutes: (m) => ops.settings.savePullMinutes(m), pullNow: () => ops.sync.pullNow() },
    settings: {
      saveSettings: async (p) => {
        const s = await ops.settings.saveSettings(p);
        hooks.afterSave?.(p);
        return s;
      },
      cameras: hooks.cameras ?? (() => Promise.resolve([])),
      repairs: () => ops.settings.repairs(),
      showLanguage: (l) => hooks.showLanguage?.(l),
    },
    guards: ops,
    device: ops.device,
    audit: {
      readAudit: (n) => ops.audit.readAudit(n),
      exportAudit: (p) => ops.audit.exportAudit(p),
      readAuditFile: (f, p) => ops.audit.readAuditFile(f, p),
      listGuards: () => ops.listGuards(),
      listPeople: () => ops.people.list(),
    },
    maintenance: ops.maintenance,
  };
}
