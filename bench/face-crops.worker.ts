/**
 * Calibration helper for scripts/calibrate-face-int8.mjs (via bench/faces.page.ts `crops`): warps each detected
 * face of a bitmap to the ArcFace 112×112 template and returns fr_feature's input tensor, with the kiosk's own
 * alignment and normalisation code. A bench-only worker, so the face worker itself never hands out pixels.
 */
import { AlignCanvas, alignmentFor, ARCFACE_112 } from '../src/inference/worker/face/face-align';
import { EMBEDDERS } from '../src/inference/worker/face/face-embedder';
import type { FaceDetection } from '../src/shared/types';

const align = new AlignCanvas(ARCFACE_112.size);

self.onmessage = (e: MessageEvent<{ bitmap: ImageBitmap; faces: FaceDetection[] }>) => {
  const { bitmap, faces } = e.data;
  const tensors: Float32Array[] = [];
  for (const f of faces) {
    if (f.keypoints.length < 4) continue;
    const crop = align.warp(bitmap, alignmentFor(f, ARCFACE_112));
    const t = new Float32Array(3 * ARCFACE_112.size * ARCFACE_112.size);
    EMBEDDERS.fr_feature.toTensor(crop.data, ARCFACE_112.size, t);
    tensors.push(t);
  }
  bitmap.close();
  self.postMessage(
    tensors,
    tensors.map((t) => t.buffer),
  );
};
