/**
 * The multi-frame face decision as a table: each row is a sequence of frames and the outcome it must give.
 * Frames are written compactly: 'A.62' = good frame, best A at 0.62 (runner-up 0.10); 'A.62/B.58' = with runner-up
 * B at 0.58; '?.20' = good frame, best score 0.20; '-' = no face; 'small' / 'dark' = quality gate failed;
 * 'empty' = good frame, empty gallery; suffix '@s' = small-but-passing face (lower weight).
 * Also: live-camera enrolment selection and the face config's validation.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG, resolveFaceConfig } from '../../src/config/face';
import {
  decideFace,
  frameVote,
  frameWeight,
  framesInWindow,
  observationFromAnalysis,
  revalidateGrant,
  type FaceObservation,
  type SubjectInfo,
} from '../../src/matching/face/decision-policy';
import { selectEnrolmentTemplates } from '../../src/matching/face/enrolment';
import type { FrameAnalysis } from '../../src/shared/face-protocol';

const thresholds = { accept: 0.5, reject: 0.35, margin: 0.1 };
const policy = { windowMs: 3000, n: 6, k: 3, minWeightShare: 0.75 };
const quality = DEFAULT_FACE_CONFIG.quality;
const DAY = 86_400_000;
/** The wall clock of these cases (a real date), and the monotonic reading at that moment (ms since page load):
 * the two are nothing alike, as on a kiosk, so a policy that compared a frame time with a date would fail here. */
const WALL = Date.UTC(2026, 11, 4, 9, 0, 0);
const subjects: Record<string, SubjectInfo> = {
  A: { list: 'allow' },
  B: { list: 'allow' },
  D: { list: 'deny' },
  K: { list: 'deny' }, // D's face kept under a second record (a desk merge)
  E: { list: 'allow', validUntil: WALL - DAY }, // expired yesterday
  F: { list: 'allow', validFrom: WALL + DAY }, // valid from tomorrow
};

/** A clock standing still at the given readings. */
const clockAt = (monotonic: number, wall = WALL) => ({ monotonic: () => monotonic, wall: () => wall });

function frame(spec: string, at: number): FaceObservation {
  if (spec === '-') return { at, faces: 0 };
  const big = { eyeDistancePx: 120, sharpness: 200 };
  if (spec === 'small')
    return { at, faces: 1, quality: { ok: false, reason: 'come closer', eyeDistancePx: 12, sharpness: 200 } };
  if (spec === 'dark') return { at, faces: 1, quality: { ok: false, reason: 'too dark', ...big } };
  const [body, size] = spec.split('@');
  const q = { ok: true, reason: null, ...(size === 's' ? { eyeDistancePx: 37, sharpness: 21 } : big) };
  if (body === 'empty') return { at, faces: 1, quality: q, match: { best: null, second: null } };
  const [b, s] = body!.split('/');
  const parse = (x: string) => ({ subjectId: x.slice(0, 1), score: Number(`0${x.slice(1)}`) });
  const best = parse(b!);
  const second = s ? parse(s) : { subjectId: 'Z', score: 0.1 };
  return {
    at,
    faces: 1,
    quality: q,
    match: { best: best.subjectId === '?' ? { ...best, subjectId: 'Y' } : best, second },
  };
}

function run(specs: readonly string[], now = 2 * DAY, stepMs = 200, denyAt?: number) {
  const start = now - stepMs * (specs.length - 1);
  const obs = specs.map((s, i) => frame(s, start + i * stepMs));
  const deny = denyAt !== undefined ? { denyAt } : {};
  return decideFace(obs, { thresholds, policy, quality, subject: (id) => subjects[id], clock: clockAt(now), ...deny });
}

