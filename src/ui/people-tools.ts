/**
 * The admin's tools for keeping one record per person, used by the admin console: search and sort of the people
 * list, "add photos / add a plate / merge" on a person's row, and the words for a collision with someone enrolled
 * (a duplicate face, a plate someone holds) naming that person.
 * Renders and calls the actions it is given; it never touches the vault, crypto or a worker, and decides nothing:
 * every rule (who holds a plate, what a merge keeps) is in src/app/people.ts below the view.
 */
import type { Subject } from '../shared/types';
import { previewPlates } from '../app/input-rules';
import { isKioskError } from '../shared/errors';
import { filePicker } from './card-kit';
import { h } from './dom';
import { worded } from './error-text';
import { colon, labelled, lang, t, tf, type StringKey } from './i18n';

/** A person as the people list shows it: a record without its face templates (the UI never holds those). */
type Person = Omit<Subject, 'templates'>;

export type PeopleSort = 'name' | 'newest' | 'validUntil';

export interface PeopleQuery {
  text: string;
  sort: PeopleSort;
}

/** People whose label or a plate contains the search text (case and spaces ignored), in the chosen order. */
export function filterPeople<S extends Person>(subjects: readonly S[], q: PeopleQuery): S[] {
  const norm = (v: string) => v.toLowerCase().replace(/\s+/g, '');
  const want = norm(q.text);
  const hit = subjects.filter((s) => !want || norm(s.label).includes(want) || s.plates.some((p) => norm(p).includes(want)));
  const by: Record<PeopleSort, (a: Person, b: Person) => number> = {
    name: (a, b) => a.label.localeCompare(b.label),
    newest: (a, b) => b.createdAt - a.createdAt,
    validUntil: (a, b) => (a.validUntil ?? Infinity) - (b.validUntil ?? Infinity) || a.label.localeCompare(b.label),
  };
  return [...hit].sort(by[q.sort]);
}

/** The search box and sort choice above the people table; `changed` re-renders the table. */
export function peopleToolbar(q: PeopleQuery, changed: () => void): HTMLElement {
  const search = h('input', { type: 'search', value: q.text, 'aria-label': t('searchPeople'), placeholder: t('searchPeople'), 'data-testid': 'people-search' });
  const sort = h(
    'select',
    { 'aria-label': t('sortBy'), 'data-testid': 'people-sort' },
    h('option', { value: 'name' }, t('sortName')),
    h('option', { value: 'newest' }, t('sortNewest')),
    h('option', { value: 'validUntil' }, t('sortValidUntil')),
  );
  sort.value = q.sort;
  search.addEventListener('input', () => {
    q.text = search.value;
    changed();
  });
  sort.addEventListener('change', () => {
    q.sort = sort.value as PeopleSort;
    changed();
  });
  return h('div', { class: 'toolbar people-tools' }, search, sort);
}

/**
 * An error for the admin's outcome line that names the enrolled person it collides with (ENROL_DUPLICATE_FACE,
 * ENROL_PLATE_TAKEN carry the holder's id; the name is looked up here, on the admin's own screen, and never put in
 * an error that could be logged).
 */
export function namingHolder(e: unknown, subjects: readonly Person[], holderId?: string): unknown {
  const id = holderId ?? (isKioskError(e) ? e.details?.['holderId'] : undefined);
  const holder = typeof id === 'string' ? subjects.find((s) => s.id === id) : undefined;
  if (!holder || !isKioskError(e)) return e;
  const plate = e.details?.['plate'];
  const what = e.code === 'ENROL_PLATE_TAKEN' ? `${t('plateHeldBy')}${colon(lang())}${holder.label}${typeof plate === 'string' ? ` (${plate})` : ''}` : `${t('duplicateOf')}${colon(lang())}${holder.label}`;
  return worded(e, lang(), { after: what });
}

/** What the admin tells the person in front of the camera for each gate a frame failed (camera enrolment). */
const COACH: Record<string, StringKey> = {
  'step back': 'qualityStepBack',
  'step into the frame': 'qualityFrame',
  'come closer': 'qualityCloser',
  'look at the camera': 'qualityLook',
  'too dark': 'qualityDark',
  'too bright': 'qualityBright',
  'too blurry': 'qualityBlurry',
  'no face': 'lookAtCamera',
  'one person only': 'coachOnePerson',
};

