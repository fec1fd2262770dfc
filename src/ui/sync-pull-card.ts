/**
 * The admin card for pulling watchlist bundles from the receiver: the schedule (minutes, 0 = off), "pull now", and
 * the status the kiosk keeps (last synced with its version, last checked, and the last refused bundle with why).
 *
 * Owns only this card's DOM; it renders the snapshot's `sync` part and calls the two actions it is given (which
 * ask the authority, src/app/admin-ops.ts). It never fetches, verifies or stores anything itself.
 */
import { PULL_MINUTES_MAX, type PullStatus } from '../app/bundle-pull';
import { message } from './card-kit';
import { h } from './dom';
import { errorText, formatDateTime, t } from './i18n';

export interface SyncPullActions {
  savePullMinutes(minutes: number): Promise<unknown>;
  pullNow(): Promise<PullStatus>;
}

/** In the chosen language (Intl), never the browser's locale: a Chinese screen in an English browser said "12/5/2026, 1:20:00 PM". */
const when = (ms: number | null): string => (ms === null ? t('never') : formatDateTime(ms));

/** "Last synced" text for any screen: the time and version of the last bundle a pull installed. */
export function lastSyncedText(s: PullStatus): string {
  return s.syncedAt === null ? t('never') : `${when(s.syncedAt)} · v${s.syncedVersion ?? '?'}`;
}

export class SyncPullCard {
  readonly el: HTMLElement;
  private readonly status: HTMLElement;
  private readonly minutes: HTMLInputElement;
  private readonly out: HTMLElement;
  private shown: PullStatus | null = null;

  constructor(private readonly actions: SyncPullActions, everyMinutes: number) {
    this.minutes = h('input', { type: 'number', min: 0, max: PULL_MINUTES_MAX, step: 1, value: everyMinutes, 'data-testid': 'pull-minutes' });
    this.minutes.id = 'pull-minutes-in';
    const save = h('button', { type: 'button', 'data-testid': 'pull-save' }, t('pullSave'));
    const now = h('button', { type: 'button', 'data-testid': 'pull-now' }, t('pullNow'));
    this.out = h('p', { class: 'out', 'data-testid': 'pull-out', role: 'status' });
    this.status = h('dl', { class: 'status', 'data-testid': 'pull-status' });
    const act = async (b: HTMLButtonElement, fn: () => Promise<unknown>) => {
      b.disabled = true;
      this.out.textContent = '';
      delete this.out.dataset['code'];
      delete this.out.dataset['tone'];
      try {
        await fn();
      } catch (e) {
        // In words (which field, what rule); the code only in the small details line for support.
        message(this.out, e);
      } finally {
        b.disabled = false;
      }
    };
    save.addEventListener('click', () => void act(save, () => this.actions.savePullMinutes(Number(this.minutes.value))));
    now.addEventListener('click', () => void act(now, () => this.actions.pullNow()));
    this.el = h(
      'section',
      { class: 'card', 'data-testid': 'section-pull' },
      h('h2', {}, t('pullTitle')),
      h('p', { class: 'help' }, t('pullHelp')),
      h('div', { class: 'field' }, h('label', { for: 'pull-minutes-in' }, t('pullMinutes')), this.minutes),
      save,
      now,
      this.status,
      this.out,
    );
  }

  render(s: PullStatus): void {
    if (s === this.shown) return;
    this.shown = s;
    const rows: [string, string, string][] = [
      [t('lastSynced'), lastSyncedText(s), 'pull-synced'],
      [t('lastChecked'), when(s.checkedAt), 'pull-checked'],
    ];
    const items = rows.flatMap(([k, v, id]) => [h('dt', {}, k), h('dd', { 'data-testid': id }, v)]);
    if (s.error) {
      items.push(
        h('dt', {}, t('pullRefused')),
        h(
          'dd',
          { 'data-testid': 'pull-error', 'data-code': s.error.code, 'data-tone': 'bad' },
          errorText(s.error.code, s.error.message),
          h('small', { class: 'details', 'data-testid': 'error-details', title: t('details') }, s.error.code),
        ),
      );
    }
    this.status.replaceChildren(...items);
  }
}
