/**
 * The enrolment cards of the admin console: photo files (with the duplicate-face choice "add to that person"
 * first), the live camera (coached frame by frame), a bulk import of photos with a CSV (a report per photo and CSV
 * row), and plates (the normalised plate shown before saving).
 *
 * Owns only these cards' DOM; it calls the enrolment service (src/app/enrolment.ts) and shows its reports. It never
 * reaches storage, crypto or a worker, and decides nothing: duplicates and held plates are the service's refusals.
 */
import type { EnrolReport, EnrolTarget } from '../app/enrolment';
import type { WatchSubject } from '../app/watchlist';
import { previewPlates, splitPlates } from '../app/input-rules';
import { KioskError } from '../shared/errors';
import type { ListKind, Subject } from '../shared/types';
import { card, field, filePicker, labelInput, listOf, listSelect, outLine, run } from './card-kit';
import { h } from './dom';
import { describeError, worded } from './error-text';
import { colon, lang, t, tf } from './i18n';
import { enrolCoach, namingHolder } from './people-tools';

export interface EnrolActions {
  enrolPhotos(items: { file: File; label: string; list: ListKind }[], onProgress?: (d: number, n: number) => void, target?: EnrolTarget): Promise<EnrolReport[]>;
  /** `csv` is the chosen file: the service reads it, as UTF-8 only (a file in another encoding is refused). */
  bulkImport(photos: File[], csv: Blob, onProgress?: (d: number, n: number) => void): Promise<EnrolReport[]>;
  enrolFromCamera(label: string, list: ListKind, opts: { onProgress?: (got: number, need: number, hint: string | null) => void } & EnrolTarget): Promise<Subject>;
  addPlates(label: string, plates: string[], list: ListKind, target?: EnrolTarget): Promise<Subject>;
}

/**
 * The label as a report line shows it: a refused 5,000-character name was echoed whole (a card thousands of pixels
 * tall; hand check, stop 28), a blank one as nothing. Only the display is shortened, with its length said; nothing
 * stored is changed (a name that long was refused anyway).
 */
function shownLabel(label: string): string {
  const clean = label.trim();
  if (!clean) return '""';
  return clean.length > 80 ? `${clean.slice(0, 60)}… (${clean.length})` : clean;
}

function reportList(reports: EnrolReport[]): HTMLElement {
  return h(
    'ul',
    { class: 'reports', 'data-testid': 'enrol-reports' },
    ...reports.map((r) => {
      const d = r.code ? describeError(KioskError.fromJSON({ code: r.code, message: r.message ?? '', details: r.details ?? {} }), lang()) : null;
      return h(
        'li',
        { 'data-ok': String(r.ok), 'data-code': r.code ?? '', ...(typeof r.details?.['row'] === 'number' ? { 'data-row': r.details['row'] } : {}) },
        `${r.file} → ${shownLabel(r.label)}: ${r.ok || !d ? t('enrolled') : d.text}`,
        d ? h('small', { class: 'details' }, d.details) : null,
      );
    }),
  );
}

/** The four enrolment cards, in the order an admin uses them. `people` names a duplicate's or plate's holder. */
export function enrolCards(actions: EnrolActions, people: () => readonly WatchSubject[]): HTMLElement[] {
  return [photosCard(actions, people), cameraCard(actions), bulkCard(actions), platesCard(actions, people)];
}

function photosCard(actions: EnrolActions, people: () => readonly WatchSubject[]): HTMLElement {
  const files = h('input', { type: 'file', accept: 'image/*', multiple: true, 'data-testid': 'enrol-files' });
  const label = labelInput('enrol-label');
  const list = listSelect('enrol-list');
  const btn = h('button', { type: 'button', 'data-testid': 'enrol-submit' }, t('enrol'));
  const out = outLine('enrol-message');
  const reports = h('div', { 'data-testid': 'enrol-report' });
  // A face already enrolled: the choice to add to that person comes first, a new record second.
  const duplicate = h('div', { class: 'duplicate', 'data-testid': 'enrol-duplicate', hidden: true });
  const enrol = (chosen: File[], button: HTMLButtonElement, target: EnrolTarget) =>
    void run(button, out, async () => {
      // A new attempt clears the last one's outcome first, also when it is refused at once (the last duplicate's
      // "add to that person" stayed under a "choose a file first").
      reports.replaceChildren();
      duplicate.hidden = true;
      duplicate.replaceChildren();
      if (chosen.length === 0) throw new Error(t('chooseFiles'));
      const r = await actions.enrolPhotos(
        chosen.map((file) => ({ file, label: label.value, list: listOf(list) })),
        (d, n) => (out.textContent = `${d}/${n}`),
        target,
      );
      reports.replaceChildren(reportList(r));
      const good = r.filter((x) => x.ok);
      // Nothing enrolled (a refused name, no face): the chosen photos stay chosen, to fix the field and try again.
      // Once any photo went in, the picker is cleared so a second press cannot enrol it twice.
      if (good.length > 0) {
        files.value = '';
        files.dispatchEvent(new Event('change'));
      }
      const dup = r.find((x) => x.code === 'ENROL_DUPLICATE_FACE' && x.holderId);
      const holder = dup ? people().find((x) => x.id === dup.holderId) : undefined;
      if (dup && holder) {
        const addTo = h('button', { type: 'button', 'data-testid': 'enrol-add-to-existing' }, `${t('addToExisting')} ${holder.label}`);
        const asNew = h('button', { type: 'button', class: 'secondary', 'data-testid': 'enrol-as-new' }, t('enrolAsNew'));
        addTo.addEventListener('click', () => enrol(chosen, addTo, { addTo: holder.id }));
        asNew.addEventListener('click', () => enrol(chosen, asNew, { allowDuplicate: true }));
        // A deny-listed face is never enrolled again on the allow list (src/app/enrolment.ts): no button that cannot work.
        const denied = holder.list === 'deny';
        asNew.hidden = denied;
        const who = `${t('duplicateOf')}${colon()}${holder.label}${denied ? ` (${t('auditList_deny')})` : ''}`;
        duplicate.replaceChildren(h('p', { 'data-testid': 'enrol-duplicate-of' }, who), addTo, asNew);
        duplicate.hidden = false;
        // The code only in the details line; the holder's name only on this (the admin's) screen.
        throw worded(KioskError.fromJSON({ code: 'ENROL_DUPLICATE_FACE', message: dup.message ?? '', details: {} }), lang(), { after: who });
      }
      if (good.length === 0) {
        const first = r.find((x) => x.code);
        // In the screen's language, with its field and rule (the per-photo lines below say which photo).
        if (first?.code)
          throw worded(KioskError.fromJSON({ code: first.code, message: first.message ?? '', details: first.details ?? {} }), lang(), { before: `${t('enrolledNone')}${colon()}` });
        throw new Error(t('enrolledNone'));
      }
      return `${good.length}/${r.length} ${t('photosEnrolled')}`;
    });
  btn.addEventListener('click', () => enrol([...(files.files ?? [])], btn, {}));
  return card(
    t('enrolPhotos'),
    'section-enrol-photos',
    h('p', { class: 'help' }, t('enrolPhotosHelp')),
    field(t('label'), label, 'enrol-label-in'),
    field(t('list'), list, 'enrol-list-in'),
    field(t('photos'), filePicker(files), 'enrol-files-in'),
    btn,
    out,
    duplicate,
    reports,
  );
}

