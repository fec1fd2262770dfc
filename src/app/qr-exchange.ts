/**
 * Moving keys between tablets by QR code instead of copy-pasted JSON: one tablet shows its admin or kiosk public key
 * (or a receiver's pairing code) as a QR code, the other reads it with its own camera. Owns only the QR step: the
 * matrix to draw (uqr, encoder) and reading a code from the kiosk's camera frames (the browser's BarcodeDetector
 * where it exists and reads QR codes, else jsQR, a pure-JS decoder: Debian's Chromium on Linux has no
 * BarcodeDetector). What a scanned text means is decided by the caller, which checks it exactly as it checks pasted
 * text (SyncService.previewKey, then pinAdminKey / addRecipient once the admin confirmed; DeviceService.pair); a QR
 * code is just another way to type it, and the fingerprint is shown on both screens so two people can compare it by
 * eye before a key is trusted. Frames are read and dropped, never kept.
 *
 * Decoding runs on the main thread on purpose: it only runs while an admin holds a scan open (one frame in flight,
 * a 640×480 frame decodes in a few tens of milliseconds), and a worker would add a second copy of every frame.
 */
import jsQR from 'jsqr';
import { encode } from 'uqr';
import { KioskError } from '../shared/errors';
import type { KioskController } from './controller';
import { watchCamera } from './camera-watch';

/** Dark (true) and light modules with a 4-module quiet zone, medium error correction (reads off a glossy screen). */
export function qrMatrix(text: string): boolean[][] {
  return encode(text, { ecc: 'M', border: 4 }).data;
}

interface Detector {
  detect(source: ImageBitmapSource): Promise<{ rawValue: string }[]>;
}

/** The platform's QR reader, when it has one. */
async function nativeDetector(): Promise<Detector | null> {
  const BD = (globalThis as { BarcodeDetector?: { new (o: { formats: string[] }): Detector; getSupportedFormats(): Promise<string[]> } }).BarcodeDetector;
  if (!BD) return null;
  try {
    return (await BD.getSupportedFormats()).includes('qr_code') ? new BD({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

function decodeWithJsQr(frame: ImageBitmap): string | null {
  const canvas = new OffscreenCanvas(frame.width, frame.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new KioskError('INTERNAL', { reason: 'no 2d context for the QR reader' });
  ctx.drawImage(frame, 0, 0);
  const img = ctx.getImageData(0, 0, frame.width, frame.height);
  return jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' })?.data ?? null;
}

/**
 * Reads camera frames until a QR code whose text `accept` takes appears, then resolves with that text. Rejects with
 * INPUT_QR_NOT_FOUND after `timeoutMs` (naming whether any QR code was seen), WORKER_ABORTED when `signal` aborts,
 * and at once with the camera's own error (CAMERA_DENIED, CAMERA_LOST …) when the camera is or goes in error.
 */
export async function scanQr(
  app: KioskController,
  accept: (text: string) => boolean,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const native = await nativeDetector();
  let seen = 0;
  return new Promise<string>((resolve, reject) => {
    let unwatch = (): void => undefined;
    // Once only: a frame still being decoded when the scan ended must not clear the tap of a scan started since.
    let finished = false;
    const done = (fn: () => void) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      unwatch();
      app.frameTap = null;
      fn();
    };
    const onAbort = () => done(() => reject(new KioskError('WORKER_ABORTED', { reason: 'qr-scan-cancelled' })));
    const timer = setTimeout(() => done(() => reject(new KioskError('INPUT_QR_NOT_FOUND', { seenOther: seen }))), opts.timeoutMs ?? 30_000);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A Cancel pressed while the detector was still being set up (above) fired before the listener existed.
    if (opts.signal?.aborted) return onAbort();
    // No frame comes from a denied, absent or lost camera: its own error now, not "no QR code" after the timeout.
    let failed = false;
    unwatch = watchCamera(app, (e) => {
      failed = true;
      done(() => reject(e));
    });
    if (failed) return unwatch();
    app.frameTap = async (frame) => {
      const text = native ? ((await native.detect(frame))[0]?.rawValue ?? null) : decodeWithJsQr(frame);
      if (text === null) return;
      if (accept(text)) done(() => resolve(text));
      else seen++;
    };
  });
}
