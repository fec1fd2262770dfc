/**
 * Steps a person takes in the kiosk's screens, shared by the e2e tests: set up, unlock, enrol photos, read the
 * visitor's result and the guard's list. Selectors are the screens' data-testids, so copy changes do not break tests.
 */
import type { Download, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PASS = 'Lantern orbit 7 quiet river';

export interface SetupOptions {
  passphrase?: string;
  /** What the tablet is; a fresh kiosk is a visitor kiosk. */
  role?: 'visitor' | 'guard' | 'attended';
  /**
   * Staff session idle timeout in seconds. Tests that wait on the guard screen for minutes under load set an hour
   * (the default); the authority test sets a short one to see it end.
   */
  idleSeconds?: number;
}

export async function setupKiosk(page: Page, url: string, opts: SetupOptions = {}): Promise<void> {
  const passphrase = opts.passphrase ?? PASS;
  await page.goto(`${url}#/admin`);
  await page.getByTestId('setup-passphrase').fill(passphrase);
  await page.getByTestId('setup-passphrase-again').fill(passphrase);
  await page.getByTestId('setup-role').selectOption(opts.role ?? 'visitor');
  await page.getByTestId('setup-submit').click();
  // 120 s: set-up's key derivation shares 2 cores with the models' start-up compile (parallel cold start). A refusal
  // (the form's message turns bad) ends the wait at once, with the message.
  const shown = await page
    .waitForFunction(
      () => {
        const c = document.querySelector<HTMLElement>('[data-testid="admin-console"]');
        const m = document.querySelector<HTMLElement>('[data-testid="setup-message"]');
        if (c && !c.hidden) return 'console';
        return m?.dataset['tone'] === 'bad' ? `refused: ${m.textContent ?? ''}` : false;
      },
      undefined,
      { timeout: 120_000 },
    )
    .then((h) => h.jsonValue())
    .catch((e: unknown) => `timeout (${String(e)})`);
  if (shown !== 'console') {
    const shot = join(tmpdir(), `kiosk-setup-failed-${Date.now()}.png`);
    await page.screenshot({ path: shot }).catch(() => undefined);
    const state = await page.evaluate(() => ({ hash: location.hash, screen: document.body.dataset['role'], churn: (window as unknown as { __screenChurn?: string[] }).__screenChurn })).catch(() => null);
    throw new Error(`set-up: the admin console did not show: ${String(shown)} (${JSON.stringify(state)}; screenshot ${shot})`);
  }
  // The kiosk's start-up re-routes once the vault is read; the screen being typed in must stay in place through it.
  await page.waitForFunction(() => performance.getEntriesByName('cold:started').length > 0, undefined, { timeout: 120_000 });
  const churn = await page.evaluate(() => (window as unknown as { __screenChurn: string[] }).__screenChurn);
  if (churn.length) throw new Error(`set-up: a screen was detached and re-inserted under the admin's hands: ${churn.join(', ')}`);
  // The console shows as soon as the vault is unlocked; set-up is finished when its message turns ok.
  const r = await outcome(page, 'setup-message');
  if (r.tone !== 'ok') throw new Error(`set-up failed: ${r.text}`);
  await saveSetting(page, 'setting-idle', String(opts.idleSeconds ?? 3600));
}

/** Changes one field of the settings card and saves (the outcome must be ok). */
export async function saveSetting(page: Page, testid: string, value: string): Promise<void> {
  const settings = page.getByTestId('section-settings');
  const input = settings.getByTestId(testid);
  if ((await input.evaluate((e) => e.tagName)) === 'SELECT') await input.selectOption(value);
  else await input.fill(value);
  await page.evaluate(() => document.querySelector('[data-testid="settings-message"]')?.removeAttribute('data-tone'));
  await settings.getByTestId('settings-save').click();
  const r = await outcome(page, 'settings-message');
  if (r.tone !== 'ok') throw new Error(`saving ${testid} failed: ${r.text}`);
}

/** The guard screen as staff see it: the admin unlocks first when no session is open on this page. */
export async function openGuardScreen(page: Page, url: string, passphrase = PASS): Promise<void> {
  await page.goto(`${url}#/guard`);
  await page.waitForFunction(() => !!document.querySelector('[data-testid="guard"], [data-testid="login"]'), undefined, { timeout: 60_000 });
  if (await page.getByTestId('guard').isVisible()) return;
  await unlockAdmin(page, url, passphrase);
  await page.goto(`${url}#/guard`);
  await page.getByTestId('guard').waitFor({ state: 'visible', timeout: 30_000 });
}

export async function unlockAdmin(page: Page, url: string, passphrase = PASS): Promise<void> {
  await page.goto(`${url}#/admin`);
  const console_ = page.getByTestId('admin-console');
  if (await console_.isVisible()) return;
  await page.getByTestId('unlock-passphrase').fill(passphrase);
  await page.getByTestId('unlock-submit').click();
  await console_.waitFor({ state: 'visible', timeout: 60_000 });
}

/** Waits for the outcome of an admin action in `out` (its data-tone turns ok or bad). */
export async function outcome(page: Page, testid: string): Promise<{ tone: string; code: string | null; text: string }> {
  const el = page.getByTestId(testid);
  await page.waitForFunction(
    (id) => ['ok', 'bad'].includes(document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-tone') ?? ''),
    testid,
    { timeout: 120_000, polling: 100 },
  );
  return { tone: (await el.getAttribute('data-tone'))!, code: await el.getAttribute('data-code'), text: await el.innerText() };
}

/** Pairs the kiosk with the receiver on the admin screen's pairing card (the console must be open); the card must say ok. */
export async function pairWithCode(page: Page, code: string): Promise<{ tone: string; text: string }> {
  const pairing = page.getByTestId('section-pairing');
  await pairing.getByTestId('pair-code').fill(code);
  await pairing.getByTestId('pair-submit').click();
  const r = await outcome(page, 'pair-message');
  if (r.tone !== 'ok') throw new Error(`pairing refused: ${r.text}`);
  return r;
}

/**
 * Sets the kiosk's presentation-attack policy on the admin screen (the console must be open). Tests whose fake camera
 * loops a still photo turn PAD off: they are about recognition; test/e2e/liveness.test.ts is about PAD.
 */
export async function setPadPolicy(page: Page, policy: 'off' | 'passive' | 'active' | '', liveThreshold?: string): Promise<void> {
  const settings = page.getByTestId('section-settings');
  await settings.getByTestId('setting-pad').selectOption(policy);
  if (liveThreshold !== undefined) await settings.getByTestId('setting-live-threshold').fill(liveThreshold);
  await page.evaluate(() => document.querySelector('[data-testid="settings-message"]')?.removeAttribute('data-tone'));
  await settings.getByTestId('settings-save').click();
  const r = await outcome(page, 'settings-message');
  if (r.tone !== 'ok') throw new Error(`PAD policy not saved: ${r.text}`);
}

export async function enrolPhotos(page: Page, label: string, list: 'allow' | 'deny', files: string[]) {
  const card = page.getByTestId('section-enrol-photos');
  await card.getByTestId('enrol-label').fill(label);
  await card.getByTestId('enrol-list').selectOption(list);
  await card.getByTestId('enrol-files').setInputFiles(files);
  await page.evaluate(() => document.querySelector('[data-testid="enrol-message"]')?.removeAttribute('data-tone'));
  await card.getByTestId('enrol-submit').click();
  return outcome(page, 'enrol-message');
}

export async function peopleCount(page: Page): Promise<number> {
  return page.locator('[data-testid="people-table"] tbody tr').count();
}

/** The next visitor result of the given tone (the kiosk shows each result for a few seconds). */
export async function visitorResult(page: Page, tone: 'grant' | 'deny' | 'warn', timeout = 90_000): Promise<{ tone: string; text: string }> {
  const h = await page.waitForFunction(
    (want) => {
      const el = document.querySelector<HTMLElement>('[data-testid="result"]');
      return el && !el.hidden && el.dataset['tone'] === want ? { tone: el.dataset['tone'], text: el.innerText } : null;
    },
    tone,
    { timeout, polling: 100 },
  );
  return (await h.jsonValue()) as { tone: string; text: string };
}

/** The guard's decision list, newest first. */
export async function guardDecisions(page: Page): Promise<{ outcome: string; text: string }[]> {
  return page.$$eval('[data-testid="guard-decisions"] li', (els) =>
    els.map((e) => ({ outcome: e.getAttribute('data-outcome') ?? '', text: (e as HTMLElement).innerText })),
  );
}

export async function waitForGuardOutcome(page: Page, want: string, timeout = 90_000): Promise<string> {
  const h = await page.waitForFunction(
    (w) => {
      const li = [...document.querySelectorAll('[data-testid="guard-decisions"] li')].find((e) => e.getAttribute('data-outcome') === w);
      return li ? (li as HTMLElement).innerText : null;
    },
    want,
    { timeout, polling: 200 },
  );
  return (await h.jsonValue()) as string;
}

export async function savedDownload(d: Download): Promise<Uint8Array> {
  const path = await d.path();
  return new Uint8Array(readFileSync(path));
}

/**
 * The secret and name fields on screen that invite the browser to fill in what it saved: a password field without
 * autocomplete="new-password" (browsers ignore "off" there), or a login name field without "off". On a shared kiosk
 * screen a saved guard PIN or admin passphrase would be filled in for the next visitor (docs/deployment.md). Returns
 * the offenders' test ids and the number of password fields looked at.
 */
export async function fieldsInvitingFill(page: Page): Promise<{ offenders: string[]; secrets: number }> {
  return page.evaluate(() => {
    const secrets = [...document.querySelectorAll<HTMLInputElement>('input[type="password"]')];
    const names = [...document.querySelectorAll<HTMLInputElement>('[data-testid="login-guard"]')];
    const offenders = [
      ...secrets.filter((i) => i.getAttribute('autocomplete') !== 'new-password'),
      ...names.filter((i) => i.getAttribute('autocomplete') !== 'off'),
    ].map((i) => `${i.dataset['testid'] ?? i.id}: ${i.getAttribute('autocomplete')}`);
    return { offenders, secrets: secrets.length };
  });
}
