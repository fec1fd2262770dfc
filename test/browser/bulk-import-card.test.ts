/**
 * The bulk-import card with a CSV file as an admin chooses it, in real Chromium: real vault and app layer, the card
 * rendered, the file given to its file input. Review of bad input, finding 3: the card read the file with
 * `File.text()`, which decodes anything as UTF-8 with replacement characters, so a Windows-1252 CSV (Excel's "CSV
 * (comma delimited)") enrolled "Zoë Müller" as "Zo\uFFFD M\uFFFDller". The file now goes to the service, which reads
 * it as UTF-8 only (a byte-order mark is fine) and refuses another encoding with the row, the column and what to do.
 * Finding 8: a photo the CSV names but not chosen is reported for its row alone, with no raw `{file}`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/shared/clock';
import { enrolCards } from '../../src/ui/enrol-cards';
import { setLang } from '../../src/ui/i18n';
import { choose } from './file-input';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS } from './vault-helpers';

const shown: HTMLElement[] = [];
afterEach(() => {
  for (const el of shown.splice(0)) el.remove();
  closeKiosks();
});

describe('bulk import card', () => {
  it('refuses a CSV that is not UTF-8 with the row, column and "CSV UTF-8"; reads a UTF-8 one with a BOM as written', async () => {
    setLang('en');
    const { app, ops } = await openKiosk('bulk-import-card', new AdjustableClock());
    await ops.setup(PASS, { role: 'attended' });
    const root = document.createElement('div');
    root.append(...enrolCards(ops.enrolment, () => app.listSubjects()));
    document.body.append(root);
    shown.push(root);
    const q = <T extends HTMLElement>(id: string) => root.querySelector<T>(`[data-testid="${id}"]`)!;
    const importFile = async (bytes: Uint8Array<ArrayBuffer>): Promise<HTMLElement> => {
      choose(q<HTMLInputElement>('bulk-csv'), [new File([bytes], 'people.csv', { type: 'text/csv' })]);
      q<HTMLButtonElement>('bulk-submit').click();
      const out = q('bulk-message');
      await expect.poll(() => out.dataset['tone'], { timeout: 10_000 }).not.toBe('busy');
      return out;
    };

    // Excel's "CSV (comma delimited)" on a Western tablet: Windows-1252, "ë" and "ü" one byte each.
    const text = 'file,label,list\r\nann.jpg,Ann,allow\r\nzoe.jpg,Zo\u00eb M\u00fcller,allow\r\n';
    const bad = await importFile(Uint8Array.from(text, (c) => c.charCodeAt(0)));
    expect(bad.dataset['tone']).toBe('bad');
    expect(bad.dataset['code']).toBe('INPUT_CSV_ROW');
    expect(bad.textContent).toContain(
      'Nothing was imported. CSV row 3, column Name: the file is not saved as UTF-8 text',
    );
    expect(bad.textContent).toContain('"CSV UTF-8 (Comma delimited)"');
    expect(app.listSubjects()).toEqual([]);

    // The same file saved as "CSV UTF-8" (with the byte-order mark Excel writes). No photo is chosen, so the row's
    // line is the missing photo's — with the name read as written, and words that say only this row was not imported.
    const utf8 = await importFile(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]));
    expect(utf8.dataset['tone']).toBe('ok');
    const lines = [...q('bulk-report').querySelectorAll('li')].map((li) => li.firstChild!.textContent);
    expect(lines).toEqual([
      'ann.jpg → Ann: The photo this CSV row names is not among the chosen photos. This row was not imported; the other rows have their own lines. CSV row 2, column Photo file: choose it together with the other photos; the name must match exactly (extension, upper and lower case).',
      'zoe.jpg → Zoë Müller: The photo this CSV row names is not among the chosen photos. This row was not imported; the other rows have their own lines. CSV row 3, column Photo file: choose it together with the other photos; the name must match exactly (extension, upper and lower case).',
    ]);
  });
});
