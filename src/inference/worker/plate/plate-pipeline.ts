/**
 * The plate pipeline: frame → text boxes → plate lines → tight crops → plate-restricted reads → best plate.
 *
 * Owns the order of the stages and the choice among candidates: the detector runs on a shrunken frame, the most
 * plate-shaped lines are re-detected at a higher scale inside their own region (a tighter, deskewed box: margins
 * hurt the recogniser badly), each crop is read with decoding restricted to plate characters and, for regions
 * with fixed formats, also under each format; reads are ranked by recogniser confidence times plate-likeness.
 * The search over lines and detector scales ends on the first read scoring enough; `settleOnFormat` (off: measured,
 * not kept) would end it only on a plate-like read (settlesSearch).
 * Models are passed in as `OnnxRun` functions, so the same code runs in the plate worker and in Node tooling.
 * It never keeps a frame or a crop after returning (debug crops are returned only when asked for).
 */
import { KioskError } from '../../../shared/errors';
import type { PlateFinderOptions, PlateStageTimes, PlateTuning } from '../../../shared/plate-protocol';
import {
  LIKENESS,
  plateLikeness,
  applyPositionRules,
  regionSpelling,
  type RegionRules,
} from '../../../matching/plates/formats';
import { isDigit, isLetter, normalisePlate } from '../../../matching/plates/normalise';
import { plateDistance } from '../../../matching/plates/confusion';
import {
  DEFAULT_DET_OPTIONS,
  detPostprocess,
  detPreprocess,
  detPreprocessTo,
  makeBox,
  type DetOptions,
  type TextBox,
} from './plate-detector';
import { cropQuad, cropRect, sharpen, stretchContrast, toGray, type Point, type RgbaImage } from './plate-image';
import { groupLines, lineOf, DEFAULT_LINE_OPTIONS, type LineOptions } from './plate-lines';
import {
  REC_HEIGHT,
  REC_MIN_WIDTH,
  constrainedDecode,
  foldProbs,
  greedyDecode,
  pathLogProb,
  recPreprocess,
  type Folded,
  type PlateCharset,
} from './plate-recogniser';
import { TRAINED_H, TRAINED_W, trainedPreprocess, trainedToSteps } from './plate-trained';
import { decodeFinder, finderInput, FINDER_SIDE, type PlateBox } from './plate-finder';
import {
  EN_TAG,
  TESSERACT_TAG,
  TRAINED_TAG,
  chooseRead,
  poolReads,
  type EnsembleLead,
  type ReadCombine,
} from './plate-ensemble';

export interface OnnxOutput {
  data: Float32Array;
  dims: readonly number[];
}
/** Runs one model on one float32 NCHW tensor. */
export type OnnxRun = (input: Float32Array, dims: readonly number[]) => Promise<OnnxOutput>;

/** A second recogniser (tesseract.js) that reads one crop at its own preferred scale. */
export type LineReader = (crop: RgbaImage) => Promise<{ text: string; confidence: number }>;

export interface PlateModels {
  det: OnnxRun;
  /** PP-OCRv4 recogniser and its plate charset; absent when only tesseract reads. */
  rec?: { run: OnnxRun; charset: PlateCharset };
  /** A second PP-OCR recogniser (PP-OCRv3 English) reading the same crops; its candidates are weighted by
   * PipelineOptions.rec2Weight and add up with the first one's when they agree. */
  rec2?: { run: OnnxRun; charset: PlateCharset };
  /** tesseract.js (or any line reader); its candidates are weighted by PipelineOptions.otherReaderWeight. */
  other?: LineReader;
  /** The project's own recogniser (models/trained/, plate-trained.ts), reading the same crops; its candidates are
   * weighted by PipelineOptions.trainedWeight and add up with PP-OCR's when they agree. */
  trained?: { run: OnnxRun; charset: PlateCharset };
  /** The project's own plate finder (plate-finder.ts): whole-plate boxes, read as known plate boxes. */
  finder?: OnnxRun;
}

/** How readFrame uses the plate finder's boxes (PipelineOptions.finder; fields documented with the type). */
export type FinderOptions = PlateFinderOptions;

