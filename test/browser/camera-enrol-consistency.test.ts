/**
 * Camera enrolment keeps one person's frames only, in real Chromium with the real face worker (MediaPipe + fr_feature
 * on onnxruntime-web WASM) and the controller's own frame path fed real photos: person A (two photos of her,
 * @vladmandic/face-api's sample1 and sample3) and person B (sample6), one face per frame, so the "one person only"
 * check passes every frame. An insider who steps in for some of the frames must not become part of A's record: with
 * three frames of A and two of B, only A's templates are stored (B does not match the record); with two of each,
 * the frames disagree and nothing is stored.
 */
import s1 from '@vladmandic/face-api/demo/sample1.jpg?url';
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';
import s6 from '@vladmandic/face-api/demo/sample6.jpg?url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FACE_CONFIG } from '../../src/config/face';
import { cosineSimilarity } from '../../src/matching/face/similarity';
import { AdjustableClock } from '../../src/shared/clock';
import { closeKiosks, openKiosk } from './kiosk-app';
import { PASS, expectCode } from './vault-helpers';

afterEach(closeKiosks);

/** Crops as in test/browser/face-pipeline.test.ts (A in sample1 and sample3; B in sample6). */
const CROPS = {
  a1: { url: s1, x: 1250, y: 0, w: 670, h: 800 },
  a3: { url: s3, x: 850, y: 50, w: 600, h: 750 },
  b: { url: s6, x: 1000, y: 250, w: 440, h: 480 },
};
type Who = keyof typeof CROPS;

async function photo(who: Who): Promise<ImageBitmap> {
  const c = CROPS[who];
  const src = await createImageBitmap(await (await fetch(c.url)).blob());
  const canvas = new OffscreenCanvas(c.w, c.h);
  canvas.getContext('2d')!.drawImage(src, c.x, c.y, c.w, c.h, 0, 0, c.w, c.h);
  src.close();
  return createImageBitmap(canvas);
}

const accept = DEFAULT_FACE_CONFIG.thresholds[DEFAULT_FACE_CONFIG.embedder].accept;

describe('camera enrolment keeps one person', () => {
  it('drops the frames of someone who stepped in, and refuses when the frames disagree', { timeout: 180_000 }, async () => {
    const clock = new AdjustableClock();
    const { vault, app, ops } = await openKiosk('camenrol', clock);
    await ops.setup(PASS, { role: 'attended' });

    /** Start a camera enrolment and feed it these frames through the controller's frame path. */
    const enrol = async (label: string, frames: Who[]) => {
      const done = ops.enrolment.enrolFromCamera(label, 'allow', { frames: frames.length, timeoutMs: 120_000 });
      for (const who of frames) {
        clock.advance(200);
        await app.feedFrame(await photo(who), clock.monotonic());
      }
      return done;
    };
    // Reference templates of each person, from the same worker and gates.
    const template = async (who: Who) => {
      const a = await app.faces.analyse(undefined, await photo(who), { embed: 'good', gates: 'door', returnTemplate: true });
      expect(a.faces).toHaveLength(1);
      expect(a.faces[0]!.quality.reason, who).toBeNull();
      expect(a.faces[0]!.template, who).toBeInstanceOf(Float32Array);
      return a.faces[0]!.template!;
    };
    const [a1, a3, b] = [await template('a1'), await template('a3'), await template('b')];
    // The photos really are two people (else the test proves nothing).
    expect(cosineSimilarity(a1, a3)).toBeGreaterThanOrEqual(accept);
    expect(cosineSimilarity(a1, b)).toBeLessThan(accept);

    const s = await enrol('Person A', ['a3', 'b', 'a1', 'b', 'a3']);
    const stored = (await vault.subjects.get(s.id))!.templates[DEFAULT_FACE_CONFIG.embedder]!;
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored.length).toBeLessThanOrEqual(3);
    for (const t of stored) {
      expect(cosineSimilarity(t, a1)).toBeGreaterThanOrEqual(accept);
      expect(cosineSimilarity(t, b)).toBeLessThan(accept);
    }

    const details = await expectCode(enrol('Mixed', ['a3', 'b', 'a1', 'b']), 'INPUT_LOW_QUALITY');
    expect(details['reason']).toBe('frames disagree');
    expect(app.listSubjects().map((x) => x.label)).toEqual(['Person A']);
  });
});