describe('decideFace', () => {
  it('a deny-listed person at the deny bar below an open-set accept threshold withholds the grant', () => {
    // The door's accept is the open-set one (here 0.5); the deny bar stays the embedder's own (0.45).
    const specs = ['D.47/A.30', 'A.66/D.40', 'A.66/D.40', 'A.66/D.40'];
    expect(run(specs, 2 * DAY, 200, 0.45)).toMatchObject({ outcome: 'uncertain', final: true });
    expect(run(specs, 2 * DAY, 200, 0.5)).toMatchObject({ outcome: 'grant', subjectId: 'A' });
  });

  it.each([
    // [case, frames, outcome, final, subjectId?]
    ['three clear frames of A', ['A.62', 'A.70', 'A.66'], 'grant', true, 'A'],
    ['A after the visitor stepped in', ['-', 'small', 'A.62', 'A.70', 'A.66'], 'grant', true, 'A'],
    ['only two votes yet', ['A.62', 'A.70'], 'no-face', false, undefined],
    ['two votes and a no-face', ['A.62', '-', 'A.70'], 'no-face', false, undefined],
    ['deny-listed person', ['D.80', 'D.75', 'D.77'], 'deny-listed', true, 'D'],
    ['deny list outranks a conflicting allow vote', ['D.80', 'A.60', 'D.75', 'D.77'], 'deny-listed', true, 'D'],
    ['one banned face under two deny records: a tie is no doubt', ['D.80/K.80', 'D.75/K.75', 'D.77/K.77'], 'deny-listed', true, 'D'],
    ['one banned face under two deny records: split votes count together', ['D.80/K.79', 'K.82/D.80', 'D.78/K.77'], 'deny-listed', true, 'D'],
    ['stranger: three low scores', ['?.20', '?.15', '?.25'], 'deny-unknown', true, undefined],
    ['stranger with an empty gallery', ['empty', 'empty', 'empty'], 'deny-unknown', true, undefined],
    ['A but expired', ['E.62', 'E.70', 'E.66'], 'deny-unknown', true, 'E'],
    ['A but not yet valid', ['F.62', 'F.70', 'F.66'], 'deny-unknown', true, 'F'],
    ['two people matched in one window', ['A.62', 'B.66', 'A.70', 'A.64'], 'uncertain', true, undefined],
    [
      'scores between thresholds, window full',
      ['A.45', 'A.44', 'A.41', 'A.47', 'A.40', 'A.43'],
      'uncertain',
      true,
      undefined,
    ],
    ['scores between thresholds, still collecting', ['A.45', 'A.44', 'A.41'], 'uncertain', false, undefined],
    [
      'too close to another identity',
      ['A.62/B.58', 'A.60/B.57', 'A.61/B.59', 'A.60/B.55', 'A.63/B.56', 'A.64/B.60'],
      'uncertain',
      true,
      undefined,
    ],
    [
      'one frame fails the margin, three clean votes still hold 75% of the weight',
      ['A.62/B.58', 'A.70', 'A.66', 'A.68'],
      'grant',
      true,
      'A',
    ],
    [
      'votes diluted by ambiguous frames',
      ['A.62', 'A.45', 'A.70', 'A.44', 'A.66', 'A.43'],
      'uncertain',
      true,
      undefined,
    ],
    ['dark frames only', ['dark', 'dark', 'dark'], 'low-quality', false, undefined],
    ['mostly small faces', ['-', 'small', 'small'], 'low-quality', false, undefined],
    ['mostly empty frames', ['-', '-', 'small'], 'no-face', false, undefined],
    ['nobody there', ['-', '-', '-', '-', '-', '-'], 'no-face', false, undefined],
    [
      'unknown and one known vote, unknown dominates',
      ['?.20', '?.15', 'A.55', '?.25'],
      'deny-unknown',
      true,
      undefined,
    ],
    ['half unknown, half ambiguous', ['?.20', 'A.40', '?.15', 'A.41', '?.25', 'A.42'], 'uncertain', true, undefined],
    // A deny-listed person at the accept threshold as runner-up: no vote for the allowed best match, whatever the
    // margin (the same person enrolled on both lists, or an allowed look-alike of a deny-listed one). Session 23.
    [
      'a deny-listed runner-up at the accept threshold',
      ['A.80/D.60', 'A.78/D.58', 'A.81/D.62', 'A.79/D.60', 'A.80/D.59', 'A.82/D.61'],
      'uncertain',
      true,
      undefined,
    ],
    ['a deny-listed runner-up below it does not matter', ['A.80/D.45', 'A.78/D.44', 'A.81/D.46'], 'grant', true, 'A'],
    ['an allowed runner-up at it does not either (the margin holds)', ['A.80/B.60', 'A.78/B.58', 'A.81/B.62'], 'grant', true, 'A'],
    // A deny-listed look-alike scored at the bar in one frame of the window (best without margin, or runner-up):
    // the frames where it scored lower must not win the allowed person's grant (attacker review, session 32).
    ['a deny-listed best without margin in one frame', ['D.52/A.50', 'A.66/D.44', 'A.66/D.44', 'A.66/D.44'], 'uncertain', true, undefined],
    ['the same without the deny list (an allowed look-alike)', ['B.52/A.50', 'A.66/B.44', 'A.66/B.44', 'A.66/B.44'], 'grant', true, 'A'],
    // The window rule itself (the kiosk ends the window at the fourth frame above, and the presence then holds her).
    ['once that frame has left the window', ['D.52/A.50', 'A.66/D.44', 'A.66/D.44', 'A.66/D.44', 'A.66/D.44', 'A.66/D.44', 'A.66/D.44'], 'grant', true, 'A'],
  ] as const)('%s → %s', (_name, specs, outcome, final, subjectId) => {
    const d = run(specs);
    expect(d.outcome).toBe(outcome);
    expect(d.final).toBe(final);
    expect(d.subjectId).toBe(subjectId);
    expect(d.mode).toBe('face');
    expect(d.reason.length).toBeGreaterThan(0);
  });

  it('a raised open-set threshold raises the bar for a grant, not for the deny list\'s veto (denyAt)', () => {
    // Attacker review (session 24): at the door `thresholds.accept` is the open-set threshold, raised with the
    // gallery's size, and the deny-listed runner-up rule used it too: a deny-listed look-alike scoring between the
    // embedder's accept threshold and the raised one no longer stopped the allowed match's grant.
    const specs = ['A.85/D.53', 'A.84/D.52', 'A.86/D.54', 'A.85/D.53', 'A.84/D.55', 'A.86/D.52'];
    const start = 2 * DAY - 200 * (specs.length - 1);
    const obs = specs.map((x, i) => frame(x, start + i * 200));
    const raised = { ...thresholds, accept: 0.6 };
    const ctx = { thresholds: raised, policy, quality, subject: (id: string) => subjects[id], clock: clockAt(2 * DAY) };
    expect(decideFace(obs, ctx)).toMatchObject({ outcome: 'grant', subjectId: 'A' }); // the hole, without denyAt
    expect(decideFace(obs, { ...ctx, denyAt: thresholds.accept })).toMatchObject({ outcome: 'uncertain' });
    // denyAt never raises the veto above the grant bar.
    expect(decideFace(obs, { ...ctx, thresholds: { ...thresholds, accept: 0.49 }, denyAt: 0.9 }).outcome).toBe('uncertain');
  });

  it('tells the visitor what to fix while collecting', () => {
    expect(run(['small', 'small']).reason).toBe('come closer');
    expect(run(['small', 'dark']).reason).toBe('too dark');
  });

  it('reports the best score of the winning identity and the vote counts', () => {
    const d = run(['-', 'A.62', 'A.70', 'A.66']);
    expect(d.score).toBeCloseTo(0.7, 9);
    expect(d.votes).toEqual({ frames: 4, noFace: 1, lowQuality: 0, unknown: 0, ambiguous: 0, spoof: 0, identities: { A: 3 } });
  });

  it('ignores frames outside the window and beyond the last n', () => {
    const now = 2 * DAY;
    const ctx = { thresholds, policy, quality, subject: (id: string) => subjects[id], clock: clockAt(now) };
    // Three A votes, but 4 s ago: outside the 3 s window.
    const old = ['A.62', 'A.70', 'A.66'].map((s, i) => frame(s, now - 4000 + i * 10));
    expect(decideFace([...old, frame('-', now - 100), frame('-', now)], ctx).outcome).toBe('no-face');
    // Seven frames in the window: the oldest (a B vote) drops out, leaving only A votes.
    const seq = ['B.66', 'A.62', 'A.70', '-', '-', '-', 'A.66'].map((s, i) => frame(s, now - 600 + i * 100));
    expect(framesInWindow(seq, policy, now)).toHaveLength(6);
    expect(decideFace(seq, ctx).outcome).toBe('grant');
    // Frames from the future (clock skew) do not count.
    expect(framesInWindow([frame('A.9', now + 1)], policy, now)).toHaveLength(0);
  });

  it('weights: small faces count less, so three small votes against three big unknowns do not grant', () => {
    expect(frameWeight({ eyeDistancePx: 120, sharpness: 200 }, quality)).toBe(1);
    expect(frameWeight({ eyeDistancePx: 37, sharpness: 21 }, quality)).toBeLessThan(0.5);
    expect(run(['A.62@s', '?.20', 'A.70@s', '?.10', 'A.66@s', '?.15']).outcome).toBe('deny-unknown');
  });

  it('a grant withheld for the challenge is released only for a person still allowed and valid at release', () => {
    const grant = { outcome: 'grant' as const, mode: 'face' as const, reason: 'matched 3 of 3 frames', subjectId: 'A', score: 0.7 };
    expect(revalidateGrant(grant, subjects.A, WALL)).toEqual(grant);
    // Moved to the deny list during the challenge (an admin, or a bundle installed meanwhile).
    expect(revalidateGrant(grant, subjects.D, WALL)).toMatchObject({ outcome: 'deny-listed', subjectId: 'A' });
    expect(revalidateGrant(grant, subjects.E, WALL)).toMatchObject({ outcome: 'deny-unknown', reason: 'enrolled but not valid at this time' });
    expect(revalidateGrant(grant, undefined, WALL)).toMatchObject({ outcome: 'deny-unknown', reason: 'matched a person who is no longer enrolled' });
    const deny = { outcome: 'deny-spoof' as const, mode: 'face' as const, reason: 'challenge failed' };
    expect(revalidateGrant(deny, undefined, WALL)).toBe(deny);
  });

  it('a subject removed since the gallery was built is never granted', () => {
    const d = run(['X.62', 'X.70', 'X.66']);
    expect(d.outcome).toBe('uncertain');
    expect(d.final).toBe(true);
  });

  it('classifies frames at the threshold edges (inclusive accept and margin)', () => {
    const q = { ok: true, reason: null, eyeDistancePx: 100, sharpness: 100 };
    // Binary-exact values, so "inclusive" is tested rather than floating-point rounding.
    const edges = { accept: 0.5, reject: 0.25, margin: 0.125 };
    const vote = (best: number, second: number) =>
      frameVote(
        {
          at: 0,
          faces: 1,
          quality: q,
          match: { best: { subjectId: 'A', score: best }, second: { subjectId: 'B', score: second } },
        },
        edges,
        quality,
      ).kind;
    expect(vote(0.5, 0.375)).toBe('identity');
    expect(vote(0.4999, 0.1)).toBe('ambiguous');
    expect(vote(0.5, 0.3751)).toBe('ambiguous');
    expect(vote(0.25, 0.1)).toBe('ambiguous');
    expect(vote(0.2499, 0.1)).toBe('unknown');
  });
});

