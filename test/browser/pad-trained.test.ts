/**
 * The project's own passive PAD model (models/trained/pad.onnx, trained by train/pad/train.py) in Chromium.
 *
 * Parity: the shipped ONNX in onnxruntime-web (WASM, the build the face worker uses, with the face worker's own
 * tensor conversion) gives the same live probability as the PyTorch model did on the crops the training script
 * wrote (test/fixtures/pad: 64x64 model inputs drawn by train/pad/simulate.py — drawn faces, no dataset photo — and
 * PyTorch's logits, written by `train.py --fixture` from the same weights; the fixture names the ONNX hash it
 * belongs to, so a retrained model with a stale fixture fails here). Then the real face worker runs it: pad.model
 * 'trained' scores with ours only, 'fr-liveness' with fr_liveness only, 'trained+fr-veto' with both on a face ours
 * calls live.
 */
import { afterAll, describe, expect, test } from 'vitest';
import expectedUrl from '../fixtures/pad/expected.json?url';
import { WorkerBridge } from '../../src/inference/client/bridge';
import { FaceClient } from '../../src/inference/client/face-client';
import sample1 from '@vladmandic/face-api/demo/sample1.jpg?url';

const fixtureUrls = import.meta.glob<string>('../fixtures/pad/*.png', { query: '?url', import: 'default', eager: true });

/** Mirrors test/browser/pad-trained-parity.worker.ts (a type import would pull worker code into the app project). */
type Commands = {
  score: {
    req: { modelUrl: string; crops: ImageBitmap[] };
    res: { live: number[]; logits: number[][]; sizes: number[][] };
  };
};
interface Item {
  file: string;
  kind: 'live' | 'print' | 'replay';
  live: number;
  logits: number[];
}
interface Expected {
  sha256: string;
  size: number;
  items: Item[];
}
interface Entry {
  id: string;
  out: string;
  sha256: string;
  size: number;
  license: string;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const expected = (await (await fetch(expectedUrl)).json()) as Expected;
const manifest = (await (await fetch('/models/manifest.json')).json()) as { files: Entry[] };
const entry = manifest.files.find((e) => e.id === 'face-pad-trained')!;

async function fixtureBitmap(file: string): Promise<ImageBitmap> {
  const url = Object.entries(fixtureUrls).find(([k]) => k.endsWith(`/${file}`))?.[1];
  expect(url, file).toBeTypeOf('string');
  return createImageBitmap(await (await fetch(url!)).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
}

describe('trained PAD model: ONNX in onnxruntime-web vs the PyTorch model', () => {
  test('the shipped file is pinned (Apache-2.0, ≤ 4 MiB) and the fixture belongs to it', async () => {
    expect(entry.license).toBe('Apache-2.0');
    expect(entry.size).toBeLessThanOrEqual(4 * 2 ** 20);
    const bytes = new Uint8Array(await (await fetch(`/models/${entry.out}`)).arrayBuffer());
    expect(await sha256(bytes)).toBe(entry.sha256);
    expect(expected.sha256).toBe(entry.sha256);
    expect(expected.size).toBe(64);
  });

  test('the same logits as PyTorch on every fixture crop (within 1e-3), so the same live probability', async () => {
    expect(expected.items.length).toBeGreaterThanOrEqual(6);
    const bridge = new WorkerBridge<Commands>(
      () => new Worker(new URL('./pad-trained-parity.worker.ts', import.meta.url), { type: 'module' }),
      { timeoutMs: 60_000 },
    );
    try {
      const crops = await Promise.all(expected.items.map((it) => fixtureBitmap(it.file)));
      const r = await bridge.call(undefined, 'score', { modelUrl: `/models/${entry.out}`, crops }, crops);
      for (const s of r.sizes) expect(s).toEqual([64, 64]);
      expected.items.forEach((it, i) => {
        it.logits.forEach((l, k) => expect(Math.abs(r.logits[i]![k]! - l), `${it.file} logit ${k}`).toBeLessThan(1e-3));
        expect(Math.abs(r.live[i]! - it.live)).toBeLessThan(1e-3);
      });
      // Not a constant: the fixture's crops get different scores.
      expect(Math.max(...r.live) - Math.min(...r.live)).toBeGreaterThan(0.01);
    } finally {
      bridge.terminate();
    }
  });
});

describe('the face worker runs the PAD models pad.model names', () => {
  const clients: FaceClient[] = [];
  afterAll(() => clients.forEach((c) => c.terminate()));

  /** A frame with a real face: the demo photo the face pipeline tests use. */
  async function faceFrame(): Promise<ImageBitmap> {
    return createImageBitmap(await (await fetch(sample1)).blob());
  }

  test.each([
    ['trained', true, false],
    ['fr-liveness', false, true],
  ] as const)('%s: trained scored %s, fr_liveness scored %s', async (model, trained, fr) => {
    const client = new FaceClient({ config: { pad: { model } }, timeoutMs: 120_000 });
    clients.push(client);
    await client.init();
    const a = await client.analyse(undefined, await faceFrame(), { embed: 'all', maxFaces: 1, liveness: true });
    const f = a.faces[0]!;
    expect(f.liveness).toBeGreaterThanOrEqual(0);
    expect(f.liveness).toBeLessThanOrEqual(1);
    expect(f.padScores?.trained !== undefined).toBe(trained);
    expect(f.padScores?.frLiveness !== undefined).toBe(fr);
    expect(f.liveness).toBe(trained ? f.padScores!.trained : f.padScores!.frLiveness);
    expect(a.timings.liveness).toBeGreaterThan(0);
  }, 180_000);

  test('trained+fr-veto: fr_liveness runs exactly when ours calls the face live, and can only lower the score', async () => {
    for (const liveThreshold of [0.001, 0.999]) {
      const client = new FaceClient({ config: { pad: { model: 'trained+fr-veto', liveThreshold, frVeto: 0.5 } }, timeoutMs: 120_000 });
      clients.push(client);
      await client.init();
      const f = (await client.analyse(undefined, await faceFrame(), { embed: 'all', maxFaces: 1, liveness: true })).faces[0]!;
      const ours = f.padScores!.trained!;
      expect(f.padScores!.frLiveness !== undefined).toBe(ours >= liveThreshold);
      expect(f.liveness!).toBeLessThanOrEqual(ours);
      expect(f.liveness).toBe(f.padScores!.frLiveness === undefined || f.padScores!.frLiveness >= 0.5 ? ours : 0);
    }
  }, 240_000);
});
