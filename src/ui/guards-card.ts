/**
 * The guards card of the admin console: guard accounts (name and PIN), disable or delete one, register a passkey
 * on this device for a guard, and the tablet's guard PIN lock-out with the admin's way to end it early.
 *
 * Owns only this card's DOM; it calls the guard actions it is given (src/app/admin-ops.ts, which asks the authority
 * for `manage-guards`). It never reaches storage or crypto and never shows a PIN.
 */
import { card, field, message, outLine, run } from './card-kit';
import { h } from './dom';
import { colon, formatDuration, t, tf } from './i18n';

export interface GuardRow {
  id: string;
  name: string;
  disabled: boolean;
  hasPin: boolean;
  passkeys: number;
}

export interface GuardActions {
  listGuards(): Promise<GuardRow[]>;
  createGuard(name: string, pin: string): Promise<unknown>;
  setGuardDisabled(id: string, disabled: boolean): Promise<void>;
  deleteGuard(id: string): Promise<void>;
  registerPasskey(id: string): Promise<void>;
  guardLockout(): Promise<{ failures: number; waitMs: number }>;
  clearGuardLockout(): Promise<number>;
}

export function guardsCard(actions: GuardActions): HTMLElement {
  // No maxlength: the browser cut a pasted 13-digit PIN to 12 and a long name to 64 silently, so the admin handed out
  // a PIN that was not the one stored. The vault refuses either with its rule (field and limit) instead.
  const name = h('input', { type: 'text', 'data-testid': 'guard-name' });
  const pin = h('input', { type: 'password', inputmode: 'numeric', autocomplete: 'new-password', 'data-testid': 'guard-pin' });
  const add = h('button', { type: 'button', 'data-testid': 'guard-add' }, t('addGuard'));
  const out = outLine('guards-message');
  const list = h('div', { 'data-testid': 'guards-list' });
  // The device-wide PIN lock-out, shown to the admin with the way to end it: five wrong tries by anyone at the
  // screen locked every guard's PIN for up to an hour, and nothing on this card said so (issue 15's note).
  const lockout = h('div', { class: 'lockout', 'data-testid': 'guard-lockout' });
  const showLockout = async (): Promise<void> => {
    const l = await actions.guardLockout();
    if (l.failures === 0 && l.waitMs === 0) {
      lockout.replaceChildren();
      delete lockout.dataset['tone'];
      return;
    }
    const clear = h('button', { type: 'button', 'data-testid': 'guard-lockout-clear' }, t('guardLockoutClear'));
    clear.addEventListener('click', () =>
      void run(clear, out, async () => {
        await actions.clearGuardLockout();
        await showLockout();
        return t('guardLockoutCleared');
      }),
    );
    lockout.dataset['tone'] = l.waitMs > 0 ? 'bad' : 'warn';
    const words =
      l.waitMs > 0
        ? tf('guardLockoutLocked', { failures: l.failures, wait: formatDuration(l.waitMs) })
        : tf('guardLockoutCounting', { failures: l.failures });
    lockout.replaceChildren(h('p', { 'data-testid': 'guard-lockout-text' }, words), clear);
  };
  const refresh = async (): Promise<void> => {
    await showLockout();
    const guards = await actions.listGuards();
    list.replaceChildren(
      guards.length === 0
        ? h('p', {}, t('noGuardsHere'))
        : h(
            'table',
            { 'data-testid': 'guards-table' },
            h('tbody', {}, ...guards.map((g) => guardRow(actions, g, out, refresh))),
          ),
    );
  };
  add.addEventListener('click', () =>
    void run(add, out, async () => {
      const withPin = pin.value !== '';
      await actions.createGuard(name.value, pin.value);
      name.value = pin.value = '';
      await refresh();
      // Without a PIN the account cannot log in until a passkey is registered for it: said, not left to be found.
      return t(withPin ? 'guardAdded' : 'guardAddedNoPin');
    }),
  );
  void refresh().catch((e: unknown) => message(out, e));
  return card(
    t('guards'),
    'section-guards',
    h('p', { class: 'help' }, t('guardsHelp')),
    field(t('guardName'), name, 'guard-name-in'),
    field(t('pin'), pin, 'guard-pin-in'),
    add,
    out,
    lockout,
    list,
  );
}

function guardRow(actions: GuardActions, g: GuardRow, out: HTMLElement, refresh: () => Promise<void>): HTMLElement {
  const toggle = h('button', { type: 'button', 'data-testid': 'guard-toggle' }, g.disabled ? t('enable') : t('disable'));
  const passkey = h('button', { type: 'button', 'data-testid': 'guard-passkey' }, t('registerPasskey'));
  const del = h('button', { type: 'button', class: 'danger', 'data-testid': 'guard-delete' }, t('delete'));
  toggle.addEventListener('click', () => void run(toggle, out, async () => { await actions.setGuardDisabled(g.id, !g.disabled); await refresh(); }));
  passkey.addEventListener('click', () => void run(passkey, out, async () => { await actions.registerPasskey(g.id); await refresh(); return t('passkeyAdded'); }));
  del.addEventListener('click', () => {
    if (confirm(t('confirmDelete'))) void run(del, out, async () => { await actions.deleteGuard(g.id); await refresh(); });
  });
  return h(
    'tr',
    { 'data-guard': g.id, 'data-name': g.name, 'data-disabled': String(g.disabled) },
    h('td', {}, g.name),
    h('td', {}, g.hasPin ? t('pin') : ''),
    h('td', {}, `${t('passkeys')}${colon()}${g.passkeys}`),
    h('td', {}, g.disabled ? t('disabled') : t('active')),
    h('td', {}, toggle, passkey, del),
  );
}
