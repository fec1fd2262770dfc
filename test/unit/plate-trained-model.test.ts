/**
 * The trained plate recogniser as a shipped file: the committed models/trained/ files match their manifest pins,
 * provisioning refuses a tampered copy (and any committed path outside models/trained/), the int8 file is exactly
 * what our own quantiser builds from the committed float file and ranges, and `npm run train:plates -- --smoke`
 * (real training steps with Debian's python3-torch) writes ONNX files that onnxruntime-web loads and runs.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import {
  defaultPaths,
  loadManifest,
  provisionEntries,
  verifyFile,
  type ManifestEntry,
} from '../../scripts/provision.mjs';
import { buildInt8 } from '../../scripts/quantise-plate-rec.mjs';
// Debian's Python, where apt installs python3-torch and python3-onnx (as scripts/train-plates.mjs runs it).
const PYTHON = '/usr/bin/python3';

const root = new URL('../..', import.meta.url).pathname;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const manifest = loadManifest(join(root, 'models', 'manifest.json'));
const all = [...manifest.files, ...manifest.verificationOnly];
const int8 = all.find((e) => e.id === 'plate-rec-trained')!;
const fp32 = all.find((e) => e.id === 'plate-rec-trained-fp32')!;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plate-trained-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A scratch repo root holding one committed model file (optionally altered). */
function scratch(e: ManifestEntry, alter?: (b: Buffer) => Buffer): ReturnType<typeof defaultPaths> {
  const src = readFileSync(join(root, e.path));
  mkdirSync(join(dir, 'models', 'trained'), { recursive: true });
  writeFileSync(join(dir, e.path), alter ? alter(Buffer.from(src)) : src);
  return { ...defaultPaths(dir), modelsDir: join(dir, 'models') };
}

describe('committed trained plate recogniser', () => {
  test('both files are committed, at most 4 MiB, shipped int8 and test-only float, pinned in the manifest', () => {
    expect(manifest.files).toContain(int8);
    expect(manifest.verificationOnly).toContain(fp32);
    for (const e of [int8, fp32]) {
      expect(e.committed).toBe(true);
      expect(e.license).toBe('Apache-2.0');
      expect(e.size).toBeLessThanOrEqual(4 * 2 ** 20);
      verifyFile(join(root, e.path), e, e.path);
    }
    expect(int8.size).toBeLessThan(fp32.size / 3);
  });

  test('provisioning verifies the committed file in place and refuses a tampered copy', async () => {
    const good = scratch(int8);
    expect(await provisionEntries(good, [int8])).toEqual([{ id: int8.id, action: 'ok' }]);
    rmSync(dir, { recursive: true, force: true });
    const bad = scratch(int8, (b) => {
      b[b.length >> 1]! ^= 0x01; // one flipped bit in the weights
      return b;
    });
    const err = await provisionEntries(bad, [int8]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AggregateError);
    const msg = (err as AggregateError).errors.map((e: Error) => e.message).join('\n');
    expect(msg).toContain('integrity mismatch');
    expect(msg).toContain(int8.sha256);
    // --check reports it too, and nothing "repairs" a committed model by re-pinning it.
    await expect(provisionEntries(bad, [int8], { checkOnly: true })).rejects.toBeInstanceOf(AggregateError);
    expect(sha(readFileSync(join(dir, int8.path)))).not.toBe(int8.sha256);
  });

  test('a committed path outside models/trained/ is refused', async () => {
    const paths = scratch(int8);
    const evil = { ...int8, path: 'package.json', out: 'trained/evil.onnx' };
    writeFileSync(join(dir, 'package.json'), '{}');
    const err = await provisionEntries(paths, [evil]).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as AggregateError).errors[0].message).toContain('not under models/trained/');
  });

  test('the int8 file is our quantiser applied to the committed float file and ranges, byte for byte', () => {
    const ranges = JSON.parse(readFileSync(join(root, 'models/trained/plate_rec_int8.ranges.json'), 'utf8')).ranges;
    const built = buildInt8(new Uint8Array(readFileSync(join(root, fp32.path))), ranges);
    expect(sha(built)).toBe(int8.sha256);
  });
});

describe('npm run train:plates -- --smoke', () => {
  test('trains a few steps on synthetic plates and writes float and int8 ONNX that onnxruntime-web runs', async () => {
    const out = join(dir, 'smoke');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(root, 'scripts/train-plates.mjs'), '--smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(Date.now() - t0).toBeLessThan(90_000);
    expect(r.stdout).toMatch(/model: \d+ parameters; steps 12/);
    ort.env.wasm.numThreads = 1;
    const x = new Float32Array(2 * 32 * 128).map((_, i) => ((i * 7919) % 255) / 127.5 - 1);
    for (const f of ['plate_rec.onnx', 'plate_rec_int8.onnx']) {
      expect(existsSync(join(out, f)), f).toBe(true);
      const s = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(out, f))));
      const y = (await s.run({ image: new ort.Tensor('float32', x, [2, 1, 32, 128]) })).probs!;
      expect(y.dims).toEqual([2, 68, 1, 32]);
      const p = y.data as Float32Array;
      // A softmax over the 68 classes in every column of both crops.
      for (let b = 0; b < 2; b++)
        for (let t = 0; t < 32; t++) {
          let sum = 0;
          for (let c = 0; c < 68; c++) sum += p[(b * 68 + c) * 32 + t]!;
          expect(sum).toBeCloseTo(1, 3);
        }
      await s.release();
    }
    // The smoke run never touches the committed model.
    verifyFile(join(root, int8.path), int8, int8.path);
  }, 150_000);

  test('--init-onnx loads the committed float model into PyTorch and proves it reproduces the file', () => {
    // Fine-tuning starts from the shipped weights: train.py loads the ONNX initializers into its PyTorch model and
    // compares the model's outputs with its own interpreter of the ONNX graph before training; it exits non-zero
    // when they differ. The log line carries the measured difference, which must be float rounding only.
    const out = join(dir, 'init');
    const r = spawnSync(
      PYTHON,
      [join(root, 'train/plates/train.py'), '--smoke', '--init-onnx', fp32.path, '--out', out],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const m =
      /init from models\/trained\/plate_rec\.onnx: 10 convs loaded.*difference\| vs the ONNX graph (\S+) on \d+ crops, same greedy reads: True/.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1e-4);
    expect(existsSync(join(out, 'plate_rec.onnx'))).toBe(true);
    verifyFile(join(root, fp32.path), fp32, fp32.path);
  }, 120_000);
});
