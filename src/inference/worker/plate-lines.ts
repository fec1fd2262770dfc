/**
 * Text boxes → text lines: merges the detector's word boxes that sit side by side on one baseline.
 *
 * A US plate "ABC ▪ 1234" with a registration sticker in the gap, or a Brazilian "ABC·1234", often comes out of
 * the detector as two boxes; the recogniser needs the whole registration in one crop. Owns only geometry
 * (angle, height, baseline offset, gap); never reads text.
 */
import { makeBox, minAreaRect, type TextBox } from './plate-detector';

export interface LineOptions {
  /** Largest gap between neighbours along the text direction, in line heights. */
  maxGap: number;
  /** Largest height ratio between neighbours. */
  maxHeightRatio: number;
  /** Largest offset of centres across the text direction, in line heights. */
  maxOffset: number;
  /** Largest angle difference (radians). */
  maxAngle: number;
}

export const DEFAULT_LINE_OPTIONS: LineOptions = { maxGap: 1.2, maxHeightRatio: 1.5, maxOffset: 0.35, maxAngle: 0.15 };

/** Extent of a box along and across direction `ang` (a lone character's box has no reliable angle of its own). */
function extents(b: TextBox, ang: number): { along: number; across: number } {
  const ux = Math.cos(ang);
  const uy = Math.sin(ang);
  let a0 = Infinity;
  let a1 = -Infinity;
  let c0 = Infinity;
  let c1 = -Infinity;
  for (const q of b.quad) {
    const u = q.x * ux + q.y * uy;
    const v = -q.x * uy + q.y * ux;
    a0 = Math.min(a0, u);
    a1 = Math.max(a1, u);
    c0 = Math.min(c0, v);
    c1 = Math.max(c1, v);
  }
  return { along: a1 - a0, across: c1 - c0 };
}

const SQUARISH = 1.6;

function neighbours(a: TextBox, b: TextBox, o: LineOptions): boolean {
  const aLine = a.w / Math.max(1, a.h) >= SQUARISH;
  const bLine = b.w / Math.max(1, b.h) >= SQUARISH;
  // Compare angles only between two real lines; a squarish box (one or two characters) takes the other's.
  if (aLine && bLine && Math.abs(a.angle - b.angle) > o.maxAngle) return false;
  const ang = aLine && bLine ? (a.angle + b.angle) / 2 : aLine ? a.angle : bLine ? b.angle : 0;
  const ea = aLine ? { along: a.w, across: a.h } : extents(a, ang);
  const eb = bLine ? { along: b.w, across: b.h } : extents(b, ang);
  const hmax = Math.max(ea.across, eb.across);
  if (hmax / Math.max(1, Math.min(ea.across, eb.across)) > o.maxHeightRatio) return false;
  const ux = Math.cos(ang);
  const uy = Math.sin(ang);
  const dx = b.cx - a.cx;
  const dy = b.cy - a.cy;
  const along = Math.abs(dx * ux + dy * uy);
  const across = Math.abs(-dx * uy + dy * ux);
  if (across > o.maxOffset * hmax) return false;
  const gap = along - (ea.along + eb.along) / 2;
  return gap <= o.maxGap * hmax;
}

/** Groups of boxes forming one line (single boxes are groups of one), each with its merged box. */
export function groupLines(
  boxes: readonly TextBox[],
  o: LineOptions = DEFAULT_LINE_OPTIONS,
): { box: TextBox; parts: TextBox[] }[] {
  const parent = boxes.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) if (neighbours(boxes[i]!, boxes[j]!, o)) parent[find(i)] = find(j);
  const groups = new Map<number, TextBox[]>();
  boxes.forEach((b, i) => {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(b);
    else groups.set(r, [b]);
  });
  const out: { box: TextBox; parts: TextBox[] }[] = [];
  for (const parts of groups.values()) {
    if (parts.length === 1) {
      out.push({ box: parts[0]!, parts });
      continue;
    }
    const r = minAreaRect(parts.flatMap((p) => p.quad));
    // The merged rectangle's height grows with any tilt between parts; keep the parts' own height instead.
    const h = Math.min(r.h, Math.max(...parts.map((p) => extents(p, r.angle).across)) * 1.15);
    const score = parts.reduce((s, p) => s + p.score * p.w, 0) / parts.reduce((s, p) => s + p.w, 0);
    out.push({ box: makeBox({ ...r, h }, score), parts: parts.slice().sort((a, b) => a.cx - b.cx) });
  }
  return out;
}

/**
 * The refined box re-detected inside a line's region (plate-pipeline refineLine) sometimes drops a glyph at one end
 * that the coarse, whole-frame box still covers (a first letter close to the plate's frame, fainter at the higher
 * scale: "AJK7551" refined to "JK7551"). Both boxes are DB-unclipped, the coarse one by more (it was found at a
 * lower scale, so its margin is larger by half its extra height on every side). Where the coarse box, less that
 * extra margin, still reaches more than `guard` refined line heights past an end of the refined box, a glyph may
 * have been lost there: returns the refined box extended to that end (by at most `maxExtend` line heights, so a
 * coarse box that merged a neighbouring word cannot glue the whole word on), or null when neither end is short.
 */
export function extendClipped(refined: TextBox, coarse: TextBox, guard: number, maxExtend: number): TextBox | null {
  const ux = Math.cos(refined.angle);
  const uy = Math.sin(refined.angle);
  let a0 = Infinity;
  let a1 = -Infinity;
  let c0 = Infinity;
  let c1 = -Infinity;
  for (const q of coarse.quad) {
    const dx = q.x - refined.cx;
    const dy = q.y - refined.cy;
    const u = dx * ux + dy * uy;
    const v = -dx * uy + dy * ux;
    a0 = Math.min(a0, u);
    a1 = Math.max(a1, u);
    c0 = Math.min(c0, v);
    c1 = Math.max(c1, v);
  }
  const h = refined.h;
  const margin = Math.max(0, (c1 - c0 - h) / 2);
  const half = refined.w / 2;
  const reachL = a0 + margin;
  const reachR = a1 - margin;
  const left = reachL < -half - guard * h ? Math.max(reachL, -half - maxExtend * h) : -half;
  const right = reachR > half + guard * h ? Math.min(reachR, half + maxExtend * h) : half;
  if (left === -half && right === half) return null;
  const mid = (left + right) / 2;
  return makeBox(
    { cx: refined.cx + mid * ux, cy: refined.cy + mid * uy, w: right - left, h, angle: refined.angle },
    refined.score,
  );
}
