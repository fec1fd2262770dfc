/**
 * What an admin's camera step (camera enrolment, a QR key scan) does when the kiosk's camera cannot give it frames:
 * it stops at once with the camera's own error (CAMERA_DENIED, CAMERA_ABSENT, CAMERA_BUSY, CAMERA_LOST …, as
 * the controller put it in `snapshot.camera`), instead of waiting out its timeout for frames that never come and
 * then blaming the face or the QR code. Owns only the watch; the caller decides what to stop.
 */
import { KioskError } from '../shared/errors';
import type { KioskController } from './controller';

/**
 * Calls `fail` with the camera's error now if the camera is in error, else as soon as it fails (denied on a
 * restart, unplugged mid-run); once only. Returns the function that ends the watch. A camera that is off or still
 * starting is no failure: frames may yet come (tests feed them through the controller without a camera).
 */
export function watchCamera(app: Pick<KioskController, 'subscribe'>, fail: (e: KioskError) => void): () => void {
  let done = false;
  const unsubscribe = app.subscribe((s) => {
    if (done || s.camera.status !== 'error') return;
    done = true;
    fail(s.camera.error ?? new KioskError('CAMERA_ABSENT'));
  });
  return () => {
    done = true;
    unsubscribe();
  };
}
