/**
 * The e2e build has a clock any page script can set (KIOSK_TEST_HOOKS=1, window.__kioskTest). The static server
 * (scripts/serve.mjs, also the receiver's --app) refuses a folder carrying that build's marker unless the caller is
 * the e2e harness and says so; a production build is served. The build side — hooks builds go to dist-e2e/ with the
 * marker, others carry none — is vite.config.ts's, checked here by building both into temporary folders.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_BUILD_MARKER, appHandler } from '../../scripts/serve.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'serve-test-build-'));
  dirs.push(d);
  return d;
};

describe('an e2e build is never served to tablets', () => {
  it('refuses a folder with the e2e marker unless the harness allows it', () => {
    const dir = temp();
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    expect(() => appHandler(dir)).not.toThrow();
    writeFileSync(join(dir, TEST_BUILD_MARKER), 'e2e');
    expect(() => appHandler(dir)).toThrow(/e2e build/);
    expect(() => appHandler(dir, { allowTestBuild: true })).not.toThrow();
  });

  it('the build marks a hooks build and only that one', { timeout: 180_000 }, () => {
    const build = (hooks: string) => {
      const out = temp();
      const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', out, '--emptyOutDir'], {
        cwd: ROOT,
        env: { ...process.env, KIOSK_TEST_HOOKS: hooks },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const js = readdirSync(join(out, 'assets'))
        .filter((f) => f.endsWith('.js'))
        .map((f) => readFileSync(join(out, 'assets', f), 'utf8'))
        .join('\n');
      return { marked: existsSync(join(out, TEST_BUILD_MARKER)), hooks: js.includes('__kioskTest') };
    };
    expect(build('1')).toEqual({ marked: true, hooks: true });
    expect(build('0')).toEqual({ marked: false, hooks: false });
  });
});
