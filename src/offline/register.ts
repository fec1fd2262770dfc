/**
 * Service-worker registration (workbox-window) and the kiosk's update policy.
 *
 * First run: reports precache progress until every file the kiosk needs offline is cached. Later: a new version is
 * installed in the background and activated only when the caller says the kiosk is idle (nobody at the door,
 * no admin session), then the page reloads into it; an update that has waited a day is applied at the next moment
 * nothing is half done (`updateDue`), since "idle" may never come (a picture taped in view of the camera, a guard
 * logged in all day) and an old, possibly vulnerable version would run on for ever (attacker review, session 23). Never registers under Vite's dev server (it serves modules on
 * the fly, there is no precache list); every build registers, whatever mode or NODE_ENV it was made in.
 */
import { Workbox } from 'workbox-window';

export interface OfflineStatus {
  /** 0..1 fraction of the precache that is in place. */
  progress: number;
  /** True once the kiosk can start with no network. */
  ready: boolean;
  /** A new version is installed and waiting for an idle moment. */
  updateWaiting: boolean;
  error?: string;
}

export interface OfflineOptions {
  onStatus: (s: OfflineStatus) => void;
  /** Polled while an update waits; return true when nobody is using the kiosk. */
  isIdle: () => boolean;
  /** Once the update is overdue: whether a reload now would cut nothing off (no active challenge). Default: yes. */
  canInterrupt?: () => boolean;
  idlePollMs?: number;
  /** How long an update may wait for an idle kiosk before it is applied anyway. Default 24 h. */
  maxWaitMs?: number;
}

export const UPDATE_MAX_WAIT_MS = 24 * 3_600_000;

/**
 * Whether a waiting update is applied now: when the kiosk is idle, or, once it has waited `maxWaitMs` (wall clock,
 * which runs on through a sleep), at the first moment a reload cuts nothing off.
 */
export function updateDue(p: { waitedMs: number; maxWaitMs: number; idle: boolean; canInterrupt: boolean }): boolean {
  return p.idle || (p.waitedMs >= p.maxWaitMs && p.canInterrupt);
}

export async function registerOffline(opts: OfflineOptions): Promise<void> {
  const status: OfflineStatus = { progress: 0, ready: false, updateWaiting: false };
  const emit = () => opts.onStatus({ ...status });
  // `import.meta.hot` exists only under the dev server. `import.meta.env.DEV` was used here before and is wrong for
  // this: it follows NODE_ENV at build time, so a build made with NODE_ENV=test or development (a CI shell, a test
  // runner spawning `vite build`) shipped a kiosk that silently never registered its service worker (issue 18's
  // TLS e2e found it: no offline mode on the site origin, and nothing said so).
  if (!('serviceWorker' in navigator) || import.meta.hot) {
    status.error = 'offline mode unavailable (no service worker)';
    emit();
    return;
  }
  navigator.serviceWorker.addEventListener('message', (ev: MessageEvent<{ type?: string; done: number; total: number }>) => {
    if (ev.data?.type !== 'PRECACHE_PROGRESS' || ev.data.total <= 0) return;
    status.progress = Math.max(status.progress, ev.data.done / ev.data.total);
    if (status.progress >= 1) status.ready = true;
    emit();
  });

  const wb = new Workbox('/sw.js');
  wb.addEventListener('activated', (ev) => {
    if (!ev.isUpdate) {
      status.progress = 1;
      status.ready = true;
      emit();
    }
  });
  wb.addEventListener('waiting', () => {
    status.updateWaiting = true;
    emit();
    const since = Date.now();
    const poll = setInterval(() => {
      const due = updateDue({
        waitedMs: Date.now() - since,
        maxWaitMs: opts.maxWaitMs ?? UPDATE_MAX_WAIT_MS,
        idle: opts.isIdle(),
        canInterrupt: opts.canInterrupt?.() ?? true,
      });
      if (!due) return;
      clearInterval(poll);
      wb.addEventListener('controlling', () => window.location.reload());
      wb.messageSkipWaiting();
    }, opts.idlePollMs ?? 5_000);
  });
  try {
    const reg = await wb.register();
    if (reg?.active && !reg.installing && !reg.waiting) {
      status.progress = 1;
      status.ready = true;
      emit();
    }
  } catch (e) {
    status.error = e instanceof Error ? e.message : String(e);
    emit();
  }
}
