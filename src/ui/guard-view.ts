/**
 * The guard's desk screen: live decisions with their reasons, a manual override that needs a reason (and is logged
 * in the encrypted audit with the guard's id and sent as a signed decision like any other), and the health of every
 * part: camera, model backend, watchlist, vault, upstream and outbox depth. It is shown only to a logged-in guard
 * or the admin, and it takes names and scores from the app layer's guardLog(), which refuses anyone else: the view
 * hides nothing on its own. Except on an attended kiosk, where this panel sits beside the visitor view on the screen
 * every visitor looks into: there the list shows outcome, time and policy reason only, and the guard's "Show names"
 * reveals names, scores and override reasons for 15 s (attacker review, session 23: the visitor read the names of
 * the people before them), and a grant asks for the guard's PIN or security key again (session 25: a guard who
 * walked away left Grant to the next visitor until the idle timeout). Nothing here is ever sent anywhere.
 */
import type { GuardProof } from '../app/authority';
import type { AppSnapshot, IdentifiedDecision } from '../app/controller';
import { ERROR_MESSAGES, isKioskError } from '../shared/errors';
import { h } from './dom';
import { lastSyncedText, pullProblem } from './sync-pull-card';
import { describeError } from './error-text';
import { colon, errorText, formatDuration, formatTime, hasKey, labelled, lang, t, tf } from './i18n';
import { reasonText } from './reasons';

export interface GuardActions {
  /** `sent` false: logged here, but the kiosk is not set up or not paired, so nothing went upstream. */
  override(decision: 'grant' | 'deny', reason: string, proof?: GuardProof): Promise<{ sent: boolean }>;
  /** Decisions with names and scores (throws GUARD_REQUIRED when nobody may see them). */
  guardLog(): readonly IdentifiedDecision[];
  overridesLeft(): Promise<{ left: number; limit: number; windowMinutes: number }>;
  logout(): void;
  /** The guard has read the receiver's last permanent rejection: clear it from the status. */
  acknowledgeRejection(): void;
  /** The kiosk's decision key is paired with the receiver it sends to (else nothing goes upstream). */
  paired(): boolean;
  /** Before "Show names" on an attended kiosk: the proof a grant there needs (controller.confirmReveal). */
  confirmReveal(proof?: GuardProof): Promise<void>;
}

/** A status, outcome or mode value in the chosen language (the raw value only when the table has none). */
function word(prefix: string, value: string): string {
  const key = `${prefix}_${value}`;
  return hasKey(key) ? t(key) : value;
}

function row(label: string, value: string, testid: string, tone: 'ok' | 'bad' | 'warn' | '' = ''): HTMLElement {
  return h('div', { class: 'status-row', 'data-testid': testid, 'data-tone': tone }, h('dt', {}, label), h('dd', {}, value));
}

/**
 * The receiver's refusals that need the receiver's admin, not the kiosk's, in words (receiver/app.mjs reasons);
 * any other refusal gets its error code's text.
 */
function upstreamReasonText(reason: string | undefined): string | undefined {
  if (reason === 'door_not_allowed') return t('upstreamDoorNotAllowed');
  if (reason === 'kiosk_revoked') return t('upstreamRevoked');
  if (reason === 'future_timestamp') return t('upstreamClockAhead');
  return undefined;
}

/**
 * This tablet's clock against the receiver's (the sender's last reading, src/decisions/sender.ts). Within 1 s either
 * way is in step; a clock behind by 4 s or more is close to the receiver's default 5 s freshness window, past which
 * every grant is recorded stale and opens no door; ahead by 1 s or more passes its default skew tolerance, past
 * which decisions are refused as dated in the future. Neither showed anywhere before: "Upstream: idle" in green.
 */
function clockRow(clock: { offsetMs: number } | undefined): HTMLElement | null {
  if (!clock) return null;
  const off = clock.offsetMs;
  const seconds = (Math.abs(off) / 1000).toFixed(1);
  if (Math.abs(off) < 1000) return row(t('clock'), t('clockInStep'), 'status-clock', 'ok');
  const behind = off > 0;
  const tone = behind ? (off >= 4000 ? 'bad' : 'warn') : 'bad';
  return row(t('clock'), tf(behind ? 'clockBehind' : 'clockAhead', { seconds }), 'status-clock', tone);
}

