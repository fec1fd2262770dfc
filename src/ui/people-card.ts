/**
 * The people card, first on the admin console: everyone enrolled, searchable and sortable, each row editable in
 * place (name, list, validity with date-time pickers), with expire, delete, "add photos / add a plate" and merge.
 *
 * Owns only this card's DOM; it renders the list its service gives (src/app/people-service.ts, no templates) and
 * calls that service or the enrolment service (adding to a person). It never reaches storage, crypto or a worker.
 * The outcome line and the search survive a re-render of the table, so a result is not lost with it.
 */
import type { EnrolReport, EnrolTarget } from '../app/enrolment';
import type { WatchSubject } from '../app/watchlist';
import { KioskError } from '../shared/errors';
import type { ListKind, Subject } from '../shared/types';
import { card, dateTimeField, fromLocalInput, listSelect, outLine, run } from './card-kit';
import { h } from './dom';
import { worded } from './error-text';
import { colon, lang, t } from './i18n';
import { filterPeople, namingHolder, peopleToolbar, rowTools, type PeopleQuery } from './people-tools';

export interface PeopleActions {
  list(): WatchSubject[];
  /** `seenVersion`: the version of the row the form shows (src/app/people-service.ts SubjectPatch). */
  updateSubject(id: string, patch: Partial<Pick<Subject, 'label' | 'list' | 'validFrom' | 'validUntil'>> & { seenVersion?: number }): Promise<void>;
  expireSubject(id: string): Promise<void>;
  deleteSubject(id: string): Promise<void>;
  mergeSubjects(keepId: string, otherId: string): Promise<Subject>;
}

/** What adding to a person needs of the enrolment service. */
export interface AddToPersonActions {
  enrolPhotos(items: { file: File; label: string; list: ListKind }[], onProgress: undefined, target: EnrolTarget): Promise<EnrolReport[]>;
  addPlates(label: string, plates: string[], list: ListKind, target: EnrolTarget): Promise<Subject>;
}

export class PeopleCard {
  readonly el: HTMLElement;
  private readonly people: HTMLElement;
  /** The people list's outcome line: kept across re-renders of the table, so a result is not lost with it. */
  private readonly out = outLine('people-message', 'alert');
  /** Search text and order of the people list (kept across re-renders). */
  private readonly query: PeopleQuery = { text: '', sort: 'name' };

  constructor(
    private readonly actions: PeopleActions,
    private readonly addTo: AddToPersonActions,
  ) {
    this.people = h('div', { 'data-testid': 'people' });
    this.el = card(t('peopleTitle'), 'section-people', this.people);
  }

  /** Empties the card (a locked console keeps no name in the DOM). */
  clear(): void {
    this.people.replaceChildren();
  }

  render(): void {
    const subjects = this.actions.list();
    if (subjects.length === 0) {
      this.people.replaceChildren(h('p', { 'data-testid': 'people-empty' }, t('noPeople')));
      return;
    }
    const out = this.out;
    const rows = filterPeople(subjects, this.query).map((s) => {
      const expired = s.validUntil !== undefined && s.validUntil <= Date.now();
      const expire = h('button', { type: 'button', 'data-testid': 'expire' }, t('expire'));
      const del = h('button', { type: 'button', class: 'danger', 'data-testid': 'delete' }, t('delete'));
      const label = h('input', { type: 'text', value: s.label, 'aria-label': t('label'), 'data-testid': 'edit-label' });
      const list = listSelect('edit-list');
      list.value = s.list;
      const saveBtn = h('button', { type: 'button', 'data-testid': 'save-subject' }, t('save'));
      const fromField = dateTimeField('edit-valid-from', s.validFrom, t('validFrom'));
      const untilField = dateTimeField('edit-valid-until', s.validUntil, t('validUntil'));
      const from = fromField.input;
      const until = untilField.input;
      expire.addEventListener('click', () => void run(expire, out, () => this.actions.expireSubject(s.id)));
      del.addEventListener('click', () => {
        if (confirm(t('confirmDelete'))) void run(del, out, () => this.actions.deleteSubject(s.id));
      });
      saveBtn.addEventListener('click', () =>
        void run(saveBtn, out, async () => {
          let validFrom: number | undefined;
          let validUntil: number | undefined;
          try {
            validFrom = fromLocalInput(from.value);
            validUntil = fromLocalInput(until.value);
          } catch {
            throw new Error(t('badDate'));
          }
          if (validFrom !== undefined && validUntil !== undefined && validUntil <= validFrom) throw new Error(t('badPeriod'));
          // Every field as the row shows it: with the version shown, so a row drawn before a bundle changed the
          // person cannot write its old list or end back (the list redraws only once the watchlist has reloaded).
          await this.actions.updateSubject(s.id, { label: label.value, list: list.value as ListKind, validFrom, validUntil, seenVersion: s.version });
        }),
      );
      const templates = Object.values(s.templateCounts).reduce((n, a) => n + a, 0);
      return h(
        'tr',
        { 'data-subject': s.id, 'data-label': s.label },
        // data-col: the column's heading, shown above each value where the rows are stacked (a portrait tablet).
        h('td', { 'data-col': t('label') }, label),
        h('td', { 'data-col': t('list') }, list),
        h('td', { 'data-col': t('templates') }, String(templates)),
        h('td', { 'data-col': t('colPlates') }, s.plates.join(' ')),
        h('td', { 'data-testid': 'validity', 'data-col': t('colValidity') }, expired ? t('expired') : '', fromField.el, untilField.el),
        h('td', { 'data-col': t('colActions') }, saveBtn, expire, del, this.personTools(s, subjects)),
      );
    });
    this.people.replaceChildren(
      peopleToolbar(this.query, () => this.render()),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { 'data-testid': 'people-table' },
          h('thead', {}, h('tr', {}, ...[t('label'), t('list'), t('templates'), t('colPlates'), t('colValidity'), t('colActions')].map((c) => h('th', {}, c)))),
          h('tbody', {}, ...rows),
        ),
      ),
      ...(rows.length === 0 ? [h('p', { class: 'help', 'data-testid': 'people-no-match' }, t('peopleNoMatch'))] : []),
      out,
    );
  }

  /** Add photos or a plate to this person, or merge another person into them. */
  private personTools(s: WatchSubject, all: readonly WatchSubject[]): HTMLElement {
    const others = all.filter((o) => o.id !== s.id);
    return rowTools(
      s,
      others,
      {
        addPhotos: async (files) => {
          const r = await this.addTo.enrolPhotos(files.map((file) => ({ file, label: s.label, list: s.list })), undefined, { addTo: s.id });
          const bad = r.find((x) => !x.ok);
          // Which file and why, in words; the code in the details line (bad.message is the English default text).
          if (bad?.code) throw worded(KioskError.fromJSON({ code: bad.code, message: bad.message ?? '', details: bad.details ?? {} }), lang(), { before: `${bad.file}${colon(lang())}` });
          if (bad) throw new Error(bad.file);
        },
        addPlate: async (plate) => {
          try {
            await this.addTo.addPlates(s.label, [plate], s.list, { addTo: s.id });
          } catch (e) {
            throw namingHolder(e, all);
          }
        },
        mergeWith: async (otherId) => void (await this.actions.mergeSubjects(s.id, otherId)),
      },
      (button, fn) => void run(button, this.out, fn),
    );
  }
}
