/**
 * Open-set safety: the accept threshold that keeps the chance a stranger is granted as *anyone* — the expected
 * false-positive identification rate (FPIR) — at or below a target for the current number of enrolled templates.
 *
 * Owns the maths only: an impostor score model (cosine scores between different people, fitted as a normal
 * distribution by `fitImpostorModel` from an impostor pool; bench:faces measures it), the per-comparison
 * false-match rate a gallery of N templates allows (a stranger is compared with every template; assuming
 * independent comparisons, FPIR = 1 − (1 − p)^N), and the threshold where the model's upper tail holds p. The
 * configured accept threshold stays a floor: a small gallery never lowers it. Pure: no I/O, no clock.
 *
 * The normal model is an assumption about the far tail that no dev set here can verify (FPIR 0.1% at 10k templates
 * needs p = 1e-7): docs/faces.md "Open set" compares it with the measured pool.
 */
import { KioskError } from '../../shared/errors';

export interface ImpostorModel {
  mean: number;
  sd: number;
}

export interface OpenSetAssessment {
  templates: number;
  targetFpir: number;
  /** Threshold the target alone requires. */
  required: number;
  /** What the door uses: max(configured accept, required). */
  threshold: number;
  /** Expected FPIR at `threshold` for `templates`. */
  expectedFpir: number;
  /** False when `required` exceeds maxAccept: the watchlist must not be armed. */
  reachable: boolean;
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7 everywhere). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≥ z) for a standard normal Z. */
export function normalSurvival(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** z with P(Z ≥ z) = p (Acklam's rational approximation, relative error < 1.2e-9), for 0 < p < 1. */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new KioskError('CONFIG_INVALID', { field: 'p', value: p });
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  // Lower-tail quantile of q = p, negated: P(Z ≥ z) = p  ⇔  z = −Φ⁻¹(p).
  const q = p;
  const lo = 0.02425;
  let x: number;
  if (q < lo) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1);
  } else if (q <= 1 - lo) {
    const r0 = q - 0.5;
    const r = r0 * r0;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * r0) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const r = Math.sqrt(-2 * Math.log(1 - q));
    x = -(((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1);
  }
  return -x;
}

/** P(impostor score ≥ t) under the model. */
export function impostorSurvival(m: ImpostorModel, t: number): number {
  return normalSurvival((t - m.mean) / m.sd);
}

/** Per-comparison false-match rate that gives `targetFpir` over `n` independent comparisons. */
export function perComparisonRate(targetFpir: number, n: number): number {
  if (n <= 0) return 1;
  // 1 − (1 − target)^(1/n) without cancellation for tiny targets.
  return -Math.expm1(Math.log1p(-targetFpir) / n);
}

/** Expected FPIR of a stranger against `n` templates at threshold `t`. */
export function expectedFpir(m: ImpostorModel, n: number, t: number): number {
  if (n <= 0) return 0;
  return -Math.expm1(n * Math.log1p(-impostorSurvival(m, t)));
}

/** The lowest threshold whose expected FPIR over `n` templates is ≤ targetFpir. */
export function openSetThreshold(m: ImpostorModel, n: number, targetFpir: number): number {
  if (n <= 0) return -Infinity;
  return m.mean + m.sd * normalUpperQuantile(perComparisonRate(targetFpir, n));
}

/** The largest gallery (templates) whose required threshold stays ≤ maxAccept. */
export function maxTemplates(m: ImpostorModel, targetFpir: number, maxAccept: number): number {
  const p = impostorSurvival(m, maxAccept);
  if (!(p > 0)) return Number.MAX_SAFE_INTEGER;
  return Math.floor(Math.log1p(-targetFpir) / Math.log1p(-p));
}

export function assessOpenSet(
  m: ImpostorModel,
  templates: number,
  cfg: { targetFpir: number; maxAccept: number },
  acceptFloor: number,
): OpenSetAssessment {
  const required = openSetThreshold(m, templates, cfg.targetFpir);
  const threshold = Math.max(acceptFloor, required);
  return {
    templates,
    targetFpir: cfg.targetFpir,
    required,
    threshold,
    expectedFpir: expectedFpir(m, templates, threshold),
    reachable: required <= cfg.maxAccept,
  };
}

/** Mean and (sample) standard deviation of impostor scores. */
export function fitImpostorModel(scores: readonly number[]): ImpostorModel {
  if (scores.length < 2) throw new KioskError('INPUT_INVALID', { field: 'scores', reason: 'need at least two impostor scores' });
  let s = 0;
  for (const x of scores) s += x;
  const mean = s / scores.length;
  let v = 0;
  for (const x of scores) v += (x - mean) ** 2;
  return { mean, sd: Math.sqrt(v / (scores.length - 1)) };
}