export interface PipelineOptions {
  rules: RegionRules;
  /** Detector settings on the whole frame. */
  det: DetOptions;
  /** Detector scales (longest side) tried in turn by readFrame until a read scores acceptScore. */
  detSides: number[];
  /** A read scoring at least this (confidence × likeness) ends readFrame's search for larger scales. */
  acceptScore: number;
  /** A line whose best read scores at least this ends the search at once (the remaining lines are not read). */
  lineAcceptScore: number;
  /** Detector settings inside a candidate's region (refinement). */
  refineDet: DetOptions;
  /** Re-detect inside each candidate region for a tighter box. */
  refine: boolean;
  /** Lines at least this tall (frame px) are read from the detector's own box, unrefined. Default Infinity
   * (refine all lines): docs/plates.md, "Pipeline settings". */
  refineBelowPx: number;
  /** Text heights (px) a candidate region is scaled to for refinement; one detector pass and one crop each
   * (the detector's boxes shift with scale, and reading two slightly different crops then voting is steadier). */
  refineTextHeights: number[];
  /** Most lines read per frame (each costs a recogniser pass). */
  maxLines: number;
  /** Smallest line height in frame pixels worth reading. */
  minLineHeight: number;
  /** Extra margin added around a crop across/along the text, in line heights (DB boxes are already unclipped). */
  padY: number;
  padX: number;
  /** padX and padY for crops of refined boxes: the refined box hugs the glyphs, and a round letter cut flat at
   * top and bottom reads as D (BR "OUN" → "DUN"); the recogniser was trained on lines with some margin. */
  refinedPadX: number;
  refinedPadY: number;
  /** Stretch crop contrast before reading. */
  contrast: boolean;
  /** Read a grey-scale crop. */
  gray: boolean;
  /** Unsharp-mask amount after upscaling (0 = off). */
  sharpen: number;
  /** Pad recogniser input to PaddleOCR's 320 px minimum width. */
  padTo320: boolean;
  /** Also read the unrefined detector box next to the refined one. */
  readBoth: boolean;
  /** Also read the unrefined detector box when the refined box spans less than this fraction of its length (the
   * re-detection lost a glyph group at an end; 0: never). */
  readDetBelowCover: number;
  /** readPlateBox only: read the plate's central band (registration characters fill it on most plates), the
   * detector's lines inside the box, or both. */
  boxMode: 'band' | 'refine' | 'both';
  /** Also decode each crop under every format of non-exhaustive regions (always done for exhaustive ones). */
  formatDecodes: boolean;
  /** Score multiplier (lineHeight / tallest plausible line) ^ heightWeight: the registration is the tallest
   * text on a plate and usually around it. 0 disables. */
  heightWeight: number;
  /** Weight of the second reader's candidates when both read (its confidences are on another scale). */
  otherReaderWeight: number;
  /** Weight of the second PP-OCR recogniser's candidates (0: not read, and the worker does not load it). */
  rec2Weight: number;
  /** The second PP-OCR recogniser reads a line's crops only when the first one's best read scores below this. */
  rec2Below: number;
  /** …and not when the trained recogniser's best read of the same crops is the same text as PP-OCRv4's. */
  rec2UnlessTrainedAgrees: boolean;
  /** Plate-box bands read by readPlateBox (fractions of the plate box: vertical offset, width, height). */
  bands: { dy: number; w: number; h: number }[];
  /** How reads of the same text combine: 'max' keeps the best, 'sum' adds their scores, 'voices' adds them but
   * counts PP-OCR's two recognisers as one voice (plate-ensemble.ts ReadCombine). */
  combine: ReadCombine;
  /** Return the crops (RGBA) with the result, for the admin debug view. */
  debugCrops: boolean;
  /** How detector boxes merge into lines. */
  lines: LineOptions;
  /** readFrame: when the best read scores below `below` (score, 0..1+), read again inside a plate box grown
   * around it by `grow` (width, height factors), as readPlateBox does with a known box (null: off). Default
   * below 0.85, grow [1.15, 1.5]: docs/plates.md, "Pipeline settings". */
  boxRetry: { below: number; grow: [number, number] } | null;
  /** Non-exhaustive regions: the most a free (unconstrained) read's look-alike substitutions may cost in all for
   * position rules to rewrite it (format decodes propose the rewritten spelling anyway, paying path probability),
   * in confusion-distance units. Default 0.4 = one look-alike or two glyph-identical ones: docs/plates.md,
   * "Pipeline settings". */
  freeRewriteMaxCost: number;
  /** A frame whose mass on non-plate classes times this exceeds the best plate character's is read as blank
   * (0 disables). */
  otherWeight: number;
  /** Weight of the trained recogniser's candidates next to PP-OCR's. */
  trainedWeight: number;
  /** Inside a plate box (readPlateBox, boxRetry), the trained recogniser also reads the whole box. */
  trainedWholeBox: boolean;
  /** When the trained recogniser and PP-OCR both read and their best reads differ by more than look-alikes
   * (plateDistance > 0.5, the matcher's own bound), the result's confidence is multiplied by this: two
   * independent readers that disagree make the frame unsure (the decision refuses) rather than a guess. 1: off. */
  disagreeFactor: number;
  /** Per region, whose read an ensemble result reports (plate-ensemble.ts): 'pool' (equal texts of both readers
   * add up), or 'ppocr' / 'trained' (that reader's own best; the other one only confirms or vetoes). */
  lead: Readonly<Partial<Record<string, EnsembleLead>>>;
  /** readFrame: only a read that fits one of the region's formats as read (likeness 1) ends the search early (a line
   * scoring lineAcceptScore, a scale scoring acceptScore); otherwise a notice, badge or dealer text read confidently
   * stops it before the plate's own line is read. Off: any read scoring enough ends it. Off by default: its only
   * gain on the tune split was a photo the trained reader was trained on; val and held-out reads were unchanged and
   * held out it refused one more grant (docs/plates.md, "Localisation"). */
  settleOnFormat: boolean;
  /** readFrame: while no read of a frame fits a format (settleOnFormat), up to this many further lines per detector
   * scale are read after the first maxLines (0: none). */
  extraLines: number;
  /** readFrame: how the plate finder's boxes (models.finder) are used; null: not at all (and the worker does not
   * load it). Default 'verify' with trust 0.5: the tune split's one gain (a dealer's "$300" read instead of the plate),
   * no change on val and held-out rows, no latency cost (docs/plates.md, "The plate finder"). */
  finder: FinderOptions | null;
  /** Ranking: in regions with unlisted series, a read of letters only ranks as a word even when look-alikes make it
   * fit a format (rankLikeness). */
  wordsRankAsWords: boolean;
  /** readFrame: when the best read is shorter than every format of the region, read again in a box grown around its
   * line by these (width, height) factors and add only reads that fit a format and contain the best read (null:
   * off). */
  extendShort: [number, number] | null;
  /** readFrame: when the best read fits no format, a line whose read is longer than every format and whose refined
   * box was merged from several detector boxes is read again one run of those boxes at a time; only reads that fit
   * a format and are part of the line's read are added (a plate mounted over another one, a frame's text beside
   * it). */
  splitLong: boolean;
}

/**
 * The pipeline's settings: measured constants the product never changes (benchmarks override them through
 * PlateTuning, validated by the worker). Each was chosen on the dev set with bench/plates.mjs; the experiments and
 * their numbers are in docs/plates.md, "Pipeline settings". Sizes are pixels, pads are fractions of a line height,
 * scores and weights are on the ranking score's scale (confidence × likeness).
 */
export const DEFAULT_PIPELINE: Omit<PipelineOptions, 'rules'> = {
  det: { ...DEFAULT_DET_OPTIONS, maxSide: 640 },
  detSides: [640, 1280],
  acceptScore: 0.6,
  lineAcceptScore: 0.85,
  refineDet: { ...DEFAULT_DET_OPTIONS, maxSide: 640, boxThresh: 0.4 },
  refine: true,
  refineBelowPx: Infinity,
  refineTextHeights: [56],
  maxLines: 3,
  minLineHeight: 6,
  padY: 0,
  padX: 0.2,
  refinedPadX: 0.2,
  refinedPadY: 0.1,
  contrast: false,
  gray: false,
  sharpen: 0,
  padTo320: true,
  readBoth: false,
  readDetBelowCover: 0.8,
  boxMode: 'both',
  combine: 'sum',
  formatDecodes: true,
  heightWeight: 1,
  bands: [{ dy: 0.03, w: 0.96, h: 0.62 }],
  otherReaderWeight: 0.5,
  rec2Weight: 1,
  rec2Below: 0.95,
  rec2UnlessTrainedAgrees: true,
  debugCrops: false,
  lines: DEFAULT_LINE_OPTIONS,
  boxRetry: { below: 0.85, grow: [1.15, 1.5] },
  otherWeight: 2,
  freeRewriteMaxCost: 0.4,
  trainedWeight: 1,
  trainedWholeBox: true,
  disagreeFactor: 0.3,
  lead: { eu: 'ppocr', br: 'ppocr' },
  settleOnFormat: false,
  extraLines: 3,
  finder: { minScore: 0.3, maxBoxes: 2, grow: [1.08, 1.15], trustScore: 0.5, outsideWeight: 0.5, mode: 'verify' },
  wordsRankAsWords: true,
  extendShort: [2.0, 1.5],
  splitLong: true,
};

