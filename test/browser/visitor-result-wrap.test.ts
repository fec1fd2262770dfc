/**
 * The visitor's big result line in Chinese on a phone-sized screen: it wraps between sentences, never inside one.
 * Chinese may break between any two characters, and the hand check (stop 28) saw "禁止通 / 行" (no entry, split).
 * Two causes, both covered: the fixed, left-50 % box shrank to half the screen, and Chinese broke inside a sentence.
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

describe('visitor result', () => {
  it('wraps between sentences, not inside one (Chinese, 360 px)', async () => {
    await page.viewport(360, 740);
    const { app } = await openKiosk('visitor-result-wrap', new AdjustableClock());
    setLang('zh');
    const view = new VisitorView(() => undefined);
    document.body.append(view.root);
    view.render({ ...app.snapshot, prompt: { key: 'denied' } });
    const result = view.root.querySelector<HTMLElement>('[data-testid="result"]')!;
    expect(result.hidden).toBe(false);
    expect(result.textContent).toBe('✕ 禁止通行。请联系保安。');
    const font = parseFloat(getComputedStyle(result).fontSize);
    // The line is too long for the screen, so it does wrap...
    expect(result.getBoundingClientRect().height).toBeGreaterThan(2 * font);
    // ...and each sentence stays on one line.
    const phrases = [...result.querySelectorAll<HTMLElement>('.phrase')];
    expect(phrases.map((p) => p.textContent)).toEqual(['✕ 禁止通行。', '请联系保安。']);
    for (const p of phrases) expect(p.getBoundingClientRect().height, p.textContent ?? '').toBeLessThan(2 * font);
  });
});
