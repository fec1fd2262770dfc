/**
 * The kiosk's own settings (what an admin changes on the admin screen), their defaults and validation.
 *
 * Stored encrypted by the vault as one JSON object; read back through `resolveKioskSettings`, which repairs or
 * drops anything unknown or out of range instead of trusting it (a corrupted setting must never widen who gets in:
 * face and plate thresholds are re-validated by their own modules). The upstream is a path on the build's fixed
 * upstream origin, never a free URL: the egress allowlist (CSP) cannot be changed from the UI.
 */
import { UPSTREAM_ORIGIN } from '../config/defaults';
import { resolveFaceConfig, type FaceConfigOverrides } from '../config/face';
import { DEFAULT_PLATE_MATCH, checkPlateMatchConfig, type PlateMatchConfig } from '../matching/plates';
import { KioskError } from '../shared/errors';
import type { Lang } from '../ui/i18n';

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
export const IDLE_SECONDS_MIN = 10;
export const IDLE_SECONDS_MAX = 3600;

/**
 * Presentation-attack detection per kiosk: 'off'; 'passive' (fr_liveness on every frame that could grant);
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
  /** Identifies this kiosk to the receiver (letters, digits, . _ -; at most 32). */
  kioskId: string;
  /** Door or lane id sent with decisions; empty = none. */
  door: string;
  mode: KioskMode;
  lang: Lang;
  /** Show the matched person's label on the visitor screen (off by default: no names on screen). */
  showNames: boolean;
  /** Add a pseudonymous subject reference to upstream decisions (attendance); off by default. */
  subjectRefs: boolean;
  /** Path of the decisions endpoint on the build's upstream origin. */
  upstreamPath: string;
  /** Audit retention in hours. */
  retentionHours: number;
  /** Chosen camera (deviceId), '' = default / facing mode of the mode. */
  cameraDeviceId: string;
  face: FaceConfigOverrides;
  plate: Partial<PlateMatchConfig>;
  /** What this tablet is (see DeviceRole). Default 'visitor': a fresh kiosk is locked down. */
  role: DeviceRole;
  /** Seconds without a touch or key before a guard/admin session ends and the tablet goes home; 0 = the role's
   * default (ROLE_IDLE_SECONDS), else 10..3600. */
  sessionIdleSeconds: number;
  /** Manual overrides one guard (or the admin) may make per window. Default 6, 1..100. */
  overrideLimit: number;
  /** The override window in minutes. Default 10, 1..1440. */
  overrideWindowMinutes: number;
  /** PAD policy chosen by an admin; absent = the role's default (padPolicyOf). */
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
const idleOk = (v: unknown): v is number => v === 0 || intIn(v, IDLE_SECONDS_MIN, IDLE_SECONDS_MAX);
const cooldownOk = (v: unknown): v is number => intIn(v, PRESENCE_COOLDOWN_MIN, PRESENCE_COOLDOWN_MAX);

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const PATH = /^\/[A-Za-z0-9._~\-/]{0,200}$/;