const TUNING_LEADS: readonly string[] = ['pool', 'ppocr', 'trained'];
const num = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v) && v >= 0;
const nums = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((x) => num(x) && Number.isFinite(x) && x > 0);

/** The check of each override PlateTuning allows, by the shape of its default. */
const TUNING_CHECKS: Record<keyof PlateTuning, (v: unknown) => boolean> = {
  detSides: nums,
  maxLines: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 20,
  refineTextHeights: nums,
  refineBelowPx: num,
  readBoth: (v) => typeof v === 'boolean',
  readDetBelowCover: (v) => num(v) && v <= 1,
  acceptScore: num,
  lineAcceptScore: num,
  refinedPadX: num,
  refinedPadY: num,
  padX: num,
  padTo320: (v) => typeof v === 'boolean',
  rec2Weight: num,
  rec2Below: num,
  rec2UnlessTrainedAgrees: (v) => typeof v === 'boolean',
  boxRetry: (v) => {
    if (v === null) return true;
    const r = v as { below?: unknown; grow?: unknown };
    return typeof v === 'object' && num(r.below) && Array.isArray(r.grow) && r.grow.length === 2 && nums(r.grow);
  },
  trainedWeight: num,
  disagreeFactor: (v) => num(v) && v <= 1,
  trainedWholeBox: (v) => typeof v === 'boolean',
  lead: (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => TUNING_LEADS.includes(x as string)),
  settleOnFormat: (v) => typeof v === 'boolean',
  wordsRankAsWords: (v) => typeof v === 'boolean',
  extendShort: (v) => v === null || (Array.isArray(v) && v.length === 2 && nums(v)),
  splitLong: (v) => typeof v === 'boolean',
  combine: (v) => ['max', 'sum', 'voices'].includes(v as string),
  extraLines: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 20,
  finder: (v) => {
    if (v === null) return true;
    const f = v as Partial<Record<keyof FinderOptions, unknown>>;
    return (
      typeof v === 'object' &&
      num(f.minScore) &&
      Number.isInteger(f.maxBoxes) &&
      (f.maxBoxes as number) >= 1 &&
      (f.maxBoxes as number) <= 5 &&
      Array.isArray(f.grow) &&
      f.grow.length === 2 &&
      nums(f.grow) &&
      num(f.trustScore) &&
      num(f.outsideWeight) &&
      (f.outsideWeight as number) <= 1 &&
      ['settle', 'pool', 'verify'].includes(f.mode as string)
    );
  },
};

/**
 * DEFAULT_PIPELINE with a benchmark's overrides: only those given replace the measured defaults, and each is
 * checked first (CONFIG_INVALID naming `tuning.<field>`): an unknown or mistyped knob must not quietly run the
 * defaults, nor a NaN quietly disable a stage.
 */
export function resolvePipelineOptions(tuning: PlateTuning = {}): Omit<PipelineOptions, 'rules'> {
  const out: Record<string, unknown> = { ...DEFAULT_PIPELINE };
  for (const [k, v] of Object.entries(tuning)) {
    if (v === undefined) continue;
    const check = TUNING_CHECKS[k as keyof PlateTuning];
    if (!check || !check(v)) throw new KioskError('CONFIG_INVALID', { field: `tuning.${k}` });
    out[k] = v;
  }
  return out as unknown as Omit<PipelineOptions, 'rules'>;
}

export interface PlateCandidate {
  /** Normalised plate text. */
  text: string;
  /** Recogniser confidence 0..1 (geometric mean of character probabilities). */
  confidence: number;
  /** Plate-likeness 0..1 for the configured region. */
  likeness: number;
  /** Ranking score (confidence × likeness, with a penalty for format-forced decodes). */
  score: number;
  /** Crop corners in frame pixels (tl, tr, br, bl). */
  quad: Point[];
  /** Which crop and decode produced it. */
  source: string;
  /** Per-character probabilities (debug view). */
  charProbs?: number[];
  /** Height of the line it was read from (frame pixels). */
  lineHeight: number;
}

/** Per-stage times of one read, as the protocol reports them (fields documented there). */
export type StageTimes = PlateStageTimes;

const noTimes = (): StageTimes => ({
  detMs: 0,
  refineMs: 0,
  recMs: 0,
  ppocrMs: 0,
  enMs: 0,
  trainedMs: 0,
  detPreMs: 0,
  detRunMs: 0,
  detPostMs: 0,
  cropMs: 0,
  totalMs: 0,
});

export interface PipelineResult {
  /** Best candidate's text ('' when nothing plate-like was read). */
  text: string;
  confidence: number;
  /** Axis-aligned box of the best candidate in frame pixels. */
  box: { x: number; y: number; width: number; height: number } | null;
  candidates: PlateCandidate[];
  times: StageTimes;
  crops?: { source: string; image: RgbaImage }[];
  /** Every read before same-text reads merge, ranked as scored (debug only: which reader read what). */
  raw?: PlateCandidate[];
}

const now = (): number => performance.now();

async function detect(
  img: RgbaImage,
  run: OnnxRun,
  o: DetOptions,
  times: StageTimes,
  exact?: { w: number; h: number },
): Promise<TextBox[]> {
  const t0 = now();
  const input = exact ? detPreprocessTo(img, exact.w, exact.h) : detPreprocess(img, o.maxSide);
  const t1 = now();
  const out = await run(input.tensor, [1, 3, input.height, input.width]);
  const t2 = now();
  const boxes = detPostprocess(out.data, input, o);
  times.detPreMs += t1 - t0;
  times.detRunMs += t2 - t1;
  times.detPostMs += now() - t2;
  return boxes;
}

/** Geometric prior: how much a line's shape and detector score look like a plate registration line. */
function linePrior(b: TextBox, frame: { width: number; height: number }): number {
  const aspect = b.w / Math.max(1, b.h);
  // Registration lines run 2..8 characters of aspect ~0.5-0.7 each, plus DB's margin.
  const aspectFit = aspect < 1.3 ? 0.2 : aspect > 10 ? 0.3 : aspect < 2 ? 0.6 : 1;
  const sizeFit = Math.min(1, b.h / 14);
  const centre = 1 - 0.3 * Math.min(1, Math.abs(b.cx / frame.width - 0.5) * 2);
  return b.score * aspectFit * sizeFit * centre;
}

function padQuad(b: TextBox, padX: number, padY: number): TextBox {
  return makeBox({ cx: b.cx, cy: b.cy, w: b.w + 2 * padX * b.h, h: b.h * (1 + 2 * padY), angle: b.angle }, b.score);
}

/**
 * Re-detect text inside a region around `line`, scaled so its text is about `textHeight` px high, and return
 * the refined line box(es) in frame pixels that overlap the original line.
 */
