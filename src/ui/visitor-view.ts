/**
 * The visitor kiosk screen: full-screen preview, one big prompt, one big result. Renders an AppSnapshot; it never
 * shows a name unless an admin enabled names, and never shows scores or reasons meant for the guard.
 * Accessible: the prompt is a polite live region, the result an assertive one; colours are not the only signal
 * (each result has a symbol and words).
 */
import type { AppSnapshot } from '../app/controller';
import { h, phrases } from './dom';
import { errorText, t, type StringKey } from './i18n';
import { KioskView } from './kiosk-view';

const PROMPTS: Record<AppSnapshot['prompt']['key'], StringKey> = {
  starting: 'starting',
  notSetUp: 'notSetUp',
  locked: 'lockedPrompt',
  lookAtCamera: 'lookAtCamera',
  quality: 'lookAtCamera',
  checking: 'checking',
  granted: 'granted',
  denied: 'denied',
  uncertain: 'uncertain',
  showPlate: 'showPlate',
  multipleFaces: 'oneAtATime',
  challenge: 'challengeFaceCamera',
  seeGuard: 'seeGuard',
};

/** Challenge prompts: words and an arrow (the visitor's own left/right), so colour or language is never the only cue. */
const CHALLENGE: Record<string, { text: StringKey; symbol: string }> = {
  'turn-left': { text: 'challengeTurnLeft', symbol: '←' },
  'turn-right': { text: 'challengeTurnRight', symbol: '→' },
  closer: { text: 'challengeCloser', symbol: '↑' },
  blink: { text: 'challengeBlink', symbol: '◉' },
  'face-camera': { text: 'challengeFaceCamera', symbol: '●' },
};

const QUALITY: Record<string, StringKey> = {
  'come closer': 'qualityCloser',
  'look at the camera': 'qualityLook',
  'too dark': 'qualityDark',
  'too bright': 'qualityBright',
  'too blurry': 'qualityBlurry',
  'step into the frame': 'qualityFrame',
  'step back': 'qualityStepBack',
};

export class VisitorView {
  readonly root: HTMLElement;
  readonly kiosk: KioskView;
  private readonly result: HTMLElement;

  constructor(onRetryCamera: () => void) {
    this.kiosk = new KioskView();
    this.kiosk.retryButton.addEventListener('click', onRetryCamera);
    this.result = h('div', { class: 'result', role: 'status', 'aria-live': 'assertive', 'data-testid': 'result', hidden: true });
    this.root = h('section', { class: 'visitor', 'data-testid': 'visitor' }, this.kiosk.root, this.result);
  }

  render(s: AppSnapshot): void {
    const k = this.kiosk;
    if (s.modelError) k.showModelError(s.modelError);
    else if (s.camera.status === 'error' && s.camera.error) k.showCameraError(s.camera.error);
    else {
      k.clearError();
      k.setState(s.camera.status === 'live' ? 'live' : 'starting');
    }
    const f = s.detections;
    k.drawDetections(f.faces, f.frameW, f.frameH);
    const p = s.prompt;
    let text = t(PROMPTS[p.key]);
    if (p.key === 'quality' && p.detail) text = t(QUALITY[p.detail] ?? 'lookAtCamera');
    if (p.key === 'granted' && p.label) text = `${t('granted')} — ${p.label}`;
    const ch = p.key === 'challenge' && p.challenge ? CHALLENGE[p.challenge.action] : undefined;
    if (ch && p.challenge) {
      const c = p.challenge;
      const step = c.action === 'face-camera' ? '' : ` (${t('challengeStep')} ${c.step} ${t('challengeOf')} ${c.steps})`;
      text = `${ch.symbol} ${t(ch.text)}${step}`;
    }
    k.setPrompt(text);
    k.root.dataset['challenge'] = p.key === 'challenge' ? (p.challenge?.action ?? '') : '';
    const tone =
      p.key === 'granted' ? 'grant' : p.key === 'denied' ? 'deny' : p.key === 'uncertain' || p.key === 'seeGuard' ? 'warn' : null;
    this.result.hidden = tone === null;
    if (tone) {
      this.result.dataset['tone'] = tone;
      this.result.replaceChildren(...phrases(`${tone === 'grant' ? '✓' : tone === 'deny' ? '✕' : '?'} ${text}`));
    }
    k.root.dataset['tone'] = tone ?? '';
    if (s.error && !s.modelError && s.camera.status !== 'error') k.setNotice(errorText(s.error.code, s.error.message));
  }
}

