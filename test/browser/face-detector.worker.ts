/**
 * Test-only module worker around src/inference/worker/face/face-detector.ts, so the browser test runs the detector
 * exactly where the kiosk does (a module worker, no DOM), behind the real expose()/WorkerBridge protocol.
 * It must stay a thin shell: no detection logic of its own.
 */
import { KioskError } from '../../src/shared/errors';
import type { FaceDetection } from '../../src/shared/types';
import { expose } from '../../src/inference/worker/expose';
import {
  createFaceDetector,
  type FaceDetectorHandle,
  type FaceDetectorRange,
} from '../../src/inference/worker/face/face-detector';

/** Mirrored (by hand) in face-detector.test.ts: a type import from here would pull worker code into the app project. */
type Commands = {
  init: { req: { range: FaceDetectorRange; minScore?: number; rawModelUrl?: string }; res: { ms: number } };
  detect: { req: { image: ImageBitmap; timestampMs?: number }; res: { faces: FaceDetection[]; ms: number } };
  resources: { req: null; res: string[] };
  close: { req: null; res: null };
};

let detector: FaceDetectorHandle | null = null;

expose<Commands>({
  async init({ range, minScore, rawModelUrl }) {
    const t0 = performance.now();
    detector?.close();
    detector = null;
    // rawModelUrl: hand the detector unverified bytes on purpose (the test that the npm .tflite is refused).
    const modelBytes = rawModelUrl ? new Uint8Array(await (await fetch(rawModelUrl)).arrayBuffer()) : undefined;
    detector = await createFaceDetector({
      range,
      ...(minScore === undefined ? {} : { minScore }),
      ...(modelBytes ? { modelBytes } : {}),
    });
    return { ms: performance.now() - t0 };
  },
  async detect({ image, timestampMs }) {
    if (!detector) throw new KioskError('INTERNAL', { reason: 'init first' });
    const t0 = performance.now();
    const faces = await detector.detect(image, timestampMs);
    const ms = performance.now() - t0;
    image.close();
    return { faces, ms };
  },
  async resources() {
    return performance.getEntriesByType('resource').map((e) => e.name);
  },
  async close() {
    detector?.close();
    detector = null;
    return null;
  },
});
