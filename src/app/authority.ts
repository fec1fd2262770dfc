/**
 * Who may do what on this tablet: the one place that holds the current session (nobody, a guard, or the admin)
 * and answers every capability check. The controller and the admin operations ask here before they override,
 * show a name or a score, enrol, edit, export, import, wipe or change a setting; views only reflect the answers,
 * so hiding a button is never what protects a capability. Refusals are typed (GUARD_REQUIRED for what a guard may
 * do, STORE_ADMIN_REQUIRED for the rest) and the UI translates them.
 *
 * Sessions: the admin session is the vault's (passphrase unlock; its idle rule is the vault's), a guard session
 * is held here after a PIN or passkey check by the vault (src/store/guards.ts). Both end after the role's idle
 * timeout without a touch or key (on both clocks: a sleeping tablet's monotonic clock stands still), on logout, and
 * on reload (memory only). A guard login the vault refuses — wrong PIN or unknown name (with the failure count and
 * any lock-out it started), a disabled account, a passkey that does not verify — is handed to `loginFailed` (the
 * controller audits it) without anything typed. It never stores a PIN and never decides a door: it only says who is
 * asking.
 */
import { idleSince, stampOf, type Clock, type Stamp } from '../shared/clock';
import { KioskError, isKioskError, type ErrorCode } from '../shared/errors';
import type { GuardSummary, Vault } from '../store';
import { getPasskeyAssertion } from './passkeys';
import type { LoginFailure } from './change-audit';

export type Capability =
  /** A manual grant or deny, signed and sent like any decision. */
  | 'override'
  /** Names and match scores of people at the door (the guard's decision list). */
  | 'view-identities'
  /** The guard screen itself. */
  | 'guard-screen'
  /** Enrol people (photos, camera, CSV, plates). */
  | 'enrol'
  /** Edit, expire, delete people; read the people list. */
  | 'edit'
  /** Export the watchlist bundle or the audit log; read the audit log. */
  | 'export'
  /** Import a watchlist bundle, pin admin keys, add recipients. */
  | 'import'
  | 'wipe'
  | 'settings'
  /** Create, disable, delete guard accounts, register passkeys. */
  | 'manage-guards'
  /** Pair with the receiver. */
  | 'pair';

export const CAPABILITIES: readonly Capability[] = [
  'override',
  'view-identities',
  'guard-screen',
  'enrol',
  'edit',
  'export',
  'import',
  'wipe',
  'settings',
  'manage-guards',
  'pair',
];

/** What a guard may do; the admin may do everything. */
const GUARD_CAPS: ReadonlySet<Capability> = new Set(['override', 'view-identities', 'guard-screen']);

/**
 * What staff offer to prove again that they are at the screen (Authority.confirm): a guard their PIN or own security
 * key, the admin the passphrase.
 */
export type GuardProof = { pin: string } | { passkey: true } | { passphrase: string };

export type Session =
  | { kind: 'none' }
  | { kind: 'guard'; guardId: string; name: string; via: 'pin' | 'passkey' }
  | { kind: 'admin' };

/** The capability table, as a pure function (unit-tested cell by cell). */
export function allowed(session: Session['kind'], cap: Capability): boolean {
  return session === 'admin' || (session === 'guard' && GUARD_CAPS.has(cap));
}

/** The refusal a capability gets from a session that lacks it. */
export function refusalFor(cap: Capability): ErrorCode {
  return GUARD_CAPS.has(cap) ? 'GUARD_REQUIRED' : 'STORE_ADMIN_REQUIRED';
}

export interface AuthorityOptions {
  vault: Vault;
  clock: Clock;
  /** The idle timeout in force (it follows the settings). */
  idleMs: () => number;
  /**
   * How long after a guard last proved who they are (their login, or the PIN or key given for a grant or for names)
   * touches may keep their session alive; 0 or absent: as long as they come. Past it, the session ends at the next
   * idle timeout unless they prove it again. For a panel whose screen faces visitors, whose taps cannot be told from
   * the guard's.
   */
  provenForMs?: () => number;
  /** A guard login the vault refused (the audit's; must not throw). Default: nothing. */
  loginFailed?: (f: LoginFailure) => Promise<void>;
}

/**
 * What a refused guard login was, for the audit; null for what is not a failed check. GUARD_LOCKED_OUT is refused
 * before any check, as often as anyone at the screen taps: the failure that started the lock-out is recorded, the
 * taps during it are not (they would fill the log). A passkey the platform did not give (cancelled, no
 * authenticator) is not a failed check either.
 */
