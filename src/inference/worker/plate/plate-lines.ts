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
  return [...groups.values()].map(lineOf);
}

/** One line from boxes already known to form it (groupLines' merge; also a run of a line's parts read on its own).
 * Parts come back sorted left to right. */
export function lineOf(parts: readonly TextBox[]): { box: TextBox; parts: TextBox[] } {
  if (parts.length === 1) return { box: parts[0]!, parts: [parts[0]!] };
  const r = minAreaRect(parts.flatMap((p) => p.quad));
  // The merged rectangle's height grows with any tilt between parts; keep the parts' own height instead.
  const h = Math.min(r.h, Math.max(...parts.map((p) => extents(p, r.angle).across)) * 1.15);
  const score = parts.reduce((s, p) => s + p.score * p.w, 0) / parts.reduce((s, p) => s + p.w, 0);
  return { box: makeBox({ ...r, h }, score), parts: parts.slice().sort((a, b) => a.cx - b.cx) };
}