async function refineLine(
  img: RgbaImage,
  line: TextBox,
  models: PlateModels,
  o: PipelineOptions,
  textHeight: number,
  times: StageTimes,
  glyph = line.h / 1.6,
): Promise<Line[]> {
  const mx = line.h * 1.0 + line.w * 0.15;
  const my = line.h * 0.8;
  const x0 = Math.max(0, Math.floor(line.cx - (Math.abs(Math.cos(line.angle)) * line.w) / 2 - mx));
  const x1 = Math.min(img.width, Math.ceil(line.cx + (Math.abs(Math.cos(line.angle)) * line.w) / 2 + mx));
  const hy = (Math.abs(Math.sin(line.angle)) * line.w) / 2 + line.h / 2;
  const y0 = Math.max(0, Math.floor(line.cy - hy - my));
  const y1 = Math.min(img.height, Math.ceil(line.cy + hy + my));
  if (x1 - x0 < 4 || y1 - y0 < 4) return [];
  const region = cropRect(img, x0, y0, x1 - x0, y1 - y0);
  // DB's unclipped box is ~1.6x the glyph height (the default glyph estimate); the detector misses or halves
  // text under ~20 px high, so small plates are upscaled until glyphs land near textHeight.
  const scale = Math.min(4, Math.max(0.25, textHeight / Math.max(1, glyph)));
  let w = Math.max(32, Math.round((region.width * scale) / 32) * 32);
  let h = Math.max(32, Math.round((region.height * scale) / 32) * 32);
  const cap = o.refineDet.maxSide;
  if (Math.max(w, h) > cap) {
    const k = cap / Math.max(w, h);
    w = Math.max(32, Math.round((w * k) / 32) * 32);
    h = Math.max(32, Math.round((h * k) / 32) * 32);
  }
  const boxes = await detect(region, models.det, o.refineDet, times, { w, h });
  const shift = (b: TextBox) => makeBox({ cx: b.cx + x0, cy: b.cy + y0, w: b.w, h: b.h, angle: b.angle }, b.score);
  const shifted = groupLines(boxes, o.lines).map((g) => ({ box: shift(g.box), parts: g.parts.map(shift) }));
  // Keep lines whose centre lies within the original line's band.
  return shifted.filter(({ box: b }) => {
    const ux = Math.cos(line.angle);
    const uy = Math.sin(line.angle);
    const dx = b.cx - line.cx;
    const dy = b.cy - line.cy;
    return Math.abs(-dx * uy + dy * ux) < line.h * 0.6 && Math.abs(dx * ux + dy * uy) < line.w / 2 + line.h;
  });
}

interface Line {
  box: TextBox;
  /** The detector boxes the line was merged from (one for a single box). */
  parts: TextBox[];
}

interface Crop {
  box: TextBox;
  image: RgbaImage;
  source: string;
  /** Read by the trained recogniser only (a whole plate box: PP-OCR reads margins badly, ours was trained on them). */
  trainedOnly?: boolean;
  /** The line height its reads are ranked by (heightWeight), when not its own box's: the detector's box read beside
   * a refined one of the same line counts at the refined height, so the two reads compete on what they read, not on
   * the detector's looser box. */
  lineHeight?: number;
  /** The detector boxes a refined crop's line was merged from, left to right, when there were several (splitLong). */
  parts?: TextBox[];
}

function makeCrop(img: RgbaImage, line: Line, o: PipelineOptions, source: string, times: StageTimes): Crop {
  const t0 = now();
  const b = padQuad(line.box, o.padX, o.padY);
  let image = cropQuad(img, b.quad, REC_HEIGHT, 1600);
  times.cropMs += now() - t0;
  if (o.gray) image = toGray(image);
  if (o.contrast) image = stretchContrast(image);
  if (o.sharpen > 0) image = sharpen(image, o.sharpen);
  return { box: b, image, source };
}

/**
 * One candidate from a raw read. Plate-likeness is judged on the read as the model spelled it (so "NORTHERN" is a
 * word even in a region that folds O into 0), then the region's spelling and position rules are applied.
 */
function candidate(
  raw: string,
  confidence: number,
  factor: number,
  crop: Crop,
  source: string,
  o: PipelineOptions,
  free = false,
): PlateCandidate {
  const read = normalisePlate(raw);
  const maxCost = free && !o.rules.exhaustive ? o.freeRewriteMaxCost : Infinity;
  const text = applyPositionRules(read, o.rules, undefined, maxCost);
  // Judged before position rules rewrite it: a read that needed look-alike substitutions to fit pays for them.
  const likeness = rankLikeness(read, o);
  return {
    text,
    confidence,
    likeness,
    score: confidence * likeness * factor,
    quad: crop.box.quad.map((p) => ({ x: p.x, y: p.y })),
    source,
    lineHeight: crop.lineHeight ?? crop.box.h,
  };
}

/**
 * Plate-likeness for ranking a read. In a region with unlisted series (US, EU) a read with letters and no digit is
 * a word (a notice, a state name, a dealer's name), whatever format its look-alikes fit: NOTICE fits the US LDDLLL
 * series through T→7 and ranked as a misread plate, above the plate itself. Every listed series holds a digit, so a
 * plate reads as letters only when each of its digits was misread. Where the region prints O and 0 alike, a 0 is as
 * much an O (N0TICE). Ranking only: decide.ts judges the read it is given as before.
 */
export function rankLikeness(read: string, o: Pick<PipelineOptions, 'rules' | 'wordsRankAsWords'>): number {
  const likeness = plateLikeness(read, o.rules).score;
  if (!o.wordsRankAsWords || o.rules.exhaustive || likeness >= 1) return likeness;
  const foldsO = o.rules.glyphFolds?.includes('O0') ?? false;
  const chars = [...read];
  const word = chars.some(isLetter) && !chars.some((c) => isDigit(c) && !(foldsO && c === '0'));
  // A read that fits a listed series in the region's spelling is a plate, zeros and all: ABC000 (LLLDDD), also
  // when read ABCOOO, since the US prints O and 0 with one glyph.
  if (!word || plateLikeness(regionSpelling(read, o.rules), o.rules).score >= 1) return likeness;
  return Math.min(likeness, LIKENESS.lettersOnly);
}

