/**
 * Guard accounts and the records that keep guard authority honest: the accounts themselves (display name, PIN
 * verifier, registered passkeys, disabled flag), the device-wide PIN lock-out and the override rate window.
 * Owns the sealed 'guards' secret and the 'guard-lockout', 'override-log' and 'passkey-counts' meta records. Creating, changing and
 * deleting accounts needs the admin session; checking a PIN or a passkey needs only the device unlock (a guard logs
 * in on a running kiosk). It never keeps a PIN, never returns a verifier, and decides nothing about sessions: the
 * app's authority (src/app/authority.ts) does that with what this module verifies.
 *
 * Stored: the PIN only as a PBKDF2 verifier and each passkey only as its credential id and public key, all inside
 * the vault's sealed secrets (AES-GCM under the data key). The lock-out counter and override times are in clear
 * meta records like the admin lock-out: they hold times and random ids, nothing about who came to the door.
 */
import { KioskError } from '../shared/errors';
import { checkPin, decoyVerifier, makePinVerifier, type PinVerifier } from '../crypto/pin';
import { GUARD_NAME_MAX, PIN_RULE } from '../shared/guard-pin';
import { COSE_ES256, signCountOf, verifyAssertion, type AssertionInput, type Expected } from '../crypto/webauthn';
import type { VaultCore } from './core';
import { beforeAttempt, rebase, waitMs, type LockoutPolicy } from './lockout';
import type { GuardLockoutRecord, OverrideLogRecord } from './schema';
import type { SecretsApi } from './secrets';

/** Five wrong PINs lock every guard login on this tablet; the wait doubles from 60 s up to an hour. */
export const GUARD_LOCKOUT_POLICY: LockoutPolicy = { freeAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60 * 60_000 };

/**
 * A day with no PIN attempt at all forgets the count. Failures aimed at a colleague's account are no longer cleared
 * by anyone else's right PIN (below), so without this a slip by a guard on leave would shorten everyone's free
 * attempts for good; a guesser gains at most the ~30 tries a locked day allows, then a silent day.
 */
export const GUARD_FAILURES_FORGOTTEN_MS = 24 * 60 * 60_000;
/** The target of a failure at a name no account has (such guesses can open nothing, so any right PIN clears them). */
const UNKNOWN_TARGET = '?';

/** The record's failures per target; a record from before targets were kept counts all as unknown. */
function targetsOf(rec: GuardLockoutRecord): Record<string, number> {
  const out: Record<string, number> = {};
  const by = rec.byTarget;
  if (by && typeof by === 'object') {
    for (const [k, n] of Object.entries(by)) if (Number.isSafeInteger(n) && n > 0) out[k] = n;
  } else if (rec.failures > 0) out[UNKNOWN_TARGET] = rec.failures;
  return out;
}

/**
 * What a guard's right PIN leaves of the count: their own failures and those at unknown names go; failures aimed at
 * any other account stay. It used to clear everything, so an enabled guard could try four PINs at a colleague's name,
 * log in as themselves, and go on without end (attacker review, session 19). The wait already served is not
 * restarted; the next failure is counted on top of what stays.
 */
function afterSuccess(rec: GuardLockoutRecord, guardId: string): GuardLockoutRecord {
  const left = Object.fromEntries(Object.entries(targetsOf(rec)).filter(([k]) => k !== guardId && k !== UNKNOWN_TARGET));
  const failures = Object.values(left).reduce((a, b) => a + b, 0);
  return failures === 0 ? NO_GUARD_LOCKOUT : { ...rec, failures, lockedUntil: 0, byTarget: left };
}

/**
 * A PIN anyone would try first at a guard login: one digit repeated (111111), a straight run up or down (123456,
 * 987654), a run along the keyboard's digit row, where 0 follows 9 (1234567890, 567890, 0987654321), or a block
 * repeated (121212, 123123, 12341234, 1234512345). A guard PIN can open the door, and the lock-out allows five tries
 * before it waits: these are the five an attacker tries (hand checks, stop 28: 111111 was accepted; stop 29:
 * 1234567890, the most common ten-digit PIN, was).
 */
