/**
 * The device cards of the admin console: pairing with the receiver (typed or scanned code), this tablet's storage
 * (used and quota from the browser's estimate, persistent or not), the subject-reference key (rotate it), the
 * models it runs with their licences (a table that scrolls inside its card on a narrow screen), the plate reader's
 * last reads for tuning, and the panic wipe.
 *
 * Owns only these cards' DOM; it calls the device service (src/app/device-service.ts) and the wipe action. It never
 * reaches storage, the network, crypto or a worker itself.
 */
import type { ModelInfo } from '../app/device-service';
import type { AppSnapshot } from '../app/controller';
import { WIPE_CONFIRMATION } from '../app/input-rules';
import { card, field, message, outLine, run } from './card-kit';
import { h } from './dom';
import { formatBytes, labelled, t } from './i18n';

export interface DeviceActions {
  pair(code: string): Promise<{ fingerprint: string }>;
  scanPairingCode(): Promise<{ fingerprint: string }>;
  storage(): Promise<{ usage: number; quota: number; persisted: boolean | null } | null>;
  rotateSubjectKey(): Promise<void>;
  models(): Promise<ModelInfo[]>;
}

export class DeviceCards {
  readonly pairing: HTMLElement;
  readonly storage: HTMLElement;
  readonly models: HTMLElement;
  readonly plateDebugCard: HTMLElement;
  private readonly plateDebug: HTMLElement;
  private readonly modelTable: HTMLElement;
  private readonly storageStatus: HTMLElement;

  constructor(private readonly actions: DeviceActions) {
    this.pairing = this.pairingCard();
    this.storageStatus = h('dl', { class: 'status', 'data-testid': 'storage-status' });
    this.storage = this.storageCard();
    this.modelTable = h('div', { class: 'table-scroll', 'data-testid': 'model-licences' });
    this.models = card(t('modelsTitle'), 'section-models', this.modelTable);
    this.plateDebug = h('div', { class: 'plate-debug', 'data-testid': 'plate-debug' });
    this.plateDebugCard = card(t('plateDebug'), 'section-plate-debug', h('p', { class: 'help' }, t('plateDebugHelp')), this.plateDebug);
    void this.loadModels();
    void this.showStorage();
  }

  render(s: AppSnapshot): void {
    this.renderPlateDebug(s);
  }