/** Read crops with every recogniser present and return every candidate read. */
async function readCrops(
  img: RgbaImage,
  crops: Crop[],
  models: PlateModels,
  o: PipelineOptions,
  times: StageTimes,
): Promise<PlateCandidate[]> {
  const cands: PlateCandidate[] = [];
  const all = crops;
  crops = crops.filter((c) => !c.trainedOnly);
  let t0 = now();
  if (models.rec) cands.push(...(await readCropsPpocr(crops, models.rec, o, 1, '')));
  times.ppocrMs += now() - t0;
  t0 = now();
  const trained = models.trained ? await readCropsTrained(all, models.trained, o, o.trainedWeight) : [];
  times.trainedMs += now() - t0;
  // The second recogniser is asked only when the first is unsure: a clear read does not pay for it, nor one the
  // trained recogniser read identically (two independent readers already agree; the third only adds score).
  const firstBest = Math.max(0, ...cands.map((c) => c.score));
  const confirmed = o.rec2UnlessTrainedAgrees && sameBestRead(cands, trained, o.combine);
  t0 = now();
  if (models.rec2 && o.rec2Weight > 0 && (!models.rec || firstBest < o.rec2Below) && !confirmed)
    cands.push(...(await readCropsPpocr(crops, models.rec2, o, o.rec2Weight, EN_TAG)));
  times.enMs += now() - t0;
  cands.push(...trained);
  if (models.other) {
    const w = models.rec ? o.otherReaderWeight : 1;
    for (const crop of crops) {
      // tesseract prefers ~100 px text: crop again from the frame rather than upscaling the 48 px crop.
      const r = await models.other(cropQuad(img, crop.box.quad, 100, 2400));
      cands.push(candidate(r.text, r.confidence, w, crop, `${crop.source}${TESSERACT_TAG}`, o, true));
    }
  }
  return cands;
}

/** True when two readers' reads of the same crops have the same non-empty best text. */
function sameBestRead(a: PlateCandidate[], b: PlateCandidate[], combine: ReadCombine): boolean {
  const x = poolReads(a, combine)[0];
  const y = poolReads(b, combine)[0];
  return x !== undefined && y !== undefined && x.text !== '' && x.text === y.text;
}

/** Read crops in one PP-OCR recogniser batch and return every candidate read. */
async function readCropsPpocr(
  crops: Crop[],
  models: { run: OnnxRun; charset: PlateCharset },
  o: PipelineOptions,
  weight: number,
  tag: string,
): Promise<PlateCandidate[]> {
  if (crops.length === 0) return [];
  const batch = recPreprocess(
    crops.map((c) => c.image),
    o.padTo320 ? REC_MIN_WIDTH : 8,
  );
  const out = await models.run(batch.tensor, [batch.n, 3, REC_HEIGHT, batch.width]);
  const [n, T, C] = out.dims as [number, number, number];
  const cands: PlateCandidate[] = [];
  for (let b = 0; b < n; b++) {
    const crop = crops[b]!;
    // Time steps beyond the crop's own width are padding; keep one step of slack.
    const Tcrop = Math.min(T, Math.ceil((batch.widths[b]! / batch.width) * T) + 1);
    const folded = foldProbs(out.data, b * T * C, Tcrop, models.charset);
    cands.push(...decodeCrop(folded, models.charset, crop, weight, tag, o));
  }
  return cands;
}

/** The trained recogniser reads the same crops (stretched to its 32 x 128 input) in one batch. */
async function readCropsTrained(
  crops: Crop[],
  models: { run: OnnxRun; charset: PlateCharset },
  o: PipelineOptions,
  weight: number,
): Promise<PlateCandidate[]> {
  if (crops.length === 0) return [];
  const input = trainedPreprocess(crops.map((c) => c.image));
  const out = await models.run(input, [crops.length, 1, TRAINED_H, TRAINED_W]);
  const steps = trainedToSteps(out.data, out.dims);
  return crops.flatMap((crop, b) =>
    decodeCrop(
      foldProbs(steps.data, b * steps.T * steps.C, steps.T, models.charset),
      models.charset,
      crop,
      weight,
      TRAINED_TAG,
      o,
    ),
  );
}

/** A crop's free (greedy) read and, for regions with formats, one format-constrained read per format. */
function decodeCrop(
  folded: Folded,
  charset: PlateCharset,
  crop: Crop,
  weight: number,
  tag: string,
  o: PipelineOptions,
): PlateCandidate[] {
  const g = greedyDecode(folded, charset, o.otherWeight);
  const free = candidate(g.text, g.confidence, weight, crop, `${crop.source}${tag}`, o, true);
  free.charProbs = g.charProbs;
  const cands = [free];
  if (!(o.rules.exhaustive || o.formatDecodes)) return cands;
  const base = pathLogProb(folded);
  for (const fmt of o.rules.formats) {
    const d = constrainedDecode(folded, charset, fmt.pattern, o.rules.leadingBand);
    if (!d || d.text === g.text) continue;
    // A format-forced decode pays the path-probability ratio to the free decode: the format has to buy its
    // likeness with the model's own belief, so a confident free read is never overruled by a pattern.
    const ratio = Math.exp(Math.max(-30, d.logScore - base));
    cands.push(candidate(d.text, g.confidence, ratio * weight, crop, `${crop.source}${tag}/${fmt.id}`, o));
  }
  return cands;
}

/** The best of `reads` as the result would rank it (same texts pooled; before the height weighting), leaving the
 * reads themselves unchanged. */
function bestOf(reads: readonly PlateCandidate[], o: PipelineOptions): PlateCandidate | undefined {
  return poolReads(
    reads.map((c) => ({ ...c })),
    o.combine,
  )[0];
}

/** True when `text` is shorter than every listed series of the region (and so fits none of them). */
function shortOfEverySeries(text: string, rules: RegionRules): boolean {
  return rules.formats.length > 0 && rules.formats.every((f) => [...text].length < [...f.pattern].length);
}

/** True when `text` is longer than every listed series of the region (and so fits none of them). */
function longOfEverySeries(text: string, rules: RegionRules): boolean {
  return rules.formats.length > 0 && rules.formats.every((f) => [...text].length > [...f.pattern].length);
}

/** A line of more than this many detector boxes is prose, not a plate with a neighbour: splitLong leaves it (with
 * several refinement text heights, the first refined crop of at most this many boxes is the one split). */
const SPLIT_MAX_PARTS = 4;

/** Every run of consecutive parts but the whole line (a line of 3 parts: 1, 2, 3, 1-2 and 2-3). */
function partRuns(parts: readonly TextBox[]): TextBox[][] {
  const runs: TextBox[][] = [];
  for (let i = 0; i < parts.length; i++)
    for (let j = i + 1; j <= parts.length; j++) if (j - i < parts.length) runs.push(parts.slice(i, j));
  return runs;
}

/**
 * splitLong's reads of one long line: each run of its parts read as a line of its own, kept only when the read fits
 * a series and is part of the line's own read (partOf): the plate found inside the line, not whatever else a shorter
 * crop shows.
 */
