/**
 * The photo card's duplicate warning for a face on the deny list, in real Chromium (real vault, face worker and card).
 * "Enrol as a new person anyway" put a deny-listed face on the allow list under another name, and the door then let
 * them in as that record (attacker review, session 23). The service now refuses it (test/unit/enrol-add-to.test.ts);
 * the card says the match is on the deny list, in English and Chinese, and offers only "Add to <them>".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { enrolCards } from '../../src/ui/enrol-cards';
import { setLang } from '../../src/ui/i18n';
import { choose } from './file-input';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';
import { herPhoto } from './watchlist-people';

const shown: HTMLElement[] = [];
afterEach(() => {
  for (const el of shown.splice(0)) el.remove();
  setLang('en');
  closeKiosks();
});

describe('photo card: a face already on the deny list', () => {
  it.each([
    ['en', '(deny list)'],
    ['zh', '(禁止名单)'],
  ] as const)('says so (%s) and offers no second record on the allow list', async (lang, words) => {
    setLang(lang);
    const { app, ops } = await openKiosk(`enrol-dup-card-${lang}`, new AdjustableClock());
    await ops.setup(PASS, { role: 'attended' });
    const file = async () => new File([await herPhoto()], 'her.jpg', { type: 'image/jpeg' });
    const [carol] = await ops.enrolment.enrolPhotos([{ file: await file(), label: 'Carol', list: 'deny' }]);
    expect(carol?.ok).toBe(true);
    await app.watchlistSettled();

    const root = document.createElement('div');
    root.append(...enrolCards(ops.enrolment, () => app.listSubjects()));
    document.body.append(root);
    shown.push(root);
    const q = <T extends HTMLElement>(id: string) => root.querySelector<T>(`[data-testid="${id}"]`)!;
    choose(q<HTMLInputElement>('enrol-files'), [await file()]);
    q<HTMLInputElement>('enrol-label').value = 'Caroline';
    q<HTMLSelectElement>('enrol-list').value = 'allow';
    q<HTMLButtonElement>('enrol-submit').click();
    await expect.poll(() => q('enrol-message').dataset['tone'], { timeout: 60_000 }).toBe('bad');
    expect(q('enrol-duplicate').hidden).toBe(false);
    expect(q('enrol-duplicate-of').textContent).toContain('Carol');
    expect(q('enrol-duplicate-of').textContent).toContain(words);
    expect(q('enrol-message').textContent).toContain(words);
    expect(q('enrol-as-new').hidden).toBe(true);
    expect(q('enrol-add-to-existing').hidden).toBe(false);
    expect(app.listSubjects().map((s) => [s.label, s.list])).toEqual([['Carol', 'deny']]);
  });
});