function loginFailure(e: unknown, via: 'pin' | 'passkey'): LoginFailure | null {
  if (isKioskError(e, 'GUARD_WRONG_PIN')) {
    return { kind: 'wrong', via: 'pin', failures: Number(e.details?.['failures'] ?? 0), lockoutMs: Number(e.details?.['waitMs'] ?? 0) };
  }
  if (isKioskError(e, 'GUARD_DISABLED')) return { kind: 'disabled', via };
  if (isKioskError(e, 'GUARD_PASSKEY_FAILED') && via === 'passkey') return { kind: 'passkey', problem: String(e.details?.['reason'] ?? '') };
  return null;
}

export class Authority {
  private guard: Extract<Session, { kind: 'guard' }> | null = null;
  private lastActive: Stamp = { mono: 0, wall: 0 };
  /** When the guard last proved who they are (login, confirm); see AuthorityOptions.provenForMs. */
  private provenAt: Stamp | null = null;
  private readonly listeners = new Set<(s: Session) => void>();

  constructor(private readonly opts: AuthorityOptions) {
    let admin = opts.vault.state.admin;
    opts.vault.subscribe((e) => {
      if (e.type !== 'state') return;
      // An admin session that just began is fresh: its idle time counts from now, not from the last touch.
      if (e.state.admin && !admin) this.lastActive = stampOf(opts.clock);
      admin = e.state.admin;
      this.emit();
    });
  }

  /** The current session (an idle one has already ended). */
  get session(): Session {
    this.expireIfIdle();
    if (this.opts.vault.state.admin) return { kind: 'admin' };
    return this.guard ?? { kind: 'none' };
  }

  /** Who an override or audit entry is attributed to: a guard id, 'admin', or null when nobody is logged in. */
  get actor(): string | null {
    const s = this.session;
    return s.kind === 'guard' ? s.guardId : s.kind === 'admin' ? 'admin' : null;
  }

  subscribe(fn: (s: Session) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    const s = this.session;
    for (const l of this.listeners) l(s);
  }

  /** Whether the current session has `cap` (no side effects; views use it to choose what to draw). */
  can(cap: Capability): boolean {
    return allowed(this.session.kind, cap);
  }

  /**
   * Throws the typed refusal unless the current session has `cap`. The admin's session is checked by the vault
   * (its idle rule included), so a stale `admin` flag never passes.
   */
  require(cap: Capability): void {
    this.expireIfIdle();
    // A check is not activity: a screen that re-renders by itself must not keep a session alive. Only a touch
    // or a key does (touch()).
    if (this.opts.vault.state.admin) {
      try {
        this.opts.vault.requireAdmin({ activity: false });
        return;
      } catch {
        // fell idle in the vault: continue as whoever else is logged in
      }
    }
    if (this.guard && allowed('guard', cap)) return;
    throw new KioskError(refusalFor(cap), { capability: cap });
  }

  /** A touch or key press: keeps a session alive (a guard's, only within provenForMs of their last proof). */
  touch(): void {
    const cap = this.opts.provenForMs?.() ?? 0;
    // On the attended kiosk visitors tap the guard's panel too: their taps kept a walked-away guard's session (and
    // its Keep closed, which halts every pending grant) alive for good (attacker review, session 27).
    if (this.guard && cap > 0 && this.provenAt && idleSince(this.opts.clock, this.provenAt) > cap) return;
    this.lastActive = stampOf(this.opts.clock);
    this.opts.vault.touchAdmin();
  }

  /** Ends both sessions when the idle timeout has passed; returns whether it did. Called on a timer too. */
  expireIfIdle(): boolean {
    const active = this.guard !== null || this.opts.vault.state.admin;
    if (!active || idleSince(this.opts.clock, this.lastActive) <= this.opts.idleMs()) return false;
    this.logout();
    return true;
  }

  /** Ends any guard and admin session. */
  logout(): void {
    const had = this.guard !== null;
    this.guard = null;
    if (this.opts.vault.state.admin) this.opts.vault.lockAdmin();
    else if (had) this.emit();
  }

  /** The admin unlocked the vault (the vault already checked the passphrase): start the idle clock. */
  adminStarted(): void {
    this.guard = null;
    this.lastActive = stampOf(this.opts.clock);
    this.emit();
  }

  /** Enabled guard accounts (the login screen only asks whether there is one: it shows no names). */
  async guards(): Promise<GuardSummary[]> {
    return (await this.opts.vault.guards.list()).filter((g) => !g.disabled);
  }

  /** PIN login. Wrong PIN, lock-out and disabled account come back as typed errors from the vault. */
  async loginPin(guardId: string, pin: string): Promise<GuardSummary> {
    const g = await this.checked('pin', () => this.opts.vault.guards.verifyPin(guardId, pin));
    this.begin(g, 'pin');
    return g;
  }

  /**
   * PIN login with the display name as the guard typed it (the login screen lists no names). An unknown name is
   * refused exactly as a wrong PIN is (GUARD_WRONG_PIN, counted towards the same lock-out).
   */
  async loginPinByName(name: string, pin: string): Promise<GuardSummary> {
    const g = await this.checked('pin', () => this.opts.vault.guards.verifyPinByName(name, pin));
    this.begin(g, 'pin');
    return g;
  }