export function pinTooEasy(pin: string): boolean {
  const d = [...pin].map(Number);
  const steps = d.slice(1).map((x, i) => x - d[i]!);
  if (steps.every((s) => s === 0) || steps.every((s) => s === 1) || steps.every((s) => s === -1)) return true;
  if (KEYBOARD_ROW.includes(pin) || [...KEYBOARD_ROW].reverse().join('').includes(pin)) return true;
  for (let period = 2; period <= d.length / 2; period++) {
    if (d.every((x, i) => i < period || x === d[i - period])) return true;
  }
  return false;
}
/** The digits as a keyboard's top row has them: 0 after 9 (a wrap-around elsewhere, like 890123, is allowed). */
const KEYBOARD_ROW = '1234567890';
const NAME_MAX = GUARD_NAME_MAX;
const MAX_GUARDS = 200;
const MAX_PASSKEYS = 8;
const SECRET = 'guards';
const NO_GUARD_LOCKOUT: GuardLockoutRecord = { kind: 'guard-lockout', failures: 0, lockedUntil: 0, lastAttemptAt: 0 };

export interface PasskeyRecord {
  /** base64url credential id. */
  id: string;
  /** base64 SubjectPublicKeyInfo of the ES256 key. */
  spki: string;
  createdAt: number;
  /**
   * 'security-key': registered as the guard's own roaming, device-bound authenticator (src/app/passkeys.ts). Absent
   * on passkeys registered before session 20 on the tablet's platform authenticator, whose user verification is the
   * tablet's unlock: those are kept (the admin sees and removes them with the account) but never offered or accepted.
   */
  kind?: 'security-key';
}

const usable = (p: PasskeyRecord): boolean => p.kind === 'security-key';

interface GuardRecord {
  id: string;
  name: string;
  disabled: boolean;
  createdAt: number;
  pin?: PinVerifier;
  passkeys: PasskeyRecord[];
}

/** What the rest of the app may know of a guard. */
export interface GuardSummary {
  id: string;
  name: string;
  disabled: boolean;
  hasPin: boolean;
  passkeys: number;
  createdAt: number;
}

const summary = (g: GuardRecord): GuardSummary => ({
  id: g.id,
  name: g.name,
  disabled: g.disabled,
  hasPin: !!g.pin,
  passkeys: g.passkeys.filter(usable).length,
  createdAt: g.createdAt,
});

/** How two display names compare: trimmed, Unicode-normalised, any case. */
function nameKey(name: string): string {
  return name.trim().normalize('NFC').toLowerCase();
}

function checkName(name: string): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (!n || n.length > NAME_MAX) throw new KioskError('GUARD_NAME_INVALID', { field: 'guardName', max: NAME_MAX });
  return n;
}

function checkPinRule(pin: string): void {
  if (typeof pin !== 'string' || !PIN_RULE.test(pin)) throw new KioskError('GUARD_PIN_RULE', { field: 'pin' });
  if (pinTooEasy(pin)) throw new KioskError('GUARD_PIN_RULE', { field: 'pin', reason: 'too-easy' });
}

export class GuardsApi {
  constructor(
    private readonly core: VaultCore,
    private readonly secrets: SecretsApi,
  ) {}

  private async all(): Promise<GuardRecord[]> {
    const v = (await this.secrets.get(SECRET)) as { guards?: GuardRecord[] } | undefined;
    return Array.isArray(v?.guards) ? v.guards : [];
  }

  private async save(guards: GuardRecord[]): Promise<void> {
    await this.secrets.put(SECRET, { guards });
  }

  /** Every account, without secrets (device unlock: the login screen lists enabled names). */
  async list(): Promise<GuardSummary[]> {
    return (await this.all()).map(summary);
  }

  /** A new guard (admin). The PIN may be left out when a passkey will be registered instead. */
  async create(name: string, pin?: string): Promise<GuardSummary> {
    this.core.requireAdmin();
    const clean = checkName(name);
    if (pin !== undefined && pin !== '') checkPinRule(pin);
    const guards = await this.all();
    if (guards.length >= MAX_GUARDS) throw new KioskError('INPUT_INVALID', { field: 'guards', max: MAX_GUARDS });
    if (guards.some((g) => nameKey(g.name) === nameKey(clean)))
      throw new KioskError('GUARD_NAME_TAKEN', { field: 'guardName' });
    const g: GuardRecord = {
      id: `g-${[...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('')}`,
      name: clean,
      disabled: false,
      createdAt: this.core.now(),
      passkeys: [],
      ...(pin ? { pin: await makePinVerifier(pin) } : {}),
    };
    await this.save([...guards, g]);
    return summary(g);
  }