/** How long the attended kiosk's "Show names" lasts. */
const REVEAL_MS = 15_000;
/**
 * How long a typed PIN or passphrase waits in the proof field for Open: a guard who typed it and walked off (or
 * changed their mind, or pressed Enter, which submits nothing) left the next visitor one tap from a grant in their
 * name (attacker review, session 27). Restarted by each keystroke.
 */
export const PROOF_IDLE_MS = 20_000;

export class GuardView {
  readonly root: HTMLElement;
  private readonly status: HTMLElement;
  private readonly list: HTMLElement;
  private readonly reason: HTMLInputElement;
  /** The attended kiosk's proof for a grant: the guard's PIN again (a passkey guard leaves it empty and taps a key). */
  private readonly pin: HTMLInputElement;
  private readonly pinRow: HTMLElement;
  private readonly pinLabel: HTMLElement;
  private readonly pinHelp: HTMLElement;
  private readonly message: HTMLElement;
  private readonly who: HTMLElement;
  private readonly quota: HTMLElement;
  private shown: unknown[] | null = null;
  /** The attended kiosk's reveal: names show until this (performance.now()); 0 = hidden. */
  private revealUntil = 0;
  private revealTimer: ReturnType<typeof setTimeout> | undefined;
  private last: AppSnapshot | null = null;
  private revealedFor: AppSnapshot['session'] | null = null;
  private readonly reveal: HTMLButtonElement;
  private readonly hiddenNote: HTMLElement;

  private proofTimer: ReturnType<typeof setTimeout> | undefined;
  private proofOwner: unknown = null;
  private revealing = false;

  constructor(
    private readonly actions: GuardActions,
    private readonly proofIdleMs = PROOF_IDLE_MS,
  ) {
    this.status = h('dl', { class: 'status', 'data-testid': 'guard-status' });
    this.list = h('ol', { class: 'decisions', 'data-testid': 'guard-decisions', 'aria-label': t('liveDecisions') });
    // No maxlength (the browser cut a long reason to 200 silently): the controller refuses it with the rule instead.
    this.reason = h('input', { type: 'text', id: 'override-reason', 'data-testid': 'override-reason', required: true });
    this.message = h('p', { class: 'form-message', role: 'alert', 'data-testid': 'override-message' });
    this.pin = h('input', { type: 'password', id: 'override-pin', 'data-testid': 'override-pin', inputmode: 'numeric', autocomplete: 'new-password' });
    this.pinLabel = h('label', { for: 'override-pin' }, t('overridePin'));
    this.pinHelp = h('p', { class: 'help' }, t('overridePinHelp'));
    this.pinRow = h('div', { class: 'override-pin' }, this.pinLabel, this.pin, this.pinHelp);
    // Any typing in the override form counts (a guard writing a long reason after the PIN keeps it), only while a
    // proof is there.
    const keepProof = () => {
      clearTimeout(this.proofTimer);
      if (this.pin.value !== '') this.proofTimer = setTimeout(() => this.clearProof(), this.proofIdleMs);
    };
    this.pin.addEventListener('input', keepProof);
    this.reason.addEventListener('input', keepProof);
    const grant = h('button', { type: 'button', class: 'grant', 'data-testid': 'override-grant' }, t('overrideGrant'));
    const deny = h('button', { type: 'button', class: 'deny', 'data-testid': 'override-deny' }, t('overrideDeny'));
    grant.addEventListener('click', () => void this.submit('grant'));
    deny.addEventListener('click', () => void this.submit('deny'));
    this.who = h('span', { 'data-testid': 'guard-who' });
    this.quota = h('p', { class: 'help', 'data-testid': 'override-quota' });
    this.reveal = h('button', { type: 'button', 'data-testid': 'guard-reveal' }, t('guardRevealNames'));
    this.reveal.addEventListener('click', () => void (this.revealUntil === 0 ? this.revealWithProof() : this.setReveal(false)));
    this.hiddenNote = h('p', { class: 'help', 'data-testid': 'guard-names-hidden' }, t('guardNamesHidden'));
    const logout = h('button', { type: 'button', 'data-testid': 'guard-logout' }, t('logOut'));
    logout.addEventListener('click', () => this.actions.logout());
    this.root = h(
      'section',
      { class: 'guard', 'data-testid': 'guard' },
      h('h1', {}, t('guardTitle')),
      h('div', { class: 'toolbar' }, this.who, logout),
      h('div', { class: 'guard-grid' },
        h('div', {}, h('h2', {}, t('systemStatus')), this.status),
        h('div', {},
          h('h2', {}, t('liveDecisions')),
          this.hiddenNote,
          this.reveal,
          this.list,
          h('form', { class: 'override', 'aria-label': t('override') },
            h('h2', {}, t('override')),
            h('label', { for: 'override-reason' }, t('overrideReason')),
            this.reason,
            this.pinRow,
            h('div', { class: 'buttons' }, grant, deny),
            this.quota,
            this.message,
          ),
        ),
      ),
    );
  }

