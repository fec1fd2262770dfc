/**
 * scripts/provision.mjs on real files in temp dirs: a good file passes, a tampered or missing one is rejected with
 * a message naming the file and both hashes, a wrong installed version is refused, a stale output is rebuilt from
 * its verified source, and re-running is a no-op. Plus the committed manifest against this checkout's node_modules.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  ProvisionError,
  defaultPaths,
  loadManifest,
  provisionEntries,
  verifyFile,
  verifyModels,
  type ManifestEntry,
} from '../../scripts/provision.mjs';

const root = new URL('../..', import.meta.url).pathname;
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'provision-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A fake installed package with one real file, and the manifest entry pinning it. */
function fixture(content = 'weights v1\n'): {
  entry: ManifestEntry;
  paths: ReturnType<typeof defaultPaths>;
  source: string;
} {
  const pkgDir = join(dir, 'node_modules', '@acme', 'weights');
  mkdirSync(join(pkgDir, 'model'), { recursive: true });
  writeFileSync(join(pkgDir, 'package.json'), JSON.stringify({ name: '@acme/weights', version: '1.2.3' }));
  const source = join(pkgDir, 'model', 'w.bin');
  writeFileSync(source, content);
  const entry: ManifestEntry = {
    id: 'acme-w',
    out: 'acme/w.bin',
    package: '@acme/weights',
    version: '1.2.3',
    path: 'model/w.bin',
    sha256: sha(content),
    size: Buffer.byteLength(content),
    license: 'MIT',
    provenance: 'test fixture',
  };
  return { entry, paths: defaultPaths(dir), source };
}

async function provisionErrors(p: Promise<unknown>): Promise<ProvisionError[]> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AggregateError);
  return (err as AggregateError).errors as ProvisionError[];
}

describe('verifyFile', () => {
  test('a good file passes', () => {
    const f = join(dir, 'good.bin');
    writeFileSync(f, 'hello');
    expect(() => verifyFile(f, { sha256: sha('hello'), size: 5 })).not.toThrow();
  });

  test('a tampered file is rejected, naming the file and the expected and actual hashes', () => {
    const f = join(dir, 'tampered.bin');
    writeFileSync(f, 'hellp'); // same size, one byte changed
    let err: unknown;
    try {
      verifyFile(f, { sha256: sha('hello'), size: 5 }, 'models/x/tampered.bin');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProvisionError);
    const e = err as ProvisionError;
    expect(e.file).toBe('models/x/tampered.bin');
    expect(e.expected).toBe(sha('hello'));
    expect(e.actual).toBe(sha('hellp'));
    expect(e.message).toContain('models/x/tampered.bin');
    expect(e.message).toContain(sha('hello'));
    expect(e.message).toContain(sha('hellp'));
  });

  test('a file of the wrong size is rejected', () => {
    const f = join(dir, 'long.bin');
    writeFileSync(f, 'hello!');
    expect(() => verifyFile(f, { sha256: sha('hello'), size: 5 })).toThrow(ProvisionError);
  });

  test('a missing file is rejected, naming the file', () => {
    expect(() => verifyFile(join(dir, 'nope.bin'), { sha256: sha('x'), size: 1 }, 'models/nope.bin')).toThrow(
      /models\/nope\.bin: missing/,
    );
  });
});

