/**
 * The sync card of the admin console: this tablet's admin and kiosk keys (JSON, fingerprint and a QR code for the
 * other tablet's camera), scanning or pasting the other tablet's key, and the watchlist as a bundle file (export to
 * a site passphrase and/or the added kiosks — the whole list or only the changes since the last export — and
 * import). The LAN pull has its own card (src/ui/sync-pull-card.ts).
 *
 * Owns only this card's DOM; it calls the sync service (src/app/sync-service.ts), which names the file and does
 * every check. It never reaches storage, crypto, the network or src/sync itself.
 */
import { qrMatrix } from '../app/qr-exchange';
import { BUNDLE_EXTENSION, type ExportedBundle } from '../app/sync-service';
import { card, field, filePicker, outLine, run, save } from './card-kit';
import { h } from './dom';
import { labelled, t, tf } from './i18n';

export interface SyncActions {
  adminPublicKey(): Promise<{ json: string; fingerprint: string }>;
  kioskPublicKey(): Promise<{ json: string; fingerprint: string }>;
  pinAdminKey(json: string): Promise<string>;
  addRecipient(json: string): Promise<string>;
  scanAdminKey(): Promise<string>;
  scanKioskKey(): Promise<string>;
  exportWatchlist(opts: { sitePassphrase?: string }): Promise<ExportedBundle>;
  /** Only what changed since the last export (a delta bundle for kiosks on that version). */
  exportChanges(opts: { sitePassphrase?: string }): Promise<ExportedBundle>;
  importWatchlist(file: Blob, opts: { sitePassphrase?: string }): Promise<{ version: number; subjects: number }>;
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
  // Reading the other tablet's QR code with this camera: the fingerprint is shown here to compare with theirs.
  const scanAdmin = h('button', { type: 'button', 'data-testid': 'scan-admin-key' }, t('scanAdminKey'));
  const scanKiosk = h('button', { type: 'button', 'data-testid': 'scan-kiosk-key' }, t('scanKioskKey'));
  scanAdmin.addEventListener('click', () =>
    void run(scanAdmin, out, async () => {
      out.textContent = t('scanning');
      const fingerprint = await actions.scanAdminKey();
      fp.textContent = fingerprint;
      return labelled(t('pinned'), fingerprint);
    }),
  );
  scanKiosk.addEventListener('click', () =>
    void run(scanKiosk, out, async () => {
      out.textContent = t('scanning');
      const fingerprint = await actions.scanKioskKey();
      fp.textContent = fingerprint;
      return labelled(t('added'), fingerprint);
    }),
  );
  const pinIn = h('textarea', { rows: 3, 'data-testid': 'pin-admin-json' });
  const pinBtn = h('button', { type: 'button', 'data-testid': 'pin-admin-submit' }, t('pinAdminKey'));
  pinBtn.addEventListener('click', () => void run(pinBtn, out, async () => labelled(t('pinned'), await actions.pinAdminKey(pinIn.value))));
  const recIn = h('textarea', { rows: 3, 'data-testid': 'recipient-json' });
  const recBtn = h('button', { type: 'button', 'data-testid': 'recipient-submit' }, t('addRecipient'));
  recBtn.addEventListener('click', () => void run(recBtn, out, async () => labelled(t('added'), await actions.addRecipient(recIn.value))));
  const site = h('input', { type: 'password', autocomplete: 'off', 'data-testid': 'site-passphrase' });
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
      return `${t('imported')} v${r.version}: ${r.subjects} ${t('people')}`;
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
    h('div', { class: 'buttons' }, scanAdmin, scanKiosk),
    field(t('pinAdminKey'), pinIn, 'pin-in'),
    pinBtn,
    field(t('addRecipient'), recIn, 'rec-in'),
    recBtn,
    field(t('sitePassphrase'), site, 'site-pass'),
    h('div', { class: 'buttons' }, exportBtn, deltaBtn),
    h('p', { class: 'help' }, t('exportDeltaHelp')),
    field(t('bundleFile'), filePicker(file), 'bundle-file'),
    importBtn,
    out,
  );
}
