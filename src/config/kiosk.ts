/**
 * The kiosk's own settings (what an admin changes on the admin screen): every option with its default and unit
 * where it is declared, and one table of checks used both when settings are loaded and when an admin changes them.
 *
 * Stored encrypted by the vault as one JSON object. `loadKioskSettings` validates what was stored: a bad value is
 * never trusted — it is replaced by its default and reported as CONFIG_INVALID naming the field (the controller
 * logs it; a corrupted setting must never widen who gets in, and a fresh kiosk's defaults are the locked-down
 * ones). `validateSettingsPatch` refuses an admin's bad value with CONFIG_INVALID naming the field before anything
 * is stored. Face and plate settings are checked by src/config/face.ts and src/config/plate.ts. The upstream is a
 * path on the build's fixed upstream origin (src/config/upstream.ts), never a free URL. Owns no storage and no I/O.
 */
import { UPSTREAM_ORIGIN } from './upstream';
import { resolveFaceConfig, type FaceConfigOverrides } from './face';
import { resolvePlateMatchConfig, type PlateMatchConfig } from './plate';
import { KioskError } from '../shared/errors';

/** Languages of the UI (src/ui/i18n.ts has a table for each). */
export type Lang = 'en' | 'zh';
export const LANGS: readonly Lang[] = ['en', 'zh'];

/**
 * What the camera is asked for (getUserMedia ideals; pixels and frames per second). 640×480 is what the face and
 * plate benchmarks measure (bench/faces.page.ts) and what the detectors were tuned on; 15 fps is more than the
 * 8-15 frames per second the workers analyse on the 2-core target. Not an admin setting.
 */
export const CAMERA_CAPTURE = { width: 640, height: 480, frameRate: 15 } as const;

export type KioskMode = 'face' | 'plate';

/**
 * What this tablet is. 'visitor': an unattended kiosk — the visitor screen only, no way to other screens on it;
 * guard and admin need a long press in the top-left corner and a login. 'guard': the guard desk — its home is the
 * guard screen (behind a guard login). 'attended': the visitor screen with the guard panel beside it (the panel
 * behind a guard login), for a desk where a guard sits next to the camera.
 */
export type DeviceRole = 'visitor' | 'guard' | 'attended';
export const DEVICE_ROLES: readonly DeviceRole[] = ['visitor', 'guard', 'attended'];

/** Idle seconds after which a session ends and the tablet goes home, per role, when the admin set none. */
export const ROLE_IDLE_SECONDS: Record<DeviceRole, number> = { visitor: 60, attended: 300, guard: 900 };
/**
 * On the attended kiosk, taps keep a guard's session for at most this long after the guard last proved who they
 * are (login, or the PIN or key given for a grant or for names): its panel faces visitors, whose taps cannot be
 * told from the guard's (src/app/authority.ts provenForMs).
 */
export const ATTENDED_PROVEN_MS = 30 * 60_000;
/**
 * The same on an unattended (visitor-role) kiosk, where a guard's session is an errand at a screen that faces
 * visitors: a visitor who came within the 60 s idle timeout kept it (the guard screen's names and Keep closed) alive
 * by tapping (attacker review, session 32).
 */
export const UNATTENDED_PROVEN_MS = 5 * 60_000;

/** How long taps may keep a guard session after the guard's last proof, per role (0: as long as they come). */
export function provenForMs(role: DeviceRole): number {
  return role === 'attended' ? ATTENDED_PROVEN_MS : role === 'visitor' ? UNATTENDED_PROVEN_MS : 0;
}
export const IDLE_SECONDS_MIN = 10;
export const IDLE_SECONDS_MAX = 3600;

/**
 * Presentation-attack detection per kiosk: 'off'; 'passive' (the PAD network(s) pad.model names, on every frame that could grant);
 * 'active' (passive + a random action challenge before a grant: docs/liveness.md).
 */
export type PadPolicy = 'off' | 'passive' | 'active';
export const PAD_POLICIES: readonly PadPolicy[] = ['off', 'passive', 'active'];

/** The PAD default of a device role: an unattended visitor kiosk challenges; a kiosk a guard watches does not. */
export function defaultPadPolicy(role: DeviceRole): PadPolicy {
  return role === 'visitor' ? 'active' : 'passive';
}

/** The PAD policy in force: the kiosk's own setting, else its role's default. */
export function padPolicyOf(s: Pick<KioskSettings, 'pad' | 'role'>): PadPolicy {
  return s.pad ?? defaultPadPolicy(s.role);
}

