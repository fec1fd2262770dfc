/**
 * The audit entries of who changed this kiosk and its people, and of who got in to do it or tried and failed: a
 * person enrolled, edited (expired, photos or plates added), deleted or merged; a guard account created, disabled,
 * enabled, given a passkey or deleted; settings saved (the subject-reference key renewed among them); an admin
 * session started; a wrong guard PIN or name, a refused passkey, a disabled account's login, a wrong admin
 * passphrase (and whether it started a lock-out); the stored data maintained (index rebuilt, quarantine cleared,
 * unattended restart turned on or off); this tablet paired with the receiver, or a pairing that failed; and data
 * taken off the tablet (a watchlist bundle, whole or changes, or the audit log exported). Mode 'system'; the
 * subject is the person's or the guard's id (else 'unknown'); the actor 'admin' for what an admin did; the reason
 * short and machine-readable, so the audit card words it in the reader's language (readChangeReason).
 *
 * Owns the reason grammar (written and read back here, nowhere else) and the one way these entries are appended.
 * A reason holds only ids, field names, list kinds, counts, durations and fixed words: never a name, a plate, a
 * PIN or passphrase, a pairing code, an image or a template (callers hand over ids and field names, not values;
 * key fingerprints, the receiver's origin, error codes and counts are not personal and not secret). An entry that
 * cannot be written is logged and never fails or undoes what it records (`recordChange`, as for repaired settings
 * and sync events): the change is already committed, and a full disk must not stop an admin from deleting someone.
 * It is not silent either: the host hears of every entry lost and of the next one written (`AuditHost.auditResult`),
 * so the admin screen names the changes the log is missing until the log can be written again (`AuditGap`).
 * The exceptions are made only once their own entry is written (`recordChangeFirst`, AUDIT_NOT_WRITTEN otherwise):
 * what destroys records — a new audit retention (its purge), clearing the quarantine (the evidence of tampering) —
 * and a watchlist export, whose names and faces leave the tablet for good once the bytes are handed over. The
 * audit log's own export stays best effort: it is how an admin keeps the log before making room on a full disk.
 * It decides nothing, asks no authority (its callers have) and renders nothing.
 */
import { KioskError, isKioskError, type ErrorCode } from '../shared/errors';
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
  | 'vault-maintained'
  | 'receiver-paired'
  | 'pairing-failed'
  | 'data-exported'
>;

/** What the entries need of the app (the controller is one): the vault to append to, the wall clock, the kiosk id. */
export interface AuditHost {
  readonly vault: Pick<Vault, 'audit'>;
  readonly clock: Pick<Clock, 'wall'>;
  readonly snapshot: { readonly settings: { readonly kioskId: string } };
  /** Told of each append: the entry lost (its outcome and why), or null once one was written. */
  auditResult?(lost: LostAuditEntry | null): void;
}

/** An entry that could not be appended: what it recorded (never who) and the append's error code. */
export interface LostAuditEntry {
  outcome: AuditEntry['outcome'];
  code: ErrorCode;
}

/**
 * Changes made but missing from the audit log since the last entry that could be written: the outcomes lost, in
 * order (the latest MAX_GAP_OUTCOMES), how many in all, the last error code and when the first was lost. Memory
 * only; the admin screen shows it until an append works again.
 */
export interface AuditGap {
  readonly outcomes: readonly AuditEntry['outcome'][];
  readonly lost: number;
  readonly code: ErrorCode;
  readonly since: number;
}

const MAX_GAP_OUTCOMES = 50;

