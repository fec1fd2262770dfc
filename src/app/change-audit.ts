/**
 * The audit entries of who changed this kiosk and its people, and of who got in to do it or tried and failed: a
 * person enrolled, edited (expired, photos or plates added), deleted or merged; a guard account created, disabled,
 * enabled, given a passkey or deleted; settings saved; an admin session started; a wrong guard PIN or name, a
 * refused passkey, a disabled account's login, a wrong admin passphrase (and whether it started a lock-out). Mode
 * 'system'; the subject is the person's or the guard's id (else 'unknown'); the actor 'admin' for what an admin did;
 * the reason short and machine-readable, so the audit card words it in the reader's language (readChangeReason).
 *
 * Owns the reason grammar (written and read back here, nowhere else) and the one way these entries are appended.
 * A reason holds only ids, field names, list kinds, counts, durations and fixed words: never a name, a plate, a
 * PIN or passphrase, an image or a template (callers hand over ids and field names, not values). An entry that
 * cannot be written is logged and never fails or undoes what it records (`recordChange`, as for repaired settings
 * and sync events): the change is already committed, and a full disk must not stop an admin from deleting someone.
 * The one exception is a change that destroys entries, a new audit retention: it is made only once its own entry
 * is written (`recordChangeFirst`, AUDIT_NOT_WRITTEN otherwise), so a purge never goes unrecorded. It decides
 * nothing, asks no authority (its callers have) and renders nothing.
 */
import { KioskError, isKioskError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import type { AuditEntry, ListKind, Subject } from '../shared/types';
import type { Vault } from '../store';

export type ChangeOutcome = Extract<
  AuditEntry['outcome'],
  | 'person-enrolled'
  | 'person-edited'
  | 'person-deleted'
  | 'people-merged'
  | 'guard-changed'
  | 'login-failed'
  | 'settings-changed'
  | 'admin-unlocked'
>;

/** What the entries need of the app (the controller is one): the vault to append to, the wall clock, the kiosk id. */
export interface AuditHost {
  readonly vault: Pick<Vault, 'audit'>;
  readonly clock: Pick<Clock, 'wall'>;
  readonly snapshot: { readonly settings: { readonly kioskId: string } };
}

/** How a new person came in: photo files, the live camera, a CSV bulk import, or plates only (a vehicle). */
export type EnrolVia = 'photos' | 'camera' | 'csv' | 'plates';
/** How an enrolled person was changed: the people list's edit or "expire now", or photos, frames or plates added. */
export type EditVia = 'edit' | 'expire' | `add-${EnrolVia}`;
const ENROL_VIA: readonly EnrolVia[] = ['photos', 'camera', 'csv', 'plates'];
const EDIT_VIA: readonly EditVia[] = ['edit', 'expire', ...ENROL_VIA.map((v) => `add-${v}` as const)];

/** What of a person changed, by name; the values never reach the log. */
export const PERSON_FIELDS = ['label', 'list', 'validFrom', 'validUntil', 'plates', 'faces'] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];

export const GUARD_CHANGES = ['created', 'disabled', 'enabled', 'passkey-added', 'deleted'] as const;
export type GuardChange = (typeof GUARD_CHANGES)[number];

/** A login that did not start a session. Whatever was typed (a name, a PIN, a passphrase) is not part of it. */
export type LoginFailure =
  /** A wrong guard PIN or unknown guard name (one failure for both) or a wrong admin passphrase: the failures in a
   * row on this tablet, and the wait this failure started (0 while within the free attempts). */
  | { kind: 'wrong'; via: 'pin' | 'passphrase'; failures: number; lockoutMs: number }
  /** A disabled guard account's right PIN or passkey. */
  | { kind: 'disabled'; via: 'pin' | 'passkey' }
  /** A passkey assertion that did not verify; `problem` is the check that failed (unknown-credential, signature …). */
  | { kind: 'passkey'; problem: string };

/** An admin session began: with the passphrase, or by setting the kiosk up. */
export type UnlockHow = 'passphrase' | 'setup';

/** A change entry's reason, read back. */
export type ChangeReason =
  | { outcome: 'person-enrolled'; via: EnrolVia; list: ListKind }
  | { outcome: 'person-edited'; via: EditVia; fields: PersonField[] }
  | { outcome: 'person-deleted'; list: ListKind | null }
  | { outcome: 'people-merged'; from: string }
  | { outcome: 'guard-changed'; change: GuardChange }
  | { outcome: 'login-failed'; failure: LoginFailure }
  | { outcome: 'settings-changed'; fields: string[] }
  | { outcome: 'admin-unlocked'; how: UnlockHow };

const MAX_REASON = 200;
const LISTS: readonly ListKind[] = ['allow', 'deny'];
const PROBLEM = /^[a-z][a-z-]{0,39}$/;
const has = <T extends string>(list: readonly T[], v: string | undefined): v is T =>
  v !== undefined && (list as readonly string[]).includes(v);

// ---- reasons, written ----

export const enrolledReason = (via: EnrolVia, list: ListKind): string => `${via} ${list}`;
export const editedReason = (via: EditVia, fields: readonly PersonField[]): string => `${via} ${fields.join(',')}`;
export const deletedReason = (list: ListKind | undefined): string | undefined => list;
export const mergedReason = (otherId: string): string => `from ${otherId}`;

export function loginFailedReason(f: LoginFailure): string {
  if (f.kind === 'disabled') return `${f.via} disabled`;
  // The check's own word when it is one of ours; anything else is not copied into the log.
  if (f.kind === 'passkey')
    return `passkey ${PROBLEM.test(f.problem) && f.problem !== 'disabled' ? f.problem : 'other'}`;
  const failures = Math.max(0, Math.floor(f.failures));
  return f.lockoutMs > 0 ? `${f.via} ${failures} lockout ${Math.ceil(f.lockoutMs / 1000)}s` : `${f.via} ${failures}`;
}

