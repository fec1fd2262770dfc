/**
 * Live-camera enrolment: from the templates of several good frames, the few that will be stored for a subject.
 *
 * Owns the selection rule only (pure; frames and templates come from FaceClient.analyse, storage is the vault's).
 * Why several templates: one frame's pose and light bias a template; 2-3 consistent frames cover the person better
 * and 1:N search takes the best per subject anyway. Why the consistency check: if a second person leans into the
 * camera during enrolment, their frames must not become the subject's template — every kept template must match
 * the medoid at the accept threshold, and too few consistent frames refuse the enrolment.
 */
import { KioskError } from '../../shared/errors';
import type { FaceQualityConfig } from '../../config/face';
import { cosineSimilarity } from './similarity';
import { frameWeight } from './decision-policy';

export interface EnrolmentSample {
  template: Float32Array;
  eyeDistancePx: number;
  sharpness: number;
}

export interface EnrolmentOptions {
  /** Templates to keep (default 3). */
  keep?: number;
  /** Consistent frames required (default 3). */
  minConsistent?: number;
  /** Same-person bar: the embedder's accept threshold. */
  accept: number;
  /** Frames closer than this to an already kept one add nothing (default 0.97). */
  duplicateAbove?: number;
  gates: FaceQualityConfig;
}

export interface EnrolmentSelection {
  templates: Float32Array[];
  /** Good frames that did not agree with the rest (someone else, or a bad detection). */
  inconsistent: number;
}

export function selectEnrolmentTemplates(samples: readonly EnrolmentSample[], o: EnrolmentOptions): EnrolmentSelection {
  const keep = o.keep ?? 3;
  const minConsistent = o.minConsistent ?? 3;
  const dup = o.duplicateAbove ?? 0.97;
  if (samples.length < minConsistent) {
    throw new KioskError('INPUT_LOW_QUALITY', { reason: 'not enough good frames', frames: samples.length });
  }
  // Medoid: the frame most similar to all others — the person the frames are mostly of.
  const n = samples.length;
  const sim = samples.map((a) => samples.map((b) => cosineSimilarity(a.template, b.template)));
  let medoid = 0;
  let bestSum = -Infinity;
  for (let i = 0; i < n; i++) {
    const sum = sim[i]!.reduce((s, x) => s + x, 0);
    if (sum > bestSum) {
      bestSum = sum;
      medoid = i;
    }
  }
  const consistent = samples
    .map((s, i) => ({ s, i, w: frameWeight(s, o.gates) }))
    .filter(({ i }) => sim[medoid]![i]! >= o.accept);
  if (consistent.length < minConsistent) {
    throw new KioskError('INPUT_LOW_QUALITY', { reason: 'frames disagree', consistent: consistent.length });
  }
  // Best-weighted first (bigger, sharper), skipping near-duplicates of what is already kept.
  consistent.sort((a, b) => b.w - a.w);
  const kept: number[] = [];
  for (const c of consistent) {
    if (kept.length >= keep) break;
    if (kept.every((k) => sim[k]![c.i]! < dup)) kept.push(c.i);
  }
  return { templates: kept.map((i) => samples[i]!.template), inconsistent: n - consistent.length };
}
