/**
 * The sync card of the admin console: this tablet's admin and kiosk keys (JSON, fingerprint and a QR code for the
 * other tablet's camera), scanning (cancellable) or pasting the other tablet's key — shown with its fingerprint to
 * compare with the other screen, and trusted only when the admin confirms they match —, the keys trusted (pinned
 * admin keys, kiosks exported to) with a way to remove each, and the watchlist as a bundle file (export to a site
 * passphrase and/or the added kiosks — the whole list or only the changes since the last export — and import). The
 * LAN pull has its own card (src/ui/sync-pull-card.ts).
 *
 * Owns only this card's DOM and the key waiting for confirmation; it calls the sync service
 * (src/app/sync-service.ts), which checks every key, names the file and asks the authority. It never reaches
 * storage, crypto, the network or src/sync itself.
 */
import { qrMatrix } from '../app/qr-exchange';
import { BUNDLE_EXTENSION, type ExportedBundle, type KeyKind, type KeyPreview, type TrustedKeys } from '../app/sync-service';
import { isKioskError } from '../shared/errors';
import { card, field, filePicker, outLine, run, save } from './card-kit';
import { h } from './dom';
import { labelled, t, tf } from './i18n';

export interface SyncActions {
  adminPublicKey(): Promise<{ json: string; fingerprint: string }>;
  kioskPublicKey(): Promise<{ json: string; fingerprint: string }>;
  /** Checks a pasted key and says its fingerprint; saves nothing. */
  previewKey(json: string, kind: KeyKind): Promise<KeyPreview>;
  /** Trust: only after the admin confirmed the fingerprints match; `shown` is the fingerprint they compared (a key
   * with another one is refused). */
  pinAdminKey(json: string, shown?: string): Promise<string>;
  addRecipient(json: string, shown?: string): Promise<string>;
  /** Read the other tablet's QR code with this camera and preview it (nothing saved); `signal` cancels. */
  scanAdminKey(opts?: { signal?: AbortSignal }): Promise<KeyPreview>;
  scanKioskKey(opts?: { signal?: AbortSignal }): Promise<KeyPreview>;
  trustedKeys(): Promise<TrustedKeys>;
  unpinAdminKey(fingerprint: string): Promise<void>;
  removeRecipient(fingerprint: string): Promise<void>;
  exportWatchlist(opts: { sitePassphrase?: string }): Promise<ExportedBundle>;
  /** Only what changed since the last export (a delta bundle for kiosks on that version). */
  exportChanges(opts: { sitePassphrase?: string }): Promise<ExportedBundle>;
  importWatchlist(file: Blob, opts: { sitePassphrase?: string }): Promise<{ version: number; subjects: number; keptRevoked: number }>;
}

/** A QR code on a canvas: 6 px per module, black on white (what a camera across a desk reads reliably). */
function qrCanvas(text: string, testid: string): HTMLCanvasElement {
  const m = qrMatrix(text);
  const px = 6;
  const c = h('canvas', { width: m.length * px, height: m.length * px, class: 'qr', 'data-testid': testid, role: 'img', 'aria-label': t('qrHelp') });
  const ctx = c.getContext('2d');
  if (ctx) {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#000';
    m.forEach((row, y) => row.forEach((dark, x) => dark && ctx.fillRect(x * px, y * px, px, px)));
  }
  return c;
}

