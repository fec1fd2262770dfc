/**
 * Test-only module worker: runs one trained plate recogniser ONNX file (unverified bytes by URL, on purpose: the
 * test compares the float and int8 files against PyTorch's reads) in onnxruntime-web WASM, the build the plate
 * worker uses, on 128x32 fixture crops, with the pipeline's own preprocessing and CTC decoding
 * (plate-trained.ts, plate-recogniser.ts). It must stay a thin shell: no decoding logic of its own.
 */
import { expose } from '../../src/inference/worker/expose';
import { configureOrt, OrtSession } from '../../src/inference/worker/ort-runtime';
import { foldProbs, greedyDecode } from '../../src/inference/worker/plate/plate-recogniser';
import {
  TRAINED_CHARSET,
  TRAINED_H,
  TRAINED_W,
  trainedCharset,
  trainedPreprocess,
  trainedToSteps,
} from '../../src/inference/worker/plate/plate-trained';
import type { RgbaImage } from '../../src/inference/worker/plate/plate-image';

/** Mirrored (by hand) in plate-trained.test.ts: a type import from here would pull worker code into the app project. */
type Commands = {
  read: {
    req: { modelUrl: string; crops: ImageBitmap[] };
    res: { texts: string[]; maxProb: number[][]; sizes: number[][] };
  };
};

function pixels(bitmap: ImageBitmap): RgbaImage {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d')!;
  g.drawImage(bitmap, 0, 0);
  const img = {
    width: bitmap.width,
    height: bitmap.height,
    data: g.getImageData(0, 0, bitmap.width, bitmap.height).data,
  };
  bitmap.close();
  return img;
}

expose<Commands>({
  async read({ modelUrl, crops }) {
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    await configureOrt({ wasmBase: '/models/ort/', threads: 1, maxThreads: 1, backend: 'wasm', autoPrefers: 'wasm' });
    const session = await OrtSession.create('plate-rec-trained (test)', bytes, 'wasm');
    try {
      const images = crops.map(pixels);
      const input = trainedPreprocess(images);
      const o = await session.runTensor(input, [images.length, 1, TRAINED_H, TRAINED_W]);
      const steps = trainedToSteps(o.data as Float32Array, o.dims);
      const cs = trainedCharset(TRAINED_CHARSET);
      const texts: string[] = [];
      const maxProb: number[][] = [];
      for (let b = 0; b < steps.n; b++) {
        const f = foldProbs(steps.data, b * steps.T * steps.C, steps.T, cs);
        texts.push(greedyDecode(f, cs).text);
        const m: number[] = [];
        for (let t = 0; t < steps.T; t++) m.push(Math.max(...f.p.subarray(t * (f.K + 1), (t + 1) * (f.K + 1))));
        maxProb.push(m);
      }
      return { texts, maxProb, sizes: images.map((i) => [i.width, i.height]) };
    } finally {
      await session.release();
    }
  },
});
