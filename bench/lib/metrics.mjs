// @ts-check
/**
 * Verification metrics from genuine (same person) and impostor (different people) similarity scores.
 * Pure functions; a higher score means "more likely the same person"; a pair is accepted when score ≥ threshold.
 *
 * FAR/TAR at a target FAR are conservative: the threshold is placed just above the impostor score that would
 * push the false-accept rate over the target, and genuine scores must be strictly above that impostor score, so
 * ties never count as accepts. With N impostor pairs the smallest FAR step is 1/N: a target below it (0.1% with
 * fewer than 1000 impostor pairs) degenerates to "no impostor accepted at all" — reported as `farResolution`.
 */

/** @param {number[]} g @param {number[]} i  @returns {number} Mann-Whitney AUC (ties count ½) */
export function auc(g, i) {
  if (g.length === 0 || i.length === 0) return NaN;
  const all = [...g.map((s) => ({ s, g: 1 })), ...i.map((s) => ({ s, g: 0 }))].sort((a, b) => a.s - b.s);
  const score = (/** @type {number} */ k) => /** @type {{ s: number, g: number }} */ (all[k]).s;
  let rankSumG = 0;
  for (let k = 0; k < all.length;) {
    let e = k;
    while (e + 1 < all.length && score(e + 1) === score(k)) e++;
    const avgRank = (k + e) / 2 + 1;
    for (let j = k; j <= e; j++) if (all[j]?.g) rankSumG += avgRank;
    k = e + 1;
  }
  return (rankSumG - (g.length * (g.length + 1)) / 2) / (g.length * i.length);
}

/**
 * @param {number[]} g genuine scores @param {number[]} i impostor scores @param {number} far target (0..1)
 * @returns {{ tar: number, threshold: number, allowedFalseAccepts: number }}
 */
export function tarAtFar(g, i, far) {
  const imp = [...i].sort((a, b) => b - a);
  const allowed = Math.floor(far * imp.length + 1e-9);
  // Accept only scores strictly above the (allowed+1)-th highest impostor score.
  const bar = imp[allowed] ?? -Infinity;
  const tar = g.length ? g.filter((s) => s > bar).length / g.length : NaN;
  return { tar, threshold: bar, allowedFalseAccepts: allowed };
}

/** @param {number[]} g @param {number[]} i @returns {{ eer: number, threshold: number }} */
export function eer(g, i) {
  const ts = [...new Set([...g, ...i])].sort((a, b) => a - b);
  let best = { gap: Infinity, eer: NaN, threshold: NaN };
  for (const t of [...ts, Infinity]) {
    const far = i.filter((s) => s >= t).length / i.length;
    const frr = g.filter((s) => s < t).length / g.length;
    const gap = Math.abs(far - frr);
    if (gap < best.gap) best = { gap, eer: (far + frr) / 2, threshold: t };
  }
  return { eer: best.eer, threshold: best.threshold };
}

/** @param {number[]} g @param {number[]} i @returns {{ accuracy: number, threshold: number }} best pair accuracy */
export function bestAccuracy(g, i) {
  const ts = [...new Set([...g, ...i])].sort((a, b) => a - b);
  let best = { accuracy: -1, threshold: NaN };
  for (const t of [...ts, Infinity]) {
    const ok = g.filter((s) => s >= t).length + i.filter((s) => s < t).length;
    const acc = ok / (g.length + i.length);
    if (acc > best.accuracy) best = { accuracy: acc, threshold: t };
  }
  return best;
}

/** Linear-interpolated quantile. @param {number[]} xs @param {number} qq in 0..1 */
export function q(xs, qq) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * qq;
  const lo = s[Math.floor(pos)] ?? NaN;
  const hi = s[Math.ceil(pos)] ?? NaN;
  return lo + (hi - lo) * (pos - Math.floor(pos));
}

/**
 * Summary, plus (for similarity scores) a 0.05-wide histogram over [-1, 1].
 * @param {number[]} xs @param {{ histogram?: boolean }} [opts]
 */
export function distribution(xs, opts = { histogram: true }) {
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n) : NaN;
  /** @type {number[]} */
  const bins = new Array(40).fill(0);
  for (const x of xs) {
    const b = Math.min(39, Math.max(0, Math.floor((x + 1) / 0.05)));
    bins[b] = (bins[b] ?? 0) + 1;
  }
  return {
    n,
    mean,
    std,
    min: n ? Math.min(...xs) : NaN,
    p05: q(xs, 0.05),
    p50: q(xs, 0.5),
    p95: q(xs, 0.95),
    max: n ? Math.max(...xs) : NaN,
    ...(opts.histogram ? { histogram: { from: -1, width: 0.05, counts: bins } } : {}),
  };
}

/** Decidability index d' = (μg − μi) / √((σg² + σi²)/2). @param {number[]} g @param {number[]} i */
export function dPrime(g, i) {
  const a = distribution(g);
  const b = distribution(i);
  return (a.mean - b.mean) / Math.sqrt((a.std ** 2 + b.std ** 2) / 2);
}
