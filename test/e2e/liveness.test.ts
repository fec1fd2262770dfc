/**
 * Issue 20 end to end, in the built kiosk with Chromium's fake camera looping ONE photo of an enrolled person — a
 * still-image attack, exactly what holding a photo still in front of the camera looks like to the pipeline:
 *   - PAD passive + active (the unattended visitor kiosk): never granted; the outcome is deny-spoof, or the challenge
 *     times out and the visitor is told to see the guard;
 *   - the same with the passive threshold lowered so far that the photo passes it: the challenge runs (prompt with an
 *     arrow or symbol), the photo cannot perform it, time-out → "please see the guard", still no grant;
 *   - PAD passive (an attended kiosk): the guard screen shows the PAD score next to the decision;
 *   - PAD off: the same person at the same camera is granted — so it is PAD that refused above;
 *   - PAD on and the photo brought close (the face over half the frame's height): "step back", nothing decided (the
 *     PAD distance gate, pad.minContextScale).
 * The photo is held at arm's length (personAHeld: the picture at 65% of the frame on a grey wall) for the first four.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import { launch, startKiosk } from './harness';
import { enrolPhotos, guardDecisions, openGuardScreen, saveSetting, setPadPolicy, setupKiosk, unlockAdmin } from './flows';

/** Every decision the guard list shows, with its PAD score when one was shown. */
async function decisions(page: Page): Promise<{ outcome: string; text: string; pad: number | null }[]> {
  return page.$$eval('[data-testid="guard-decisions"] li', (els) =>
    els.map((e) => {
      const pad = e.querySelector<HTMLElement>('.pad')?.dataset['pad'];
      return { outcome: e.getAttribute('data-outcome') ?? '', text: (e as HTMLElement).innerText, pad: pad ? Number(pad) : null };
    }),
  );
}

