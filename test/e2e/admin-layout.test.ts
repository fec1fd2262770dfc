/**
 * Issue 19 item 10, in the built kiosk in real Chromium: the admin console laid out for the job and refreshed
 * README screenshots.
 * - The console's cards come in the order of the job: people, enrolment, sync, settings, device (then audit, wipe).
 * - At a tablet (768x1024) and a phone (390x844) viewport no card is wider than its box (scrollWidth ≤ clientWidth
 *   for every card, the models table and the people table included: wide tables scroll inside their card); there
 *   the people rows are stacked, so nothing of them scrolls sideways and every control is inside the card; at a
 *   landscape tablet (1024x768) the people table fits its card whole as a table, actions included.
 * - Headings are consistent: one h1 for the screen, exactly one h2 per card as its first child, h3 only inside a
 *   card, nothing deeper.
 * - The device card shows the browser's storage estimate.
 * - It takes the README's console pictures at both sizes (docs/screenshots/admin-{tablet,phone}.png with
 *   UPDATE_SCREENSHOTS=1; roles-sync.test.ts takes the visitor, guard and Chinese ones). The only personal data on
 *   them is the test fixture's label "Person A" (face-api's public demo photo; the console shows no photo).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { launch, startKiosk } from './harness';
import { enrolPhotos, fieldsInvitingFill, setupKiosk } from './flows';

// The README's screenshots: refreshed with UPDATE_SCREENSHOTS=1 (otherwise written under test/.cache, so a test
// run does not dirty the work tree), as test/e2e/roles-sync.test.ts does for the other screens.
const SHOTS = resolve(import.meta.dirname, process.env['UPDATE_SCREENSHOTS'] ? '../../docs/screenshots' : '../.cache/screenshots');

/** Cards of the console in screen order, with any that are wider than their box and the heading problems. */
async function layout(page: Page) {
  return page.evaluate(() => {
    const consoleEl = document.querySelector('[data-testid="admin-console"]')!;
    const cards = [...consoleEl.querySelectorAll<HTMLElement>(':scope > section')];
    const overflowing = cards
      .filter((c) => c.scrollWidth > c.clientWidth)
      .map((c) => `${c.dataset['testid']} ${c.scrollWidth}>${c.clientWidth}`);
    const headings: string[] = [];
    if (document.querySelectorAll('[data-testid="admin"] h1').length !== 1) headings.push('h1 count');
    if (consoleEl.querySelector('h1, h4, h5, h6')) headings.push('h1/h4+ inside the console');
    for (const c of cards) {
      const h2 = c.querySelectorAll('h2');
      if (h2.length !== 1 || c.firstElementChild !== h2[0]) headings.push(`${c.dataset['testid']}: ${h2.length} h2, first ${c.firstElementChild?.tagName}`);
    }
    for (const h3 of consoleEl.querySelectorAll('h3')) if (!h3.closest('section.card')) headings.push('h3 outside a card');
    for (const h of consoleEl.querySelectorAll(':scope > h2, :scope > h3')) headings.push(`loose ${h.tagName}`);
    // Anything sticking out of the page on the right, named (tag, test id or class) so a failure says what.
    // (Inside a box that scrolls or clips, an element may be wider: that box is what must fit.)
    const clipped = (e: HTMLElement) => {
      for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return true;
      return false;
    };
    const pageWider = document.documentElement.scrollWidth > innerWidth;
    const wide = [...document.querySelectorAll<HTMLElement>('body *')]
      .filter((e) => pageWider && e.getBoundingClientRect().right > innerWidth + 0.5 && e.getClientRects().length > 0 && !clipped(e))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.dataset['testid'] ? `[${e.dataset['testid']}]` : e.className ? `.${e.className}` : ''}`);
    return { order: cards.map((c) => c.dataset['testid'] ?? ''), overflowing, headings, wide: pageWider && wide.length === 0 ? ['(page, no single element)'] : wide };
  });
}

describe('admin console layout and README screenshots', () => {
  it('orders cards for the job, fits tablet and phone, keeps one heading level per card, and takes screenshots', { timeout: 240_000 }, async () => {
    const photos = inject('photos');
    const server = await startKiosk(inject('distDir'));
    const profile = mkdtempSync(join(tmpdir(), 'admin-layout-'));
    // No camera: the pictures start at the console's heading, and no frame competes with set-up for the cores.
    const b = await launch({ userDataDir: profile });
    const page = b.page;
    try {
      mkdirSync(SHOTS, { recursive: true });
      await setupKiosk(page, server.url);
      expect((await enrolPhotos(page, 'Person A', 'allow', [photos.personA])).tone).toBe('ok');
      // A second person: each row then has the merge choice too, the widest a row gets.
      expect((await enrolPhotos(page, 'Person B', 'allow', [photos.personB])).tone).toBe('ok');
      await page.locator('[data-testid="model-licences"] tbody tr').first().waitFor({ timeout: 60_000 });
      await page.locator('[data-testid="storage-used"]').waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('storage-status').getAttribute('data-quota')).toMatch(/^[1-9]\d*$/);

      const first = await layout(page);
      const at = (id: string) => first.order.indexOf(id);
      for (const id of ['section-people', 'section-enrol-photos', 'section-sync', 'section-settings', 'section-pairing', 'section-models', 'section-audit'])
        expect(at(id), id).toBeGreaterThanOrEqual(0);
      expect(first.order[0]).toBe('section-people');
      expect(at('section-people')).toBeLessThan(at('section-enrol-photos'));
      expect(Math.max(at('section-enrol-photos'), at('section-enrol-camera'), at('section-bulk'), at('section-plates'))).toBeLessThan(at('section-sync'));
      expect(Math.max(at('section-sync'), at('section-pull'))).toBeLessThan(at('section-settings'));
      expect(at('section-settings')).toBeLessThan(at('section-pairing'));
      expect(Math.max(at('section-pairing'), at('section-storage'), at('section-models'))).toBeLessThan(at('section-audit'));
      expect(first.headings).toEqual([]);
      // The console's secret fields (audit, site passphrase, maintenance, a new guard's PIN) ask never to be filled.
      const fill = await fieldsInvitingFill(page);
      expect(fill.offenders).toEqual([]);
      expect(fill.secrets).toBeGreaterThanOrEqual(4);

      for (const viewport of [
        { width: 768, height: 1024 },
        { width: 390, height: 844 },
      ]) {
        await page.setViewportSize(viewport);
        await page.waitForTimeout(300);
        const l = await layout(page);
        expect(l.overflowing, `${viewport.width}x${viewport.height}`).toEqual([]);
        expect(l.headings).toEqual([]);
        expect(l.wide, `wider than the ${viewport.width} px page`).toEqual([]);
        // The people rows stack below a landscape tablet: nothing scrolls sideways and every control, the actions
        // included, is inside the card (at 768 px they were cut at its right edge, hand check stop 35).
        const people = await page.evaluate(() => {
          const t = document.querySelector<HTMLElement>('[data-testid="people-table"]')!;
          const box = t.closest<HTMLElement>('.table-scroll')!;
          const edge = box.getBoundingClientRect();
          const controls = [...t.querySelectorAll<HTMLElement>('tbody button, tbody input, tbody select')];
          const off = controls
            .filter((e) => {
              const r = e.getBoundingClientRect();
              return r.right > edge.right + 0.5 || r.left < edge.left - 0.5;
            })
            .map((e) => e.dataset['testid'] ?? e.tagName);
          return { table: t.scrollWidth, box: box.clientWidth, controls: controls.length, off };
        });
        expect(people.table, JSON.stringify(people)).toBeLessThanOrEqual(people.box);
        expect(people.controls).toBeGreaterThan(10);
        expect(people.off, `${viewport.width}x${viewport.height}`).toEqual([]);
        // The README's console pictures, at both sizes, from the console's heading down.
        await page.getByTestId('admin').evaluate((e) => e.scrollIntoView());
        await page.screenshot({ path: join(SHOTS, `admin-${viewport.width < 500 ? 'phone' : 'tablet'}.png`) });
      }

      // A landscape tablet shows the whole people table, actions included, without scrolling it sideways (hand
      // check, stop 29: at 1024 px "Delete" showed as "D" and the file and merge boxes were cut off).
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.waitForTimeout(300);
      const people = await page.evaluate(() => {
        const t = document.querySelector<HTMLElement>('[data-testid="people-table"]')!;
        return { table: t.scrollWidth, box: t.closest<HTMLElement>('.table-scroll')!.clientWidth };
      });
      expect(people.table, JSON.stringify(people)).toBeLessThanOrEqual(people.box);

      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