  private async submit(decision: 'grant' | 'deny'): Promise<void> {
    this.message.textContent = '';
    delete this.message.dataset['code'];
    delete this.message.dataset['tone'];
    // What a grant on a tablet visitors use proves: the admin's passphrase, or the guard's PIN typed, else the
    // guard's own key when they logged in with one. Nothing for a deny, or on a staff-only screen (the controller
    // decides whether a proof is needed).
    const proof = decision === 'grant' ? this.takeProof() : (this.clearProof(), undefined);
    try {
      const { sent } = await this.actions.override(decision, this.reason.value, proof);
      this.reason.value = '';
      // Not sent means the door was not opened (or closed) by it: said plainly, in the refusal colour.
      this.message.textContent = t(sent ? 'overrideLogged' : 'overrideNotSent');
      this.message.dataset['tone'] = sent ? 'ok' : 'bad';
    } catch (e) {
      this.message.dataset['tone'] = 'bad';
      if (isKioskError(e)) this.message.dataset['code'] = e.code;
      const wait = isKioskError(e, 'OVERRIDE_RATE_LIMITED') && typeof e.details?.['retryInMs'] === 'number' ? ` (${formatDuration(e.details['retryInMs'])})` : '';
      this.message.textContent = isKioskError(e, 'INPUT_INVALID') ? t('overrideNeedsReason') : isKioskError(e) ? `${describeError(e, lang()).text}${wait}` : String(e);
    }
    void this.refreshQuota();
  }

  /**
   * The proof field's content as the session's proof (the admin's passphrase, the guard's PIN, else the guard's own
   * key when they logged in with one), emptied as it is taken; undefined where no proof is asked (a staff-only screen).
   */
  private takeProof(): GuardProof | undefined {
    const pin = this.pin.value;
    this.clearProof();
    const session = this.last?.session;
    return this.pinRow.hidden ? undefined
      : session?.kind === 'admin' ? (pin !== '' ? { passphrase: pin } : undefined)
      : pin !== '' ? { pin }
      : session?.kind === 'guard' && session.via === 'passkey' ? { passkey: true }
      : undefined;
  }

  /**
   * "Show names" after the controller accepted the proof; its refusal is shown where an override's is. A second tap
   * while the first is checked is ignored: a second security-key prompt is refused by the browser, which ends the
   * session.
   */
  private async revealWithProof(): Promise<void> {
    if (this.revealing) return;
    this.revealing = true;
    this.message.textContent = '';
    delete this.message.dataset['code'];
    delete this.message.dataset['tone'];
    try {
      await this.actions.confirmReveal(this.takeProof());
      this.setReveal(true);
    } catch (e) {
      this.message.dataset['tone'] = 'bad';
      if (isKioskError(e)) this.message.dataset['code'] = e.code;
      this.message.textContent = isKioskError(e) ? describeError(e, lang()).text : String(e);
    } finally {
      this.revealing = false;
    }
  }

  /** Empties the proof field: used for one override only, and never outlives its session or PROOF_IDLE_MS. */
  private clearProof(): void {
    clearTimeout(this.proofTimer);
    this.pin.value = '';
  }

  /** Names on or off on the attended kiosk's shared screen; on for REVEAL_MS at most. */
  private setReveal(on: boolean): void {
    clearTimeout(this.revealTimer);
    this.revealUntil = on ? performance.now() + REVEAL_MS : 0;
    this.revealedFor = this.last?.session ?? null;
    if (on) this.revealTimer = setTimeout(() => this.setReveal(false), REVEAL_MS);
    this.shown = null;
    if (this.last) this.render(this.last);
  }

  private async refreshQuota(): Promise<void> {
    try {
      const q = await this.actions.overridesLeft();
      this.quota.dataset['left'] = String(q.left);
      this.quota.dataset['tone'] = q.left === 0 ? 'bad' : '';
      this.quota.textContent = q.left === 0 ? t('overrideLimitHit') : `${t('overridesLeft')}${colon()}${q.left} / ${q.limit} (${q.windowMinutes} ${t('minutes')})`;
    } catch {
      this.quota.textContent = '';
    }
  }