describe('provisionEntries', () => {
  test('copies a verified file, and a second run leaves it alone', async () => {
    const { entry, paths } = fixture();
    expect(await provisionEntries(paths, [entry])).toEqual([{ id: 'acme-w', action: 'written' }]);
    const out = join(dir, 'models', 'acme', 'w.bin');
    expect(readFileSync(out, 'utf8')).toBe('weights v1\n');
    const mtime = statSync(out).mtimeMs;
    expect(await provisionEntries(paths, [entry])).toEqual([{ id: 'acme-w', action: 'ok' }]);
    expect(statSync(out).mtimeMs).toBe(mtime);
    expect(verifyModels(paths.modelsDir, [entry])).toEqual([]);
  });

  test('a tampered source in node_modules is refused and nothing is written', async () => {
    const { entry, paths, source } = fixture();
    appendFileSync(source, 'evil');
    const [e, ...rest] = await provisionErrors(provisionEntries(paths, [entry]));
    expect(rest).toEqual([]);
    expect(e!.message).toContain('node_modules/@acme/weights/model/w.bin');
    expect(e!.expected).toBe(entry.sha256);
    expect(e!.actual).toBe(sha('weights v1\nevil'));
    expect(existsSync(join(dir, 'models', 'acme', 'w.bin'))).toBe(false);
  });

  test('a missing source is refused', async () => {
    const { entry, paths, source } = fixture();
    rmSync(source);
    const [e] = await provisionErrors(provisionEntries(paths, [entry]));
    expect(e!.message).toMatch(/source node_modules\/@acme\/weights\/model\/w\.bin is missing/);
  });

  test('a different installed version is refused unless the manifest is deliberately updated', async () => {
    const { entry, paths } = fixture();
    const pinned = { ...entry, version: '1.2.2' };
    const [e] = await provisionErrors(provisionEntries(paths, [pinned]));
    expect(e!.message).toMatch(/1\.2\.3 is installed, the manifest pins 1\.2\.2/);
    await provisionEntries(paths, [pinned], { update: true });
    expect(pinned.version).toBe('1.2.3');
  });

  test('a tampered output in models/ fails --check and is rebuilt from the verified source', async () => {
    const { entry, paths } = fixture();
    await provisionEntries(paths, [entry]);
    const out = join(dir, 'models', 'acme', 'w.bin');
    writeFileSync(out, 'corrupt');
    expect(verifyModels(paths.modelsDir, [entry]).map((p) => p.file)).toEqual(['models/acme/w.bin']);
    const [e] = await provisionErrors(provisionEntries(paths, [entry], { checkOnly: true }));
    expect(e!.actual).toBe(sha('corrupt'));
    expect(await provisionEntries(paths, [entry])).toEqual([{ id: 'acme-w', action: 'written' }]);
    expect(readFileSync(out, 'utf8')).toBe('weights v1\n');
  });

  test('--update-manifest re-pins hashes after a deliberate change', async () => {
    const { entry, paths, source } = fixture();
    writeFileSync(source, 'weights v2\n');
    await provisionEntries(paths, [entry], { update: true });
    expect(entry.sha256).toBe(sha('weights v2\n'));
    expect(readFileSync(join(dir, 'models', 'acme', 'w.bin'), 'utf8')).toBe('weights v2\n');
  });

  test('an out path escaping models/ is refused', async () => {
    const { entry, paths } = fixture();
    await expect(provisionEntries(paths, [{ ...entry, out: '../escape.bin' }])).rejects.toThrow(/escapes models/);
  });
});

describe('the committed manifest', () => {
  const manifest = loadManifest(join(root, 'models', 'manifest.json'));

  test('pins every file with a hash, size, licence and provenance; ids and outs are unique', () => {
    for (const e of [...manifest.files, ...manifest.verificationOnly]) {
      expect(e.sha256, e.id).toMatch(/^[0-9a-f]{64}$/);
      expect(e.size, e.id).toBeGreaterThan(0);
      expect(e.license.length, e.id).toBeGreaterThan(2);
      expect(e.provenance.length, e.id).toBeGreaterThan(20);
      for (const s of e.transform?.sources ?? []) expect(s.sha256, `${e.id} source`).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(manifest.verificationOnly.every((e) => e.ship === false)).toBe(true);
    // Transformed files record their source hashes as well as the output hash, and they differ.
    const tflite = manifest.files.filter((e) => e.transform?.tool === 'tflite-metadata');
    expect(tflite.map((e) => e.out).sort()).toEqual([
      'face/face_detection_full_range.tflite',
      'face/face_detection_short_range.tflite',
    ]);
    for (const e of tflite) expect(e.transform!.sources[0]!.sha256).not.toBe(e.sha256);
  });

  test('every app file provisions from this checkout and verifies (into a temp models dir)', async () => {
    const paths = { ...defaultPaths(root), modelsDir: join(dir, 'models') };
    const done = await provisionEntries(paths, manifest.files);
    expect(done.map((d) => d.action)).toEqual(manifest.files.map(() => 'written'));
    expect(verifyModels(paths.modelsDir, manifest.files)).toEqual([]);
  }, 60_000);

  test('the CLI fails loudly (exit 1, file and both hashes) on a corrupt file, and a plain run repairs it', () => {
    // A scratch tree: the provisioning scripts, this checkout's node_modules, and a one-entry manifest, so the
    // real models/ that other suites read is never touched.
    mkdirSync(join(dir, 'scripts'));
    for (const f of ['provision.mjs', 'lib-tar.mjs', 'tflite-metadata.mjs']) {
      writeFileSync(join(dir, 'scripts', f), readFileSync(join(root, 'scripts', f)));
    }
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const entry = manifest.files.find((e) => e.id === 'plate-rec-keys')!;
    mkdirSync(join(dir, 'models'));
    writeFileSync(
      join(dir, 'models', 'manifest.json'),
      JSON.stringify({ schemaVersion: 1, files: [entry], verificationOnly: [] }),
    );
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(dir, 'scripts', 'provision.mjs'), ...args], { cwd: dir, encoding: 'utf8' });

    expect(cli().status).toBe(0);
    const out = join(dir, 'models', entry.out);
    writeFileSync(out, 'tampered');
    const bad = cli('--check');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`models/${entry.out}`);
    expect(bad.stderr).toContain(entry.sha256);
    expect(bad.stderr).toContain(sha('tampered'));
    rmSync(out);
    const missing = cli('--check');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/missing/);
    const fixed = cli();
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(sha(readFileSync(out))).toBe(entry.sha256);
  });
});