/** The gap after one append: `lost` adds to it, an entry written (null) ends it. */
export function nextAuditGap(prev: AuditGap | null, lost: LostAuditEntry | null, now: number): AuditGap | null {
  if (!lost) return null;
  return {
    outcomes: [...(prev?.outcomes ?? []), lost.outcome].slice(-MAX_GAP_OUTCOMES),
    lost: (prev?.lost ?? 0) + 1,
    code: lost.code,
    since: prev?.since ?? now,
  };
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

/**
 * What an admin did to the stored data (src/app/vault-maintenance.ts): rebuilt the index (the people who count now,
 * from the pages that authenticated), cleared the quarantine (the records it held), unattended restart on or off.
 */
export type Maintenance =
  | { action: 'index-rebuilt'; people: number }
  | { action: 'quarantine-cleared'; records: number }
  /** The guard PIN lock-out ended early by the admin: the wrong tries it held (src/store/guards.ts clearLockout). */
  | { action: 'guard-lockout-cleared'; failures: number }
  | { action: 'unattended'; on: boolean }
  /** The audit log's public half found swapped (or damaged) at an admin unlock and written again from the private
   * half (src/store/vault.ts repairAuditPublic): entries sealed in between are quarantined when read. */
  | { action: 'audit-key-repaired' };

/**
 * Data taken off the tablet: a whole watchlist bundle or its changes since the last export (the version, how many
 * people it carries, how many kiosk keys it is encrypted to and whether also to a site passphrase; never a name or
 * the passphrase), or the audit log (always encrypted to an export passphrase).
 */
export type DataExport =
  | { what: 'watchlist'; version: number; people: number; kiosks: number; passphrase: boolean }
  | {
      what: 'changes';
      version: number;
      base: number;
      people: number;
      deleted: number;
      kiosks: number;
      passphrase: boolean;
    }
  | { what: 'audit' };

/** A change entry's reason, read back. */
export type ChangeReason =
  | { outcome: 'person-enrolled'; via: EnrolVia; list: ListKind }
  | { outcome: 'person-edited'; via: EditVia; fields: PersonField[] }
  | { outcome: 'person-deleted'; list: ListKind | null }
  | { outcome: 'people-merged'; from: string }
  | { outcome: 'guard-changed'; change: GuardChange }
  | { outcome: 'login-failed'; failure: LoginFailure }
  | { outcome: 'settings-changed'; fields: string[] }
  | { outcome: 'admin-unlocked'; how: UnlockHow }
  | { outcome: 'vault-maintained'; maintenance: Maintenance }
  /** This tablet's signing key as the receiver registered it (short fingerprint), and the receiver's origin. */
  | { outcome: 'receiver-paired'; fingerprint: string; origin: string | null }
  /** The error code the attempt ended in, and the check or the receiver's word for it (never the code typed). */
  | { outcome: 'pairing-failed'; code: string; problem: string | null }
  | { outcome: 'data-exported'; export: DataExport };

const MAX_REASON = 200;
const LISTS: readonly ListKind[] = ['allow', 'deny'];
const PROBLEM = /^[a-z][a-z-]{0,39}$/;
/** The short fingerprint of a decision key (src/decisions/signer.ts `fingerprint`): four groups of base64url. */
const FINGERPRINT = /^[A-Za-z0-9_-]{4}-[A-Za-z0-9_-]{4}-[A-Za-z0-9_-]{4}-[A-Za-z0-9_-]{4}$/;
/** An error code's shape (ERROR_MESSAGES' keys); a newer kiosk's code is read back, not refused. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,47}$/;
/** The pairing check's or the receiver's word for a failure ('network', 'code_format', 'bad_code' …). */
const PAIR_PROBLEM = /^[a-z][a-z0-9_-]{0,39}$/;
const COUNT = '(0|[1-9]\\d{0,15})';
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

export function maintainedReason(m: Maintenance): string {
  if (m.action === 'unattended') return `unattended ${m.on ? 'on' : 'off'}`;
  if (m.action === 'audit-key-repaired') return m.action;
  return `${m.action} ${count(m.action === 'index-rebuilt' ? m.people : m.action === 'quarantine-cleared' ? m.records : m.failures)}`;
}

/** The fingerprint, and the receiver's origin after it when it is one (and fits the reason). */
export function pairedReason(fingerprint: string, origin: string | undefined): string {
  const fp = FINGERPRINT.test(fingerprint) ? fingerprint : 'unknown';
  return origin !== undefined && isOrigin(origin) && fp.length + 1 + origin.length <= MAX_REASON
    ? `${fp} ${origin}`
    : fp;
}

/** The error code and the check's word (a receiver's word not of that shape is 'other'); never what was typed. */
export function pairingFailedReason(code: string, problem: unknown): string {
  const c = ERROR_CODE.test(code) ? code : 'INTERNAL';
  if (problem === undefined || problem === null || problem === '') return c;
  return `${c} ${typeof problem === 'string' && PAIR_PROBLEM.test(problem) ? problem : 'other'}`;
}

export function exportedReason(e: DataExport): string {
  if (e.what === 'audit') return 'audit';
  const to = `kiosks ${count(e.kiosks)} ${e.passphrase ? 'passphrase' : 'no-passphrase'}`;
  if (e.what === 'watchlist') return `watchlist v${count(e.version)} people ${count(e.people)} ${to}`;
  return `changes v${count(e.version)} base v${count(e.base)} people ${count(e.people)} deleted ${count(e.deleted)} ${to}`;
}

const count = (n: number): number => (Number.isSafeInteger(n) && n > 0 ? n : 0);

function isOrigin(s: string): boolean {
  try {
    return /^https?:\/\/\S+$/.test(s) && new URL(s).origin === s;
  } catch {
    return false;
  }
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
    case 'vault-maintained':
      return readMaintenance(r);
    case 'receiver-paired': {
      const [fp = '', origin] = twoWords(r);
      return FINGERPRINT.test(fp) && (origin === undefined || isOrigin(origin))
        ? { outcome, fingerprint: fp, origin: origin ?? null }
        : undefined;
    }
    case 'pairing-failed': {
      const [code = '', problem] = twoWords(r);
      return ERROR_CODE.test(code) && (problem === undefined || PAIR_PROBLEM.test(problem))
        ? { outcome, code, problem: problem ?? null }
        : undefined;
    }
    case 'data-exported':
      return readExport(r);
    default:
      return undefined;
  }
}

