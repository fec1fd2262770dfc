/**
 * What the plate worker and its client say to each other: the command map and every payload type.
 *
 * Shared by src/inference/client/plate-client.ts and src/inference/worker/plate/plate-worker.ts (the three-file
 * pattern), so a renamed command or changed field fails to compile on both sides. Data only: no runtime imports.
 * Frames cross as ImageBitmap (transferred, closed by the worker); replies carry text and numbers, and crops only
 * when the admin debug view asks for them (kept in memory by the caller, never stored).
 */

/**
 * Which recogniser reads the crops. Localisation is PP-OCRv4's detector for all of them. 'trained': the project's
 * own recogniser (models/trained/); 'ensemble': it and PP-OCR, independently, combined (docs/plates.md);
 * 'combined': PP-OCR and tesseract.js.
 */
export type PlateReaderName = 'ppocr' | 'tesseract' | 'combined' | 'trained' | 'ensemble';

export type PlateBackendName = 'wasm' | 'webgpu';

export interface PlateBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How readFrame uses the plate finder's boxes (src/inference/worker/plate/plate-finder.ts; docs/plates.md). */
export interface PlateFinderOptions {
  /** Boxes whose centre probability is at least this are read. */
  minScore: number;
  /** Most boxes read per frame. */
  maxBoxes: number;
  /** Width and height factors a box is grown by before it is read as a known plate box. */
  grow: [number, number];
  /** While a finder box scoring at least `trustScore` exists, reads of the line search whose centre lies outside
   * every such box are weighted by `outsideWeight` (1: off). */
  trustScore: number;
  outsideWeight: number;
  /** 'settle': the finder's boxes are read first and a read scoring lineAcceptScore there skips the line search;
   * 'pool': both always run and their reads pool; 'verify': the line search runs as without the finder, and only
   * when it found a text line and its best read fits none of the region's formats (or nothing was read) does the
   * finder run (a frame without text, the empty driveway, costs no finder run); its trusted boxes are then read and
   * pooled when the best read lies in none of them. */
  mode: 'settle' | 'pool' | 'verify';
}

/** Pipeline overrides for benchmarks and unusual cameras; each defaults to DEFAULT_PIPELINE's measured value. */
export interface PlateTuning {
  /** Detector scales (longest side, px) tried in turn while no read is good enough. */
  detSides?: number[];
  /** Text lines read per frame. */
  maxLines?: number;
  /** Text heights (px) a line's region is scaled to for refinement. */
  refineTextHeights?: number[];
  /** Lines at least this tall (frame px) are read from the detector's box without refinement. */
  refineBelowPx?: number;
  /** Also read the detector's own box next to the refined one. */
  readBoth?: boolean;
  readDetBelowCover?: number;
  /** Score that ends the search for larger detector scales / for further lines. */
  acceptScore?: number;
  lineAcceptScore?: number;
  /** Margin added left and right of refined / detector boxes, in line heights. */
  refinedPadX?: number;
  refinedPadY?: number;
  padX?: number;
  /** Pad recogniser input to PaddleOCR's 320 px minimum width. */
  padTo320?: boolean;
  /** Weight of the PP-OCRv3 English recogniser's reads next to PP-OCRv4's (0: PP-OCRv4 alone, not loaded). */
  rec2Weight?: number;
  /** The English recogniser reads a line only when PP-OCRv4's best read of it scores below this (Infinity: always). */
  rec2Below?: number;
  /** Skip the English recogniser when the trained recogniser read a line exactly as PP-OCRv4 did ('ensemble'). */
  rec2UnlessTrainedAgrees?: boolean;
  /** Read again inside a plate box grown around an unsure best read (score below `below`); null turns it off. */
  boxRetry?: { below: number; grow: [number, number] } | null;
  /** Weight of the trained recogniser's reads next to PP-OCR's ('ensemble'). */
  trainedWeight?: number;
  /** Confidence factor when the trained recogniser and PP-OCR disagree beyond look-alikes (1: off). */
  disagreeFactor?: number;
  /** The trained recogniser also reads a known (or retried) plate box whole. */
  trainedWholeBox?: boolean;
  /** Per region, whose read an 'ensemble' result reports: both pooled, or PP-OCR's / the trained one's own best. */
  lead?: Partial<Record<string, 'pool' | 'ppocr' | 'trained'>>;
  /** Only a read fitting one of the region's formats ends the search for further lines and scales early. */
  settleOnFormat?: boolean;
  /** Further lines per scale read while nothing fits a format (with settleOnFormat). */
  extraLines?: number;
  /** How the plate finder's boxes are used (null: not at all). */
  finder?: PlateFinderOptions | null;
  /** Where plates may be unlisted series, a read of letters only ranks as a word, whatever format it resembles. */
  wordsRankAsWords?: boolean;
  /** Read around a best read shorter than every format, in a box grown by these factors, for the glyphs it lacks. */
  extendShort?: [number, number] | null;
  /** With the best read fitting no format, read a line longer than every format one run of its detector boxes at a
   * time. */
  splitLong?: boolean;
  /** How equal-text reads combine: best score, sum, or sum with PP-OCR's two recognisers as one voice. */
  combine?: 'max' | 'sum' | 'voices';
}

