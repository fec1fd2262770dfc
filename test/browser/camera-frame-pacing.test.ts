/**
 * The frame loop's pacing with a real camera: Chromium's built-in fake capture device (an animated test pattern, a
 * new picture every frame; vitest.config.ts), the real Camera and runFrameLoop, requestVideoFrameCallback as the
 * page has it. A consumer slower than the camera — the face worker at start-up takes ~125 ms a frame — gets the
 * frame presented while it worked at once instead of waiting for the next presentation (issue 19: that wait cost
 * half a frame interval per frame, three times before a first decision), and never the same frame twice (the k-of-n
 * rule counts frames as separate evidence).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Camera, runFrameLoop } from '../../src/capture/camera';

let camera: Camera | null = null;
afterEach(() => {
  camera?.stop();
  camera?.video.remove();
  camera = null;
});

async function pictureHash(frame: ImageBitmap): Promise<string> {
  const c = new OffscreenCanvas(frame.width, frame.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(frame, 0, 0);
  const px = ctx.getImageData(0, 0, frame.width, frame.height).data;
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', px));
  return Array.from(d.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Per consumed frame: frames presented when the loop chose it, when its analysis ended, and its picture. */
interface Consumed {
  chosenAt: number;
  endedAt: number;
  hash: string;
}

/** Runs the real frame loop over `count` frames with a consumer that takes `workMs` after hashing each picture. */
async function consume(cam: Camera, count: number, workMs: number): Promise<Consumed[]> {
  const ctl = new AbortController();
  const log: Consumed[] = [];
  let chosenAt = -1;
  await new Promise<void>((done, fail) => {
    void runFrameLoop(
      ctl.signal,
      cam,
      async (frame) => {
        const hash = await pictureHash(frame);
        if (workMs > 0) await new Promise((r) => setTimeout(r, workMs));
        log.push({ chosenAt, endedAt: cam.presentedFrames, hash });
        if (log.length === count) {
          ctl.abort();
          done();
        }
      },
      fail,
      undefined,
      {
        wanted: () => {
          // Called when the loop has chosen a presented frame, right before it copies it.
          chosenAt = cam.presentedFrames;
          return true;
        },
      },
    );
  });
  return log;
}

describe('frame loop pacing', () => {
  it('takes the frame presented during a slow analysis at once, and no frame twice', { timeout: 30_000 }, async () => {
    const video = document.createElement('video');
    document.body.append(video);
    camera = new Camera(video);
    await camera.start({ width: 320, height: 240, frameRate: 30 });

    // Slower than the camera (the face worker at start-up takes ~125 ms a frame): frames are presented meanwhile.
    const slow = await consume(camera, 8, 150);
    expect(new Set(slow.map((l) => l.hash)).size, 'a frame was analysed twice').toBe(slow.length);
    for (let i = 1; i < slow.length; i++) {
      const before = slow[i - 1]!;
      expect(before.endedAt, 'the camera presented frames during the analysis').toBeGreaterThan(before.chosenAt);
      // Nothing but promise continuations runs between the end of one analysis and the choice of the next frame, so
      // the count can only have moved if the loop waited for another presentation.
      expect(slow[i]!.chosenAt, `frame ${i} waited for a new presentation`).toBe(before.endedAt);
    }

    // Faster than the camera: the loop must wait for a new picture rather than take the same one again.
    const fast = await consume(camera, 12, 0);
    expect(new Set(fast.map((l) => l.hash)).size, 'a frame was analysed twice').toBe(fast.length);
  });

  it('grabs the frame it skipped as soon as the demand turns to yes, and does not spin while it stays no', { timeout: 30_000 }, async () => {
    const video = document.createElement('video');
    document.body.append(video);
    camera = new Camera(video);
    await camera.start({ width: 320, height: 240, frameRate: 30 });
    const cam = camera;

    let want = false;
    let asked = 0;
    let wake: () => void = () => undefined;
    const fresh = (): Promise<void> => new Promise<void>((r) => (wake = r));
    let changed = fresh();
    const ctl = new AbortController();
    const chosen: number[] = [];
    const grabbed = new Promise<void>((done, fail) => {
      void runFrameLoop(
        ctl.signal,
        cam,
        async () => {
          ctl.abort();
          done();
        },
        fail,
        undefined,
        {
          wanted: () => {
            asked++;
            if (want) chosen.push(cam.presentedFrames);
            return want;
          },
          changed: () => changed,
        },
      );
    });
    const presented = async (n: number): Promise<void> => {
      const until = cam.presentedFrames + n;
      while (cam.presentedFrames < until) await cam.frameAfter(cam.presentedFrames);
    };

    // Not wanted: every presented frame is skipped (asked about once each).
    await presented(4);
    // A change that leaves the answer at no: the loop asks again and waits on the next change, it does not spin.
    const askedBefore = asked;
    const framesBefore = cam.presentedFrames;
    const woke = wake;
    changed = fresh();
    woke();
    await new Promise((r) => setTimeout(r, 100));
    expect(asked - askedBefore, 'asked more often than frames were presented (+1 for the change)').toBeLessThanOrEqual(
      cam.presentedFrames - framesBefore + 1,
    );

    // Now wanted: the frame on screen is taken at once, without waiting for the camera's next presentation.
    await presented(1);
    const onScreen = cam.presentedFrames;
    want = true;
    wake();
    await grabbed;
    expect(chosen[0], 'the loop waited for a new presentation after the demand turned to yes').toBe(onScreen);
  });
});