  render(s: AppSnapshot): void {
    // Snapshots arrive with every camera frame; rebuild only when something this screen shows has changed
    // (the controller replaces a part of the snapshot only when it changes, so identity is enough).
    const parts = [s.camera, s.modelError, s.backend, s.watchlist, s.phase, s.vault, s.upstream, s.decisions, s.session, s.sync];
    if (this.shown && parts.every((p, i) => p === this.shown![i])) return;
    const sessionChanged = this.shown?.[8] !== s.session;
    this.shown = parts;
    this.last = s;
    // A proof typed in one session is never offered in the next (a logout, an idle-out, another guard). A guard's
    // session is one object from login to logout; the admin's is rebuilt on every vault state change, so its kind
    // stands for it (the idle timer bounds a passphrase across the admin's own sessions).
    const owner = s.session.kind === 'guard' ? s.session : s.session.kind;
    if (owner !== this.proofOwner) {
      this.proofOwner = owner;
      this.clearProof();
    }
    // A new guard (or none) starts hidden: a reveal belongs to the session that asked for it.
    if (this.revealUntil !== 0 && s.session !== this.revealedFor) {
      clearTimeout(this.revealTimer);
      this.revealUntil = 0;
    }
    const shared = s.settings.role === 'attended';
    const revealed = !shared || performance.now() < this.revealUntil;
    this.reveal.hidden = !shared;
    // As the controller asks (src/app/controller.ts override): a guard's or the admin's grant on any tablet visitors use.
    this.pinRow.hidden = !(s.settings.role !== 'guard' && (s.session.kind === 'guard' || s.session.kind === 'admin'));
    const admin = s.session.kind === 'admin';
    this.pinLabel.textContent = t(admin ? 'overridePassphrase' : 'overridePin');
    this.pinHelp.textContent = t(admin ? 'overridePassphraseHelp' : 'overridePinHelp');
    this.pin.inputMode = admin ? 'text' : 'numeric';
    this.hiddenNote.hidden = revealed;
    this.reveal.textContent = t(revealed ? 'guardHideNames' : 'guardRevealNames');
    this.who.textContent = s.session.kind === 'guard' ? labelled(t('loggedInAs'), s.session.name) : s.session.kind === 'admin' ? labelled(t('loggedInAs'), t('admin')) : '';
    if (sessionChanged) void this.refreshQuota();
    const up = s.upstream;
    const upProblem = up?.problem ?? up?.lastRejection;
    // Known once the decision service is open (s.upstream set); before that the row says "not connected".
    const paired = !up || this.actions.paired();
    const pullIssue = s.sync.error ? pullProblem(s.sync.error) : null;
    const syncRow = row(
      t('lastSynced'),
      `${lastSyncedText(s.sync)}${pullIssue ? ` · ${pullIssue.label}${colon()}${pullIssue.text}` : ''}`,
      'status-synced',
      s.sync.error ? 'bad' : s.sync.syncedAt === null ? 'warn' : 'ok',
    );
    const rows = [
      row(t('camera'), s.camera.status === 'error' && s.camera.error ? errorText(s.camera.error.code, s.camera.error.message) : t(`camera_${s.camera.status}`), 'status-camera', s.camera.status === 'live' ? 'ok' : s.camera.status === 'error' ? 'bad' : 'warn'),
      row(t('backend'), s.modelError ? errorText(s.modelError.code, s.modelError.message) : (s.backend ? `${s.backend.name}${s.backend.threads ? ` (${s.backend.threads} ${t(s.backend.threads > 1 ? 'threads' : 'thread')})` : ''}, ${s.backend.detail}` : '—'), 'status-backend', s.modelError ? 'bad' : s.backend ? 'ok' : 'warn'),
      // Nobody enrolled for the kiosk's mode: nobody can be granted, so the line is not green (hand check, stop 29).
      // A damaged stored list (pages missing or damaged): the allow list is held back until an admin rebuilds the index.
      row(t('watchlist'), `${s.watchlist.subjects} ${t('people')} · ${s.watchlist.plates} ${t('plates')} · v${s.watchlist.version}${s.watchlist.damaged ? ` · ${t('watchlistDamaged')}` : ''}${s.watchlist.heldBack ? ` · ${tf('watchlistHeldBack', { n: s.watchlist.heldBack })}` : ''}`, 'status-watchlist', s.watchlist.damaged ? 'bad' : s.phase === 'running' && (s.settings.mode === 'plate' ? s.watchlist.plates : s.watchlist.templates) > 0 ? 'ok' : 'warn'),
      row(t('vault'), `${s.vault ? word('vault', s.vault.status) : '—'}${s.vault?.quotaExceeded ? ` · ${t('storageFull')}` : ''}${s.vault?.quarantined ? ` · ${s.vault.quarantined} ${t('quarantined')}` : ''}`, 'status-vault', s.vault?.quotaExceeded || s.vault?.quarantined ? 'bad' : 'ok'),
      row(t('storagePersisted'), s.vault?.persisted === null || s.vault?.persisted === undefined ? '—' : s.vault.persisted ? t('yes') : t('no'), 'status-persisted', s.vault?.persisted ? 'ok' : 'warn'),
      // The problem in words; its code and the receiver's reason code are for support, in the row's title.
      // Unpaired, the sender sits "idle" with nothing to send: that is not a healthy link, the door cannot be
      // opened from this kiosk at all (hand check, stop 28: "Upstream: idle" in green on a kiosk never paired).
      !paired
        ? row(t('upstream'), t('upstreamNotPaired'), 'status-upstream', 'bad')
        : row(t('upstream'), up ? `${word('upstream', up.state)}${upProblem ? ` · ${upstreamReasonText(upProblem.reason) ?? errorText(upProblem.code, ERROR_MESSAGES[upProblem.code])}` : ''}` : t('notConnected'), 'status-upstream', !up ? 'warn' : upProblem ? 'bad' : 'ok'),
      row(t('outbox'), String(up?.depth ?? 0), 'status-outbox', (up?.depth ?? 0) > 0 ? 'warn' : 'ok'),
      syncRow,
    ];
    const clock = paired ? clockRow(up?.clock) : null;
    const upRow = rows[5]!;
    if (upProblem && paired) upRow.title = `${upProblem.code} · ${upProblem.reason}`;
    // The refused bundle's code, like the upstream's, is for support: in the row's title, not in its words.
    if (s.sync.error) {
      syncRow.title = s.sync.error.code;
      syncRow.dataset['code'] = s.sync.error.code;
    }
    // A permanent rejection stays on screen until a guard says they have seen it (the decision itself was dropped).
    const ack = up?.lastRejection && !up.problem ? h('button', { type: 'button', 'data-testid': 'ack-rejection' }, t('ackRejection')) : null;
    ack?.addEventListener('click', () => this.actions.acknowledgeRejection());
    this.status.replaceChildren(...rows, ...(clock ? [clock] : []), ...(ack ? [h('dd', {}, ack)] : []));
    let log: readonly IdentifiedDecision[] = [];
    try {
      log = this.actions.guardLog();
    } catch {
      // Nobody logged in (or the session just ended): the screen is about to be replaced; show nobody.
    }
    this.list.replaceChildren(...log.slice(0, 30).map((d) => this.item(d, revealed)));
  }

