/**
 * Issue 19, item 1, end to end in the built kiosk with real photos: a person is one record. Enrol A from a photo,
 * then add a plate and a second photo to the same person → one row with two templates and the plate; enrolling A's
 * face under a new name is refused with a warning naming A, whose first choice adds the photo to A; a plate A holds
 * is refused for anyone else with A named; search and sort find people; merging two people leaves one row with
 * everything of both. Nothing here needs the camera (the fake one shows an empty doorway).
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Page } from 'playwright-core';
import { launch, startKiosk } from './harness';
import { enrolPhotos, outcome, peopleCount, setupKiosk } from './flows';

const row = (page: Page, label: string) => page.locator(`[data-testid="people-table"] tbody tr[data-label="${label}"]`);

async function cells(page: Page, label: string): Promise<{ templates: number; plates: string }> {
  const r = row(page, label);
  await r.waitFor();
  return { templates: Number(await r.locator('td').nth(2).innerText()), plates: await r.locator('td').nth(3).innerText() };
}

/** Clicks a button of a person's row and waits for the people list's outcome. */
async function rowAction(page: Page, label: string, button: string) {
  await page.evaluate(() => document.querySelector('[data-testid="people-message"]')?.removeAttribute('data-tone'));
  await row(page, label).getByTestId(button).click();
  return outcome(page, 'people-message');
}

/** An outcome line's words without its small details line (where the code belongs), and that line. */
async function wordsAndDetails(page: Page, testid: string): Promise<{ words: string; details: string }> {
  return page.evaluate((id) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    const details = el?.querySelector('[data-testid="error-details"]')?.textContent ?? '';
    return { words: (el?.textContent ?? '').replace(details, ''), details };
  }, testid);
}

async function visibleLabels(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="people-table"] tbody tr', (els) => els.map((e) => e.getAttribute('data-label') ?? ''));
}