export interface KioskSettings {
  /** Identifies this kiosk to the receiver: letters, digits, . _ - (first a letter or digit), 1..32 characters.
   * Default a random `kiosk-xxxxxxxx`. */
  kioskId: string;
  /** Door or lane id sent with decisions, same characters as kioskId; default '' = none. */
  door: string;
  /** What the camera looks for. Default 'face'. */
  mode: KioskMode;
  /** UI language. Default 'en'. */
  lang: Lang;
  /** Show the matched person's label on the visitor screen. Default false: no names on screen. */
  showNames: boolean;
  /** Add a pseudonymous subject reference to upstream decisions (attendance). Default false. */
  subjectRefs: boolean;
  /** Path of the decisions endpoint on the build's upstream origin ('/' + up to 200 URL path characters).
   * Default '/decisions'. */
  upstreamPath: string;
  /** Audit retention in hours, 1..8784 (a leap year). Default 24. */
  retentionHours: number;
  /** Chosen camera (a MediaDeviceInfo.deviceId, under 512 characters); default '' = the mode's facing camera. */
  cameraDeviceId: string;
  /** Overrides of the face defaults (src/config/face.ts). Default {}. */
  face: FaceConfigOverrides;
  /** Overrides of the plate match defaults (src/config/plate.ts). Default {}. */
  plate: Partial<PlateMatchConfig>;
  /** What this tablet is (see DeviceRole). Default 'visitor': a fresh kiosk is locked down. */
  role: DeviceRole;
  /** Seconds without a touch or key before a guard/admin session ends and the tablet goes home; 0 = the role's
   * default (ROLE_IDLE_SECONDS), else 10..3600. Default 0. */
  sessionIdleSeconds: number;
  /** Manual overrides one guard (or the admin) may make per window (count). Default 6, 1..100. */
  overrideLimit: number;
  /** The override window in minutes. Default 10, 1..1440. */
  overrideWindowMinutes: number;
  /** PAD policy chosen by an admin; absent (the default) = the role's default (padPolicyOf). */
  pad?: PadPolicy;
  /** Minutes between pulls of watchlist bundles from the receiver (src/app/bundle-pull.ts); 0 = off (default), 1..1440. */
  pullMinutes: number;
  /**
   * Seconds after a decision before the same person (or plate), still in view, is decided again; leaving the view
   * ends the wait at once (src/matching/presence.ts). Default 30, 5..3600.
   */
  presenceCooldownSeconds: number;
}

export const PRESENCE_COOLDOWN_DEFAULT = 30;
export const PRESENCE_COOLDOWN_MIN = 5;
export const PRESENCE_COOLDOWN_MAX = 3600;

/** The idle timeout in force for these settings, in ms. */
export function sessionIdleMs(s: Pick<KioskSettings, 'role' | 'sessionIdleSeconds'>): number {
  return (s.sessionIdleSeconds > 0 ? s.sessionIdleSeconds : ROLE_IDLE_SECONDS[s.role]) * 1000;
}