describe('presentation-attack detection end to end', () => {
  it('a still photo of an enrolled person is never granted with PAD on, is granted with PAD off, and the guard sees the PAD score', async () => {
    const photos = inject('photos');
    const feeds = inject('feeds');
    const profile = mkdtempSync(join(tmpdir(), 'kiosk-liveness-'));
    const server = await startKiosk(inject('distDir'));
    // The photo held up at arm's length (context around it in view, as the PAD distance gate requires).
    let b = await launch({ fakeCamera: feeds.personAHeld, userDataDir: profile });
    try {
      await setupKiosk(b.page, server.url);
      // The unattended visitor kiosk's policy, set explicitly (the default follows the device role).
      await setPadPolicy(b.page, 'active');
      // The photo stays in view for every attempt below: the kiosk may decide about it again after 5 s.
      await saveSetting(b.page, 'setting-presence-cooldown', '5');
      expect((await enrolPhotos(b.page, 'Person A', 'allow', [photos.personA])).tone).toBe('ok');
      // Open set: one template keeps the configured accept threshold; the admin screen shows it and the expected FPIR.
      await b.page.waitForFunction(() => document.querySelector('[data-testid="open-set-threshold"]')?.textContent?.includes('(1 '), null, { timeout: 30_000 });
      expect(await b.page.getByTestId('open-set-threshold').innerText()).toMatch(/^0\.450 \(1 templates\)$/);
      expect(await b.page.getByTestId('open-set-fpir').innerText()).toMatch(/% \(target ≤ 0\.10%\)$/);
      expect(await b.page.getByTestId('open-set').getAttribute('data-reachable')).toBe('true');

      // 1. Passive + active: the visitor screen asks for an action or refuses; the guard never sees a grant.
      await b.page.goto(`${server.url}#/`);
      const first = await b.page.waitForFunction(
        () => {
          const k = document.querySelector<HTMLElement>('[data-testid="kiosk"]');
          const r = document.querySelector<HTMLElement>('[data-testid="result"]');
          if (k?.dataset['challenge']) return { challenge: k.dataset['challenge'], prompt: document.querySelector('[data-testid="prompt"]')?.textContent ?? '' };
          if (r && !r.hidden && r.dataset['tone'] !== 'grant') return { result: r.innerText };
          return null;
        },
        null,
        { timeout: 90_000, polling: 100 },
      );
      const seen = (await first.jsonValue()) as { challenge?: string; prompt?: string; result?: string };
      if (seen.challenge) expect(seen.prompt).toMatch(/[←→↑◉●]/); // an arrow or symbol, not only words
      const refused = await b.page.waitForFunction(
        () => {
          const r = document.querySelector<HTMLElement>('[data-testid="result"]');
          return r && !r.hidden ? { tone: r.dataset['tone'], text: r.innerText } : null;
        },
        null,
        { timeout: 60_000, polling: 100 },
      );
      const result = (await refused.jsonValue()) as { tone: string; text: string };
      expect(result.tone).not.toBe('grant');
      expect(result.text).toMatch(/see the guard/i);
      await openGuardScreen(b.page, server.url); // the visitor screen ended the admin session
      const firstOutcome = (await guardDecisions(b.page))[0];
      expect(['deny-spoof', 'uncertain']).toContain(firstOutcome?.outcome);
      if (firstOutcome?.outcome === 'uncertain') expect(firstOutcome.text).toMatch(/challenge not completed: timeout/);
      // Keep watching: a second attempt (the photo is still there) must not be granted either.
      await b.page.waitForFunction(() => document.querySelectorAll('[data-testid="guard-decisions"] li').length >= 2, null, { timeout: 60_000, polling: 200 });
      const active = await decisions(b.page);
      expect(active.map((d) => d.outcome)).not.toContain('grant');
      expect(active.every((d) => ['deny-spoof', 'uncertain'].includes(d.outcome))).toBe(true);

      // 1b. Passive PAD made permissive (live threshold 0.01): the photo reaches the active challenge, which it cannot
      // perform — time-out, "please see the guard", never a grant.
      await unlockAdmin(b.page, server.url);
      await setPadPolicy(b.page, 'active', '0.01');
      await b.page.goto(`${server.url}#/`);
      const asked = await b.page.waitForFunction(
        () => {
          const k = document.querySelector<HTMLElement>('[data-testid="kiosk"]');
          return k?.dataset['challenge'] ? { action: k.dataset['challenge'], prompt: document.querySelector('[data-testid="prompt"]')?.textContent ?? '' } : null;
        },
        null,
        { timeout: 90_000, polling: 50 },
      );
      const challenge = (await asked.jsonValue()) as { action: string; prompt: string };
      expect(challenge.prompt).toMatch(/[←→↑◉]/);
      const timedOut = await b.page.waitForFunction(
        () => {
          const r = document.querySelector<HTMLElement>('[data-testid="result"]');
          return r && !r.hidden ? { tone: r.dataset['tone'], text: r.innerText } : null;
        },
        null,
        { timeout: 60_000, polling: 100 },
      );
      expect(await timedOut.jsonValue()).toEqual({ tone: 'warn', text: '? Please see the guard.' });
      await openGuardScreen(b.page, server.url); // the visitor screen ended the admin session
      const afterChallenge = (await decisions(b.page))[0]!;
      expect(afterChallenge.outcome).toBe('uncertain');
      expect(afterChallenge.text).toMatch(/challenge not completed: timeout/);
      expect((await decisions(b.page)).map((d) => d.outcome)).not.toContain('grant');

      // 2. Passive only (an attended kiosk) at the default threshold: the guard reads the PAD score with the decision.
      await unlockAdmin(b.page, server.url);
      await setPadPolicy(b.page, 'passive', '');
      await b.page.goto(`${server.url}#/guard`);
      const before = (await decisions(b.page)).length;
      await b.page.waitForFunction(
        (n) => {
          const li = [...document.querySelectorAll('[data-testid="guard-decisions"] li')];
          return li.length > n && ['grant', 'deny-spoof'].includes(li[0]!.getAttribute('data-outcome') ?? '');
        },
        before,
        { timeout: 90_000, polling: 200 },
      );
      const passive = (await decisions(b.page))[0]!;
      expect(passive.pad).not.toBeNull();
      expect(passive.text).toContain(`PAD ${passive.pad!.toFixed(3)}`);
      // The score is the one the decision was made on: a grant only above the live threshold, a spoof only below.
      const live = DEFAULT_FACE_CONFIG.pad.liveThreshold;
      if (passive.outcome === 'grant') expect(passive.pad!).toBeGreaterThanOrEqual(live);
      else expect(passive.pad!).toBeLessThan(live);

      // 3. PAD off: the same photo of the same enrolled person is granted.
      await unlockAdmin(b.page, server.url);
      await setPadPolicy(b.page, 'off');
      await b.page.goto(`${server.url}#/guard`);
      const offFrom = (await decisions(b.page)).length;
      await b.page.waitForFunction(
        (n) => [...document.querySelectorAll('[data-testid="guard-decisions"] li')].slice(0, -n || undefined).some((li) => li.getAttribute('data-outcome') === 'grant'),
        offFrom,
        { timeout: 90_000, polling: 200 },
      );
      const off = (await decisions(b.page)).slice(0, -offFrom || undefined);
      const grant = off.find((d) => d.outcome === 'grant')!;
      expect(grant.text).toContain('Person A');
      expect(grant.pad).toBeNull();
      expect(b.pageErrors).toEqual([]);

      // 4. PAD on and the photo brought close (personAOther: the same picture filling the frame, face box over half
      //    its height): too close for the liveness crop's context (pad.minContextScale), where a held photo passes
      //    passive PAD about half the time — the visitor is told to step back and nothing is decided.
      await b.close();
      b = await launch({ fakeCamera: feeds.personAOther, userDataDir: profile });
      await unlockAdmin(b.page, server.url);
      await setPadPolicy(b.page, 'passive', '');
      await b.page.goto(`${server.url}#/guard`);
      const closeFrom = (await decisions(b.page)).length;
      await b.page.goto(`${server.url}#/`);
      const stepBack = () => /step back/i.test(document.querySelector('[data-testid="prompt"]')?.textContent ?? '');
      await b.page.waitForFunction(stepBack, null, { timeout: 90_000, polling: 100 });
      await b.page.waitForTimeout(6_000);
      expect(await b.page.evaluate(stepBack)).toBe(true);
      await openGuardScreen(b.page, server.url); // the visitor screen ended the admin session
      expect((await decisions(b.page)).length).toBe(closeFrom);
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