export function syncCard(actions: SyncActions): HTMLElement {
  const out = outLine('sync-message');
  const keyOut = h('textarea', { readonly: true, rows: 3, 'data-testid': 'key-json', 'aria-label': t('publicKey') });
  const showAdmin = h('button', { type: 'button', 'data-testid': 'show-admin-key' }, t('showAdminKey'));
  const showKiosk = h('button', { type: 'button', 'data-testid': 'show-kiosk-key' }, t('showKioskKey'));
  const fp = h('p', { class: 'fingerprint', 'data-testid': 'key-fingerprint' });
  const qr = h('div', { class: 'qr-box', 'data-testid': 'key-qr-box' });
  const showKey = (k: { json: string; fingerprint: string }) => {
    keyOut.value = k.json;
    fp.textContent = k.fingerprint;
    qr.replaceChildren(qrCanvas(k.json, 'key-qr'), h('p', { class: 'help' }, t('qrHelp')));
  };
  showAdmin.addEventListener('click', () => void run(showAdmin, out, async () => showKey(await actions.adminPublicKey())));
  showKiosk.addEventListener('click', () => void run(showKiosk, out, async () => showKey(await actions.kioskPublicKey())));
  const pinIn = h('textarea', { rows: 3, 'data-testid': 'pin-admin-json' });
  const pinBtn = h('button', { type: 'button', 'data-testid': 'pin-admin-submit' }, t('pinAdminKey'));
  const recIn = h('textarea', { rows: 3, 'data-testid': 'recipient-json' });
  const recBtn = h('button', { type: 'button', 'data-testid': 'recipient-submit' }, t('addRecipient'));
  // The other tablet's key, scanned or pasted, waits here with its fingerprint until the admin confirms it matches
  // the other screen: trusting on read let a QR code held up by anyone during a scan pin itself (security review).
  let pending: KeyPreview | null = null;
  const confirmFp = h('p', { class: 'fingerprint', 'data-testid': 'confirm-fingerprint' });
  const confirmWhat = h('p', { 'data-testid': 'confirm-what' });
  const confirmBtn = h('button', { type: 'button', 'data-testid': 'confirm-key' }, t('confirmKey'));
  const cancelBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel-key' }, t('cancel'));
  const confirmBox = h(
    'div',
    { class: 'key-confirm', 'data-testid': 'key-confirm', hidden: true, role: 'group', 'aria-label': t('compareKey') },
    confirmWhat,
    confirmFp,
    h('p', { class: 'help' }, t('keyCompareHelp')),
    h('div', { class: 'buttons' }, confirmBtn, cancelBtn),
  );
  const showPending = (p: KeyPreview | null): string | void => {
    pending = p;
    confirmBox.hidden = !p;
    if (!p) return;
    confirmWhat.textContent = t(`keyPreview_${p.kind}`);
    confirmFp.textContent = p.fingerprint;
    return labelled(t('compareKey'), p.fingerprint);
  };

  const trustedList = h('ul', { class: 'trusted-keys', 'data-testid': 'trusted-keys' });
  const trustedRow = (kind: KeyKind, fingerprint: string): HTMLElement => {
    const remove = h('button', { type: 'button', class: 'secondary', 'data-testid': 'remove-key', 'aria-label': `${t('removeKey')} ${fingerprint}` }, t('removeKey'));
    remove.addEventListener('click', () =>
      void run(remove, out, async () => {
        await (kind === 'admin' ? actions.unpinAdminKey(fingerprint) : actions.removeRecipient(fingerprint));
        await refreshTrusted();
        return labelled(t('removedKey'), fingerprint);
      }),
    );
    return h('li', { 'data-kind': kind, 'data-fingerprint': fingerprint }, `${t(kind === 'admin' ? 'trustedAdmin' : 'trustedKiosk')} `, h('span', { class: 'fingerprint' }, fingerprint), ' ', remove);
  };
  // Refreshed after every trust and removal, so the list is what the vault holds, not what this card assumed.
  const refreshTrusted = async (): Promise<void> => {
    const k = await actions.trustedKeys();
    const rows = [...k.admins.map((fp) => trustedRow('admin', fp)), ...k.recipients.map((fp) => trustedRow('kiosk', fp))];
    trustedList.replaceChildren(...(rows.length ? rows : [h('li', { class: 'help', 'data-testid': 'trusted-none' }, t('trustedNone'))]));
  };
  // The console is built for an admin session; a refusal here (none) leaves the list empty rather than the card broken.
  void refreshTrusted().catch(() => undefined);

  confirmBtn.addEventListener('click', () =>
    void run(confirmBtn, out, async () => {
      const p = pending;
      if (!p) return t('keyNotTrusted');
      // Trusted by the fingerprint on the screen, the one the admin compared, not merely by what waits in `pending`.
      const shown = confirmFp.textContent ?? '';
      const fingerprint = p.kind === 'admin' ? await actions.pinAdminKey(p.json, shown) : await actions.addRecipient(p.json, shown);
      showPending(null);
      (p.kind === 'admin' ? pinIn : recIn).value = '';
      await refreshTrusted();
      return labelled(t(p.kind === 'admin' ? 'pinned' : 'added'), fingerprint);
    }),
  );
  cancelBtn.addEventListener('click', () =>
    void run(cancelBtn, out, async () => {
      showPending(null);
      return t('keyNotTrusted');
    }),
  );

  // Reading the other tablet's QR code with this camera: a Cancel stops the camera scan; nothing is saved either way.
  const scanAdmin = h('button', { type: 'button', 'data-testid': 'scan-admin-key' }, t('scanAdminKey'));
  const scanKiosk = h('button', { type: 'button', 'data-testid': 'scan-kiosk-key' }, t('scanKioskKey'));
  const cancelScan = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel-scan', hidden: true }, t('cancel'));
  let scanning: AbortController | null = null;
  cancelScan.addEventListener('click', () => scanning?.abort());
  const scan = (button: HTMLButtonElement, read: (o: { signal: AbortSignal }) => Promise<KeyPreview>) =>
    void run(button, out, async () => {
      scanning?.abort();
      const ctl = new AbortController();
      scanning = ctl;
      showPending(null);
      out.textContent = t('scanning');
      cancelScan.hidden = false;
      try {
        const key = await read({ signal: ctl.signal });
        // Ended by a paste or another scan while the code was being read: that key, not this one, is compared now.
        if (ctl.signal.aborted) return t('scanCancelled');
        return showPending(key);
      } catch (e) {
        if (ctl.signal.aborted && isKioskError(e, 'WORKER_ABORTED')) return t('scanCancelled');
        throw e;
      } finally {
        if (scanning === ctl) {
          scanning = null;
          cancelScan.hidden = true;
        }
      }
    });
  scanAdmin.addEventListener('click', () => scan(scanAdmin, (o) => actions.scanAdminKey(o)));
  scanKiosk.addEventListener('click', () => scan(scanKiosk, (o) => actions.scanKioskKey(o)));
  // A new paste replaces whatever waited for confirmation first, also when it is refused: a refused paste must not
  // leave an earlier key's confirm button under its error. It also ends a scan still running: a code held up to the
  // camera later would otherwise replace the pasted key while the admin compares its fingerprint (security review).
  const paste = (button: HTMLButtonElement, input: HTMLTextAreaElement, kind: KeyKind) =>
    void run(button, out, async () => {
      scanning?.abort();
      showPending(null);
      return showPending(await actions.previewKey(input.value, kind));
    });
  pinBtn.addEventListener('click', () => paste(pinBtn, pinIn, 'admin'));
  recBtn.addEventListener('click', () => paste(recBtn, recIn, 'kiosk'));
  const site = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'site-passphrase' });
  const exportBtn = h('button', { type: 'button', 'data-testid': 'export-bundle' }, t('exportBundle'));
  exportBtn.addEventListener('click', () =>
    void run(exportBtn, out, async () => {
      const r = await actions.exportWatchlist(site.value ? { sitePassphrase: site.value } : {});
      save(r.bytes, r.fileName, r.mime);
      return `${t('exported')} v${r.version}`;
    }),
  );
  const deltaBtn = h('button', { type: 'button', 'data-testid': 'export-delta' }, t('exportDelta'));
  deltaBtn.addEventListener('click', () =>
    void run(deltaBtn, out, async () => {
      const r = await actions.exportChanges(site.value ? { sitePassphrase: site.value } : {});
      save(r.bytes, r.fileName, r.mime);
      return tf('exportedDelta', { version: r.version, base: r.baseVersion ?? 0, upserts: r.upserts ?? 0, deletions: r.deletions ?? 0 });
    }),
  );
  const file = h('input', { type: 'file', accept: BUNDLE_EXTENSION, 'data-testid': 'import-bundle-file' });
  const importBtn = h('button', { type: 'button', 'data-testid': 'import-bundle' }, t('importBundle'));
  importBtn.addEventListener('click', () =>
    void run(importBtn, out, async () => {
      const f = file.files?.[0];
      if (!f) throw new Error(t('chooseFiles'));
      const r = await actions.importWatchlist(f, site.value ? { sitePassphrase: site.value } : {});
      return `${t('imported')} v${r.version}: ${r.subjects} ${t('people')}${r.keptRevoked ? ` · ${tf('keptRevoked', { n: r.keptRevoked })}` : ''}`;
    }),
  );
  return card(
    t('sync'),
    'section-sync',
    h('p', { class: 'help' }, t('syncHelp')),
    h('div', { class: 'buttons' }, showAdmin, showKiosk),
    keyOut,
    fp,
    qr,
    h('div', { class: 'buttons' }, scanAdmin, scanKiosk, cancelScan),
    field(t('pinAdminKey'), pinIn, 'pin-in'),
    pinBtn,
    field(t('addRecipient'), recIn, 'rec-in'),
    recBtn,
    confirmBox,
    h('h3', {}, t('trustedKeysTitle')),
    h('p', { class: 'help' }, t('trustedKeysHelp')),
    trustedList,
    field(t('sitePassphrase'), site, 'site-pass'),
    h('div', { class: 'buttons' }, exportBtn, deltaBtn),
    h('p', { class: 'help' }, t('exportDeltaHelp')),
    field(t('bundleFile'), filePicker(file), 'bundle-file'),
    importBtn,
    out,
  );
}