export interface PlateWorkerInit {
  /** URL prefix of the provisioned models (same origin). Default '/models/'. */
  modelBase?: string;
  reader: PlateReaderName;
  /** Region whose format rules rank and correct reads ('us', 'eu', 'br', 'cn'). */
  region: string;
  backend?: 'auto' | PlateBackendName;
  threads?: number;
  tuning?: PlateTuning;
}

export interface PlateWorkerInfo {
  reader: PlateReaderName;
  region: string;
  backend: PlateBackendName;
  threads: number;
  /** The recognisers loaded, in the order they read: 'ppocr-v4', 'ppocr-v3-en', 'tesseract', 'trained'. */
  recognisers: string[];
  /** The project's plate finder is loaded (PlateTuning.finder not null). */
  finder: boolean;
  /** Model fetch + verification + session creation + warm-up (ms). */
  loadMs: number;
}

export interface PlateReadRequest {
  frame: ImageBitmap;
  /** Read inside this plate box (frame pixels) instead of searching the frame. */
  plateBox?: PlateBox;
  /** Return the crops that were read (admin debug view). */
  debug?: boolean;
  /** Override the worker's region for this read. */
  region?: string;
}

export interface PlateReadCandidate {
  text: string;
  confidence: number;
  likeness: number;
  score: number;
  source: string;
  quad: { x: number; y: number }[];
}

export interface PlateStageTimes {
  detMs: number;
  refineMs: number;
  /** All reading (every recogniser, decoding included). */
  recMs: number;
  /** Of recMs, per recogniser (each with its pre-processing and decoding): PP-OCRv4, PP-OCRv3 English, the trained
   * one. */
  ppocrMs: number;
  enMs: number;
  trainedMs: number;
  /** Of detMs + refineMs, every detector pass (whole frame and refinement): resize and normalise, the model run,
   * and the probability map's boxes; cropMs: the crops' perspective warps for the recognisers (within refineMs and
   * readBox's share of it). */
  detPreMs: number;
  detRunMs: number;
  detPostMs: number;
  cropMs: number;
  totalMs: number;
}

export interface PlateDebugCrop {
  source: string;
  width: number;
  height: number;
  /** RGBA pixels (transferred). */
  data: Uint8ClampedArray<ArrayBuffer>;
}

export interface PlateReadResult {
  /** Best read, normalised ('' when nothing plate-like was read). */
  text: string;
  confidence: number;
  box: PlateBox | null;
  /** Ranked alternatives (best first), at most 8. */
  candidates: PlateReadCandidate[];
  times: PlateStageTimes;
  reader: PlateReaderName;
  crops?: PlateDebugCrop[];
  /** Debug only: every read (each reader, crop and decode) before same-text reads merge, best first. */
  raw?: PlateReadCandidate[];
}

export type PlateCommands = {
  init: { req: PlateWorkerInit; res: PlateWorkerInfo };
  read: { req: PlateReadRequest; res: PlateReadResult };
};
