/**
 * One running kiosk per browser profile. Each window of the app keeps its own watchlist, guard session and decision
 * sequence in memory, and the store tells only its own window of a change: with the app open twice on one tablet, a
 * person deleted or expired, or a guard disabled, in one window was still granted (or still overrode) in the other
 * until it reloaded (attacker review, session 23). So the first window holds a Web Lock for as long as it lives; a
 * second one waits a moment (a reloading page may not have let go yet), then stops before it opens the store or the
 * camera and says the kiosk is open in another window, offering to move it here. Moving it takes the lock; the window
 * that loses it reloads and shows the same notice, so at most one window ever decides.
 *
 * Owns only that lock. Without Web Locks (no browser this kiosk supports) it cannot tell and lets the window run.
 */
const LOCK = 'entrance-kiosk-instance';

/** A promise that never settles: the callback's result is what holds a Web Lock. */
const forever = (): Promise<never> => new Promise<never>(() => undefined);

/**
 * Takes the instance lock, waiting at most `waitMs` for another window to let it go. Resolves true when this window
 * holds it (then `onLost` runs if another window takes it over), false when another window keeps it.
 */
export function holdInstance(waitMs: number, onLost: () => void): Promise<boolean> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    let held = false;
    locks
      .request(LOCK, { signal: AbortSignal.timeout(waitMs) }, () => {
        held = true;
        resolve(true);
        return forever();
      })
      .catch(() => {
        if (held) onLost();
        else resolve(false);
      });
  });
}

/** Takes the lock from the window that holds it (the admin chose "use it here"); `onLost` as for holdInstance. */
export function takeInstance(onLost: () => void): Promise<void> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve();
  return new Promise((resolve) => {
    let held = false;
    locks
      .request(LOCK, { steal: true }, () => {
        held = true;
        resolve();
        return forever();
      })
      .catch(() => {
        if (held) onLost();
        else resolve();
      });
  });
}
