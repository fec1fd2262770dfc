/**
 * The kiosk's live view: camera preview, face boxes drawn on an overlay, the visitor prompt, the first-run progress
 * bar and the camera-failure screen.
 *
 * A view only renders what it is given: it imports no worker, store or crypto code. Boxes arrive in camera-frame
 * pixels and are scaled to the displayed video here. The last drawn boxes are mirrored into `data-boxes` on the
 * stage so end-to-end tests (and assistive tooling) can read what the kiosk believes it sees.
 */
import type { KioskError } from '../shared/errors';
import type { FaceDetection } from '../shared/types';
import { h, phrases } from './dom';
import { errorText, t } from './i18n';

export type KioskState = 'starting' | 'live' | 'camera-error' | 'model-error';

export class KioskView {
  readonly root: HTMLElement;
  readonly video: HTMLVideoElement;
  private readonly overlay: HTMLCanvasElement;
  private readonly stage: HTMLElement;
  private readonly prompt: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly progressBar: HTMLElement;
  private readonly progressLabel: HTMLElement;
  private readonly errorPanel: HTMLElement;
  private readonly errorTitle: HTMLElement;
  private readonly errorText: HTMLElement;
  readonly retryButton: HTMLButtonElement;
  private readonly notice: HTMLElement;

  constructor() {
    this.video = h('video', { muted: true, playsinline: true, autoplay: true, 'aria-label': t('cameraPreview') });
    this.overlay = h('canvas', { class: 'overlay', 'aria-hidden': 'true' });
    this.stage = h('div', { class: 'stage', 'data-testid': 'stage', 'data-boxes': '[]' }, this.video, this.overlay);
    this.prompt = h('p', { class: 'prompt', 'data-testid': 'prompt' }, t('starting'));
    this.progressBar = h('div', { class: 'bar' });
    this.progressLabel = h('span', { class: 'label' }, t('firstRun'));
    this.progress = h(
      'div',
      {
        class: 'progress',
        role: 'progressbar',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': 0,
        'aria-label': t('firstRun'),
        'data-testid': 'precache-progress',
        hidden: true,
      },
      this.progressBar,
      this.progressLabel,
    );
    this.errorTitle = h('h2', {});
    this.errorText = h('p', {});
    this.retryButton = h('button', { type: 'button', class: 'big' }, t('retry'));
    this.errorPanel = h(
      'div',
      { class: 'error-panel', role: 'alert', 'data-testid': 'error-panel', hidden: true },
      this.errorTitle,
      this.errorText,
      h('p', { class: 'help' }, t('cameraHelp')),
      this.retryButton,
    );
    this.notice = h('p', { class: 'notice', 'data-testid': 'notice', hidden: true });
    this.root = h(
      'section',
      { class: 'kiosk', 'data-state': 'starting', 'data-testid': 'kiosk' },
      this.progress,
      this.stage,
      this.prompt,
      this.errorPanel,
      this.notice,
    );
  }

  setState(state: KioskState): void {
    this.root.dataset['state'] = state;
  }

  /** First-run precache progress, 0..1; hidden again a moment after it completes. */
  showProgress(fraction: number): void {
    const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
    this.progress.hidden = false;
    this.progress.setAttribute('aria-valuenow', String(pct));
    this.progressBar.style.width = `${pct}%`;
    this.progressLabel.textContent = pct >= 100 ? t('firstRunDone') : `${t('firstRun')} ${pct}%`;
    if (pct >= 100) setTimeout(() => (this.progress.hidden = true), 1500);
  }

  showCameraError(err: KioskError): void {
    this.setState('camera-error');
    this.errorTitle.textContent =
      err.code === 'CAMERA_DENIED'
        ? t('cameraDeniedTitle')
        : err.code === 'CAMERA_LOST'
          ? t('cameraLostTitle')
          : t('cameraAbsentTitle');
    this.errorText.textContent = errorText(err.code, err.message);
    this.errorPanel.dataset['code'] = err.code;
    this.errorPanel.hidden = false;
    this.drawDetections([], 1, 1);
  }

  showModelError(err: KioskError): void {
    this.setState('model-error');
    this.errorTitle.textContent = t('modelError');
    this.errorText.textContent = errorText(err.code, err.message);
    this.errorPanel.dataset['code'] = err.code;
    this.errorPanel.hidden = false;
  }

  clearError(): void {
    this.errorPanel.hidden = true;
    delete this.errorPanel.dataset['code'];
  }

  setNotice(text: string | null): void {
    this.notice.hidden = text === null;
    this.notice.textContent = text ?? '';
  }

  setPrompt(text: string): void {
    if (this.prompt.textContent !== text) this.prompt.replaceChildren(...phrases(text));
  }

  /** Draws boxes given in frame pixels (frameW x frameH) over the displayed video. */
  drawDetections(faces: FaceDetection[], frameW: number, frameH: number): void {
    const rect = this.video.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(rect.width * dpr));
    const hgt = Math.max(1, Math.round(rect.height * dpr));
    if (this.overlay.width !== w || this.overlay.height !== hgt) {
      this.overlay.width = w;
      this.overlay.height = hgt;
    }
    const ctx = this.overlay.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, w, hgt);
    // The video is shown with object-fit: contain; map frame pixels into the letterboxed area.
    const scale = Math.min(w / frameW, hgt / frameH);
    const ox = (w - frameW * scale) / 2;
    const oy = (hgt - frameH * scale) / 2;
    ctx.lineWidth = Math.max(2, 3 * dpr);
    ctx.strokeStyle = '#3ee07a';
    for (const f of faces) {
      ctx.strokeRect(ox + f.box.x * scale, oy + f.box.y * scale, f.box.width * scale, f.box.height * scale);
    }
    this.stage.dataset['boxes'] = JSON.stringify(
      faces.map((f) => ({
        x: Math.round(f.box.x),
        y: Math.round(f.box.y),
        w: Math.round(f.box.width),
        h: Math.round(f.box.height),
        score: Math.round(f.score * 100) / 100,
      })),
    );
    this.stage.dataset['frame'] = `${frameW}x${frameH}`;
  }
}