async function readPartRuns(
  img: RgbaImage,
  line: { crop: Crop; text: string },
  models: PlateModels,
  o: PipelineOptions,
  times: StageTimes,
): Promise<{ cands: PlateCandidate[]; crops: Crop[] }> {
  const pads = { ...o, padX: o.refinedPadX, padY: o.refinedPadY };
  const crops = partRuns(line.crop.parts ?? []).map((run, k) =>
    makeCrop(img, lineOf(run), pads, `${line.crop.source}/split${k}`, times),
  );
  const t0 = now();
  const reads = await readCrops(img, crops, models, o, times);
  times.recMs += now() - t0;
  const cands = reads.filter(
    (c) => plateLikeness(c.text, o.rules).score >= 1 && partOf(c.text, line.text, o.freeRewriteMaxCost, o.rules),
  );
  return { cands, crops };
}

/**
 * True when `run` is read in `whole` up to look-alikes: some window of `whole` lies within confusion distance `maxCost`
 * of it, both in the region's spelling. That covers the rewrites a region's position rules make (EU, BR, CN: a run
 * read ABCI234 is rewritten ABC1234 to fit a series, while the line's read, too long for any series, keeps ABCI234)
 * and a look-alike read differently in the two crops (B/8, S/5). A glyph read as another that is no look-alike (3 for
 * 8: cost 0.6) is another reading, not a part.
 */
function partOf(run: string, whole: string, maxCost: number, rules: RegionRules): boolean {
  const r = regionSpelling(run, rules);
  const w = [...regionSpelling(whole, rules)];
  const n = [...r].length;
  for (let i = 0; i + n <= w.length; i++) if (plateDistance(w.slice(i, i + n).join(''), r) <= maxCost) return true;
  return false;
}

/** The axis-aligned box around `quad` grown by `grow` (width, height factors) about its centre, inside the frame. */
function grownBox(
  quad: readonly Point[],
  [gw, gh]: readonly [number, number],
  img: { width: number; height: number },
): { x: number; y: number; width: number; height: number } {
  const q = aabb(quad);
  const w = q.width * gw;
  const h = q.height * gh;
  const x = Math.max(0, q.x + q.width / 2 - w / 2);
  const y = Math.max(0, q.y + q.height / 2 - h / 2);
  return { x, y, width: Math.min(img.width - x, w), height: Math.min(img.height - y, h) };
}

