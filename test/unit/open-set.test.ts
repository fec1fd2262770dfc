/**
 * Open-set threshold maths on a known distribution: a standard-normal impostor model (mean 0, sd 1) has textbook
 * quantiles, and a model fitted to scores drawn from a known normal must reproduce its threshold; the expected FPIR
 * at the chosen threshold must meet the target for every gallery size, and an unreachable target is reported.
 */
import { describe, expect, it } from 'vitest';
import {
  assessOpenSet,
  expectedFpir,
  fitImpostorModel,
  impostorSurvival,
  maxTemplates,
  normalSurvival,
  normalUpperQuantile,
  openSetThreshold,
  perComparisonRate,
} from '../../src/matching/face/open-set';

const STD = { mean: 0, sd: 1 };

describe('normal tail', () => {
  it.each([
    [1.2815515655, 0.1],
    [2.3263478740, 0.01],
    [3.0902323062, 0.001],
    [4.2648907939, 1e-5],
    [5.1993375823, 1e-7],
  ])('z %f holds upper tail %g', (z, p) => {
    expect(normalSurvival(z) / p).toBeCloseTo(1, 5);
    expect(normalUpperQuantile(p)).toBeCloseTo(z, 6);
  });

  it('refuses p outside (0, 1)', () => {
    expect(() => normalUpperQuantile(0)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: expect.objectContaining({ field: 'p' }) }));
    expect(() => normalUpperQuantile(1)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: expect.objectContaining({ field: 'p' }) }));
  });
});

describe('gallery size → threshold', () => {
  it('per-comparison rate: 1 − (1 − target)^(1/n)', () => {
    expect(perComparisonRate(0.001, 1)).toBeCloseTo(0.001, 12);
    expect(perComparisonRate(0.001, 100) / 1.0005e-5).toBeCloseTo(1, 3);
    expect(perComparisonRate(0.001, 10_000) / 1.0005e-7).toBeCloseTo(1, 3);
  });

  it.each([
    // n, threshold on N(0, 1) for FPIR 0.1%: the upper quantile of 1 − 0.999^(1/n)
    [1, 3.0902],
    [100, 4.2648],
    [1000, 4.7534],
    [10_000, 5.1993],
  ])('n = %i templates → z %f, and the expected FPIR there is the target', (n, z) => {
    const t = openSetThreshold(STD, n, 0.001);
    expect(t).toBeCloseTo(z, 3);
    expect(expectedFpir(STD, n, t)).toBeCloseTo(0.001, 7);
    // A little lower lets more strangers through than the target allows.
    expect(expectedFpir(STD, n, t - 0.05)).toBeGreaterThan(0.001);
  });

  it('scales with the model: mean + sd·z', () => {
    const m = { mean: 0.02, sd: 0.1 };
    expect(openSetThreshold(m, 1000, 0.001)).toBeCloseTo(0.02 + 0.1 * 4.7534, 3);
    expect(impostorSurvival(m, 0.02)).toBeCloseTo(0.5, 6);
  });

  it('grows monotonically with the gallery', () => {
    let last = -Infinity;
    for (const n of [1, 10, 100, 1000, 10_000, 100_000]) {
      const t = openSetThreshold(STD, n, 0.001);
      expect(t).toBeGreaterThan(last);
      last = t;
    }
  });

  it('keeps the configured accept as a floor and refuses an unreachable gallery', () => {
    const m = { mean: 0, sd: 0.105 };
    const small = assessOpenSet(m, 10, { targetFpir: 0.001, maxAccept: 0.6 }, 0.45);
    expect(small.threshold).toBe(0.45);
    expect(small.required).toBeLessThan(0.45);
    expect(small.reachable).toBe(true);
    expect(small.expectedFpir).toBeLessThan(0.001);
    const big = assessOpenSet(m, 10_000, { targetFpir: 0.001, maxAccept: 0.5 }, 0.45);
    expect(big.required).toBeCloseTo(0.105 * 5.1993, 3);
    expect(big.reachable).toBe(false);
    // maxTemplates is the boundary: one more template makes the target unreachable.
    const limit = maxTemplates(m, 0.001, 0.5);
    expect(assessOpenSet(m, limit, { targetFpir: 0.001, maxAccept: 0.5 }, 0.45).reachable).toBe(true);
    expect(assessOpenSet(m, limit + 1, { targetFpir: 0.001, maxAccept: 0.5 }, 0.45).reachable).toBe(false);
    // An empty gallery matches nobody.
    expect(assessOpenSet(m, 0, { targetFpir: 0.001, maxAccept: 0.5 }, 0.45)).toMatchObject({ threshold: 0.45, expectedFpir: 0, reachable: true });
  });

  it('fits a model to scores drawn from a known normal and gives its threshold', () => {
    // Deterministic Box-Muller draws from N(0.05, 0.1²).
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    const scores: number[] = [];
    for (let i = 0; i < 20_000; i++) scores.push(0.05 + 0.1 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()));
    const m = fitImpostorModel(scores);
    expect(m.mean).toBeCloseTo(0.05, 2);
    expect(m.sd).toBeCloseTo(0.1, 2);
    expect(openSetThreshold(m, 1000, 0.001)).toBeCloseTo(0.05 + 0.1 * 4.7534, 1);
    expect(() => fitImpostorModel([0.1])).toThrow(expect.objectContaining({ code: 'INPUT_INVALID', details: expect.objectContaining({ field: 'scores' }) }));
  });
});
