/**
 * The staff login a visitor kiosk shows after the corner long-press (or when someone types #/guard): a guard types
 * their display name and PIN, or uses their passkey; an admin goes on to the passphrase. It lists no names: anyone
 * at a visitor kiosk can open this form, and a list told them who guards the building and whose PIN to guess.
 * Renders what the app layer answers (lock-out wait, "wrong guard or PIN" for a wrong name as for a wrong PIN,
 * passkey refusal) and never decides anything itself: the vault checks name and PIN, the authority opens the session.
 */
import { isKioskError } from '../shared/errors';
import { GUARD_NAME_MAX, PIN_RULE } from '../shared/guard-pin';
import { h } from './dom';
import { describeError } from './error-text';
import { lang, t, tf } from './i18n';

export interface LoginActions {
  /**
   * Whether any guard can log in here (an enabled account with a PIN or a passkey; this view gets no names); null
   * while the kiosk still opens its vault and cannot know (it said "The watchlist is locked." for those seconds).
   */
  anyGuard(): Promise<boolean | null>;
  /** PIN login by the display name as typed. */
  loginPin(name: string, pin: string): Promise<void>;
  loginPasskey(): Promise<void>;
  /** Go on to the admin passphrase. */
  toAdmin(): void;
  /** Back to this tablet's home screen. */
  cancel(): void;
}

export class LoginView {
  readonly root: HTMLElement;
  private readonly who: HTMLInputElement;
  private readonly pin: HTMLInputElement;
  private readonly message: HTMLElement;
  private readonly submit: HTMLButtonElement;

  constructor(private readonly actions: LoginActions) {
    this.who = h('input', {
      id: 'login-guard',
      type: 'text',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      'data-testid': 'login-guard',
    });
    // No maxlength: a 13th digit cut off by the browser sent a different PIN and cost one of the five tries; the form
    // refuses a PIN that is not 6-12 digits, or a name longer than any guard's, without sending it.
    // 'new-password' on every secret field of the kiosk: browsers ignore 'off' on password fields and fill in what
    // they saved; a PIN saved once on this shared screen would be filled for the next visitor (docs/deployment.md).
    this.pin = h('input', { id: 'login-pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password', 'data-testid': 'login-pin' });
    this.message = h('p', { class: 'form-message', role: 'alert', 'data-testid': 'login-message' });
    this.submit = h('button', { type: 'submit', 'data-testid': 'login-submit' }, t('logIn'));
    const passkey = h('button', { type: 'button', 'data-testid': 'login-passkey' }, t('usePasskey'));
    const admin = h('button', { type: 'button', 'data-testid': 'login-admin' }, t('adminLogin'));
    const cancel = h('button', { type: 'button', 'data-testid': 'login-cancel' }, t('cancel'));
    passkey.addEventListener('click', () => void this.run(passkey, () => this.actions.loginPasskey()));
    admin.addEventListener('click', () => this.actions.toAdmin());
    cancel.addEventListener('click', () => this.actions.cancel());
    const form = h(
      'form',
      { 'aria-label': t('staffLogin') },
      h('h2', {}, t('guardLogin')),
      h('div', { class: 'field' }, h('label', { for: 'login-guard' }, t('guardNameLogin')), this.who),
      h('div', { class: 'field' }, h('label', { for: 'login-pin' }, t('pin')), this.pin),
      h('div', { class: 'buttons' }, this.submit, passkey),
      this.message,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      // A try that can never be right (no name, or no PIN of 6-12 digits) is not sent: it would use up one of the
      // five tries that lock every guard login on this tablet (hand check: an empty "Log in" counted).
      const who = this.who.value.trim();
      if (who === '' || who.length > GUARD_NAME_MAX || !PIN_RULE.test(this.pin.value)) {
        this.show(tf('loginIncomplete', { max: GUARD_NAME_MAX }), 'bad');
        return;
      }
      void this.run(this.submit, () => this.actions.loginPin(this.who.value, this.pin.value));
    });
    this.root = h('section', { class: 'login', 'data-testid': 'login' }, h('h1', {}, t('staffLogin')), form, h('div', { class: 'buttons' }, admin, cancel));
  }

  /** Fresh form each time it is shown: name, PIN and message cleared. */
  async open(): Promise<void> {
    this.who.value = '';
    this.pin.value = '';
    this.clearMessage();
    await this.refreshGuards();
  }

  /** A guard's session ended because their proof for an override failed (`e`): the form says so, and why. */
  notice(e: unknown): void {
    this.fail(e);
    this.message.textContent = `${t('proofFailedLoggedOut')} ${this.message.textContent}`;
  }

  /**
   * Asks again whether any guard can log in (the vault was unlocked after the form appeared) and keeps what the
   * person already typed; a message that only said there was none, or that the accounts could not be read, goes
   * away once there is one.
   */
  async refreshGuards(): Promise<void> {
    try {
      const any = await this.actions.anyGuard();
      if (any === null) return;
      if (this.listFailed) this.clearMessage();
      this.listFailed = false;
      if (!any) {
        this.show(t('noGuards'), 'bad');
        this.listFailed = true;
      }
    } catch (e) {
      this.fail(e);
      this.listFailed = true;
    }
  }

  /** The message on screen is about the guard accounts (none, or unreadable), not about a login attempt. */
  private listFailed = false;

  private clearMessage(): void {
    this.message.textContent = '';
    delete this.message.dataset['tone'];
    delete this.message.dataset['code'];
    this.listFailed = false;
  }

  private show(text: string, tone: 'ok' | 'bad', code?: string): void {
    this.message.dataset['tone'] = tone;
    if (code) this.message.dataset['code'] = code;
    else delete this.message.dataset['code'];
    this.message.textContent = text;
  }

  private fail(e: unknown): void {
    if (isKioskError(e)) {
      // The remaining lock-out time is part of the described error ("Try again in 1 min 05 s").
      this.show(describeError(e, lang()).text, 'bad', e.code);
    } else this.show(String(e), 'bad');
  }

  private async run(button: HTMLButtonElement, fn: () => Promise<void>): Promise<void> {
    button.disabled = true;
    this.listFailed = false;
    // The last attempt's words go while this one runs (a "Wrong guard or PIN." stood beside the new try).
    this.message.textContent = '';
    delete this.message.dataset['code'];
    this.message.dataset['tone'] = 'busy';
    try {
      await fn();
      this.pin.value = '';
      this.show(t('loggedIn'), 'ok');
    } catch (e) {
      this.pin.value = '';
      this.fail(e);
    } finally {
      button.disabled = false;
    }
  }
}
