/**
 * What the face worker and its client say to each other: the command map and every payload type.
 *
 * Shared by src/inference/client/face-client.ts and src/inference/worker/face/face-worker.ts (the excalidraw/squoosh
 * three-file pattern), so a renamed command or a changed field fails to compile on both sides. Data only: no
 * runtime imports, nothing that touches a model. Templates are Float32Arrays; frames and images cross as
 * ImageBitmap/Blob and are dropped by the worker after use.
 */
import type { DetectorName, EmbedderName, EmbedderPrecision, FaceConfig } from '../config/face';
import type { FaceDetection } from './types';
import type { TraceSpan } from './startup-trace';
import type { SearchResult } from '../matching/face/gallery';

export type BackendName = 'webgpu' | 'wasm';

export interface BackendInfo {
  backend: BackendName;
  /** WASM threads in use (1 unless the page is crossOriginIsolated). */
  threads: number;
  /** Why this backend: shown in the admin screen and recorded by the benchmark. */
  reason: string;
}

export type QualityIssue = 'too-close' | 'partial' | 'too-small' | 'turned' | 'too-dark' | 'too-bright' | 'too-blurry';

/** What the visitor is told for each issue. Only the first issue (in this order) is shown. */
export const QUALITY_REASONS: Readonly<Record<QualityIssue, string>> = {
  'too-close': 'step back',
  partial: 'step into the frame',
  'too-small': 'come closer',
  turned: 'look at the camera',
  'too-dark': 'too dark',
  'too-bright': 'too bright',
  'too-blurry': 'too blurry',
};
export const QUALITY_ORDER: readonly QualityIssue[] = [
  'too-close',
  'partial',
  'too-small',
  'turned',
  'too-dark',
  'too-bright',
  'too-blurry',
];

export interface PoseEstimate {
  /** Inter-eye distance in source pixels. */
  eyeDistancePx: number;
  /** In-plane rotation of the eye line (alignment removes it; reported only). */
  rollDeg: number;
  /** Left/right head turn estimated from keypoints; positive = nose towards the image's right. */
  yawDeg: number;
  /** Up/down estimated from keypoints; positive = looking down. */
  pitchDeg: number;
}

export interface ImageStats {
  /** Mean luma (0..255) over the face region of the 112×112 crop. */
  brightness: number;
  /** Luma standard deviation over the face region. */
  contrast: number;
  /** Variance of the 4-neighbour Laplacian of luma over the face region (higher = sharper). */
  sharpness: number;
}

export type FaceQualityMetrics = PoseEstimate & ImageStats & { detectionScore: number };

export interface FaceQuality {
  ok: boolean;
  /** Every failed gate, in QUALITY_ORDER. */
  issues: QualityIssue[];
  /** QUALITY_REASONS of the first issue, or null when ok. */
  reason: string | null;
  metrics: FaceQualityMetrics;
}

export interface FaceWorkerInit {
  /** Resolved, validated settings (resolveFaceConfig()). */
  config: FaceConfig;
  /** URL prefix of the provisioned models folder. Default '/models/'. */
  modelBase?: string;
  /** 'auto' (default): WebGPU when an adapter exists, else WASM. */
  backend?: 'auto' | BackendName;
  /** WASM threads override (tests/benchmarks). */
  threads?: number;
  /** Second, padded detection pass on frames where nothing was found (faces filling the frame). Default true;
   * benchmarks turn it off to measure what it adds. */
  closePass?: boolean;
}

export interface FaceWorkerInfo {
  backend: BackendInfo;
  embedder: EmbedderName;
  /** The embedder model that runs: float, or its int8 twin (WASM backend with precision 'int8'). */
  precision: EmbedderPrecision;
  dim: number;
  detector: DetectorName;
  /** Whether 1:N matching runs the WebAssembly SIMD kernel. */
  matchSimd: boolean;
  /** ms spent loading and verifying models and creating sessions. */
  loadMs: number;
  /** Cold-start trace of this load (src/shared/startup-trace.ts): names and wall-clock times only. */
  trace?: TraceSpan[];
}

export interface StageTimings {
  /** Whole-frame detection. */
  detect: number;
  /** Per-frame totals over all faces: */
  align: number;
  embed: number;
  match: number;
  /** Passive PAD (every PAD model the configuration runs); absent or 0 when not asked. */
  liveness?: number;
  /** Of `liveness`: the project's trained model and fr_liveness alone (absent when that model did not run). */
  padTrained?: number;
  padFrLiveness?: number;
  /** Eye state (fr_eye) for the blink challenge; absent or 0 when not asked. */
  eyes?: number;
}

