/**
 * The admin console's notice of changes that were made but could not be recorded in the audit log (a damaged audit
 * key record, a full disk: snapshot.auditGap, src/app/change-audit.ts). It names each change by its outcome word,
 * with a count when one came back several times, says since when, and stays at the top of the console (sticky,
 * whatever card the admin is at) until an audit entry can be written again. The append's error code goes to the
 * details line only. Renders only; it decides nothing.
 */
import type { AuditGap } from '../app/change-audit';
import { word } from './card-kit';
import { h } from './dom';
import { formatDateTime, t, tf } from './i18n';

export class AuditGapNotice {
  readonly el: HTMLElement;
  private shown: AuditGap | null = null;

  constructor() {
    this.el = h('div', { class: 'notice sticky', role: 'alert', 'data-testid': 'audit-gap', 'data-tone': 'bad', hidden: true });
  }

  render(gap: AuditGap | null): void {
    if (gap === this.shown) return;
    this.shown = gap;
    this.el.hidden = gap === null;
    if (!gap) {
      delete this.el.dataset['code'];
      this.el.replaceChildren();
      return;
    }
    this.el.dataset['code'] = gap.code;
    // One line per kind of change, in the order they were first lost.
    const counts = new Map<string, number>();
    for (const o of gap.outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
    this.el.replaceChildren(
      h('p', {}, tf('auditGapTitle', { count: gap.lost, since: formatDateTime(gap.since) })),
      h('ul', {}, ...[...counts].map(([o, n]) => h('li', { 'data-outcome': o, 'data-count': n }, n > 1 ? `${word('outcome', o)} ×${n}` : word('outcome', o)))),
      h('p', { class: 'help' }, t('auditGapHelp')),
      h('small', { class: 'details', 'data-testid': 'error-details', title: t('details') }, gap.code),
    );
  }
}
