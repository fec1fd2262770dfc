/**
 * Typed errors with stable codes, one message table (the workbox model).
 *
 * Every module throws KioskError with a code from ERROR_MESSAGES; the UI maps codes to what a guard or visitor
 * reads, tests assert codes, never message text. Adding a failure mode means adding a row here. Messages must
 * never carry a name, template, plate or image bytes: they end up on screens and in logs.
 */

export const ERROR_MESSAGES = {
  // models and provisioning
  MODEL_MISSING: 'A model file is missing from the app. Re-install the kiosk.',
  MODEL_INTEGRITY: 'A model file failed its integrity check twice and was refused. Re-install the kiosk.',
  MODEL_MANIFEST_INVALID: 'The model manifest is missing or unreadable.',
  MODEL_LOAD_FAILED: 'A model could not be loaded.',
  // camera
  CAMERA_DENIED: 'Camera access was denied. Allow the camera for this site in the browser settings.',
  CAMERA_ABSENT: 'No camera was found. Connect a camera.',
  CAMERA_BUSY: 'The camera is in use by another program.',
  CAMERA_LOST: 'The camera was disconnected.',
  CAMERA_UNSUPPORTED: 'This browser cannot use a camera here (a secure origin is needed).',
  // workers
  WORKER_ABORTED: 'The operation was cancelled.',
  WORKER_TIMEOUT: 'The operation took too long and was stopped.',
  WORKER_CRASHED: 'A background worker stopped unexpectedly.',
  // input
  INPUT_NOT_IMAGE: 'The file is not an image this kiosk can read.',
  INPUT_NO_FACE: 'No face was found.',
  INPUT_MULTIPLE_FACES: 'More than one face was found; enrolment needs exactly one.',
  INPUT_LOW_QUALITY: 'The face image is not good enough.',
  INPUT_INVALID: 'The input is not valid.',
  ENROL_DUPLICATE_FACE: 'This face matches a person who is already enrolled. Add the photos to that person instead.',
  ENROL_PLATE_TAKEN: 'This plate already belongs to another person. Nothing was changed.',
  ENROL_PHOTOS_DIFFER: 'The photos given under this name do not show the same person. Give each person their own name, or leave out the photo that does not match. Nothing was enrolled for this name.',
  INPUT_REQUIRED: 'A required field is empty.',
  INPUT_TOO_LONG: 'A field is longer than allowed. Nothing was cut or saved.',
  INPUT_PLATE_INVALID: 'A licence plate is not valid.',
  INPUT_CSV_ROW: 'A row of the CSV file is not valid. Nothing was imported.',
  INPUT_CSV_PHOTO_MISSING: 'The photo this CSV row names is not among the chosen photos. This row was not imported; the other rows have their own lines.',
  INPUT_CONFIRMATION: 'The confirmation word does not match.',
  FILE_UNREADABLE: 'The file could not be read: it was changed, moved or removed after it was chosen, or the drive it is on was unplugged. Choose it again.',
  INPUT_QR_NOT_FOUND: 'No matching QR code was read. Hold the other tablet’s code steady in front of this camera.',
  // matching
  MATCH_VECTOR_LENGTH: 'Template lengths differ.',
  MATCH_VECTOR_INVALID: 'A template is not a finite, non-zero vector.',
  WATCHLIST_TOO_LARGE:
    'The watchlist has too many face templates for the configured false-match target; it was not armed. Remove people or raise the target.',
  // storage and vault
  STORE_LOCKED: 'The watchlist is locked.',
  STORE_WRONG_PASSPHRASE: 'Wrong passphrase.',
  STORE_LOCKED_OUT: 'Too many wrong passphrases: unlocking is paused.',
  STORE_WEAK_PASSPHRASE: 'The passphrase is too weak.',
  STORE_QUOTA: 'Storage is full. Nothing was changed.',
  STORE_CORRUPT_RECORD: 'A stored record failed its integrity check and was quarantined. An admin can review it and rebuild the index on the "Stored data" card.',
  STORE_BLOCKED: 'Another tab of the kiosk is holding the database open. Close it.',
  STORE_VERSION_CHANGED: 'The kiosk was updated in another tab. Reload this one.',
  STORE_NOT_INITIALISED: 'The vault has not been set up yet.',
  STORE_WIPED: 'The vault was wiped.',
  STORE_ADMIN_REQUIRED: 'This needs the admin passphrase. Unlock as admin first.',
  STORE_ALREADY_INITIALISED: 'The vault is already set up.',
  STORE_DUPLICATE: 'A record with this key already exists. Nothing was changed.',
  STORE_NOT_FOUND: 'The record does not exist.',
  STORE_CONFLICT: 'The watchlist changed at the same moment (another tab, or a watchlist update being installed). Nothing was saved: look again and try again.',
  STORE_UNAVAILABLE: 'Browser storage is not available (closed by the browser, or disabled).',
  // sync
  BUNDLE_INVALID: 'The watchlist file is damaged or not a watchlist file.',
  BUNDLE_SIGNATURE: 'The watchlist file is not signed by this site’s admin key.',
  BUNDLE_ROLLBACK: 'The watchlist file is older than the one installed.',
  BUNDLE_VERSION_AHEAD:
    "The watchlist file's version is dated more than a day ahead of this tablet's clock. Check the clock of the desk that made it, and this tablet's; a desk whose admin key was lost or stolen must be unpinned.",
  BUNDLE_NOT_FOR_KIOSK: 'The watchlist file was not made for this kiosk.',
  BUNDLE_SITE_PASSPHRASE: 'The site passphrase is wrong: it does not open this watchlist file. Check it and type it again. Nothing was changed.',
  BUNDLE_TOO_LARGE: 'The watchlist file is larger than this kiosk accepts.',
  BUNDLE_UNREADABLE: 'The watchlist file could not be read. Check the USB stick and try again.',
  BUNDLE_ALREADY_INSTALLED: 'This watchlist version is already installed. Nothing was changed.',
  AUDIT_FILE_INVALID: 'This is not an audit export of this kiosk, or it is damaged.',
  EXPORT_FILE_NOT_OPENED: 'Wrong passphrase, or the file is damaged (cut short or changed). If the passphrase is right, copy the file again.',
  AUDIT_NOT_WRITTEN: 'The change could not be recorded in the audit log, so it was not made. Nothing was changed.',
  // upstream
  UPSTREAM_UNREACHABLE: 'The door controller cannot be reached. Decisions are queued.',
  UPSTREAM_REJECTED: 'The door controller rejected a decision.',
  UPSTREAM_NOT_PAIRED: 'This kiosk is not paired with a door controller.',
  UPSTREAM_BUSY: 'The door controller asked the kiosk to slow down. Decisions are queued.',
  UPSTREAM_SERVER_ERROR: 'The door controller reported an internal error. Decisions are queued.',
  UPSTREAM_STALE: 'A decision reached the door controller too late to open the door; it was recorded only.',
  UPSTREAM_EXPIRED: 'Queued decisions were older than the retention limit and were dropped.',
  UPSTREAM_PAIRING_FAILED: 'Pairing with the door controller failed; this kiosk is not paired.',
  CONFIG_INVALID: 'A setting is not valid.',

  GUARD_REQUIRED: 'This needs a guard to log in first.',
  GUARD_WRONG_PIN: 'Wrong guard or PIN.',
  GUARD_LOCKED_OUT: 'Too many wrong PINs: guard logins are paused.',
  GUARD_DISABLED: 'This guard account is disabled.',
  GUARD_NOT_FOUND: 'No such guard account.',
  GUARD_PIN_RULE: 'A guard PIN is 6 to 12 digits, not one digit repeated, a run like 123456 or 1234567890 or a repeated pattern like 121212.',
  GUARD_NAME_INVALID: "A guard's display name is 1 to 64 characters.",
  GUARD_NAME_TAKEN: 'Another guard already has this display name.',
  GUARD_CONFIRM_REQUIRED: 'On this shared screen, a manual grant or showing names needs your PIN (or your security key) again.',
  ADMIN_CONFIRM_REQUIRED: 'On this shared screen, a manual grant or showing names needs the admin passphrase again.',
  GUARD_PASSKEY_FAILED: 'The passkey could not be verified.',
  GUARD_PASSKEY_UNAVAILABLE: 'This device has no passkey authenticator.',
  GUARD_PASSKEY_NOT_OWN:
    "Register the guard's own security key (a FIDO2 key with its own PIN or fingerprint): a passkey kept on this tablet or synced to an account opens for anyone who can unlock it.",
  OVERRIDE_RATE_LIMITED: 'Too many overrides in a short time. Ask an admin, or wait.',
  INTERNAL: 'An unexpected error occurred.',
} as const;

export type ErrorCode = keyof typeof ERROR_MESSAGES;

export class KioskError extends Error {
  override readonly name = 'KioskError';
  readonly code: ErrorCode;
  /** Extra context safe to show and log (never biometric data or names). */
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(code: ErrorCode, details?: Record<string, string | number | boolean>, options?: { cause?: unknown }) {
    super(ERROR_MESSAGES[code], options);
    this.code = code;
    this.details = details;
  }

  /** Plain object that survives postMessage (Error subclasses lose their fields in structured clone). */
  toJSON(): SerializedKioskError {
    return { code: this.code, message: this.message, details: this.details ?? {} };
  }

  static fromJSON(e: SerializedKioskError): KioskError {
    return new KioskError(e.code, { ...e.details });
  }
}

export interface SerializedKioskError {
  code: ErrorCode;
  message: string;
  details: Readonly<Record<string, string | number | boolean>>;
}

export function isKioskError(e: unknown, code?: ErrorCode): e is KioskError {
  return e instanceof KioskError && (code === undefined || e.code === code);
}
