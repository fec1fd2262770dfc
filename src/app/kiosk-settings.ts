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
 * Presentation-attack detection per kiosk: 'off'; 'passive' (fr_liveness on every frame that could grant);
 * 'active' (passive + a random action challenge before a grant: docs/liveness.md).
 */
export type PadPolicy = 'off' | 'passive' | 'active';
export const PAD_POLICIES: readonly PadPolicy[] = ['off', 'passive', 'active'];

/** The PAD default of a device role: an unattended visitor kiosk challenges; a kiosk a guard watches does not. */
export function defaultPadPolicy(role: string): PadPolicy {
  return role === 'visitor' ? 'active' : 'passive';
}

/**
 * The PAD policy in force: the kiosk's own setting, else its role's default. Kiosks without a role setting are
 * treated as unattended visitor kiosks (the safe default).
 */
export function padPolicyOf(s: KioskSettings): PadPolicy {
  const role = (s as { role?: unknown }).role;
  return s.pad ?? defaultPadPolicy(typeof role === 'string' ? role : 'visitor');
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
  /** PAD policy chosen by an admin; absent = the role's default (padPolicyOf). */
  pad?: PadPolicy;
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
  };
}

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
  if (next.pad !== undefined && !PAD_POLICIES.includes(next.pad)) throw bad('pad');
  try {
    resolveFaceConfig(next.face);
  } catch {
    throw bad('face');
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