/** Merge stored values onto defaults, keeping only valid ones. */
export function resolveKioskSettings(stored: Record<string, unknown> | null | undefined): KioskSettings {
  const d = defaultSettings(typeof stored?.['kioskId'] === 'string' && ID.test(stored['kioskId']) ? stored['kioskId'] : undefined);
  if (!stored) return d;
  const s = stored;
  const str = (k: string, ok: (v: string) => boolean, fallback: string) =>
    typeof s[k] === 'string' && ok(s[k] as string) ? (s[k] as string) : fallback;
  const out: KioskSettings = {
    kioskId: d.kioskId,
    door: str('door', (v) => v === '' || ID.test(v), d.door),
    mode: s['mode'] === 'plate' ? 'plate' : 'face',
    lang: s['lang'] === 'zh' ? 'zh' : 'en',
    showNames: s['showNames'] === true,
    subjectRefs: s['subjectRefs'] === true,
    upstreamPath: str('upstreamPath', (v) => PATH.test(v), d.upstreamPath),
    retentionHours:
      typeof s['retentionHours'] === 'number' && s['retentionHours'] >= 1 && s['retentionHours'] <= 24 * 366
        ? s['retentionHours']
        : d.retentionHours,
    cameraDeviceId: str('cameraDeviceId', (v) => v.length < 512, ''),
    face: {},
    plate: {},
    // A damaged role falls back to the locked-down visitor kiosk, never to a role that shows more.
    role: DEVICE_ROLES.includes(s['role'] as DeviceRole) ? (s['role'] as DeviceRole) : d.role,
    sessionIdleSeconds: idleOk(s['sessionIdleSeconds']) ? s['sessionIdleSeconds'] : d.sessionIdleSeconds,
    overrideLimit: intIn(s['overrideLimit'], 1, 100) ? s['overrideLimit'] : d.overrideLimit,
    overrideWindowMinutes: intIn(s['overrideWindowMinutes'], 1, 1440) ? s['overrideWindowMinutes'] : d.overrideWindowMinutes,
    pullMinutes: intIn(s['pullMinutes'], 0, 1440) ? s['pullMinutes'] : d.pullMinutes,
    presenceCooldownSeconds: cooldownOk(s['presenceCooldownSeconds']) ? s['presenceCooldownSeconds'] : d.presenceCooldownSeconds,
  };
  if (PAD_POLICIES.includes(s['pad'] as PadPolicy)) out.pad = s['pad'] as PadPolicy;
  if (s['face'] && typeof s['face'] === 'object') {
    try {
      resolveFaceConfig(s['face'] as FaceConfigOverrides);
      out.face = s['face'] as FaceConfigOverrides;
    } catch {
      // invalid stored face settings fall back to the documented defaults
    }
  }
  if (s['plate'] && typeof s['plate'] === 'object') {
    try {
      checkPlateMatchConfig({ ...DEFAULT_PLATE_MATCH, ...(s['plate'] as Partial<PlateMatchConfig>) });
      out.plate = s['plate'] as Partial<PlateMatchConfig>;
    } catch {
      // likewise
    }
  }
  return out;
}

/** Validate an admin's change before it is stored; throws CONFIG_INVALID naming the field. */
export function validateSettingsPatch(current: KioskSettings, patch: Partial<KioskSettings>): KioskSettings {
  const next = { ...current, ...patch };
  const bad = (field: string) => new KioskError('CONFIG_INVALID', { field });
  if (!ID.test(next.kioskId)) throw bad('kioskId');
  if (next.door !== '' && !ID.test(next.door)) throw bad('door');
  if (!PATH.test(next.upstreamPath)) throw bad('upstreamPath');
  if (!(next.retentionHours >= 1 && next.retentionHours <= 24 * 366)) throw bad('retentionHours');
  if (!DEVICE_ROLES.includes(next.role)) throw bad('role');
  if (!idleOk(next.sessionIdleSeconds)) throw bad('sessionIdleSeconds');
  if (!intIn(next.overrideLimit, 1, 100)) throw bad('overrideLimit');
  if (!intIn(next.overrideWindowMinutes, 1, 1440)) throw bad('overrideWindowMinutes');
  if (next.pad !== undefined && !PAD_POLICIES.includes(next.pad)) throw bad('pad');
  if (!intIn(next.pullMinutes, 0, 1440)) throw bad('pullMinutes');
  if (!cooldownOk(next.presenceCooldownSeconds)) throw bad('presenceCooldownSeconds');
  try {
    resolveFaceConfig(next.face);
  } catch (e) {
    // Name the face setting at fault ("face.thresholds.fr_feature.accept"), not just "face".
    const inner = e instanceof KioskError ? e.details?.['field'] : undefined;
    throw bad(typeof inner === 'string' ? `face.${inner}` : 'face');
  }
  try {
    checkPlateMatchConfig({ ...DEFAULT_PLATE_MATCH, ...next.plate });
  } catch {
    throw bad('plate');
  }
  return next;
}

export function upstreamUrl(s: KioskSettings): string {
  return `${UPSTREAM_ORIGIN}${s.upstreamPath}`;
}
