/**
 * Keeps a kiosk's screen a kiosk: the Screen Wake Lock (re-taken whenever the page becomes visible again, since
 * the browser drops it on every hide) and full screen, asked for on the first touch because browsers grant it only
 * inside a user gesture; and the staff gesture — a long press in the top-left corner — that is the only way from a
 * visitor screen to a login. None of these protect anything on their own (authority does); they keep the visitor
 * from wandering off the kiosk and staff from needing a keyboard. Pinning the tablet to the app is the platform's
 * job (docs/deployment.md). Also the notice a second window of the app shows (only one window runs the kiosk).
 */
import { h } from './dom';
import { t } from './i18n';

export type WakeState = 'held' | 'unavailable' | 'refused' | 'released';

/** Holds a screen wake lock while the page is visible; reports its state. Returns a stop function. */
export function keepScreenOn(onState: (s: WakeState) => void): () => void {
  let sentinel: WakeLockSentinel | null = null;
  let stopped = false;
  const take = async (): Promise<void> => {
    if (stopped || document.visibilityState !== 'visible') return;
    if (!('wakeLock' in navigator)) return onState('unavailable');
    try {
      sentinel = await navigator.wakeLock.request('screen');
      onState('held');
      sentinel.addEventListener('release', () => onState('released'), { once: true });
    } catch {
      onState('refused');
    }
  };
  const onVisible = () => void take();
  document.addEventListener('visibilitychange', onVisible);
  void take();
  return () => {
    stopped = true;
    document.removeEventListener('visibilitychange', onVisible);
    void sentinel?.release().catch(() => undefined);
  };
}

/** Enters full screen on the next touch or click (browsers refuse it outside a gesture). */
export function fullscreenOnGesture(enabled: () => boolean): void {
  const go = () => {
    if (!enabled() || document.fullscreenElement || !document.documentElement.requestFullscreen) return;
    void document.documentElement.requestFullscreen({ navigationUI: 'hide' }).catch(() => undefined);
  };
  document.addEventListener('pointerdown', go, { passive: true });
}

/**
 * A corner that opens the staff login after `holdMs` of pressing. Not focusable and not announced: a visitor
 * tabbing through the kiosk reaches nothing that leads off it. Returns the element to place on the page.
 */
export function staffCorner(onHold: () => void, holdMs = 1500): HTMLElement {
  const el = document.createElement('div');
  el.className = 'staff-corner';
  el.dataset['testid'] = 'staff-corner';
  el.setAttribute('aria-hidden', 'true');
  let timer: ReturnType<typeof setTimeout> | null = null;
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  el.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    cancel();
    timer = setTimeout(() => {
      timer = null;
      onHold();
    }, holdMs);
  });
  for (const ev of ['pointerup', 'pointercancel', 'pointerleave'] as const) el.addEventListener(ev, cancel);
  el.addEventListener('contextmenu', (e) => e.preventDefault());
  return el;
}

/**
 * What a second window of the app shows instead of a kiosk (src/app/instance-lock.ts): the kiosk is open elsewhere,
 * and a button that moves it here. Nothing else of the app starts behind it.
 */
export function instanceNotice(onTake: () => void): HTMLElement {
  const take = h('button', { type: 'button', 'data-testid': 'instance-take' }, t('instanceTakeHere'));
  take.addEventListener('click', () => {
    take.disabled = true;
    onTake();
  });
  return h(
    'section',
    { class: 'instance-notice', role: 'alert', 'data-testid': 'instance-elsewhere' },
    h('p', {}, t('instanceElsewhere')),
    take,
  );
}
