/**
 * Face overrides with a key the config does not have (a misspelt knob, a nested typo, the measured impostor model)
 * are refused with CONFIG_INVALID naming the key's path — before this, the merge dropped them and the default ran
 * while the admin believed their value did. A stored face setting with such a key is reported by that path and runs
 * on the defaults; known keys still merge.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG, loadKioskSettings, resolveFaceConfig, type FaceConfigOverrides } from '../../src/config';

const refused = (field: string) => expect.objectContaining({ code: 'CONFIG_INVALID', details: { field } });

describe('face overrides with unknown keys', () => {
  it('refuses an unknown key at any depth, naming its path', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ acceptThreshold: 0.9 }, 'acceptThreshold'],
      [{ pad: { liveThreshhold: 0.5 } }, 'pad.liveThreshhold'],
      [{ thresholds: { fr_feature: { accpet: 0.1 } } }, 'thresholds.fr_feature.accpet'],
      [{ thresholds: { arcface: { accept: 0.1 } } }, 'thresholds.arcface'],
      [{ quality: { minEyeDistance: 4 } }, 'quality.minEyeDistance'],
      [{ openSet: { impostor: { fr_feature: { mean: 0.5, sd: 0.01 } } } }, 'openSet.impostor'],
      [{ policy: 3 }, 'policy'],
      [{ __proto__: { embedder: 'dlib_resnet' }, toString: 1 }, 'toString'],
    ];
    for (const [o, field] of cases) expect(() => resolveFaceConfig(o as FaceConfigOverrides), field).toThrow(refused(field));
  });

  it('refuses a liveness threshold stored without the PAD model it was set for (scores of two models differ in scale)', () => {
    expect(() => resolveFaceConfig({ pad: { liveThreshold: 0.98 } })).toThrow(refused('pad.liveThreshold'));
    expect(resolveFaceConfig({ pad: { model: 'fr-liveness', liveThreshold: 0.98 } }).pad).toMatchObject({ model: 'fr-liveness', liveThreshold: 0.98 });
    const { settings, refused: bad } = loadKioskSettings({ kioskId: 'k1', face: { pad: { liveThreshold: 0.98 } } });
    expect(bad.map((e) => e.details?.['field'])).toEqual(['face.pad.liveThreshold']);
    expect(settings.face).toEqual({});
  });

  it('known keys still merge, and the same check guards stored settings', () => {
    const c = resolveFaceConfig({ pad: { model: 'trained', liveThreshold: 0.9 }, thresholds: { fr_feature: { accept: 0.5 } } });
    expect(c.pad.liveThreshold).toBe(0.9);
    expect(c.thresholds.fr_feature.accept).toBe(0.5);
    expect(c.openSet.impostor).toEqual(DEFAULT_FACE_CONFIG.openSet.impostor);
    const { settings, refused: bad } = loadKioskSettings({ kioskId: 'k1', face: { pad: { liveThreshhold: 0.01 } } });
    expect(bad.map((e) => e.details?.['field'])).toEqual(['face.pad.liveThreshhold']);
    expect(settings.face).toEqual({});
  });
});
