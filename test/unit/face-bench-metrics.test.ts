/**
 * The verification metrics bench/faces.mjs reports, on hand-checkable score sets: AUC, EER, best accuracy and
 * the conservative TAR-at-FAR (ties never count as accepts; a FAR target finer than 1/impostors means zero
 * impostors accepted).
 */
import { describe, expect, it } from 'vitest';
import { auc, bestAccuracy, distribution, dPrime, eer, tarAtFar } from '../../bench/lib/metrics.mjs';

describe('face benchmark metrics', () => {
  const genuine = [0.9, 0.8, 0.7, 0.6, 0.3];
  const impostor = [0.1, 0.2, 0.35, 0.0, -0.1, 0.05, 0.15, 0.25, 0.12, 0.4];

  it('AUC counts ordered pairs (ties ½)', () => {
    expect(auc([1, 2], [0, -1])).toBe(1);
    expect(auc([0], [1])).toBe(0);
    expect(auc([0.5], [0.5])).toBe(0.5);
    // 0.3 is below 0.35 and 0.4 only: 2 of 50 pairs misordered.
    expect(auc(genuine, impostor)).toBeCloseTo(48 / 50, 12);
  });

  it('TAR at FAR places the bar just above the impostor that would exceed the target', () => {
    // 10 impostors: FAR ≤ 10% allows 1 false accept → bar at the 2nd-highest impostor (0.35), strictly above.
    expect(tarAtFar(genuine, impostor, 0.1)).toEqual({ tar: 0.8, threshold: 0.35, allowedFalseAccepts: 1 });
    // FAR ≤ 1% with 10 impostors: none allowed → strictly above the highest impostor (0.4).
    expect(tarAtFar(genuine, impostor, 0.01)).toEqual({ tar: 0.8, threshold: 0.4, allowedFalseAccepts: 0 });
    // A genuine score equal to the bar is not accepted.
    expect(tarAtFar([0.4, 0.5], [0.4], 0).tar).toBe(0.5);
    expect(tarAtFar([0.5], [], 0.001).tar).toBe(1);
  });

  it('EER and best accuracy on separable and overlapping sets', () => {
    expect(eer([0.9, 0.8], [0.1, 0.2]).eer).toBe(0);
    const e = eer(genuine, impostor);
    expect(e.eer).toBeGreaterThan(0);
    expect(e.eer).toBeLessThanOrEqual(0.2);
    const a = bestAccuracy(genuine, impostor);
    expect(a.accuracy).toBeCloseTo(14 / 15, 12); // threshold 0.6 misses only the 0.3 genuine
    expect(a.threshold).toBeGreaterThan(0.4);
  });

  it("summarises distributions and d'", () => {
    const d = distribution([0, 0.5, 1]);
    expect(d).toMatchObject({ n: 3, mean: 0.5, min: 0, max: 1, p50: 0.5 });
    expect(d.histogram?.counts.reduce((s: number, x: number) => s + x, 0)).toBe(3);
    expect(distribution([1, 2], { histogram: false }).histogram).toBeUndefined();
    expect(dPrime([1, 1.2], [0, 0.2])).toBeCloseTo(10, 9);
  });
});
