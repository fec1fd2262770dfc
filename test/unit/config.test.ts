/**
 * One config module (src/config): every kind of bad value — wrong type, out of range, not an integer, NaN, an
 * unknown choice, a nested face or plate field, an unknown key — is CONFIG_INVALID naming the field, whether an
 * admin supplies it (validateSettingsPatch, resolve*Config) or it comes back from storage (loadKioskSettings, where
 * it is replaced by its default and reported, never trusted).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLATE_MATCH,
  PLATE_REGIONS,
  defaultSettings,
  loadKioskSettings,
  resolveFaceConfig,
  resolvePlateMatchConfig,
  validateSettingsPatch,
  type KioskSettings,
} from '../../src/config';
import { REGION_RULES } from '../../src/matching/plates';
import { describeError } from '../../src/ui/error-text';

const refused = (field: string) => expect.objectContaining({ code: 'CONFIG_INVALID', details: expect.objectContaining({ field }) });

describe('kiosk settings supplied by an admin', () => {
  const d = defaultSettings('k1');
  const cases: [Record<string, unknown>, string][] = [
    [{ kioskId: '' }, 'kioskId'],
    [{ kioskId: 'a b' }, 'kioskId'],
    [{ door: 'x'.repeat(40) }, 'door'],
    [{ mode: 'car' }, 'mode'],
    [{ lang: 'fr' }, 'lang'],
    [{ showNames: 'yes' }, 'showNames'],
    [{ subjectRefs: 1 }, 'subjectRefs'],
    [{ upstreamPath: 'https://elsewhere.example/decisions' }, 'upstreamPath'],
    [{ retentionHours: 0 }, 'retentionHours'],
    [{ retentionHours: Number.NaN }, 'retentionHours'],
    [{ retentionHours: '24' }, 'retentionHours'],
    [{ cameraDeviceId: 'x'.repeat(600) }, 'cameraDeviceId'],
    [{ role: 'root' }, 'role'],
    [{ sessionIdleSeconds: 1.5 }, 'sessionIdleSeconds'],
    [{ overrideLimit: 101 }, 'overrideLimit'],
    [{ overrideWindowMinutes: -1 }, 'overrideWindowMinutes'],
    [{ pad: 'maybe' }, 'pad'],
    [{ pullMinutes: 1441 }, 'pullMinutes'],
    [{ presenceCooldownSeconds: 1 }, 'presenceCooldownSeconds'],
    [{ face: 'strict' }, 'face'],
    [{ face: { thresholds: { fr_feature: { accept: 2 } } } }, 'face.thresholds.fr_feature.accept'],
    [{ face: { policy: { k: 0.5 } } }, 'face.policy.k'],
    [{ plate: { maxDistance: 1 } }, 'plate.maxDistance'],
    [{ plate: { minSupport: 1.5 } }, 'plate.minSupport'],
    [{ plate: { region: 'atlantis' } }, 'plate.region'],
    [{ plate: { maxDistanse: 0.2 } }, 'plate.maxDistanse'],
    [{ plate: [] }, 'plate'],
  ];
  it.each(cases)('%j is refused naming %s', (patch, field) => {
    expect(() => validateSettingsPatch(d, patch as Partial<KioskSettings>)).toThrow(refused(field));
  });

  it('accepts good values', () => {
    const next = validateSettingsPatch(d, { lang: 'zh', plate: { region: 'eu', maxDistance: 0.3 }, face: { policy: { k: 2 } } });
    expect(next).toMatchObject({ lang: 'zh', plate: { region: 'eu', maxDistance: 0.3 } });
  });
});

describe('kiosk settings read back from storage', () => {
  it('reports every bad stored value by field and runs it on its default; missing values are not errors', () => {
    const { settings, refused: bad } = loadKioskSettings({
      kioskId: 'k1',
      role: 'superuser',
      overrideLimit: -1,
      retentionHours: 'forever',
      plate: { region: 'eu', maxDistance: 0.99, minSupport: 0 },
      face: { thresholds: { fr_feature: { accept: Number.NaN } } },
      lang: 'zh',
    });
    expect(bad.map((e) => [e.code, e.details?.['field']])).toEqual([
      ['CONFIG_INVALID', 'retentionHours'],
      ['CONFIG_INVALID', 'face.thresholds.fr_feature.accept'],
      ['CONFIG_INVALID', 'plate.minSupport'],
      ['CONFIG_INVALID', 'role'],
      ['CONFIG_INVALID', 'overrideLimit'],
    ]);
    const d = defaultSettings('k1');
    // The locked-down defaults, never the bad value; the good ones are kept.
    expect(settings).toEqual({ ...d, lang: 'zh' });
    expect(loadKioskSettings({ kioskId: 'k1' }).refused).toEqual([]);
    expect(loadKioskSettings(null).refused).toEqual([]);
  });

  it('a damaged kiosk id is reported and replaced by a fresh one', () => {
    const { settings, refused: bad } = loadKioskSettings({ kioskId: '../../etc' });
    expect(bad.map((e) => e.details?.['field'])).toEqual(['kioskId']);
    expect(settings.kioskId).toMatch(/^kiosk-[0-9a-f]{8}$/);
  });
});

describe('face and plate configs', () => {
  it('face: each kind of bad value names its field', () => {
    const cases: [Parameters<typeof resolveFaceConfig>[0], string][] = [
      [{ embedder: 'nope' as 'fr_feature' }, 'embedder'],
      [{ minDetectionScore: 1 }, 'minDetectionScore'],
      [{ thresholds: { dlib_resnet: { accept: Number.NaN } } }, 'thresholds.dlib_resnet.accept'],
      [{ quality: { maxBrightness: 10, minBrightness: 20 } }, 'quality.maxBrightness'],
      [{ policy: { k: 9 } }, 'policy.k'],
      [{ pad: { channelOrder: 'gbr' as 'bgr' } }, 'pad.channelOrder'],
      [{ pad: { minContextScale: 0.5 } }, 'pad.minContextScale'],
      [{ pad: { minContextScale: 6 } }, 'pad.minContextScale'],
      [{ challenge: { stepMs: 10 } }, 'challenge.stepMs'],
      [{ openSet: { targetFpir: 0 } }, 'openSet.targetFpir'],
    ];
    for (const [o, field] of cases) expect(() => resolveFaceConfig(o), field).toThrow(refused(field));
  });

  it('face: an accept threshold below the reject threshold names accept and the range it may take', () => {
    // The admin screen sets accept only; it used to name reject, with no rule ("choose one of the offered values").
    for (const accept of [0.1, 0, -0.5, -1]) {
      let err: unknown;
      try {
        resolveFaceConfig({ thresholds: { fr_feature: { accept } } });
      } catch (e) {
        err = e;
      }
      expect(err, String(accept)).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'thresholds.fr_feature.accept', min: 0.3, max: 1 } });
      expect(describeError(err, 'en').text, String(accept)).toContain('must be between 0.3 and 1');
    }
  });

  it('plate: each kind of bad value names its field; defaults pass; the regions are the ones with rules', () => {
    expect(resolvePlateMatchConfig()).toEqual(DEFAULT_PLATE_MATCH);
    for (const [o, field] of [
      [{ maxDistance: -0.1 }, 'maxDistance'],
      [{ ambiguityMargin: Number.POSITIVE_INFINITY }, 'ambiguityMargin'],
      [{ minAgreement: '0.6' }, 'minAgreement'],
      [{ minConfidence: 1.1 }, 'minConfidence'],
      [{ minLikeness: Number.NaN }, 'minLikeness'],
      [{ region: 'US' }, 'region'],
      [{ colour: 'red' }, 'colour'],
    ] as const)
      expect(() => resolvePlateMatchConfig(o as never), field).toThrow(refused(field));
    expect([...PLATE_REGIONS].sort()).toEqual(Object.keys(REGION_RULES).sort());
  });
});