/** One word, or two separated by one space; [] for anything else. */
function twoWords(r: string): [string?, string?] {
  const m = /^(\S+)(?: (\S+))?$/.exec(r);
  return m ? [m[1], m[2]] : [];
}

function readMaintenance(r: string): ChangeReason | undefined {
  const outcome = 'vault-maintained';
  const unattended = /^unattended (on|off)$/.exec(r);
  if (unattended) return { outcome, maintenance: { action: 'unattended', on: unattended[1] === 'on' } };
  if (r === 'audit-key-repaired') return { outcome, maintenance: { action: r } };
  const n = new RegExp(`^(index-rebuilt|quarantine-cleared|guard-lockout-cleared) ${COUNT}$`).exec(r);
  if (!n) return undefined;
  const v = Number(n[2]);
  const maintenance: Maintenance =
    n[1] === 'index-rebuilt'
      ? { action: 'index-rebuilt', people: v }
      : n[1] === 'quarantine-cleared'
        ? { action: 'quarantine-cleared', records: v }
        : { action: 'guard-lockout-cleared', failures: v };
  return { outcome, maintenance };
}

function readExport(r: string): ChangeReason | undefined {
  const outcome = 'data-exported';
  if (r === 'audit') return { outcome, export: { what: 'audit' } };
  const to = `kiosks ${COUNT} (passphrase|no-passphrase)`;
  const whole = new RegExp(`^watchlist v${COUNT} people ${COUNT} ${to}$`).exec(r);
  if (whole) {
    const [version, people, kiosks] = [whole[1], whole[2], whole[3]].map(Number) as [number, number, number];
    return { outcome, export: { what: 'watchlist', version, people, kiosks, passphrase: whole[4] === 'passphrase' } };
  }
  const delta = new RegExp(`^changes v${COUNT} base v${COUNT} people ${COUNT} deleted ${COUNT} ${to}$`).exec(r);
  if (!delta) return undefined;
  const [version, base, people, deleted, kiosks] = delta.slice(1, 6).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    outcome,
    export: { what: 'changes', version, base, people, deleted, kiosks, passphrase: delta[6] === 'passphrase' },
  };
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

/**
 * Appends the entry; a failure is logged and reported to the host (the admin screen names it), never thrown: what
 * it records is already done.
 */
export async function recordChange(host: AuditHost, e: ChangeEntry): Promise<void> {
  try {
    await host.vault.audit.append(auditEntry(host, e));
  } catch (err) {
    const code = isKioskError(err) ? err.code : 'INTERNAL';
    console.warn(`audit: ${e.outcome} not recorded (${code})`);
    host.auditResult?.({ outcome: e.outcome, code });
    return;
  }
  host.auditResult?.(null);
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
  host.auditResult?.(null);
}