/**
 * Live coaching for camera enrolment: a progress bar of good frames and the hint for the last frame that did not
 * count. `update` is the enrolment's progress callback.
 */
export function enrolCoach(): { root: HTMLElement; update: (got: number, need: number, hint: string | null) => void; reset: () => void } {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': t('goodFrames'), 'data-testid': 'camera-enrol-progress' });
  const count = h('span', { 'data-testid': 'camera-enrol-count' });
  const hint = h('p', { class: 'coach', 'aria-live': 'polite', 'data-testid': 'camera-enrol-hint' });
  const root = h('div', { class: 'enrol-coach', hidden: true }, bar, count, hint);
  return {
    root,
    update: (got, need, reason) => {
      root.hidden = false;
      bar.max = need;
      bar.value = got;
      count.textContent = `${got}/${need} ${t('goodFrames')}`;
      hint.dataset['reason'] = reason ?? '';
      hint.textContent = reason ? t(COACH[reason] ?? 'lookAtCamera') : t('coachHold');
    },
    reset: () => {
      root.hidden = true;
      bar.value = 0;
      count.textContent = '';
      hint.textContent = '';
    },
  };
}

export interface RowActions {
  addPhotos(files: File[]): Promise<void>;
  addPlate(plate: string): Promise<void>;
  mergeWith(otherId: string): Promise<void>;
}

/** "Add photos", "Add plate" and "Merge with" for one person's row; `run` reports each outcome. */
export function rowTools(
  self: Person,
  others: readonly Person[],
  actions: RowActions,
  run: (button: HTMLButtonElement, fn: () => Promise<string | void>) => void,
): HTMLElement {
  const files = h('input', { type: 'file', accept: 'image/*', multiple: true, 'aria-label': t('addPhotos'), 'data-testid': 'add-photos-files' });
  const addPhotos = h('button', { type: 'button', 'data-testid': 'add-photos' }, t('addPhotos'));
  addPhotos.addEventListener('click', () =>
    run(addPhotos, async () => {
      const chosen = [...(files.files ?? [])];
      if (chosen.length === 0) throw new Error(t('chooseFiles'));
      await actions.addPhotos(chosen);
      // Added: the picker is cleared so a second press cannot add the same photos again.
      files.value = '';
      files.dispatchEvent(new Event('change'));
      return t('photosAdded');
    }),
  );
  const plate = h('input', { type: 'text', 'aria-label': t('addPlate'), placeholder: 'ABC1234', 'data-testid': 'add-plate-number' });
  // The plate as it will be stored, before saving (the same rule as the plates card): nothing normalised silently.
  const preview = h('small', { class: 'help', 'aria-live': 'polite', 'data-testid': 'add-plate-preview' });
  plate.addEventListener('input', () => {
    const p = previewPlates(plate.value);
    preview.textContent = plate.value.trim() === '' ? '' : p.length > 0 ? tf('platePreview', { plates: p.join(', ') }) : t('platePreviewNone');
  });
  const addPlate = h('button', { type: 'button', 'data-testid': 'add-plate' }, t('addPlate'));
  addPlate.addEventListener('click', () =>
    run(addPlate, async () => {
      const stored = previewPlates(plate.value).join(', ');
      await actions.addPlate(plate.value);
      return labelled(t('added'), stored);
    }),
  );
  // No one is picked until the admin picks: a merge moves one person's faces and plates to another, so it is never
  // the list's first entry by default, and the question names both people.
  const other = h(
    'select',
    { 'aria-label': t('mergeInto'), 'data-testid': 'merge-with' },
    h('option', { value: '' }, t('mergeChoose')),
    ...others.map((o) => h('option', { value: o.id }, o.label)),
  );
  const merge = h('button', { type: 'button', 'data-testid': 'merge' }, t('merge'));
  merge.addEventListener('click', () => {
    const into = others.find((o) => o.id === other.value);
    if (!into) {
      run(merge, () => Promise.reject(new Error(t('mergeChooseFirst'))));
      return;
    }
    if (confirm(tf('confirmMerge', { other: into.label, self: self.label })))
      run(merge, async () => {
        await actions.mergeWith(into.id);
        return t('merged');
      });
  });
  return h('div', { class: 'row-tools' }, filePicker(files), addPhotos, plate, preview, addPlate, ...(others.length ? [other, merge] : []));
}