export interface PadScores {
  /** The project's own model (models/trained/pad.onnx). */
  trained?: number;
  /** faceplugin's fr_liveness.onnx. */
  frLiveness?: number;
}

export interface AnalysedFace {
  detection: FaceDetection;
  quality: FaceQuality;
  /** Whether this face was embedded (see AnalyseRequest.embed); its template stays in the worker unless asked for. */
  embedded?: boolean;
  /** L2-normalised template; present only when embedded and AnalyseRequest.returnTemplate asked for it. */
  template?: Float32Array;
  /** Best and runner-up identity in the worker's gallery; present when a template was made and a gallery is set. */
  match?: SearchResult;
  /** Passive PAD: probability that this face is live (0..1); present when asked for and the face was embedded. */
  liveness?: number;
  /**
   * Each PAD model's own live probability behind `liveness` (pad.model decides which ran and how they combine;
   * src/matching/face/pad-fusion.ts); for the guard screen and bench:liveness.
   */
  padScores?: PadScores;
  /**
   * How open each eye is ([right, left], 0 closed .. 1 open), for the blink challenge: present with `liveness` when
   * the face has both eye keypoints and is large enough for the eyes to be read (face-eyes.ts MIN_EYE_DISTANCE).
   */
  eyes?: [number, number];
}

export interface FrameAnalysis {
  width: number;
  height: number;
  /** Every face found, largest first (for drawing boxes and "one person at a time" prompts). */
  detections: FaceDetection[];
  /** The analysed faces (at most AnalyseRequest.maxFaces), largest first. */
  faces: AnalysedFace[];
  timings: StageTimings;
  /** Cold-start spans recorded since the last reply (the first analysed frame, a model loaded on first use). */
  trace?: TraceSpan[];
}

export interface AnalyseRequest {
  /** Transferred; the worker closes it. */
  frame: ImageBitmap;
  /** Which faces get a template: only those passing the quality gates (default), all, or none. */
  embed?: 'good' | 'all' | 'none';
  /** Analyse at most this many faces, largest first (default 1: the kiosk serves one person at a time). */
  maxFaces?: number;
  /** Quality gates to apply: the door's (default) or the stricter enrolment ones (live-camera enrolment). */
  gates?: 'door' | 'enrol';
  /** Run passive PAD and eye state on every face that gets a template (default false). */
  liveness?: boolean;
  /**
   * Eye state (the blink challenge) on every face that gets a template; default: as `liveness`. The kiosk asks for
   * it only during an active challenge, so the eye model loads when the first challenge starts (cold start).
   */
  eyes?: boolean;
  /**
   * Send embedded faces' templates back (default false): only enrolment and the active challenge need them. A door
   * frame gets the match, not the template, so templates do not pile up on the main thread.
   */
  returnTemplate?: boolean;
}

export interface EnrolRequest {
  /** A photo file (any format the browser decodes) or an already decoded bitmap (transferred, closed). */
  image: Blob | ImageBitmap;
}

export interface EnrolResult {
  template: Float32Array;
  embedder: EmbedderName;
  quality: FaceQuality;
  /** Where the face was (for a preview rectangle), in image pixels. */
  detection: FaceDetection;
}

export interface GalleryTemplate {
  subjectId: string;
  template: Float32Array;
}

export interface GalleryInfo {
  size: number;
  identities: number;
  precision: 'f32' | 'int8';
  matrixBytes: number;
  buildMs: number;
  /** Full rebuilds of the search matrix since the worker started (an edit of one person must not cause one). */
  rebuilds?: number;
}

/** A small change to the worker's gallery: each put carries the subject's complete templates of this embedder. */
export interface GalleryUpdate {
  puts: { subjectId: string; templates: Float32Array[] }[];
  removes: string[];
}

export type FaceCommands = {
  init: { req: FaceWorkerInit; res: FaceWorkerInfo };
  /** What the running worker loaded (cheap; also starts a stopped worker). */
  info: { req: null; res: FaceWorkerInfo };
  detect: { req: { frame: ImageBitmap }; res: { width: number; height: number; faces: FaceDetection[]; ms: number } };
  analyse: { req: AnalyseRequest; res: FrameAnalysis };
  enrolFromImage: { req: EnrolRequest; res: EnrolResult };
  setGallery: { req: { entries: GalleryTemplate[] }; res: GalleryInfo };
  updateGallery: { req: GalleryUpdate; res: GalleryInfo & { changed: number } };
};
