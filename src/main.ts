/**
 * Composition root: wires the camera, the face worker, the offline layer and the views. No logic lives here beyond
 * the order things start in and which module's output feeds which.
 */
import { Camera, runFrameLoop } from './capture/camera';
import { DEFAULTS } from './config/defaults';
import { FaceClient } from './inference/client/face-client';
import { registerOffline } from './offline/register';
import { KioskError, isKioskError } from './shared/errors';
import { KioskView } from './ui/kiosk-view';
import { t } from './ui/i18n';

const app = document.getElementById('app')!;
const view = new KioskView();
app.replaceChildren(view.root);

let lastActivity = 0;
const IDLE_MS = 30_000;

void registerOffline({
  onStatus: (s) => {
    if (!s.ready || s.progress < 1) view.showProgress(s.progress);
    else view.showProgress(1);
    view.setNotice(s.updateWaiting ? t('updateWaiting') : null);
  },
  isIdle: () => performance.now() - lastActivity > IDLE_MS,
});

const camera = new Camera(view.video);
const faces = new FaceClient();
let loop: AbortController | null = null;

async function start(): Promise<void> {
  loop?.abort();
  view.clearError();
  view.setState('starting');
  view.setPrompt(t('starting'));
  try {
    await camera.start(DEFAULTS.camera);
  } catch (e) {
    view.showCameraError(isKioskError(e) ? e : new KioskError('CAMERA_ABSENT'));
    return;
  }
  view.setState('live');
  view.setPrompt(t('lookAtCamera'));
  const ctl = new AbortController();
  loop = ctl;
  void runFrameLoop(
    ctl.signal,
    camera,
    async (frame) => {
      const w = frame.width;
      const h = frame.height;
      const found = await faces.detect(ctl.signal, frame);
      if (found.length > 0) lastActivity = performance.now();
      view.drawDetections(found, w, h);
      view.setPrompt(found.length === 0 ? t('lookAtCamera') : found.length === 1 ? t('faceSeen') : `${found.length} ${t('facesSeen')}`);
    },
    (e) => {
      if (isKioskError(e) && (e.code === 'MODEL_INTEGRITY' || e.code === 'MODEL_MISSING')) {
        ctl.abort();
        view.showModelError(e);
      }
    },
  );
}

camera.onLost((err) => {
  loop?.abort();
  view.showCameraError(err);
  // An unplugged USB camera often comes back: retry quietly.
  setTimeout(() => void (camera.running ? undefined : start()), 3_000);
});
view.retryButton.addEventListener('click', () => void start());
void start();
