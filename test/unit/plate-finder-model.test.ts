/**
 * The trained plate finder as a shipped file: the committed models/trained/plate_finder.onnx matches its manifest
 * pin, provisioning refuses a tampered copy, and `npm run train:plate-finder -- --smoke` (real training steps with
 * Debian's python3-torch) writes an ONNX file that onnxruntime-web runs with the shape the worker decodes. What the
 * model finds on real cars is checked in Chromium (test/browser/plate-finder.test.ts).
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { defaultPaths, loadManifest, provisionEntries, verifyFile } from '../../scripts/provision.mjs';

const root = new URL('../..', import.meta.url).pathname;
const manifest = loadManifest(join(root, 'models', 'manifest.json'));
const entry = manifest.files.find((e) => e.id === 'plate-finder')!;
// The shape src/inference/worker/plate/plate-finder.ts decodes (FINDER_SIDE 384, stride 8; its decoder refuses any other).
const FINDER_SIDE = 384;
const G = FINDER_SIDE / 8;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plate-finder-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('committed plate finder', () => {
  test('is committed under models/trained/, at most 4 MiB, Apache-2.0, pinned in the manifest', () => {
    expect(entry).toBeDefined();
    expect(entry.committed).toBe(true);
    expect(entry.path).toBe('models/trained/plate_finder.onnx');
    expect(entry.license).toBe('Apache-2.0');
    expect(entry.size).toBeLessThanOrEqual(4 * 2 ** 20);
    verifyFile(join(root, entry.path), entry, entry.path);
  });

  test('provisioning refuses a copy with one flipped bit', async () => {
    const b = Buffer.from(readFileSync(join(root, entry.path)));
    b[b.length >> 1]! ^= 0x01;
    mkdirSync(join(dir, 'models', 'trained'), { recursive: true });
    writeFileSync(join(dir, entry.path), b);
    const err = await provisionEntries({ ...defaultPaths(dir), modelsDir: join(dir, 'models') }, [entry]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors.map((e: Error) => e.message).join('\n')).toContain('integrity mismatch');
  });
});

describe('npm run train:plate-finder -- --smoke', () => {
  test('trains a few steps on drawn scenes and writes an ONNX file onnxruntime-web runs', async () => {
    const out = join(dir, 'smoke');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(root, 'scripts/train-plate-finder.mjs'), '--smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(r.stdout).toMatch(/done: 4 steps/);
    const f = join(out, 'plate_det.onnx');
    expect(existsSync(f)).toBe(true);
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(new Uint8Array(readFileSync(f)));
    const x = new Float32Array(3 * FINDER_SIDE * FINDER_SIDE).map((_, i) => ((i * 7919) % 255) / 127.5 - 1);
    const y = (await s.run({ image: new ort.Tensor('float32', x, [1, 3, FINDER_SIDE, FINDER_SIDE]) })).maps!;
    expect(y.dims).toEqual([1, 5, G, G]);
    // Channel 0 is a probability (the export applies the sigmoid).
    const heat = (y.data as Float32Array).subarray(0, G * G);
    expect(Math.min(...heat)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...heat)).toBeLessThanOrEqual(1);
    await s.release();
    // The smoke run never touches the committed model.
    verifyFile(join(root, entry.path), entry, entry.path);
  }, 90_000);
});