describe('observationFromAnalysis', () => {
  const face = (ok: boolean, template: boolean) => ({
    detection: { box: { x: 0, y: 0, width: 10, height: 10 }, score: 0.9, keypoints: [] },
    quality: {
      ok,
      issues: ok ? [] : (['too-small'] as const).slice(),
      reason: ok ? null : 'come closer',
      metrics: {
        eyeDistancePx: 50,
        rollDeg: 0,
        yawDeg: 0,
        pitchDeg: 0,
        brightness: 100,
        contrast: 30,
        sharpness: 80,
        detectionScore: 0.9,
      },
    },
    ...(template ? { template: new Float32Array(4) } : {}),
  });
  const analysis = (faces: ReturnType<typeof face>[]): FrameAnalysis => ({
    width: 640,
    height: 480,
    detections: faces.map((f) => f.detection),
    faces,
    timings: { detect: 1, align: 1, embed: 1, match: 0 },
  });

  it('maps no face, a failed gate, and a template without a gallery', () => {
    expect(observationFromAnalysis(analysis([]), 5)).toEqual({ at: 5, faces: 0 });
    const low = observationFromAnalysis(analysis([face(false, false)]), 6);
    expect(low.quality?.ok).toBe(false);
    expect(low.match).toBeUndefined();
    const noGallery = observationFromAnalysis(analysis([face(true, true)]), 7);
    expect(noGallery.match).toEqual({ best: null, second: null });
    expect(frameVote(noGallery, thresholds, quality).kind).toBe('unknown');
  });
});

