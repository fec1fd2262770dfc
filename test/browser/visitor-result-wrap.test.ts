/**
 * The visitor's big result line in Chinese on a phone-sized screen: it wraps between sentences, never inside one.
 * Chinese may break between any two characters, and the hand check (stop 28) saw "禁止通 / 行" (no entry, split).
 * The prompt line above it had the second cause too ("请联系工作人 / 员", stop 29). Two causes, both covered: the fixed, left-50 % box shrank to half the screen, and Chinese broke inside a sentence.
 * Real VisitorView, real stylesheet, real controller snapshot, in Chromium at 360 px.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import '../../src/ui/styles.css';
import { AdjustableClock } from '../../src/shared/clock';
import { lang, setLang } from '../../src/ui/i18n';
import { VisitorView } from '../../src/ui/visitor-view';
import { closeKiosks, openKiosk } from './kiosk-app';

const before = lang();
afterEach(() => {
  setLang(before);
  closeKiosks();
  document.querySelectorAll('section.visitor').forEach((e) => e.remove());
});

/** Renders the Chinese visitor screen at 360 px with one prompt and returns the line `selector` picks. */
async function zhLine(tag: string, key: 'denied' | 'notSetUp', selector: string): Promise<HTMLElement> {
  await page.viewport(360, 740);
  const { app } = await openKiosk(tag, new AdjustableClock());
  setLang('zh');
  const view = new VisitorView(() => undefined);
  document.body.append(view.root);
  view.render({ ...app.snapshot, prompt: { key } });
  return view.root.querySelector<HTMLElement>(selector)!;
}

/** The line is too long for the screen, so it does wrap, and each sentence stays on one line. */
function wrapsBetween(line: HTMLElement, sentences: string[]): void {
  expect(line.textContent).toBe(sentences.join(''));
  const font = parseFloat(getComputedStyle(line).fontSize);
  expect(line.getBoundingClientRect().height).toBeGreaterThan(2 * font);
  const phrases = [...line.querySelectorAll<HTMLElement>('.phrase')];
  expect(phrases.map((p) => p.textContent)).toEqual(sentences);
  for (const p of phrases) expect(p.getBoundingClientRect().height, p.textContent ?? '').toBeLessThan(2 * font);
}

describe('visitor result', () => {
  it('wraps between sentences, not inside one (Chinese, 360 px)', async () => {
    const result = await zhLine('visitor-result-wrap', 'denied', '[data-testid="result"]');
    expect(result.hidden).toBe(false);
    wrapsBetween(result, ['✕ 禁止通行。', '请联系保安。']);
  });

  it('the prompt line too: "not set up" wraps between its sentences (Chinese, 360 px)', async () => {
    wrapsBetween(await zhLine('visitor-prompt-wrap', 'notSetUp', '.prompt'), ['本终端尚未设置。', '请联系工作人员。']);
  });
});