  private async edit(id: string, fn: (g: GuardRecord) => GuardRecord | null): Promise<void> {
    this.core.requireAdmin();
    const guards = await this.all();
    const i = guards.findIndex((g) => g.id === id);
    if (i < 0) throw new KioskError('GUARD_NOT_FOUND');
    const next = fn(guards[i]!);
    await this.save(next ? guards.map((g, j) => (j === i ? next : g)) : guards.filter((_, j) => j !== i));
  }

  setDisabled(id: string, disabled: boolean): Promise<void> {
    return this.edit(id, (g) => ({ ...g, disabled }));
  }

  remove(id: string): Promise<void> {
    return this.edit(id, () => null);
  }

  /** Registers a passkey for a guard (admin, with the guard and their security key). ES256 keys only; the app has
   * checked it is a roaming, device-bound authenticator (src/app/passkeys.ts), so it is stored as a security key. */
  async addPasskey(id: string, credentialId: string, spki: string, alg: number): Promise<void> {
    if (alg !== COSE_ES256) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'algorithm' });
    try {
      await crypto.subtle.importKey('spki', Uint8Array.from(atob(spki), (c) => c.charCodeAt(0)), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    } catch {
      throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'public-key' });
    }
    const all = await this.all();
    if (all.some((g) => g.passkeys.some((p) => p.id === credentialId)))
      throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'already-registered' });
    await this.edit(id, (g) => {
      if (g.passkeys.length >= MAX_PASSKEYS) throw new KioskError('INPUT_INVALID', { field: 'passkeys', max: MAX_PASSKEYS });
      return { ...g, passkeys: [...g.passkeys, { id: credentialId, spki, createdAt: this.core.now(), kind: 'security-key' }] };
    });
  }

  /** The credential ids a login may offer to the authenticator (enabled guards only). */
  async passkeyIds(): Promise<string[]> {
    return (await this.all()).filter((g) => !g.disabled).flatMap((g) => g.passkeys.filter(usable).map((p) => p.id));
  }

  /** Current PIN lock-out, read from storage (survives reloads). */
  async lockout(): Promise<{ failures: number; waitMs: number; lockedUntil: number }> {
    const rec = await this.readLockout();
    const now = this.core.now();
    if (waitMs(rec, now) === 0 && now - rebase(rec, now).lastAttemptAt >= GUARD_FAILURES_FORGOTTEN_MS) return { failures: 0, waitMs: 0, lockedUntil: 0 };
    return { failures: rec.failures, waitMs: waitMs(rec, now), lockedUntil: rebase(rec, now).lockedUntil };
  }

  /**
   * The admin ends the PIN lock-out early (admin session): five wrong tries by anyone at the screen lock every
   * guard's PIN for up to an hour, and only waiting ended it. Returns what it held, for the audit. Clearing gives a
   * guesser nothing: only the admin, after the passphrase (with its own lock-out), can do it, and each time is audited.
   */
  async clearLockout(): Promise<{ failures: number; waitMs: number }> {
    this.core.requireAdmin();
    return this.core.withAuthLock(async () => {
      const held = await this.lockout();
      await this.core.writeTx(['meta'], async (tx) => tx.store.put(NO_GUARD_LOCKOUT, 'guard-lockout'), 'strict');
      return { failures: held.failures, waitMs: held.waitMs };
    });
  }

  private async readLockout(): Promise<GuardLockoutRecord> {
    const rec = await this.core.read((db) => db.get('meta', 'guard-lockout'));
    return rec && rec.kind === 'guard-lockout' ? rec : NO_GUARD_LOCKOUT;
  }

  /**
   * Checks a guard's PIN. The attempt is counted (persisted) before the PBKDF2 runs and cleared on success, as
   * for the admin passphrase, so neither a reload nor parallel attempts dodge the count. Unknown guard, disabled
   * guard and wrong PIN all count as a failure; a disabled guard is told so only with the right PIN.
   */
  async verifyPin(id: string, pin: string): Promise<GuardSummary> {
    return this.verifyPinOf((g) => g.id === id, pin);
  }

  /**
   * The same check for the guard with this display name, as typed at the login (trimmed, any case: names are
   * unique that way, `create`). The login lists no names, so a visitor at the screen learns none; an unknown name
   * is the same counted failure, with the same words, as a wrong PIN — the lock-out is one for the whole device.
   */
  async verifyPinByName(name: string, pin: string): Promise<GuardSummary> {
    if (typeof name !== 'string' || name.length > 4 * NAME_MAX) throw new KioskError('INPUT_INVALID', { field: 'guardName' });
    const key = nameKey(name);
    return this.verifyPinOf((g) => nameKey(g.name) === key, pin);
  }

  private async verifyPinOf(pick: (g: GuardRecord) => boolean, pin: string): Promise<GuardSummary> {
    this.core.requireUnlocked();
    if (typeof pin !== 'string' || pin.length > 64) throw new KioskError('INPUT_INVALID', { field: 'pin' });
    return this.core.withAuthLock(async () => {
      const now = this.core.now();
      // Which account the attempt is aimed at is known before the PIN is checked: the failure is counted against it.
      const g = (await this.all()).find(pick);
      const target = g ? g.id : UNKNOWN_TARGET;
      const gate = await this.core.writeTx(
        ['meta'],
        async (tx) => {
          const stored = await tx.store.get('guard-lockout');
          let rec = rebase(stored && stored.kind === 'guard-lockout' ? stored : NO_GUARD_LOCKOUT, now);
          const wait = waitMs(rec, now);
          if (wait > 0) return { rec, wait };
          if (now - rec.lastAttemptAt >= GUARD_FAILURES_FORGOTTEN_MS) rec = NO_GUARD_LOCKOUT;
          const targets = targetsOf(rec);
          const counted = { ...beforeAttempt(rec, now, GUARD_LOCKOUT_POLICY), byTarget: { ...targets, [target]: (targets[target] ?? 0) + 1 } };
          await tx.store.put(counted, 'guard-lockout');
          return { rec: counted, wait: 0 };
        },
        'strict',
      );
      if (gate.wait > 0)
        throw new KioskError('GUARD_LOCKED_OUT', { waitMs: gate.wait, lockedUntil: gate.rec.lockedUntil, failures: gate.rec.failures });
      // No such guard, or none with a PIN: the same derivation against a decoy, so the answer takes as long.
      const ok = (await checkPin(pin, g?.pin ?? decoyVerifier())) && !!g?.pin;
      if (!ok || !g) {
        throw new KioskError('GUARD_WRONG_PIN', { failures: gate.rec.failures, waitMs: waitMs(gate.rec, this.core.now()) });
      }
      // A disabled account's right PIN opens nothing, so it must not clear the device's count either: it did, and a
      // former guard could guess a colleague's PIN four times, log in with their own, and go on without end
      // (attacker review, session 19). The attempt stays counted.
      if (g.disabled) throw new KioskError('GUARD_DISABLED');
      await this.core.writeTx(
        ['meta'],
        async (tx) => {
          const stored = await tx.store.get('guard-lockout');
          await tx.store.put(afterSuccess(stored && stored.kind === 'guard-lockout' ? stored : NO_GUARD_LOCKOUT, g.id), 'guard-lockout');
        },
        'strict',
      );
      return summary(g);
    });
  }

  /**
   * Checks a passkey assertion against the registered credential; returns the guard it belongs to. A security key
   * that counts its signatures must count up: an assertion whose counter is not above the last one accepted is
   * refused as `counter` (a copy of the key signed in between, or this assertion is a copy), and the last accepted
   * count is kept with the credential. Keys that report 0 every time keep no count and are not checked.
   */
  async verifyPasskey(a: AssertionInput, want: Expected): Promise<GuardSummary> {
    this.core.requireUnlocked();
    const g = (await this.all()).find((x) => x.passkeys.some((p) => p.id === a.credentialId));
    const key = g?.passkeys.find((p) => p.id === a.credentialId);
    if (!g || !key) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'unknown-credential' });
    if (!usable(key)) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'platform-passkey' });
    const problem = await verifyAssertion(a, Uint8Array.from(atob(key.spki), (c) => c.charCodeAt(0)), want);
    if (problem) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: problem });
    if (g.disabled) throw new KioskError('GUARD_DISABLED');
    const count = signCountOf(a.authenticatorData);
    // Compared and raised in one transaction, against the value stored there: two logins racing with one counter
    // value cannot both pass.
    const ok = await this.core.writeTx(
      ['meta'],
      async (tx) => {
        const rec = await tx.store.get('passkey-counts');
        const byCredential = rec && rec.kind === 'passkey-counts' ? rec.byCredential : {};
        const stored = byCredential[a.credentialId] ?? 0;
        if (count === 0 && stored === 0) return true;
        if (count <= stored) return false;
        await tx.store.put({ kind: 'passkey-counts', byCredential: { ...byCredential, [a.credentialId]: count } }, 'passkey-counts');
        return true;
      },
      'strict',
    );
    if (!ok) throw new KioskError('GUARD_PASSKEY_FAILED', { reason: 'counter' });
    return summary(g);
  }

  /**
   * Counts one manual override by `actor` (a bucket: the controller counts a guard's grants and denies apart)
   * against a sliding window; refuses (OVERRIDE_RATE_LIMITED, with the wait) once `limit` overrides fall inside
   * `windowMs`. Persisted, so a reload does not reset it.
   */
  async countOverride(actor: string, limit: number, windowMs: number): Promise<{ used: number; limit: number; at: number }> {
    this.core.requireUnlocked();
    const now = this.core.now();
    return this.core.writeTx(
      ['meta'],
      async (tx) => {
        const stored = await tx.store.get('override-log');
        const log: OverrideLogRecord = stored && stored.kind === 'override-log' ? stored : { kind: 'override-log', byActor: {} };
        const byActor: Record<string, number[]> = {};
        // Drop everything outside the window (and anything from the future: a clock set back must not jam it).
        for (const [k, times] of Object.entries(log.byActor))
          if (Array.isArray(times)) {
            const kept = times.filter((t) => typeof t === 'number' && t > now - windowMs && t <= now);
            if (kept.length) byActor[k] = kept;
          }
        const mine = Object.hasOwn(byActor, actor) ? byActor[actor]! : [];
        if (mine.length >= limit) {
          const retry = Math.max(0, mine[0]! + windowMs - now);
          await tx.store.put({ kind: 'override-log', byActor }, 'override-log');
          throw new KioskError('OVERRIDE_RATE_LIMITED', { limit, windowMs, retryInMs: retry });
        }
        byActor[actor] = [...mine, now];
        await tx.store.put({ kind: 'override-log', byActor }, 'override-log');
        return { used: mine.length + 1, limit, at: now };
      },
      'strict',
    );
  }

  /**
   * Gives back the override counted at `at` for `actor` (countOverride's `at`): one that was refused after it was
   * counted (its audit entry could not be written, so nothing opened) must not use up the guard's grants.
   */
  async uncountOverride(actor: string, at: number): Promise<void> {
    this.core.requireUnlocked();
    await this.core.writeTx(
      ['meta'],
      async (tx) => {
        const stored = await tx.store.get('override-log');
        if (!stored || stored.kind !== 'override-log' || !Object.hasOwn(stored.byActor, actor)) return;
        const times = stored.byActor[actor]!;
        const i = times.lastIndexOf(at);
        if (i < 0) return;
        const byActor = { ...stored.byActor, [actor]: times.filter((_, j) => j !== i) };
        await tx.store.put({ kind: 'override-log', byActor }, 'override-log');
      },
      'strict',
    );
  }

  /** How many overrides the bucket `actor` has left in the current window (the guard screen shows the grants'). */
  async overridesLeft(actor: string, limit: number, windowMs: number): Promise<number> {
    const now = this.core.now();
    const stored = await this.core.read((db) => db.get('meta', 'override-log'));
    const times = stored && stored.kind === 'override-log' && Object.hasOwn(stored.byActor, actor) ? stored.byActor[actor]! : [];
    return Math.max(0, limit - times.filter((t) => t > now - windowMs && t <= now).length);
  }
}
