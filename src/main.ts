/**
 * Composition root: opens the vault, builds the controller and the screens (visitor kiosk, guard desk, admin
 * console, staff login), routes between them by URL hash under what the app's authority allows, and registers the
 * offline layer. No logic lives here beyond the order things start in, which module's output feeds which, and the
 * routing table: what a typed hash may show is decided by the device role and the session, never by the hash.
 */
import { adminActions } from './admin-actions';
import { AdminOps } from './app/admin-ops';
import { Camera } from './capture/camera';
import { KioskController } from './app/controller';
import { holdInstance, takeInstance } from './app/instance-lock';
import { FaceClient } from './inference/client/face-client';
import { sessionIdleMs, type DeviceRole } from './config/kiosk';
import { registerOffline } from './offline/register';
import { AdjustableClock, idleSince, stampOf, systemClock, type Clock } from './shared/clock';
import { KioskError, isKioskError } from './shared/errors';
import { Vault } from './store';
import { AdminView } from './ui/admin-view';
import { GuardView } from './ui/guard-view';
import { h } from './ui/dom';
import { lang, setLang, t, type Lang } from './ui/i18n';
import { fullscreenOnGesture, instanceNotice, keepScreenOn, staffCorner } from './ui/kiosk-screen';
import { LoginView } from './ui/login-view';
import { VisitorView } from './ui/visitor-view';
import { markOnce, traced } from './shared/startup-trace';

type Screen = 'visitor' | 'guard' | 'admin' | 'login' | 'attended';
/** How long a new window waits for another to let the instance lock go (a reload's old page may still hold it). */
const INSTANCE_WAIT_MS = 3000;
const LANG_KEY = 'kiosk-lang';

declare const __KIOSK_TEST_HOOKS__: boolean;

/**
 * The e2e build (KIOSK_TEST_HOOKS=1) gets a clock the tests can set; every other build reads the system clock and
 * the hook is compiled out, so nothing in a deployed kiosk can move its time.
 */
function makeClock(): Clock {
  if (typeof __KIOSK_TEST_HOOKS__ !== 'undefined' && __KIOSK_TEST_HOOKS__) {
    const clock = new AdjustableClock();
    (window as unknown as { __kioskTest: unknown }).__kioskTest = { clock };
    return clock;
  }
  return systemClock;
}