export function newKioskId(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return `kiosk-${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

export function defaultSettings(kioskId = newKioskId()): KioskSettings {
  return {
    kioskId,
    door: '',
    mode: 'face',
    lang: 'en',
    showNames: false,
    subjectRefs: false,
    upstreamPath: '/decisions',
    retentionHours: 24,
    cameraDeviceId: '',
    face: {},
    plate: {},
    role: 'visitor',
    sessionIdleSeconds: 0,
    overrideLimit: 6,
    overrideWindowMinutes: 10,
    pullMinutes: 0,
    presenceCooldownSeconds: PRESENCE_COOLDOWN_DEFAULT,
  };
}

const intIn = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const PATH = /^\/[A-Za-z0-9._~\-/]{0,200}$/;
const str = (v: unknown, ok: (v: string) => boolean) => typeof v === 'string' && ok(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The field inside a nested config that its own validator named ("thresholds.fr_feature.accept"), if any. */
function innerField(e: unknown): string | null {
  const f = e instanceof KioskError ? e.details?.['field'] : undefined;
  return typeof f === 'string' ? f : null;
}

/**
 * Every setting's check: nothing for a valid value, else the name of the bad field (a nested one for face and
 * plate). One table, so what is refused from an admin is exactly what is refused from storage.
 */
const CHECKS: { [K in keyof KioskSettings]-?: (v: unknown) => string | null } = {
  kioskId: (v) => (str(v, (x) => ID.test(x)) ? null : 'kioskId'),
  door: (v) => (str(v, (x) => x === '' || ID.test(x)) ? null : 'door'),
  mode: (v) => (v === 'face' || v === 'plate' ? null : 'mode'),
  lang: (v) => (LANGS.includes(v as Lang) ? null : 'lang'),
  showNames: (v) => (typeof v === 'boolean' ? null : 'showNames'),
  subjectRefs: (v) => (typeof v === 'boolean' ? null : 'subjectRefs'),
  upstreamPath: (v) => (str(v, (x) => PATH.test(x)) ? null : 'upstreamPath'),
  retentionHours: (v) => (typeof v === 'number' && v >= 1 && v <= 24 * 366 ? null : 'retentionHours'),
  cameraDeviceId: (v) => (str(v, (x) => x.length < 512) ? null : 'cameraDeviceId'),
  face: (v) => {
    if (!isObject(v)) return 'face';
    try {
      resolveFaceConfig(v as FaceConfigOverrides);
      return null;
    } catch (e) {
      const f = innerField(e);
      return f ? `face.${f}` : 'face';
    }
  },
  plate: (v) => {
    if (!isObject(v)) return 'plate';
    try {
      resolvePlateMatchConfig(v as Partial<PlateMatchConfig>);
      return null;
    } catch (e) {
      const f = innerField(e);
      return f ? `plate.${f}` : 'plate';
    }
  },
  role: (v) => (DEVICE_ROLES.includes(v as DeviceRole) ? null : 'role'),
  sessionIdleSeconds: (v) => (v === 0 || intIn(v, IDLE_SECONDS_MIN, IDLE_SECONDS_MAX) ? null : 'sessionIdleSeconds'),
  overrideLimit: (v) => (intIn(v, 1, 100) ? null : 'overrideLimit'),
  overrideWindowMinutes: (v) => (intIn(v, 1, 1440) ? null : 'overrideWindowMinutes'),
  pad: (v) => (v === undefined || PAD_POLICIES.includes(v as PadPolicy) ? null : 'pad'),
  pullMinutes: (v) => (intIn(v, 0, 1440) ? null : 'pullMinutes'),
  presenceCooldownSeconds: (v) =>
    intIn(v, PRESENCE_COOLDOWN_MIN, PRESENCE_COOLDOWN_MAX) ? null : 'presenceCooldownSeconds',
};
const FIELDS = Object.keys(CHECKS) as (keyof KioskSettings)[];

/**
 * What each check asks for, in the refusal's details, so the admin reads the rule (src/ui/error-text.ts words it):
 * a range, or the shape of an id or a path. Fields not listed are picked from offered values.
 */
const RULES: Partial<Record<keyof KioskSettings, Record<string, string | number>>> = {
  kioskId: { rule: 'id', max: 32 },
  door: { rule: 'id', max: 32 },
  upstreamPath: { rule: 'path', max: 201 },
  retentionHours: { min: 1, max: 24 * 366 },
  // 0 is "this role's default" (the settings form's empty box), so the range is what an admin can type.
  sessionIdleSeconds: { min: IDLE_SECONDS_MIN, max: IDLE_SECONDS_MAX },
  overrideLimit: { min: 1, max: 100 },
  overrideWindowMinutes: { min: 1, max: 1440 },
  pullMinutes: { min: 0, max: 1440 },
  presenceCooldownSeconds: { min: PRESENCE_COOLDOWN_MIN, max: PRESENCE_COOLDOWN_MAX },
};

/** CONFIG_INVALID naming the field, with its rule when it has one of its own (not for nested face/plate fields). */
function refusal(k: keyof KioskSettings, bad: string): KioskError {
  return new KioskError('CONFIG_INVALID', { field: bad, ...(bad === k ? RULES[k] : {}) });
}

export interface LoadedSettings {
  settings: KioskSettings;
  /** One CONFIG_INVALID per stored value that was refused and replaced by its default (details.field names it). */
  refused: KioskError[];
}

/**
 * Validate stored settings: a missing value takes its default (settings written by an older version); a present
 * but bad one takes its default too and is reported in `refused` — never trusted, never silently kept.
 */
export function loadKioskSettings(stored: Record<string, unknown> | null | undefined): LoadedSettings {
  const d = defaultSettings(stored && CHECKS.kioskId(stored['kioskId']) === null ? (stored['kioskId'] as string) : undefined);
  const refused: KioskError[] = [];
  if (!stored) return { settings: d, refused };
  const out: Record<string, unknown> = { ...d };
  for (const k of FIELDS) {
    if (!(k in stored) || stored[k] === undefined) continue;
    const bad = CHECKS[k](stored[k]);
    if (bad === null) out[k] = stored[k];
    else refused.push(refusal(k, bad));
  }
  return { settings: out as unknown as KioskSettings, refused };
}

/** `loadKioskSettings(stored).settings`: for callers that do not report what was refused. */
export function resolveKioskSettings(stored: Record<string, unknown> | null | undefined): KioskSettings {
  return loadKioskSettings(stored).settings;
}

/** Validate an admin's change before it is stored; throws CONFIG_INVALID naming the (first) bad field. */
export function validateSettingsPatch(current: KioskSettings, patch: Partial<KioskSettings>): KioskSettings {
  const next = { ...current, ...patch };
  for (const k of FIELDS) {
    const bad = CHECKS[k](next[k]);
    if (bad !== null) throw refusal(k, bad);
  }
  return next;
}

export function upstreamUrl(s: KioskSettings): string {
  return `${UPSTREAM_ORIGIN}${s.upstreamPath}`;
}
