/**
 * Domain types shared across modules. Kept small and data-only: no behaviour here, so any module may import it
 * without pulling in a capability it must not touch.
 */

/** What the kiosk decided, with the reason a guard sees. Only `grant`/`deny` ever leaves the device. */
/** `deny-spoof`: presentation-attack detection refused the face (a photo, a screen); upstream sees a plain deny. */
export type Outcome =
  | 'grant'
  | 'deny-unknown'
  | 'deny-listed'
  | 'deny-spoof'
  | 'no-face'
  | 'low-quality'
  | 'uncertain';

export interface DecisionResult {
  outcome: Outcome;
  /** Human-readable reason for the guard screen (never shown to visitors with a name unless configured). */
  reason: string;
  /** Subject id when a watchlisted identity was matched (stays on the device). */
  subjectId?: string;
  /** Best similarity or plate distance behind the outcome (stays on the device). */
  score?: number;
  /** Which modality produced it. */
  mode: 'face' | 'plate';
  /** Passive PAD: the lowest "live" probability among the frames behind the outcome (stays on the device). */
  liveness?: number;
}

export type ListKind = 'allow' | 'deny';

/** A watchlist entry as held in memory after the vault decrypted it. */
export interface Subject {
  id: string;
  label: string;
  list: ListKind;
  validFrom?: number;
  validUntil?: number;
  /** L2-normalised face templates, keyed by embedder name (templates of two embedders never mix). */
  templates: Record<string, Float32Array[]>;
  plates: string[];
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** An entry of the encrypted audit log (never an image). */
/**
 * What an audit entry records: a decision, a guard's override, or (mode 'system') something done to the tablet
 * itself: a stored setting that failed its check at start and runs on its default (`reason` names the field), a
 * watchlist bundle installed from a file or the receiver (`reason` "v<version> full|delta, signed by <issuer
 * fingerprint>"), a sync key trusted or removed (`reason` "admin <fingerprint>" / "kiosk <fingerprint>"); and who
 * changed the kiosk and its people: a person enrolled, edited (expired, photos or plates added), deleted or merged
 * (subject = the person's id), a guard account changed (subject = the guard's id), a failed guard PIN, passkey or
 * admin passphrase (subject 'unknown'), settings saved (the field names) and an admin session started; the stored
 * data maintained (index rebuilt, quarantine cleared, unattended restart on or off), this tablet paired with the
 * receiver or a pairing that failed, and data exported (a watchlist bundle or the audit log). The reasons of these
 * last twelve are written and read back by src/app/change-audit.ts. One list for the log and its export reader.
 */
export const AUDIT_OUTCOMES = [
  'grant',
  'deny-unknown',
  'deny-listed',
  'deny-spoof',
  'no-face',
  'low-quality',
  'uncertain',
  'override-grant',
  'override-deny',
  'config-repaired',
  'watchlist-installed',
  'key-trusted',
  'key-removed',
  'person-enrolled',
  'person-edited',
  'person-deleted',
  'people-merged',
  'guard-changed',
  'login-failed',
  'settings-changed',
  'admin-unlocked',
  'vault-maintained',
  'receiver-paired',
  'pairing-failed',
  'data-exported',
] as const;
export const AUDIT_MODES = ['face', 'plate', 'manual', 'system'] as const;

export interface AuditEntry {
  id?: number;
  at: number;
  outcome: (typeof AUDIT_OUTCOMES)[number];
  subjectId: string | 'unknown';
  score?: number;
  kiosk: string;
  mode: (typeof AUDIT_MODES)[number];
  reason?: string;
  /** Who made a manual override: a guard account id or 'admin' (never a name). */
  actor?: string;
}

/** Face box and keypoints in source-image pixels. Keypoints: right eye, left eye, nose tip, mouth, right ear, left ear
 * (BlazeFace order, "right" = the subject's right, which is on the image's left). */
export interface FaceDetection {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  keypoints: { x: number; y: number }[];
}
