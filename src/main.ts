/**
 * Composition root: opens the vault, builds the controller and the three role screens (visitor kiosk, guard desk,
 * admin console), routes between them by URL hash, and registers the offline layer. No logic lives here beyond
 * the order things start in and which module's output feeds which.
 */
import { AdminOps } from './app/admin-ops';
import { Camera } from './capture/camera';
import { KioskController } from './app/controller';
import { registerOffline } from './offline/register';
import { KioskError, isKioskError } from './shared/errors';
import { Vault } from './store';
import { AdminView } from './ui/admin-view';
import { GuardView } from './ui/guard-view';
import { h } from './ui/dom';
import { lang, setLang, t, type Lang } from './ui/i18n';
import { VisitorView } from './ui/visitor-view';

type Role = 'visitor' | 'guard' | 'admin';
const LANG_KEY = 'kiosk-lang';

function roleFromHash(): Role {
  const r = location.hash.replace(/^#\/?/, '');
  return r === 'guard' || r === 'admin' ? r : 'visitor';
}

async function main(): Promise<void> {
  const stored = localStorage.getItem(LANG_KEY);
  setLang(stored === 'zh' || stored === 'en' ? stored : lang());
  const root = document.getElementById('app')!;

  let app: KioskController | null = null;
  const visitor = new VisitorView(() => void app?.startCamera());
  const nav = h('nav', { class: 'roles', 'aria-label': 'Screens' });
  const panel = h('div', { class: 'panel' });
  root.replaceChildren(nav, visitor.root, panel);

  let vault: Vault;
  try {
    vault = await Vault.open();
  } catch (e) {
    visitor.kiosk.showModelError(isKioskError(e) ? e : new KioskError('INTERNAL'));
    return;
  }
  app = new KioskController({ vault, video: visitor.kiosk.video });
  const ops = new AdminOps(app);
  const guard = new GuardView({ override: (d, r) => app.override(d, r) });
  const admin = new AdminView({
    setup: (p, o) => ops.setup(p, o),
    unlock: (p) => ops.unlock(p),
    lock: () => ops.lock(),
    enrolPhotos: (i, p) => ops.enrolPhotos(i, p),
    bulkImport: (f, c, p) => ops.bulkImport(f, c, p),
    enrolFromCamera: (l, li, o) => ops.enrolFromCamera(l, li, o),
    addPlates: (l, p, li) => ops.addPlates(l, p, li),
    updateSubject: (id, p) => ops.updateSubject(id, p),
    expireSubject: (id) => ops.expireSubject(id),
    deleteSubject: (id) => ops.deleteSubject(id),
    saveSettings: async (p) => {
      const s = await ops.saveSettings(p);
      if (p.lang && p.lang !== lang()) switchLang(p.lang);
      return s;
    },
    pair: (c) => ops.pair(c),
    adminPublicKey: () => ops.adminPublicKey(),
    kioskPublicKey: () => ops.kioskPublicKey(),
    pinAdminKey: (j) => ops.pinAdminKey(j),
    addRecipient: (j) => ops.addRecipient(j),
    exportWatchlist: (o) => ops.exportWatchlist(o),
    importWatchlist: (f, o) => ops.importWatchlist(f, o),
    exportAudit: (p) => ops.exportAudit(p),
    wipe: (c) => ops.wipe(c),
    listSubjects: () => app.listSubjects(),
    cameras: () => Camera.list(),
  });

  function switchLang(next: Lang): void {
    localStorage.setItem(LANG_KEY, next);
    // Every screen is rebuilt in the new language; the vault reopens unattended and the camera restarts.
    location.reload();
  }

  const links = (['visitor', 'guard', 'admin'] as const).map((r) =>
    h('a', { href: `#/${r === 'visitor' ? '' : r}`, 'data-testid': `nav-${r}` }, t(r === 'visitor' ? 'navVisitor' : r === 'guard' ? 'navGuard' : 'navAdmin')),
  );
  const langBtn = h('button', { type: 'button', class: 'lang', 'data-testid': 'lang-toggle', lang: lang() === 'zh' ? 'en' : 'zh' }, lang() === 'zh' ? 'English' : '中文');
  langBtn.addEventListener('click', () => switchLang(lang() === 'zh' ? 'en' : 'zh'));
  nav.replaceChildren(...links, langBtn);

  let role: Role = roleFromHash();
  const show = () => {
    role = roleFromHash();
    document.body.dataset['role'] = role;
    for (const [i, r] of (['visitor', 'guard', 'admin'] as const).entries()) links[i]!.toggleAttribute('aria-current', r === role);
    panel.replaceChildren(...(role === 'guard' ? [guard.root] : role === 'admin' ? [admin.root] : []));
    render();
  };
  const render = () => {
    const s = app.snapshot;
    visitor.render(s);
    if (role === 'guard') guard.render(s);
    if (role === 'admin') admin.render(s);
  };
  app.subscribe(render);
  window.addEventListener('hashchange', show);
  document.addEventListener('pointerdown', () => app.touch(), { passive: true });
  show();

  void registerOffline({
    onStatus: (st) => {
      visitor.kiosk.showProgress(st.ready ? 1 : st.progress);
      visitor.kiosk.setNotice(st.updateWaiting ? t('updateWaiting') : null);
    },
    isIdle: () => app.isIdle(),
  });
  await app.start();
  if (app.snapshot.settings.lang !== lang() && app.snapshot.phase === 'running' && !localStorage.getItem(LANG_KEY)) {
    switchLang(app.snapshot.settings.lang);
  }
}

void main();
