/**
 * The admin card for pulling watchlist bundles from the receiver: the schedule (minutes, 0 = off), "pull now", and
 * the status the kiosk keeps (last synced with its version, last checked, and the last refused bundle with why).
 *
 * Owns only this card's DOM; it renders the snapshot's `sync` part and calls the two actions it is given (which
 * ask the authority, src/app/admin-ops.ts). It never fetches, verifies or stores anything itself.
 */
import { PULL_MINUTES_MAX, type PullStatus } from '../app/bundle-pull';
import { KioskError } from '../shared/errors';
import { outLine, run } from './card-kit';
import { h } from './dom';
import { describeError, WordedError } from './error-text';
import { formatDateTime, lang, t } from './i18n';

export interface SyncPullActions {
  savePullMinutes(minutes: number): Promise<unknown>;
  pullNow(): Promise<PullStatus>;
}

/** In the chosen language (Intl), never the browser's locale: a Chinese screen in an English browser said "12/5/2026, 1:20:00 PM". */
const when = (ms: number | null): string => (ms === null ? t('never') : formatDateTime(ms));

/**
 * What the last pull's error means, for the card and the guard screen: a bundle refused (signature, rollback, …), the
 * pull itself refused (kiosk not paired, unpaired by the receiver's admin, clock off), or the receiver not reached. The transport's codes are the decision sender's too, and their words are about queued
 * decisions ("Decisions are queued."), which says nothing true about a pull.
 */
export function pullProblem(e: KioskError): { label: string; text: string; error: WordedError } {
  const unreachable = e.code === 'UPSTREAM_UNREACHABLE' || e.code === 'UPSTREAM_BUSY' || e.code === 'UPSTREAM_SERVER_ERROR';
  const d = describeError(e, lang());
  // The receiver's refusals of the pull itself (docs/sync.md: only paired, unrevoked kiosks are served) need the
  // receiver's admin or the tablet's clock, not a better bundle: said in those words.
  const reason = e.details?.reason;
  const refusal =
    e.code === 'UPSTREAM_NOT_PAIRED'
      ? t('pullNotPaired')
      : e.code === 'UPSTREAM_REJECTED' && reason === 'kiosk_revoked'
        ? t('pullRevoked')
        : e.code === 'UPSTREAM_REJECTED' && reason === 'pull_expired'
          ? t('pullClock')
          : undefined;
  const text = unreachable ? t('pullUnreachable') : (refusal ?? d.text);
  const label = t(unreachable || refusal !== undefined ? 'pullFailed' : 'pullRefused');
  return { label, text, error: new WordedError({ ...d, text }) };
}

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
    this.out = outLine('pull-out');
    this.status = h('dl', { class: 'status', 'data-testid': 'pull-status' });
    // Each press ends in words on the card: saved, up to date, installed, or what went wrong (the code only in the
    // details line). "Pull now" with the receiver down said nothing here before (hand check, stop 31).
    save.addEventListener('click', () =>
      void run(save, this.out, async () => {
        // An empty box is refused with the rule, not read as 0 ("off") — Number('') is 0.
        const v = this.minutes.value.trim() === '' ? NaN : Number(this.minutes.value);
        if (!Number.isInteger(v)) throw new KioskError('CONFIG_INVALID', { field: 'pullMinutes', min: 0, max: PULL_MINUTES_MAX });
        await this.actions.savePullMinutes(v);
        return t('saved');
      }),
    );
    now.addEventListener('click', () =>
      void run(now, this.out, async () => {
        const before = this.shown?.syncedVersion ?? null;
        const st = await this.actions.pullNow();
        if (st.error) throw pullProblem(st.error).error;
        return st.syncedVersion !== null && st.syncedVersion !== before ? `${t('pullInstalled')} v${st.syncedVersion}` : t('pullUpToDate');
      }),
    );
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
      const p = pullProblem(s.error);
      items.push(
        h('dt', {}, p.label),
        h(
          'dd',
          { 'data-testid': 'pull-error', 'data-code': s.error.code, 'data-tone': 'bad' },
          p.text,
          h('small', { class: 'details', 'data-testid': 'error-details', title: t('details') }, s.error.code),
        ),
      );
    }
    this.status.replaceChildren(...items);
  }
}