describe('selectEnrolmentTemplates (live-camera enrolment)', () => {
  const gates = DEFAULT_FACE_CONFIG.quality;
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return new Float32Array(v.map((x) => x / n));
  };
  // Person P: frames spread around (1, e, 0, 0), all within 0.45 of each other; Q: someone else entirely.
  const p = (e: number, eye = 100) => ({ template: unit([1, e, 0, 0]), eyeDistancePx: eye, sharpness: 200 });
  const q = { template: unit([0, 0, 0, 1]), eyeDistancePx: 150, sharpness: 400 };

  it('keeps up to 3 consistent, non-duplicate frames, biggest and sharpest first', () => {
    const frames = [p(0, 40), p(0.6, 120), p(1.2, 110), p(0.6001, 119), p(1.8, 38)];
    const r = selectEnrolmentTemplates(frames, { accept: 0.45, gates });
    expect(r.inconsistent).toBe(0);
    // 120 px first, its near-duplicate (119 px) skipped, then 110 px, then the better of the two small ones.
    expect(r.templates).toEqual([frames[1]!.template, frames[2]!.template, frames[0]!.template]);
  });

  it('drops a second person who leaned in, and refuses when frames disagree or are too few', () => {
    const r = selectEnrolmentTemplates([p(0.1), q, p(0.3), p(0.5)], { accept: 0.45, gates });
    expect(r.inconsistent).toBe(1);
    expect(r.templates).not.toContain(q.template);
    for (const frames of [
      [p(0.1), q, q, p(0.3)],
      [p(0.1), p(0.2)],
    ]) {
      expect(() => selectEnrolmentTemplates(frames, { accept: 0.45, gates })).toThrowError(
        expect.objectContaining({ code: 'INPUT_LOW_QUALITY' }),
      );
    }
  });
});

describe('face config', () => {
  it('accepts the defaults and overrides, refuses bad values with CONFIG_INVALID', () => {
    expect(resolveFaceConfig().embedder).toBe(DEFAULT_FACE_CONFIG.embedder);
    expect(resolveFaceConfig({ policy: { k: 2 } }).policy.k).toBe(2);
    const bad = [
      { policy: { k: 9 } },
      { policy: { minWeightShare: 0.4 } },
      { thresholds: { fr_feature: { reject: 0.9, accept: 0.5 } } },
      { thresholds: { dlib_resnet: { accept: Number.NaN } } },
      { quality: { minEyeDistancePx: 2 } },
      { quality: { maxBrightness: 10, minBrightness: 20 } },
      { embedder: 'nope' as 'fr_feature' },
    ];
    for (const o of bad)
      expect(() => resolveFaceConfig(o)).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