  /** Passkey login: asks the guard's own security key (user verification required) and verifies the assertion. */
  async loginPasskey(signal?: AbortSignal): Promise<GuardSummary> {
    const ids = await this.opts.vault.guards.passkeyIds();
    if (ids.length === 0) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'none-registered' });
    const { assertion, expected } = await getPasskeyAssertion(ids, signal);
    const g = await this.checked('passkey', () => this.opts.vault.guards.verifyPasskey(assertion, expected));
    this.begin(g, 'passkey');
    return g;
  }

  /**
   * The logged-in guard proves again that they are at the screen, with their PIN or their own security key: an
   * attended kiosk's guard panel sits on the screen every visitor faces, and a guard who walked away left its
   * Grant button to whoever came next until the idle timeout (attacker review, session 25). A failed proof ends the
   * session (whoever failed it may not be the guard) and counts like a failed login: the PIN towards the device's
   * lock-out, both audited. Another guard's key proves nothing about this session: refused as `other-guard`.
   */
  async confirm(proof: GuardProof, signal?: AbortSignal): Promise<void> {
    const s = this.session;
    if (s.kind === 'admin') return this.confirmAdmin(proof);
    if (s.kind !== 'guard') throw new KioskError('GUARD_REQUIRED', { capability: 'override' });
    if ('passphrase' in proof) throw new KioskError('GUARD_CONFIRM_REQUIRED');
    try {
      if ('pin' in proof) {
        await this.checked('pin', () => this.opts.vault.guards.verifyPin(s.guardId, proof.pin));
      } else {
        const ids = await this.opts.vault.guards.passkeyIds();
        if (ids.length === 0) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'none-registered' });
        const { assertion, expected } = await getPasskeyAssertion(ids, signal);
        const g = await this.checked('passkey', () => this.opts.vault.guards.verifyPasskey(assertion, expected));
        if (g.id !== s.guardId) {
          // Audited like any failed proof: someone at the screen held another guard's key.
          await this.opts.loginFailed?.({ kind: 'passkey', problem: 'other-guard' });
          throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'other-guard' });
        }
      }
    } catch (e) {
      // Only a device without an authenticator checked nothing; a cancelled prompt ends the session too (whoever
      // cancelled it may not be the guard, and the guard logs in again in seconds).
      if (!isKioskError(e, 'GUARD_PASSKEY_UNAVAILABLE')) this.logout();
      throw e;
    }
    this.provenAt = stampOf(this.opts.clock);
    this.touch();
  }

  /**
   * The admin's proof is the passphrase (the vault checks it as an unlock would, lock-out included): an admin session
   * left open on a tablet visitors use would otherwise give its grant to whoever came next. A wrong one ends the
   * session and is audited like a wrong unlock; a refusal during a lock-out ends it too (whoever tapped may not be
   * the admin). A guard's PIN or key proves nothing about the admin.
   */
  private async confirmAdmin(proof: GuardProof): Promise<void> {
    if (!('passphrase' in proof)) throw new KioskError('ADMIN_CONFIRM_REQUIRED');
    try {
      await this.opts.vault.confirmAdmin(proof.passphrase);
    } catch (e) {
      if (isKioskError(e, 'STORE_WRONG_PASSPHRASE') && this.opts.loginFailed) {
        const failures = Number(e.details?.['failures'] ?? 0);
        await this.opts.loginFailed({ kind: 'wrong', via: 'passphrase', failures, lockoutMs: Number(e.details?.['waitMs'] ?? 0) });
      }
      if (isKioskError(e, 'STORE_WRONG_PASSPHRASE') || isKioskError(e, 'STORE_LOCKED_OUT') || isKioskError(e, 'INPUT_INVALID')) this.logout();
      throw e;
    }
    this.touch();
  }

  /** Runs the vault's check; a refusal is reported to `loginFailed` (awaited, so it is on record) and rethrown. */
  private async checked(via: 'pin' | 'passkey', check: () => Promise<GuardSummary>): Promise<GuardSummary> {
    try {
      return await check();
    } catch (e) {
      const f = loginFailure(e, via);
      if (f && this.opts.loginFailed) await this.opts.loginFailed(f);
      throw e;
    }
  }

  private begin(g: GuardSummary, via: 'pin' | 'passkey'): void {
    // A guard login ends an admin session on this screen: one person at a time holds the tablet.
    if (this.opts.vault.state.admin) this.opts.vault.lockAdmin();
    this.guard = { kind: 'guard', guardId: g.id, name: g.name, via };
    this.lastActive = stampOf(this.opts.clock);
    this.provenAt = this.lastActive;
    this.emit();
  }
}