describe('a person is one record', () => {
  it('adds a plate and photos to a person, warns about a known face, refuses a held plate, searches and merges', { timeout: 300_000 }, async () => {
    const photos = inject('photos');
    const feeds = inject('feeds');
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-people-'));
    const server = await startKiosk(inject('distDir'));
    const b = await launch({ fakeCamera: feeds.noFace, userDataDir: profile });
    b.page.on('dialog', (d) => void d.accept());
    try {
      await setupKiosk(b.page, server.url);
      expect((await enrolPhotos(b.page, 'Person A', 'allow', [photos.personA])).tone).toBe('ok');
      expect(await cells(b.page, 'Person A')).toEqual({ templates: 1, plates: '' });

      // Add a plate and a second photo to A: still one row.
      // The plate as it will be stored shows before saving, and the outcome says what was stored (not a bare "Added:").
      await row(b.page, 'Person A').getByTestId('add-plate-number').fill('4S5 0233');
      expect(await row(b.page, 'Person A').getByTestId('add-plate-preview').innerText()).toBe('Will be saved as: 4S50233');
      const plateAdded = await rowAction(b.page, 'Person A', 'add-plate');
      expect(plateAdded.tone).toBe('ok');
      expect(plateAdded.text).toBe('Added: 4S50233');
      await row(b.page, 'Person A').getByTestId('add-photos-files').setInputFiles([photos.personAOther]);
      // The picker says what is chosen in the screen's words (the browser's own control would say "No file chosen"
      // in the browser's language).
      expect(await row(b.page, 'Person A').getByTestId('add-photos-files-chosen').innerText()).toBe(basename(photos.personAOther));
      const added = await rowAction(b.page, 'Person A', 'add-photos');
      expect(added.tone, added.text).toBe('ok');
      // Cleared once added: a second press cannot add the same photo again.
      expect(await row(b.page, 'Person A').getByTestId('add-photos-files-chosen').innerText()).toBe('No file chosen');
      expect(await peopleCount(b.page)).toBe(1);
      expect(await cells(b.page, 'Person A')).toEqual({ templates: 2, plates: '4S50233' });
      // The validity as typed, read back in the screen's language under the browser's date control.
      expect(await row(b.page, 'Person A').getByTestId('edit-valid-until-read').innerText()).toBe('Valid until: not set');
      await row(b.page, 'Person A').getByTestId('edit-valid-until').fill('2030-01-01T10:00');
      expect(await row(b.page, 'Person A').getByTestId('edit-valid-until-read').innerText()).toBe('Valid until: 1 Jan 2030, 10:00');
      await row(b.page, 'Person A').getByTestId('edit-valid-until').fill('');
      // A photo with no face added to A: refused naming the file, in words; the code only in the details line.
      await row(b.page, 'Person A').getByTestId('add-photos-files').setInputFiles([photos.noFace]);
      const noFace = await rowAction(b.page, 'Person A', 'add-photos');
      expect(noFace.tone).toBe('bad');
      expect(noFace.code).toBe('INPUT_NO_FACE');
      const noFaceWords = await wordsAndDetails(b.page, 'people-message');
      expect(noFaceWords.words).toMatch(new RegExp(`^${basename(photos.noFace).replace('.', '\\.')}: No face was found`));
      expect(noFaceWords.words).not.toContain('INPUT_NO_FACE');
      expect(noFaceWords.details).toContain('INPUT_NO_FACE');
      expect(await cells(b.page, 'Person A')).toEqual({ templates: 2, plates: '4S50233' });

      // A's face under a new name: refused with a warning naming A; the first choice adds the photo to A.
      const dup = await enrolPhotos(b.page, 'Someone Else', 'allow', [photos.personAOther]);
      expect(dup.tone).toBe('bad');
      expect(dup.code).toBe('ENROL_DUPLICATE_FACE');
      expect(dup.text).toContain('Person A');
      const dupWords = await wordsAndDetails(b.page, 'enrol-message');
      expect(dupWords.words).not.toContain('ENROL_DUPLICATE_FACE');
      expect(dupWords.details).toContain('ENROL_DUPLICATE_FACE');
      const choices = b.page.getByTestId('enrol-duplicate').locator('button');
      expect(await choices.first().getAttribute('data-testid')).toBe('enrol-add-to-existing');
      expect(await choices.first().innerText()).toContain('Person A');
      expect(await peopleCount(b.page)).toBe(1);
      // A new attempt clears the last one's choice, also when refused at once (no file chosen): then the choice is
      // offered again by enrolling the photo again.
      await b.page.getByTestId('enrol-files').setInputFiles([]);
      await b.page.evaluate(() => document.querySelector('[data-testid="enrol-message"]')?.removeAttribute('data-tone'));
      await b.page.getByTestId('enrol-submit').click();
      expect((await outcome(b.page, 'enrol-message')).tone).toBe('bad');
      expect(await b.page.getByTestId('enrol-duplicate').isVisible()).toBe(false);
      expect((await enrolPhotos(b.page, 'Someone Else', 'allow', [photos.personAOther])).code).toBe('ENROL_DUPLICATE_FACE');
      await b.page.evaluate(() => document.querySelector('[data-testid="enrol-message"]')?.removeAttribute('data-tone'));
      await choices.first().click();
      expect((await outcome(b.page, 'enrol-message')).tone).toBe('ok');
      expect(await peopleCount(b.page)).toBe(1);
      expect((await cells(b.page, 'Person A')).templates).toBe(3);

      // A's plate for someone else (a vehicle entry, typed with a space and a look-alike letter): refused, A named.
      const plates = b.page.getByTestId('section-plates');
      await plates.getByTestId('plate-label').fill('Delivery van');
      await plates.getByTestId('plate-numbers').fill('4S5 O233');
      await plates.getByTestId('plate-submit').click();
      const taken = await outcome(b.page, 'plate-message');
      expect(taken.tone).toBe('bad');
      expect(taken.code).toBe('ENROL_PLATE_TAKEN');
      expect(taken.text).toContain('Person A');
      const takenWords = await wordsAndDetails(b.page, 'plate-message');
      expect(takenWords.words).not.toContain('ENROL_PLATE_TAKEN');
      expect(takenWords.details).toContain('ENROL_PLATE_TAKEN');
      expect(await peopleCount(b.page)).toBe(1);

      // Another person (a different face: no warning), then search and sort.
      const other = await enrolPhotos(b.page, 'Person B', 'deny', [photos.personB]);
      expect(other.tone, other.text).toBe('ok');
      expect(await peopleCount(b.page)).toBe(2);
      await b.page.getByTestId('people-search').fill('4s50233');
      await b.page.waitForFunction(() => document.querySelectorAll('[data-testid="people-table"] tbody tr').length === 1);
      expect(await visibleLabels(b.page)).toEqual(['Person A']);
      expect(await b.page.getByTestId('people-no-match').count()).toBe(0);
      // A search nobody matches says so (not only the table's headers).
      await b.page.getByTestId('people-search').fill('nobody by this name');
      await b.page.getByTestId('people-no-match').waitFor();
      expect(await b.page.getByTestId('people-no-match').innerText()).toBe('No one matches this search.');
      await b.page.getByTestId('people-search').fill('');
      await b.page.getByTestId('people-sort').selectOption('newest');
      await b.page.waitForFunction(() => document.querySelector('[data-testid="people-table"] tbody tr')?.getAttribute('data-label') === 'Person B');
      expect(await visibleLabels(b.page)).toEqual(['Person B', 'Person A']);

      // Merge with no one picked: nothing is merged (the list's first person is not taken by default), and the
      // admin is told to pick. No question is asked for it.
      const asked: string[] = [];
      b.page.on('dialog', (d) => void asked.push(d.message()));
      expect(await row(b.page, 'Person A').getByTestId('merge-with').inputValue()).toBe('');
      const unpicked = await rowAction(b.page, 'Person A', 'merge');
      expect(unpicked.tone).toBe('bad');
      expect(unpicked.text).toBe('Choose the person to merge with first.');
      expect(asked).toEqual([]);
      expect(await peopleCount(b.page)).toBe(2);

      // Merge B into A: one row with everything of both, on the deny list (a merge never widens who gets in); the
      // question names who is merged into whom.
      await row(b.page, 'Person A').getByTestId('merge-with').selectOption({ label: 'Person B' });
      expect((await rowAction(b.page, 'Person A', 'merge')).tone).toBe('ok');
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatch(/^Merge “Person B” into “Person A”\?/);
      expect(await peopleCount(b.page)).toBe(1);
      expect(await cells(b.page, 'Person A')).toEqual({ templates: 4, plates: '4S50233' });
      expect(await row(b.page, 'Person A').getByTestId('edit-list').inputValue()).toBe('deny');
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