function requested(): string {
  return location.hash.replace(/^#\/?/, '');
}

/**
 * The routing table. A hash only asks; the answer depends on the role and on what the session may do:
 * #/guard without a guard or admin session is the login, #/admin is the admin's own passphrase gate, and home is
 * the role's home screen.
 */
function screenFor(ask: string, role: DeviceRole, canGuard: boolean): Screen {
  if (ask === 'admin') return 'admin';
  if (ask === 'login') return 'login';
  if (ask === 'guard') return canGuard ? 'guard' : 'login';
  if (role === 'guard') return canGuard ? 'guard' : 'login';
  return role === 'attended' ? 'attended' : 'visitor';
}

async function main(): Promise<void> {
  markOnce('script');
  void navigator.serviceWorker?.ready.then(() => markOnce('sw-ready'));
  const stored = localStorage.getItem(LANG_KEY);
  setLang(stored === 'zh' || stored === 'en' ? stored : lang());
  const root = document.getElementById('app')!;
  // One window runs the kiosk (src/app/instance-lock.ts): a second waits here, before the store, models or camera,
  // until the admin moves the kiosk to it; the window that loses the lock reloads (and then waits here itself).
  const reload = () => location.reload();
  if (!(await holdInstance(INSTANCE_WAIT_MS, reload))) {
    await new Promise<void>((taken) => root.replaceChildren(instanceNotice(() => void takeInstance(reload).then(taken))));
  }
  const clock = makeClock();

  let app: KioskController | null = null;
  const visitor = new VisitorView(() => void app?.startCamera());
  const nav = h('nav', { class: 'roles', 'aria-label': t('navScreens') });
  const panel = h('div', { class: 'panel' });
  root.replaceChildren(nav, visitor.root, panel);

  // Cold start: the face models start loading before the store opens (the worker's default settings; a stored
  // change reloads them in the controller's configure, the same settings are kept).
  const faces = new FaceClient();
  void faces.init().catch(() => undefined);
  let vault: Vault;
  try {
    vault = await traced('store-open', () => Vault.open({ now: () => clock.wall(), monotonic: () => clock.monotonic() }));
  } catch (e) {
    visitor.kiosk.showModelError(isKioskError(e) ? e : new KioskError('INTERNAL'));
    return;
  }
  app = new KioskController({ vault, video: visitor.kiosk.video, clock, faces });
  const ops = new AdminOps(app);
  const authority = app.authority;
  const home = () => {
    if (requested() !== '') location.hash = '#/';
    else show();
  };
  // The session ended because the proof given failed (the login then says "Logged out: …" and why); one that merely
  // ended while a right proof was checked (an idle-out: the override's re-check refuses with GUARD_REQUIRED) is not
  // worded as a failed proof.
  const proofFailed = (e: unknown): boolean => !isKioskError(e, 'GUARD_REQUIRED') && !isKioskError(e, 'STORE_ADMIN_REQUIRED');
  // After a guard login: an attended kiosk keeps the visitor view with the guard panel beside it.
  const toGuard = () => (app.snapshot.settings.role === 'attended' ? home() : (location.hash = '#/guard'));
  const guard = new GuardView({
    override: async (d, r, p) => {
      try {
        return await app.override(d, r, p);
      } catch (e) {
        // A failed proof ended the session and the login replaced the panel: say there why (login is built below,
        // before any click can reach this).
        if (p && authority.session.kind === 'none' && proofFailed(e)) login.notice(e);
        throw e;
      }
    },
    guardLog: () => app.guardLog(),
    overridesLeft: () => app.overridesLeft(),
    acknowledgeRejection: () => app.acknowledgeRejection(),
    paired: () => !app.readiness().missing.includes('pairing'),
    confirmReveal: async (p) => {
      try {
        await app.confirmReveal(p);
      } catch (e) {
        // As for a grant: a failed proof ended the session, and the login says why.
        if (p && authority.session.kind === 'none' && proofFailed(e)) login.notice(e);
        throw e;
      }
    },
    logout: () => {
      authority.logout();
      home();
    },
  });
  /** The vault is open (app.start() done): before, the login cannot know the guard accounts and says nothing. */
  let started = false;
  const login = new LoginView({
    anyGuard: async () => (started ? (await authority.guards()).some((g) => g.hasPin || g.passkeys > 0) : null),
    loginPin: async (name, pin) => {
      await authority.loginPinByName(name, pin);
      toGuard();
    },
    loginPasskey: async () => {
      await authority.loginPasskey();
      toGuard();
    },
    toAdmin: () => (location.hash = '#/admin'),
    cancel: home,
  });
  const admin = new AdminView(
    adminActions(ops, {
      afterLock: home,
      cameras: () => Camera.list(),
      afterSave: (p) => {
        if (p.lang && p.lang !== lang()) switchLang(p.lang);
      },
      showLanguage: (l) => {
        if (l !== lang()) switchLang(l);
      },
    }),
  );

  function switchLang(next: Lang): void {
    localStorage.setItem(LANG_KEY, next);
    // Every screen is rebuilt in the new language; the vault reopens unattended and the camera restarts.
    location.reload();
  }

  const links = (['visitor', 'guard', 'admin'] as const).map((r) =>
    h('a', { href: `#/${r === 'visitor' ? '' : r}`, 'data-testid': `nav-${r}` }, t(r === 'visitor' ? 'navVisitor' : r === 'guard' ? 'navGuard' : 'navAdmin')),
  );
  const logoutBtn = h('button', { type: 'button', 'data-testid': 'nav-logout' }, t('navLogout'));
  logoutBtn.addEventListener('click', () => {
    authority.logout();
    home();
  });
  const langBtn = h('button', { type: 'button', class: 'lang', 'data-testid': 'lang-toggle', lang: lang() === 'zh' ? 'en' : 'zh' }, lang() === 'zh' ? 'English' : '中文');
  langBtn.addEventListener('click', () => {
    // The switch reloads every screen, and a staff session lives in memory only: say so before it ends (hand
    // check, stop 29: the console vanished, and what was typed with it).
    if (authority.session.kind !== 'none' && !confirm(t('langSwitchEndsSession'))) return;
    switchLang(lang() === 'zh' ? 'en' : 'zh');
  });
  const corner = staffCorner(() => (location.hash = '#/login'));
  document.body.append(corner);

  let screen: Screen = 'visitor';
  let navKey = '';
  /**
   * The screens' navigation exists only where it may: before set-up (the admin must reach set-up), on a guard desk,
   * or while staff are logged in on this screen. A visitor kiosk at rest has no link, button or focusable element
   * that leads off it; only the corner long-press does, and that leads to a login.
   */
  const renderNav = () => {
    const s = app.snapshot;
    const firstRun = s.vault?.status === 'uninitialised' || s.phase === 'wiped';
    const staff = s.session.kind !== 'none';
    const showNav = firstRun || s.settings.role === 'guard' || staff;
    const key = `${showNav}|${staff}|${screen}`;
    if (key === navKey) return;
    navKey = key;
    for (const [i, r] of (['visitor', 'guard', 'admin'] as const).entries()) links[i]!.toggleAttribute('aria-current', r === screen);
    nav.replaceChildren(...(showNav ? [...links, ...(staff ? [logoutBtn] : []), langBtn] : []));
    nav.hidden = !showNav;
    corner.hidden = showNav;
  };

  let shownPanel: HTMLElement | null = null;
  const show = () => {
    const from = screen;
    screen = screenFor(requested(), app.snapshot.settings.role, authority.can('guard-screen'));
    // The visitor screen is never a staff screen: staff who go to it (the "Kiosk" link, a typed address) are logged
    // out, so the next person at an unattended kiosk cannot tap "Guard" and open the door in their name (hand check,
    // stop 28: an admin session left running behind the visitor view, kept alive by visitor taps). The attended
    // kiosk's guard keeps their session: they sit beside that view — but not the admin, whose console was one tap on
    // "Admin" away from the visitor there until the idle timeout (attacker review, session 19).
    // And on a tablet visitors use, the way back from the guard screen to the console asks for the passphrase again:
    // an admin who walked away from that screen left "Admin" one tap away, and with it the role setting that turns
    // the grant's proof off, or enrolling oneself (review, session 26).
    const shared = app.snapshot.settings.role !== 'guard';
    if (
      (screen === 'visitor' && authority.session.kind !== 'none') ||
      (screen === 'attended' && authority.session.kind === 'admin') ||
      (shared && from === 'guard' && screen === 'admin' && authority.session.kind === 'admin')
    ) {
      authority.logout();
      screen = screenFor(requested(), app.snapshot.settings.role, authority.can('guard-screen'));
    }
    document.body.dataset['role'] = screen;
    const part =
      screen === 'guard' ? guard.root
      : screen === 'admin' ? admin.root
      : screen === 'login' ? login.root
      : screen === 'attended' ? (authority.can('guard-screen') ? guard.root : login.root)
      : null;
    if (part !== shownPanel) {
      shownPanel = part;
      panel.replaceChildren(...(part ? [part] : []));
      // A fresh login form each time it appears (names reloaded, nothing typed left over).
      if (part === login.root) void login.open();
    }
    navKey = '';
    render();
  };
  const render = () => {
    const s = app.snapshot;
    renderNav();
    visitor.render(s);
    if (screen === 'guard' || (screen === 'attended' && s.session.kind !== 'none')) guard.render(s);
    if (screen === 'admin') admin.render(s);
  };
  app.subscribe(render);
  // A session that starts or ends re-routes: a guard who logs in on an attended kiosk gets the panel, and one whose
  // session idles out loses the guard screen at once.
  let sessionKey = '';
  authority.subscribe((s) => {
    const key = s.kind === 'guard' ? `guard:${s.guardId}` : s.kind;
    if (key === sessionKey) return;
    sessionKey = key;
    show();
  });
  let lastTouch = stampOf(clock);
  // Any touch or key is someone at the kiosk (a service-worker update waits for idle), but only one on the staff
  // panel or the navigation keeps a staff session alive: on an attended kiosk the visitor view sits beside the guard
  // panel, and a visitor's taps kept a walked-away guard's session — and its override button — open indefinitely
  // (attacker review, session 19; test/e2e/authority.test.ts).
  const interacted = (e: Event) => {
    app.touch();
    const target = e.target;
    if (!(target instanceof Node) || ![panel, nav, corner].some((el) => el.contains(target))) return;
    lastTouch = stampOf(clock);
    app.interacted();
  };
  // Going somewhere (a link, a typed address) is activity too: the idle rule must not bounce it straight home.
  window.addEventListener('hashchange', () => {
    lastTouch = stampOf(clock);
    // Going (back) to the login is leaving: the form said "log in" while the guard's session, and "Guard" one tap
    // away, stayed open until the idle timeout (attacker review, session 23). Only a navigation does this; a
    // re-render while the hash still says login (right after a login succeeded) does not.
    if (requested() === 'login' && authority.session.kind !== 'none') authority.logout();
    show();
  });
  document.addEventListener('pointerdown', interacted, { passive: true });
  document.addEventListener('keydown', interacted, { passive: true });
  // Idle: end any session and go home. Also leave a login or admin gate someone walked away from.
  setInterval(() => {
    const idle = idleSince(clock, lastTouch) > sessionIdleMs(app.snapshot.settings);
    if (authority.expireIfIdle() || (idle && requested() !== '' && app.snapshot.vault?.status !== 'uninitialised')) home();
  }, 1000);
  const kioskRole = () => app.snapshot.settings.role !== 'guard' && screen !== 'admin';
  fullscreenOnGesture(kioskRole);
  keepScreenOn((st) => (document.body.dataset['wakeLock'] = st));
  show();

  void registerOffline({
    onStatus: (st) => {
      visitor.kiosk.showProgress(st.ready ? 1 : st.progress);
      visitor.kiosk.setNotice(st.updateWaiting ? t('updateWaiting') : null);
    },
    isIdle: () => app.isIdle(),
    // An overdue update waits only for a running liveness challenge to end (src/offline/register.ts updateDue).
    canInterrupt: () => app.snapshot.prompt.key !== 'challenge',
  });
  await app.start();
  started = true;
  // The stored role is known only now, and the vault is open: route again (a guard desk's home is the guard
  // screen), and let a login shown before the vault was unlocked check again that a guard account exists. The
  // panel on screen is not detached and re-inserted for this: that took the focus out of the field being typed in,
  // and a set-up form filled at that moment lost a passphrase (CI, stop 28: "The two passphrases differ" on two
  // e2e set-ups).
  show();
  if (shownPanel === login.root) void login.refreshGuards();
  markOnce('started');
  if (app.snapshot.settings.lang !== lang() && app.snapshot.phase === 'running' && !localStorage.getItem(LANG_KEY)) {
    switchLang(app.snapshot.settings.lang);
  }
}

void main();
