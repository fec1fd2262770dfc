/**
 * Passive PAD fusion (src/matching/face/pad-fusion.ts): which score the decision sees per pad.model, when
 * fr_liveness must run, and that a missing score fails closed (no live vote) — an attacker must not win by making a
 * model not run.
 */
import { describe, expect, test } from 'vitest';
import { fusePad, needsFrLiveness } from '../../src/matching/face/pad-fusion';
import { DEFAULT_FACE_CONFIG, resolveFaceConfig } from '../../src/config/face';

describe('fusePad', () => {
  test('single-model policies pass that model score through, and nothing when it did not run', () => {
    expect(fusePad('trained', { trained: 0.7, frLiveness: 0.1 }, 0.5)).toBe(0.7);
    expect(fusePad('fr-liveness', { trained: 0.7, frLiveness: 0.1 }, 0.5)).toBe(0.1);
    expect(fusePad('trained', { frLiveness: 0.9 }, 0.5)).toBeUndefined();
    expect(fusePad('fr-liveness', { trained: 0.9 }, 0.5)).toBeUndefined();
  });

  test('both must say live: fr_liveness below its veto zeroes our score; at or above it ours stands', () => {
    expect(fusePad('trained+fr-veto', { trained: 0.9, frLiveness: 0.49 }, 0.5)).toBe(0);
    expect(fusePad('trained+fr-veto', { trained: 0.9, frLiveness: 0.5 }, 0.5)).toBe(0.9);
    expect(fusePad('trained+fr-veto', { trained: 0.2, frLiveness: 0.99 }, 0.5)).toBe(0.2);
    // fr_liveness skipped because ours already refused: ours (below threshold) stands; ours missing → nothing.
    expect(fusePad('trained+fr-veto', { trained: 0.2 }, 0.5)).toBe(0.2);
    expect(fusePad('trained+fr-veto', { frLiveness: 0.99 }, 0.5)).toBeUndefined();
  });
});

describe('needsFrLiveness', () => {
  test('fr_liveness runs alone, never with ours alone, and in the veto only on faces ours calls live', () => {
    expect(needsFrLiveness('fr-liveness', undefined, 0.5)).toBe(true);
    expect(needsFrLiveness('trained', 0.99, 0.5)).toBe(false);
    expect(needsFrLiveness('trained+fr-veto', 0.49, 0.5)).toBe(false);
    expect(needsFrLiveness('trained+fr-veto', 0.5, 0.5)).toBe(true);
    expect(needsFrLiveness('trained+fr-veto', undefined, 0.5)).toBe(false);
  });
});

describe('pad config', () => {
  test('defaults use our trained model; unknown models and out-of-range values are refused', () => {
    expect(DEFAULT_FACE_CONFIG.pad.model).toBe('trained');
    expect(resolveFaceConfig({ pad: { model: 'trained+fr-veto' } }).pad.model).toBe('trained+fr-veto');
    const refused = (field: string) => expect.objectContaining({ code: 'CONFIG_INVALID', details: { field } });
    expect(() => resolveFaceConfig({ pad: { model: 'none' as never } })).toThrow(refused('pad.model'));
    expect(() => resolveFaceConfig({ pad: { frVeto: 1 } })).toThrow(refused('pad.frVeto'));
    expect(() => resolveFaceConfig({ pad: { trainedCropScale: 9 } })).toThrow(refused('pad.trainedCropScale'));
  });
});