function aabb(q: readonly Point[]): { x: number; y: number; width: number; height: number } {
  const xs = q.map((p) => p.x);
  const ys = q.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

function finishResult(raw: PlateCandidate[], times: StageTimes, crops: Crop[], o: PipelineOptions): PipelineResult {
  if (o.heightWeight > 0) {
    const hmax = Math.max(1, ...raw.filter((c) => c.likeness >= 0.5).map((c) => c.lineHeight));
    for (const c of raw) c.score *= Math.min(1, c.lineHeight / hmax) ** o.heightWeight;
  }
  const { ranked, best, confidence } = chooseRead(raw, o.rules.region, o.combine, o);
  const res: PipelineResult = {
    text: best && best.text.length > 0 ? best.text : '',
    confidence,
    box: best ? aabb(best.quad) : null,
    candidates: ranked,
    times,
  };
  if (o.debugCrops) {
    res.crops = crops.map((c) => ({ source: c.source, image: c.image }));
    res.raw = raw.slice().sort((a, b) => b.score - a.score);
  }
  return res;
}

/** Lines worth reading from a set of boxes, best plate-shaped first (maxLines, then the extraLines readFrame may
 * read while nothing plate-like was found). */
function pickLines(boxes: TextBox[], frame: { width: number; height: number }, o: PipelineOptions): Line[] {
  const lines = groupLines(boxes, o.lines).filter(({ box: b }) => b.h >= o.minLineHeight && b.w >= b.h);
  const n = o.maxLines + (o.settleOnFormat ? o.extraLines : 0);
  return lines.sort((a, b) => linePrior(b.box, frame) - linePrior(a.box, frame)).slice(0, n);
}

/**
 * True when reads may end readFrame's search: their pooled best scores `atLeast` and, under settleOnFormat, is
 * plate-like by more than its score: it fits one of the region's formats as read (a forced format decode has
 * likeness 1 too, but pays its path-probability ratio in its score), or it mixes letters and digits
 * (LIKENESS.mixed: a vanity or unlisted series) and the two independent readers' own best reads agree on it. A
 * notice, a badge or a dealer's word read confidently by one reader does not settle the frame: the search goes on
 * to further lines and the larger detector scale, where the plate's own line may be. The final choice among
 * all reads is finishResult's either way; this only decides how far the search goes.
 */
export function settlesSearch(reads: readonly PlateCandidate[], atLeast: number, o: PipelineOptions): boolean {
  // Rule off (the default): the pooled best alone, as before the rule — no per-reader bests on every line read.
  if (!o.settleOnFormat) return (poolReads(reads, o.combine)[0]?.score ?? -Infinity) >= atLeast;
  const choice = chooseRead(reads, o.rules.region, o.combine, o);
  const b = choice.ranked[0];
  if (!b || b.score < atLeast) return false;
  // Judged on the text as finally spelled: a read's own likeness is taken before the region's spelling, so a date
  // one reader read with letter Os ("2O14O5O2") counts as mixed there, but it is digits only.
  const likeness = plateLikeness(b.text, o.rules).score;
  return likeness >= 1 || (choice.readers === 'agree' && likeness >= LIKENESS.mixed);
}

/** The crop(s) read for one line: its refined box(es), or the detector's own box. */
async function cropsFor(
  img: RgbaImage,
  line: Line,
  models: PlateModels,
  o: PipelineOptions,
  t: StageTimes,
  tag: string,
): Promise<Crop[]> {
  if (!o.refine || line.box.h >= o.refineBelowPx) return [makeCrop(img, line, o, `${tag}/det`, t)];
  const crops: Crop[] = [];
  let narrow: Crop | undefined;
  for (const th of o.refineTextHeights) {
    const t0 = now();
    const refined = await refineLine(img, line.box, models, o, th, t);
    t.refineMs += now() - t0;
    const best = refined.sort((a, b) => b.box.w * b.box.h * b.box.score - a.box.w * a.box.h * a.box.score)[0];
    if (best) {
      const c = makeCrop(img, best, { ...o, padX: o.refinedPadX, padY: o.refinedPadY }, `${tag}/refined${th}`, t);
      crops.push(best.parts.length > 1 ? { ...c, parts: best.parts } : c);
      // The re-detection found only part of the detector's line (dev photo AJK7551: the refined box began at J).
      if (best.box.w < o.readDetBelowCover * line.box.w) narrow ??= c;
    }
  }
  if (narrow) crops.push({ ...makeCrop(img, line, o, `${tag}/det`, t), lineHeight: narrow.box.h });
  else if (crops.length === 0 || o.readBoth) crops.push(makeCrop(img, line, o, `${tag}/det`, t));
  return crops;
}

/** True when line `a`'s centre lies inside `b` (same text found again at another detector scale). */
function sameLine(a: TextBox, b: TextBox): boolean {
  const ux = Math.cos(b.angle);
  const uy = Math.sin(b.angle);
  const dx = a.cx - b.cx;
  const dy = a.cy - b.cy;
  return Math.abs(dx * ux + dy * uy) < b.w / 2 && Math.abs(-dx * uy + dy * ux) < b.h / 2;
}

/** The plate finder's boxes in frame pixels (its run counted as detection). */
async function findPlates(img: RgbaImage, run: OnnxRun, f: FinderOptions, times: StageTimes): Promise<PlateBox[]> {
  const t0 = now();
  const input = finderInput(img);
  const t1 = now();
  const out = await run(input.tensor, [1, 3, FINDER_SIDE, FINDER_SIDE]);
  const t2 = now();
  const boxes = decodeFinder(out.data, input, img, f.minScore, f.maxBoxes);
  times.detPreMs += t1 - t0;
  times.detRunMs += t2 - t1;
  times.detPostMs += now() - t2;
  times.detMs += now() - t0;
  return boxes;
}

/** Every read inside the given finder boxes, each grown by `grow` and read as a known plate box. */
async function readBoxes(
  img: RgbaImage,
  boxes: readonly PlateBox[],
  f: FinderOptions,
  models: PlateModels,
  opts: PipelineOptions,
  times: StageTimes,
): Promise<{ cands: PlateCandidate[]; crops: Crop[] }> {
  const cands: PlateCandidate[] = [];
  const crops: Crop[] = [];
  for (const [k, b] of boxes.entries()) {
    const w = b.width * f.grow[0];
    const h = b.height * f.grow[1];
    const x = Math.max(0, b.x + b.width / 2 - w / 2);
    const y = Math.max(0, b.y + b.height / 2 - h / 2);
    const box = { x, y, width: Math.min(img.width - x, w), height: Math.min(img.height - y, h) };
    const more = await readBox(img, box, models, opts, times, `finder${k}`);
    cands.push(...more.cands);
    crops.push(...more.crops);
  }
  return { cands, crops };
}

/** True when the centre of `quad` lies inside one of `boxes`. */
function inAny(quad: readonly Point[], boxes: readonly PlateBox[]): boolean {
  const cx = quad.reduce((a, p) => a + p.x, 0) / quad.length;
  const cy = quad.reduce((a, p) => a + p.y, 0) / quad.length;
  return boxes.some((b) => cx >= b.x && cx <= b.x + b.width && cy >= b.y && cy <= b.y + b.height);
}

/** Reads of the line search whose centre lies in none of the trusted finder boxes count `outsideWeight` as much:
 * with a plate found, text elsewhere (a notice, a dealer's sign) is less likely the registration. */
function weighOutside(reads: PlateCandidate[], trusted: readonly PlateBox[], f: FinderOptions): void {
  if (trusted.length === 0 || f.outsideWeight >= 1) return;
  for (const c of reads) if (!inAny(c.quad, trusted)) c.score *= f.outsideWeight;
}

/**
 * Read the plate in a whole frame. The detector runs at each of `detSides` in turn (small first: cheap, and
 * enough for a plate that fills a gate camera's frame); a larger scale is tried only while no read has reached
 * `acceptScore`, so small, distant plates cost time only when they are all there is. The plate finder
 * (`opts.finder`) reads whole-plate boxes before that search ('settle', 'pool') or, by default, only after it
 * ('verify'): when it found a text line and its best read fits none of the region's formats and lies on no plate the
 * finder trusts.
 */
export async function readFrame(img: RgbaImage, models: PlateModels, opts: PipelineOptions): Promise<PipelineResult> {
  const t0 = now();
  const times = noTimes();
  const cands: PlateCandidate[] = [];
  const crops: Crop[] = [];
  const seen: TextBox[] = [];
  const sides = opts.detSides.length > 0 ? opts.detSides : [opts.det.maxSide];
  // The best read so far (ranked as the result will be, before the height weighting).
  let best: PlateCandidate | undefined;
  // Lines read longer than every series, from a refined box of several detector boxes (splitLong).
  const long: { crop: Crop; text: string }[] = [];
  const f = models.finder && opts.finder ? opts.finder : null;
  // 'verify' runs the finder only after the line search, and only for a read that fits none of the region's formats.
  const plates = f && f.mode !== 'verify' ? await findPlates(img, models.finder!, f, times) : [];
  let trusted = f ? plates.filter((b) => b.score >= f.trustScore) : [];
  let settled = false;
  if (f && f.mode !== 'verify') {
    const r = await readBoxes(img, plates, f, models, opts, times);
    cands.push(...r.cands);
    crops.push(...r.crops);
    settled = f.mode === 'settle' && settlesSearch(r.cands, opts.lineAcceptScore, opts);
  }
  for (const [i, side] of settled ? [] : sides.entries()) {
    // A larger scale only helps when the frame is larger than the last one tried.
    if (i > 0 && Math.max(img.width, img.height) <= sides[i - 1]!) break;
    const td = now();
    const boxes = await detect(img, models.det, { ...opts.det, maxSide: side }, times);
    times.detMs += now() - td;
    const lines = pickLines(boxes, img, opts).filter((l) => !seen.some((s) => sameLine(l.box, s)));
    seen.push(...lines.map((l) => l.box));
    // Lines are read best-shaped first, one at a time, so a clear plate read spares the rest their cost.
    let done = false;
    for (const [j, line] of lines.entries()) {
      // Past maxLines only while nothing read so far fits a format (settleOnFormat): the plate may be further down.
      if (j >= opts.maxLines && settlesSearch(cands, opts.acceptScore, opts)) break;
      const lineCrops = await cropsFor(img, line, models, opts, times, `s${side}line${j}`);
      const tr = now();
      const read = await readCrops(img, lineCrops, models, opts, times);
      times.recMs += now() - tr;
      if (f) weighOutside(read, trusted, f);
      cands.push(...read);
      crops.push(...lineCrops);
      // One crop per line: with several refinement text heights, each would read the same runs again. The line's
      // reads are pooled only for a line merged from several boxes (most lines are one box: no per-line cost).
      const merged = opts.splitLong ? lineCrops.find((c) => c.parts && c.parts.length <= SPLIT_MAX_PARTS) : undefined;
      const lineBest = merged ? bestOf(read, opts) : undefined;
      if (merged && lineBest && longOfEverySeries(lineBest.text, opts.rules))
        long.push({ crop: merged, text: lineBest.text });
      if (settlesSearch(read, opts.lineAcceptScore, opts)) {
        done = true;
        break;
      }
    }
    best = bestOf(cands, opts);
    if (done || settlesSearch(cands, opts.acceptScore, opts)) break;
  }
  if (long.length > 0 && !(best && plateLikeness(best.text, opts.rules).score >= 1)) {
    // The best read fits no series, and a line read longer than every series was merged from several detector boxes:
    // the plate may be one run of them (a Californian plate mounted over a German one read "M 5VCF203 77" as one
    // line, docs/plates.md "A line longer than every series"). Before extendShort and the finder, as a completion.
    for (const line of long) {
      const more = await readPartRuns(img, line, models, opts, times);
      if (f) weighOutside(more.cands, trusted, f);
      cands.push(...more.cands);
      crops.push(...more.crops);
    }
    best = bestOf(cands, opts);
  }
  if (opts.extendShort && best && best.text !== '' && shortOfEverySeries(best.text, opts.rules)) {
    // A read shorter than every series of the region may be a line the detector cut short (1AMW240 read MW240: "1A"
    // stood apart). Read around it as a known plate box, and keep only reads that fit a series and hold the whole
    // best read: the missing glyphs found. Anything else the wider box shows (a neighbour's text, another
    // crop of the same glyphs) is not let into the ranking, where it shifted the height weighting and the pooled
    // scores. Reads of plate length that fit no series (vanity, legacy) do not pay for it: firing on every unfit
    // read cost the held-out US p50 205 → 317 ms for no read (docs/plates.md, "Words and short lines"). Before the
    // finder: a completed read fits a series, so the finder is not asked, and its box read (once a phone number on
    // the plate's frame) cannot pre-empt the completion.
    const base = best.text;
    const more = await readBox(img, grownBox(best.quad, opts.extendShort, img), models, opts, times, 'ext');
    // Judged in the region's spelling, as the texts compared are: a completion read 1AMW24O is 1AMW240. A
    // format-constrained decode passes too, paying its path-probability ratio in its score.
    const kept = more.cands.filter(
      (c) => c.text.length > base.length && c.text.includes(base) && plateLikeness(c.text, opts.rules).score >= 1,
    );
    // With the finder's boxes known before the search ('settle', 'pool'), a completion off the plate counts less,
    // as every line read does.
    if (f) weighOutside(kept, trusted, f);
    cands.push(...kept);
    crops.push(...more.crops);
    best = bestOf(cands, opts);
  }
  const unfit = !best || best.text === '' || plateLikeness(best.text, opts.rules).score < 1;
  // Only where the detector found text: a frame without a text line is the empty driveway of most frames, where the
  // finder cost time for nothing (p50 266 → 194 ms on plate-free frames); no tune photo's read came from a finder box
  // on such a frame (docs/plates.md, "The plate finder").
  if (f?.mode === 'verify' && unfit && seen.length > 0) {
    trusted = (await findPlates(img, models.finder!, f, times)).filter((b) => b.score >= f.trustScore);
  }
  if (f?.mode === 'verify' && trusted.length > 0 && !(best && best.text !== '' && inAny(best.quad, trusted))) {
    // The line search's best read fits no format and is not on the plate the finder is sure of (a notice, a sign),
    // or nothing was read: read the plate itself too, and let the reads compete.
    weighOutside(cands, trusted, f);
    const r = await readBoxes(img, trusted, f, models, opts, times);
    cands.push(...r.cands);
    crops.push(...r.crops);
    best = bestOf(cands, opts);
  }
  if (opts.boxRetry && best && best.text !== '' && best.score < opts.boxRetry.below) {
    // Unsure: read again the way a known plate box is read, in a box grown around the best line.
    const more = await readBox(img, grownBox(best.quad, opts.boxRetry.grow, img), models, opts, times);
    cands.push(...more.cands);
    crops.push(...more.crops);
  }
  times.totalMs = now() - t0;
  return finishResult(cands, times, crops, opts);
}

/**
 * Read the plate inside a known plate box (frame pixels): the text lines are found inside the box and the most
 * plate-like read wins. Used when the caller already localised the plate (and by the crop-read benchmark).
 */
export async function readPlateBox(
  img: RgbaImage,
  box: { x: number; y: number; width: number; height: number },
  models: PlateModels,
  opts: PipelineOptions,
): Promise<PipelineResult> {
  const t0 = now();
  const times = noTimes();
  const { cands, crops } = await readBox(img, box, models, opts, times);
  times.totalMs = now() - t0;
  return finishResult(cands, times, crops, opts);
}

/** Every candidate read inside a plate box (readPlateBox's work, before ranking). */
async function readBox(
  img: RgbaImage,
  box: { x: number; y: number; width: number; height: number },
  models: PlateModels,
  opts: PipelineOptions,
  times: StageTimes,
  tag = 'box',
): Promise<{ cands: PlateCandidate[]; crops: Crop[] }> {
  const t0 = now();
  const plate = makeBox(
    { cx: box.x + box.width / 2, cy: box.y + box.height / 2, w: box.width, h: box.height, angle: 0 },
    1,
  );
  // The plate box is a line as tall as the plate; refineLine's band test keeps lines anywhere inside it.
  const crops: Crop[] = [];
  for (const th of opts.boxMode === 'band' ? [] : opts.refineTextHeights) {
    // Registration characters are about half a plate's height.
    const refined = await refineLine(img, plate, models, opts, th, times, box.height * 0.5);
    const lines = refined
      .filter(({ box: b }) => b.h >= 4 && b.w >= b.h)
      .sort((a, b) => b.box.h * b.box.score - a.box.h * a.box.score)
      .slice(0, opts.maxLines);
    lines.forEach((l, i) =>
      crops.push(
        makeCrop(img, l, { ...opts, padX: opts.refinedPadX, padY: opts.refinedPadY }, `${tag}/${th}/line${i}`, times),
      ),
    );
  }
  times.refineMs += now() - t0;
  if (opts.boxMode !== 'refine' || crops.length === 0) {
    // The registration fills roughly the middle 60-70 % of a plate's height on US/EU/BR plates.
    for (const v of opts.bands) {
      const band = makeBox(
        { cx: plate.cx, cy: plate.cy + box.height * v.dy, w: box.width * v.w, h: box.height * v.h, angle: 0 },
        1,
      );
      crops.push(
        makeCrop(img, { box: band, parts: [band] }, { ...opts, padX: 0, padY: 0 }, `${tag}/band${v.h}`, times),
      );
    }
  }
  if (models.trained && opts.trainedWholeBox) {
    const whole = makeCrop(img, { box: plate, parts: [plate] }, { ...opts, padX: 0, padY: 0 }, `${tag}/plate`, times);
    crops.push({ ...whole, trainedOnly: true });
  }
  const t1 = now();
  const cands = await readCrops(img, crops, models, opts, times);
  times.recMs += now() - t1;
  return { cands, crops };
}