function cameraCard(actions: EnrolActions): HTMLElement {
  const label = labelInput('camera-enrol-label');
  const list = listSelect('camera-enrol-list');
  const btn = h('button', { type: 'button', 'data-testid': 'camera-enrol-submit' }, t('enrolFromCamera'));
  const out = outLine('camera-enrol-message');
  const coach = enrolCoach();
  btn.addEventListener('click', () =>
    void run(btn, out, async () => {
      coach.reset();
      await actions.enrolFromCamera(label.value, listOf(list), { onProgress: coach.update });
      return t('enrolledOne');
    }),
  );
  return card(t('enrolFromCamera'), 'section-enrol-camera', h('p', { class: 'help' }, t('enrolCameraHelp')), field(t('label'), label, 'cam-label'), field(t('list'), list, 'cam-list'), btn, coach.root, out);
}

function bulkCard(actions: EnrolActions): HTMLElement {
  const photos = h('input', { type: 'file', accept: 'image/*', multiple: true, 'data-testid': 'bulk-photos' });
  const csv = h('input', { type: 'file', accept: '.csv,text/csv', 'data-testid': 'bulk-csv' });
  const btn = h('button', { type: 'button', 'data-testid': 'bulk-submit' }, t('import'));
  const out = outLine('bulk-message');
  const reports = h('div', { 'data-testid': 'bulk-report' });
  btn.addEventListener('click', () =>
    void run(btn, out, async () => {
      const csvFile = csv.files?.[0];
      if (!csvFile) throw new Error(t('chooseCsv'));
      reports.replaceChildren();
      const r = await actions.bulkImport([...(photos.files ?? [])], csvFile, (d, n) => (out.textContent = `${d}/${n}`));
      reports.replaceChildren(reportList(r));
      return `${r.filter((x) => x.ok).length}/${r.length} ${t('photosEnrolled')}`;
    }),
  );
  return card(t('bulkImport'), 'section-bulk', h('p', { class: 'help' }, t('bulkHelp')), field(t('photos'), filePicker(photos), 'bulk-photos-in'), field(t('field_csv'), filePicker(csv), 'bulk-csv-in'), btn, out, reports);
}

function platesCard(actions: EnrolActions, people: () => readonly WatchSubject[]): HTMLElement {
  const label = labelInput('plate-label');
  const plates = h('input', { type: 'text', 'data-testid': 'plate-numbers', placeholder: 'ABC1234' });
  // What will be stored, shown while typing: normalisation (case, accents, spaces, punctuation) is never silent.
  const preview = h('p', { class: 'help', 'aria-live': 'polite', 'data-testid': 'plate-preview' });
  const showPreview = (): void => {
    const p = previewPlates(plates.value);
    preview.dataset['plates'] = p.join(',');
    preview.textContent = plates.value.trim() === '' ? '' : p.length > 0 ? tf('platePreview', { plates: p.join(', ') }) : t('platePreviewNone');
  };
  plates.addEventListener('input', showPreview);
  const list = listSelect('plate-list');
  const btn = h('button', { type: 'button', 'data-testid': 'plate-submit' }, t('addPlates'));
  const out = outLine('plate-message');
  btn.addEventListener('click', () =>
    void run(btn, out, async () => {
      // Several plates are separated by commas or semicolons; spaces belong to a plate ("AB 12 CD").
      let s: Subject;
      try {
        s = await actions.addPlates(label.value, splitPlates(plates.value), listOf(list));
      } catch (e) {
        throw namingHolder(e, people());
      }
      plates.value = '';
      showPreview();
      return `${t('enrolledOne')} ${t('plates')}: ${s.plates.join(', ')}`;
    }),
  );
  return card(t('addPlates'), 'section-plates', field(t('label'), label, 'plate-label-in'), field(t('colPlates'), plates, 'plate-numbers-in'), preview, field(t('list'), list, 'plate-list-in'), btn, out);
}