  private pairingCard(): HTMLElement {
    const code = h('input', { type: 'text', autocomplete: 'off', 'data-testid': 'pair-code' });
    const btn = h('button', { type: 'button', 'data-testid': 'pair-submit' }, t('pair'));
    const out = outLine('pair-message');
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        const r = await this.actions.pair(code.value);
        code.value = '';
        return labelled(t('paired'), r.fingerprint);
      }),
    );
    const scan = h('button', { type: 'button', 'data-testid': 'pair-scan' }, t('scanPairCode'));
    scan.addEventListener('click', () =>
      void run(scan, out, async () => {
        out.textContent = t('scanning');
        return labelled(t('paired'), (await this.actions.scanPairingCode()).fingerprint);
      }),
    );
    return card(t('pairing'), 'section-pairing', h('p', { class: 'help' }, t('pairHelp')), field(t('pairCode'), code, 'pair-code-in'), btn, scan, out);
  }

  private storageCard(): HTMLElement {
    const refresh = h('button', { type: 'button', 'data-testid': 'storage-refresh' }, t('storageRefresh'));
    const out = outLine('storage-message');
    refresh.addEventListener('click', () => void run(refresh, out, () => this.showStorage()));
    // A new subject-reference key: the receiver can no longer link later references to earlier ones.
    const rotate = h('button', { type: 'button', 'data-testid': 'rotate-subject-key' }, t('rotateSubjectKey'));
    const rotateOut = outLine('rotate-subject-key-message');
    rotate.addEventListener('click', () =>
      void run(rotate, rotateOut, async () => {
        await this.actions.rotateSubjectKey();
        return t('subjectKeyRotated');
      }),
    );
    return card(
      t('storageTitle'),
      'section-storage',
      h('p', { class: 'help' }, t('storageHelp')),
      this.storageStatus,
      refresh,
      out,
      h('h3', {}, t('subjectKeyTitle')),
      h('p', { class: 'help' }, t('subjectKeyHelp')),
      rotate,
      rotateOut,
    );
  }

  /** The browser's estimate for this origin (the vault, the cached models and the app). */
  private async showStorage(): Promise<string> {
    const e = await this.actions.storage();
    if (!e) {
      this.storageStatus.replaceChildren(h('dt', {}, t('storageUsed')), h('dd', { 'data-testid': 'storage-used' }, t('storageUnknown')));
      return t('storageUnknown');
    }
    const pct = e.quota > 0 ? ` (${((100 * e.usage) / e.quota).toFixed(1)}%)` : '';
    this.storageStatus.dataset['usage'] = String(e.usage);
    this.storageStatus.dataset['quota'] = String(e.quota);
    this.storageStatus.replaceChildren(
      h('dt', {}, t('storageUsed')),
      h('dd', { 'data-testid': 'storage-used' }, `${formatBytes(e.usage)}${pct}`),
      h('dt', {}, t('storageQuota')),
      h('dd', { 'data-testid': 'storage-quota' }, formatBytes(e.quota)),
      h('dt', {}, t('storagePersisted')),
      h('dd', { 'data-testid': 'storage-persisted' }, e.persisted === null ? t('storageUnknown') : e.persisted ? t('yes') : t('no')),
    );
    return t('done');
  }

  private renderPlateDebug(s: AppSnapshot): void {
    const first = s.plateDebug[0];
    if (!first || this.plateDebug.dataset['at'] === String(first.at)) return;
    this.plateDebug.dataset['at'] = String(first.at);
    this.plateDebug.replaceChildren(
      ...s.plateDebug.slice(0, 6).map((d) => {
        const crops = d.crops.map((c) => {
          const canvas = h('canvas', { width: c.width, height: c.height, title: c.source });
          canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(c.data), c.width, c.height), 0, 0);
          return canvas;
        });
        return h('div', { class: 'plate-read' }, h('strong', {}, d.text || '—'), ` ${d.confidence.toFixed(2)} `, h('small', {}, d.candidates.join(' · ')), ...crops);
      }),
    );
  }

  private async loadModels(): Promise<void> {
    try {
      const files = await this.actions.models();
      // The licence and source are the manifest's records, shown verbatim (a record is not translated); they are
      // marked as English so a screen reader on a Chinese screen reads them as English.
      this.modelTable.replaceChildren(
        h('p', { class: 'help', 'data-testid': 'model-records-note' }, t('modelRecordsNote')),
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ...[t('colFile'), t('colPackage'), t('licence'), t('provenance')].map((c) => h('th', {}, c)))),
          h('tbody', {}, ...files.map((f) => h('tr', {}, h('td', {}, f.id), h('td', {}, `${f.package}@${f.version}`), h('td', { lang: 'en' }, f.license), h('td', { lang: 'en' }, f.provenance)))),
        ),
      );
    } catch (e) {
      message(this.modelTable, e);
    }
  }
}

/** The panic wipe: the confirmation word typed, then everything on this tablet is destroyed. */
export function wipeCard(wipe: (confirmation: string) => Promise<void>): HTMLElement {
  const confirmIn = h('input', { type: 'text', autocomplete: 'off', placeholder: WIPE_CONFIRMATION, 'data-testid': 'wipe-confirm' });
  const btn = h('button', { type: 'button', class: 'danger', 'data-testid': 'wipe-submit' }, t('wipe'));
  const out = outLine('wipe-message', 'alert');
  btn.addEventListener('click', () => void run(btn, out, () => wipe(confirmIn.value)));
  return card(t('wipe'), 'section-wipe', h('p', { class: 'help' }, t('wipeHelp')), field(t('wipeConfirm'), confirmIn, 'wipe-in'), btn, out);
}
