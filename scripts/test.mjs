#!/usr/bin/env node
// @ts-check
/**
 * The one test command (README and .ci/run call `npm test`, which runs this).
 *
 * Installs the system packages the tests need when they are missing (Debian's chromium, ffmpeg for fake-camera
 * feeds, mosquitto for the MQTT path, python3-torch for the plate recogniser's training smoke test), provisions the models from node_modules, type-checks, lints, then runs the
 * unit, browser, receiver and e2e projects in that order and prints one closing line `N passed, N failed`, after a
 * `Failed:` list naming each failed test (CI keeps only the tail of the log).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { E2E_UPSTREAM } from '../test/helpers/e2e-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv.slice(2); // e.g. `npm test -- unit` runs one project

/** @param {string} cmd @param {string[]} args @param {{ allowFail?: boolean, env?: NodeJS.ProcessEnv }} [o] */
function run(cmd, args, o = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...o.env } });
  if (r.status !== 0 && !o.allowFail) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    console.log('0 passed, 1 failed');
    process.exit(r.status ?? 1);
  }
  return r.status ?? 1;
}

/** Debian installs the PostgreSQL server in a versioned folder: the newest one present, or a path that is not. */
function postgresServer() {
  try {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)))
      if (existsSync(`/usr/lib/postgresql/${v}/bin/postgres`)) return `/usr/lib/postgresql/${v}/bin/postgres`;
  } catch {
    /* none */
  }
  return '/usr/lib/postgresql/(none)/bin/postgres';
}

function ensureSystemPackages() {
  /** @type {[string, string][]} binary → Debian package */
  const needed = [
    ['/usr/bin/chromium', 'chromium'],
    ['/usr/bin/ffmpeg', 'ffmpeg'],
    ['/usr/sbin/mosquitto', 'mosquitto'],
    // The receiver's door tests make a throwaway CA for Mosquitto's TLS listener with it.
    ['/usr/bin/openssl', 'openssl'],
    // The receiver's database tests start a throwaway PostgreSQL server (initdb in a temp folder, loopback port).
    [postgresServer(), 'postgresql'],
    // A CJK font so the Chinese UI renders (and its screenshots show) real glyphs, not boxes.
    ['/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', 'fonts-wqy-microhei'],
    // The browser tests' synthetic plates are drawn with canvas `sans-serif`: Liberation Sans, which chromium only
    // recommends, and we install without recommends.
    ['/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf', 'fonts-liberation'],
    // The plate recogniser's training smoke test (test/unit/plate-trained-model.test.ts) trains a few real steps
    // with Debian's PyTorch: 153 MB of archives, 656 MB installed, ~70 s to install here with a warm apt cache.
    ['/usr/lib/python3/dist-packages/torch/__init__.py', 'python3-torch'],
    ['/usr/lib/python3/dist-packages/PIL/__init__.py', 'python3-pil'],
    ['/usr/lib/python3/dist-packages/numpy/__init__.py', 'python3-numpy'],
    ['/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf', 'fonts-dejavu-core'],
    // The smoke test's synthetic plates also draw the narrow DIN-like faces (train/plates/synth.py PLATE_FONTS).
    ['/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf', 'fonts-roboto-unhinted'],
    ['/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf', 'fonts-bebas-neue'],
    ['/usr/share/fonts/truetype/open-sans/OpenSans-CondBold.ttf', 'fonts-open-sans'],
    ['/usr/share/fonts/opentype/b612/B612-Bold.otf', 'fonts-b612'],
    // Its --init-onnx test loads the committed float model's weights with Debian's python3-onnx.
    ['/usr/lib/python3/dist-packages/onnx/__init__.py', 'python3-onnx'],
  ];
  const missing = needed.filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(
      `Missing system packages: ${missing.join(' ')}. Install them: sudo apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * One line per failed test or suite in a vitest JSON report: project, file, test and the first line of its error.
 * @param {string} project
 * @param {{ testResults?: { name: string, message?: string, status?: string, assertionResults?: { fullName?: string, title: string, status: string, failureMessages?: string[] }[] }[] }} report
 */
function failedTests(project, report) {
  /** @type {string[]} */
  const lines = [];
  const firstLine = (/** @type {string | undefined} */ m) =>
    (m ?? '')
      .split('\n')
      .find((l) => l.trim())
      ?.trim()
      .slice(0, 300) ?? '';
  for (const file of report.testResults ?? []) {
    const rel = file.name.startsWith(root) ? file.name.slice(root.length) : file.name;
    const tests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of tests)
      lines.push(`  ${project} ${rel} > ${t.fullName ?? t.title}: ${firstLine(t.failureMessages?.[0])}`);
    if (tests.length === 0 && file.status === 'failed')
      // A hook failing inside a describe leaves the file failed with no message of its own.
      lines.push(
        `  ${project} ${rel} (suite): ${firstLine(file.message) || 'a hook or setup failed (see the log above)'}`,
      );
  }
  return lines;
}

ensureSystemPackages();
run('node', ['scripts/provision.mjs']);
if (only.length === 0) {
  run('npx', ['tsc', '-b']);
  run('npx', ['eslint', '.', '--max-warnings', '0']);
}

const projects = only.length ? only : ['unit', 'browser', 'receiver', 'e2e'];
const reportDir = join(root, 'test/.cache/reports');
rmSync(reportDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });
let passed = 0;
let failed = 0;
let status = 0;
/** Failing tests by name: CI keeps only the tail of the log, so the closing lines must say which test failed. */
/** @type {string[]} */
const failures = [];
for (const project of projects) {
  // The e2e build and servers allow the test receiver's origin (CSP connect-src), not the default 8787.
  // KIOSK_TEST_HOOKS: the e2e build gets a clock the tests can set (validity tests); a normal build has none.
  const env = project === 'e2e' ? { KIOSK_UPSTREAM: E2E_UPSTREAM, KIOSK_TEST_HOOKS: '1' } : {};
  if (project === 'e2e') run('npx', ['vite', 'build', '--logLevel', 'warn'], { env });
  const out = join(reportDir, `${project}.json`);
  const code = run(
    'npx',
    ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
    { allowFail: true, env },
  );
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    if (code !== 0 && (r.numFailedTests ?? 0) === 0) failed += 1; // a suite that failed to load
    const named = failedTests(project, r);
    failures.push(...named);
    // Unhandled errors fail the run without a failed test or file in the report: still say which project.
    if (code !== 0 && named.length === 0)
      failures.push(
        `  ${project}: exit ${code} with no failed test in its report (an unhandled error? see the log above)`,
      );
  } else if (code !== 0) {
    failed += 1;
    failures.push(`  ${project}: exit ${code} and no report`);
  }
  if (code !== 0) status = code;
}
if (failures.length) console.log(`\nFailed:\n${failures.join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(status === 0 && failed === 0 && passed > 0 ? 0 : 1);
