/**
 * The project's own plate recogniser (models/trained/plate_rec*.onnx, trained by train/plates/train.py): tensor
 * preparation and the mapping of its output onto the shared CTC decoders.
 *
 * Owns the model's input contract (one grey crop stretched to 32 x 128, (x/255 - 0.5)/0.5; the same formula as
 * train.py `to_tensor`, with PIL's "L" luminance weights) and its class order (blank, then TRAINED_CHARSET). The
 * output [N, C, 1, T] is transposed to the [N, T, C] layout foldProbs reads, so greedy and format-constrained
 * decoding are exactly PP-OCR's (plate-recogniser.ts). Running the model is the caller's job; this module is pure.
 */
import { KioskError } from '../../../shared/errors';
import { CN_PROVINCES, DIGITS, LATIN_LETTERS } from '../../../matching/plates/normalise';
import type { PlateCharset } from './plate-recogniser';
import { resize, type RgbaImage } from './plate-image';

export const TRAINED_H = 32;
export const TRAINED_W = 128;
/** The class order of train.py's CHARSET (after the CTC blank at index 0). */
export const TRAINED_CHARSET = DIGITS + LATIN_LETTERS + CN_PROVINCES;

/**
 * The trained model's classes as a PlateCharset: one model class per plate character, no separators.
 * `allowed` keeps a subset (provinces only for CN); a dropped class's mass counts as "other", like PP-OCR's.
 */
export function trainedCharset(allowed: string = LATIN_LETTERS + DIGITS): PlateCharset {
  const all = [...TRAINED_CHARSET];
  const chars = [...allowed];
  const groups = chars.map((c) => {
    const i = all.indexOf(c);
    return i < 0 ? [] : [i + 1];
  });
  return { chars, groups, skip: [], classes: all.length + 1 };
}

/** Crops (any size, RGBA) → one [N, 1, 32, 128] tensor, each crop stretched to fill it. */
export function trainedPreprocess(crops: readonly RgbaImage[]): Float32Array {
  const plane = TRAINED_H * TRAINED_W;
  const t = new Float32Array(crops.length * plane);
  crops.forEach((c, b) => {
    const r = c.width === TRAINED_W && c.height === TRAINED_H ? c : resize(c, TRAINED_W, TRAINED_H, 'linear');
    const d = r.data;
    for (let i = 0; i < plane; i++) {
      const y = d[i * 4]! * 0.299 + d[i * 4 + 1]! * 0.587 + d[i * 4 + 2]! * 0.114;
      t[b * plane + i] = y / 127.5 - 1;
    }
  });
  return t;
}

/** [N, C, 1, T] model output → [N, T, C] (foldProbs' layout); returns the data and T, C. */
export function trainedToSteps(
  data: Float32Array,
  dims: readonly number[],
): { data: Float32Array; n: number; T: number; C: number } {
  const [n, C, one, T] = dims as [number, number, number, number];
  if (dims.length !== 4 || one !== 1) throw new KioskError('MODEL_LOAD_FAILED', { model: 'plate-rec-trained', reason: 'unexpected output shape', dims: dims.join('x') });
  const out = new Float32Array(n * T * C);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) out[(b * T + t) * C + c] = data[(b * C + c) * T + t]!;
  return { data: out, n, T, C };
}
