/**
 * The trained passive PAD model as a shipped file: the committed models/trained/pad.onnx matches its manifest pin
 * (Apache-2.0, ≤ 4 MiB), provisioning refuses a tampered copy, and `npm run train:pad -- --smoke` (real training
 * steps with Debian's python3-torch and python3-opencv, drawn faces only, no dataset) writes an ONNX file that
 * onnxruntime-web loads and runs on a batch, with a parity fixture of its own, and never touches the committed file.
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
const pad = manifest.files.find((e) => e.id === 'face-pad-trained')!;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pad-trained-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('committed trained PAD model', () => {
  test('is committed under models/trained/, Apache-2.0, at most 4 MiB, pinned and shipped', () => {
    expect(pad.committed).toBe(true);
    expect(pad.path).toBe('models/trained/pad.onnx');
    expect(pad.license).toBe('Apache-2.0');
    expect(pad.size).toBeLessThanOrEqual(4 * 2 ** 20);
    verifyFile(join(root, pad.path), pad, pad.path);
  });

  test('train:pad refuses to install the experimental texture-patch model (the kiosk cannot feed it)', () => {
    const before = readFileSync(join(root, pad.path));
    const r = spawnSync(process.execPath, [join(root, 'scripts/train-pad.mjs'), '--patch', '64'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--patch .*never installed/);
    expect(readFileSync(join(root, pad.path)).equals(before)).toBe(true);
  });

  test('provisioning verifies it in place and refuses a copy with one flipped bit', async () => {
    mkdirSync(join(dir, 'models', 'trained'), { recursive: true });
    const paths = { ...defaultPaths(dir), modelsDir: join(dir, 'models') };
    const good = readFileSync(join(root, pad.path));
    writeFileSync(join(dir, pad.path), good);
    expect(await provisionEntries(paths, [pad])).toEqual([{ id: pad.id, action: 'ok' }]);
    const bad = Buffer.from(good);
    bad[bad.length >> 1]! ^= 0x01;
    writeFileSync(join(dir, pad.path), bad);
    const err = await provisionEntries(paths, [pad]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors.map((e: Error) => e.message).join('\n')).toContain('integrity mismatch');
  });
});

describe('npm run train:pad -- --smoke', () => {
  test('trains on drawn faces and writes an ONNX that onnxruntime-web runs, agreeing with its PyTorch fixture', async () => {
    const out = join(dir, 'smoke');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(root, 'scripts/train-pad.mjs'), '--smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(Date.now() - t0).toBeLessThan(120_000);
    expect(r.stdout).toMatch(/\d+ parameters, \d+ bytes/);
    expect(existsSync(join(out, 'pad.onnx'))).toBe(true);
    const fixture = JSON.parse(readFileSync(join(out, 'fixture', 'expected.json'), 'utf8')) as {
      items: { file: string; logits: number[] }[];
    };
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(out, 'pad.onnx'))));
    // A batch of 2 (dynamic batch axis): a black and a grey crop, 2 logits each, finite, and not equal.
    const x = new Float32Array(2 * 3 * 64 * 64).fill(0.5, 3 * 64 * 64);
    const y = (await s.run({ input: new ort.Tensor('float32', x, [2, 3, 64, 64]) })).logits!;
    expect(y.dims).toEqual([2, 2]);
    const l = Array.from(y.data as Float32Array);
    expect(l.every(Number.isFinite)).toBe(true);
    expect(l.slice(0, 2)).not.toEqual(l.slice(2));
    expect(fixture.items.length).toBe(6);
    await s.release();
    // The smoke run never touches the committed model.
    verifyFile(join(root, pad.path), pad, pad.path);
  }, 180_000);
  test('--members 2 trains two networks and exports their mean live probability as one model the kiosk reads unchanged', async () => {
    const out = join(dir, 'smoke-members');
    const r = spawnSync(process.execPath, [join(root, 'scripts/train-pad.mjs'), '--smoke', '--members', '2', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    // Two copies of the shipped network's 190,290 parameters (MODEL_CARD.md), one input, one output.
    expect(r.stdout).toMatch(/\b380580 parameters\b/);
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(out, 'pad.onnx'))));
    expect(s.inputNames).toEqual(['input']);
    const x = new Float32Array(2 * 3 * 64 * 64).fill(0.5, 3 * 64 * 64);
    const y = (await s.run({ input: new ort.Tensor('float32', x, [2, 3, 64, 64]) })).logits!;
    expect(y.dims).toEqual([2, 2]);
    const l = Array.from(y.data as Float32Array);
    // The logits are the log of the members' mean softmax: the kiosk's softmax of them is that mean, so each row's
    // exponentials already sum to 1 (a single network's logits do not).
    for (const row of [l.slice(0, 2), l.slice(2)]) expect(Math.exp(row[0]!) + Math.exp(row[1]!)).toBeCloseTo(1, 5);
    await s.release();
    verifyFile(join(root, pad.path), pad, pad.path);
  }, 180_000);
});