/** Field names joined by ','; past the reason's limit the rest are counted ("+3"), never cut mid-name. */
export function settingsReason(fields: readonly string[]): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    const next = out ? `${out},${fields[i]}` : fields[i]!;
    const rest = fields.length - i - 1;
    if (next.length + (rest > 0 ? `,+${rest}`.length : 0) > MAX_REASON) return `${out},+${fields.length - i}`;
    out = next;
  }
  return out;
}

/** What of a person differs between two stored versions of them (names only). */
export function changedPersonFields(before: Subject, after: Subject): PersonField[] {
  const out: PersonField[] = [];
  if (before.label !== after.label) out.push('label');
  if (before.list !== after.list) out.push('list');
  if (before.validFrom !== after.validFrom) out.push('validFrom');
  if (before.validUntil !== after.validUntil) out.push('validUntil');
  const plates = (s: Subject) => [...s.plates].sort().join('\u0000');
  if (plates(before) !== plates(after)) out.push('plates');
  if (!sameTemplates(before.templates, after.templates)) out.push('faces');
  return out;
}

function sameTemplates(a: Subject['templates'], b: Subject['templates']): boolean {
  const keys = Object.keys(a).filter((k) => a[k]!.length > 0);
  if (keys.length !== Object.keys(b).filter((k) => b[k]!.length > 0).length) return false;
  return keys.every((k) => {
    const x = a[k]!;
    const y = b[k] ?? [];
    return x.length === y.length && x.every((t, i) => t.length === y[i]!.length && t.every((v, j) => v === y[i]![j]));
  });
}

// ---- reasons, read back ----

/** A change entry's reason read back (undefined if it is not one this module writes). */
export function readChangeReason(outcome: AuditEntry['outcome'], reason: string | undefined): ChangeReason | undefined {
  const r = reason ?? '';
  const [head, tail = '', ...more] = r.split(' ');
  switch (outcome) {
    case 'person-enrolled':
      return has(ENROL_VIA, head) && has(LISTS, tail) && more.length === 0
        ? { outcome, via: head, list: tail }
        : undefined;
    case 'person-edited': {
      const fields = tail.split(',');
      return has(EDIT_VIA, head) && more.length === 0 && fields.every((f) => has(PERSON_FIELDS, f))
        ? { outcome, via: head, fields: fields as PersonField[] }
        : undefined;
    }
    case 'person-deleted':
      return r === '' ? { outcome, list: null } : has(LISTS, r) ? { outcome, list: r } : undefined;
    case 'people-merged':
      return head === 'from' && tail !== '' && more.length === 0 ? { outcome, from: tail } : undefined;
    case 'guard-changed':
      return has(GUARD_CHANGES, r) ? { outcome, change: r } : undefined;
    case 'login-failed':
      return readLoginFailure(r);
    case 'settings-changed':
      return r === '' ? undefined : { outcome, fields: r.split(',') };
    case 'admin-unlocked':
      return r === 'passphrase' || r === 'setup' ? { outcome, how: r } : undefined;
    default:
      return undefined;
  }
}

function readLoginFailure(r: string): ChangeReason | undefined {
  const outcome = 'login-failed';
  const wrong = /^(pin|passphrase) (\d+)(?: lockout (\d+)s)?$/.exec(r);
  if (wrong)
    return {
      outcome,
      failure: {
        kind: 'wrong',
        via: wrong[1] as 'pin' | 'passphrase',
        failures: Number(wrong[2]),
        lockoutMs: Number(wrong[3] ?? 0) * 1000,
      },
    };
  const disabled = /^(pin|passkey) disabled$/.exec(r);
  if (disabled) return { outcome, failure: { kind: 'disabled', via: disabled[1] as 'pin' | 'passkey' } };
  const passkey = /^passkey ([a-z][a-z-]{0,39})$/.exec(r);
  if (passkey) return { outcome, failure: { kind: 'passkey', problem: passkey[1]! } };
  return undefined;
}

// ---- appending ----

export interface ChangeEntry {
  outcome: ChangeOutcome;
  /** The person's or guard's id; 'unknown' when the change is about no one (settings, a failed login). */
  subjectId?: string;
  reason?: string | undefined;
  /** 'admin' for what an admin session did; none for a failed login (nobody is logged in). */
  actor?: 'admin';
}

function auditEntry(host: AuditHost, e: ChangeEntry): Omit<AuditEntry, 'id'> {
  return {
    at: host.clock.wall(),
    outcome: e.outcome,
    subjectId: e.subjectId ?? 'unknown',
    kiosk: host.snapshot.settings.kioskId,
    mode: 'system',
    ...(e.reason ? { reason: e.reason } : {}),
    ...(e.actor ? { actor: e.actor } : {}),
  };
}

/** Appends the entry; a failure is logged, never thrown (what it records is already done). */
export async function recordChange(host: AuditHost, e: ChangeEntry): Promise<void> {
  try {
    await host.vault.audit.append(auditEntry(host, e));
  } catch (err) {
    console.warn(`audit: ${e.outcome} not recorded (${isKioskError(err) ? err.code : 'INTERNAL'})`);
  }
}

/** Appends the entry before the change it records is made: AUDIT_NOT_WRITTEN (the cause attached) if it cannot be. */
export async function recordChangeFirst(host: AuditHost, e: ChangeEntry): Promise<void> {
  try {
    await host.vault.audit.append(auditEntry(host, e));
  } catch (err) {
    throw new KioskError(
      'AUDIT_NOT_WRITTEN',
      { outcome: e.outcome, cause: isKioskError(err) ? err.code : 'INTERNAL' },
      { cause: err },
    );
  }
}