  /** One decision; `identify` false (attended kiosk, not revealed): no name, score, guard or override reason. */
  private item(d: IdentifiedDecision, identify: boolean): HTMLElement {
    const tone = d.outcome === 'grant' || d.outcome === 'override-grant' ? 'grant' : d.outcome === 'uncertain' || d.outcome === 'low-quality' ? 'warn' : 'deny';
    return h(
      'li',
      { 'data-tone': tone, 'data-outcome': d.outcome, 'data-n': d.n, 'data-sent': String(d.sent) },
      h('time', { datetime: new Date(d.at).toISOString() }, formatTime(d.at)),
      h('strong', {}, word('outcome', d.outcome)),
      identify && d.label ? h('span', { class: 'who' }, d.label) : null,
      // A policy's reason is translated; an override's reason is the guard's own words (which may name someone).
      d.mode === 'manual' ? (identify ? h('span', { class: 'why' }, d.reason) : null) : h('span', { class: 'why' }, reasonText(d.reason, lang())),
      identify && d.score !== undefined ? h('span', { class: 'score' }, d.score.toFixed(3)) : null,
      // 'admin' is the role, not a name: said in the screen's language (a guard's own display name stays as written).
      identify && d.by ? h('span', { class: 'by', 'data-testid': 'override-by' }, `${t('by')} ${d.by === 'admin' ? t('admin') : d.by}`) : null,
      identify && d.liveness !== undefined ? h('span', { class: 'pad', 'data-pad': d.liveness.toFixed(3) }, `${t('pad')} ${d.liveness.toFixed(3)}`) : null,
      h('span', { class: 'mode' }, word('mode', d.mode)),
    );
  }
}
