/**
 * Test-only module worker: runs one PAD ONNX file (by URL) in onnxruntime-web WASM — the build and the input
 * conversion the face worker uses (face-liveness.ts: livenessTensor with TRAINED_PAD's pixel scale, softmax0) — on
 * fixture crops that are already the model's input size. It must stay a thin shell: no preprocessing of its own.
 */
import { expose } from '../../src/inference/worker/expose';
import { configureOrt, OrtSession } from '../../src/inference/worker/ort-runtime';
import { livenessTensor, softmax0, TRAINED_PAD } from '../../src/inference/worker/face/face-liveness';

/** Mirrored (by hand) in pad-trained.test.ts: a type import from here would pull worker code into the app project. */
type Commands = {
  score: {
    req: { modelUrl: string; crops: ImageBitmap[] };
    res: { live: number[]; logits: number[][]; sizes: number[][] };
  };
};

expose<Commands>({
  async score({ modelUrl, crops }) {
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    await configureOrt({ wasmBase: '/models/ort/', threads: 1, maxThreads: 1, backend: 'wasm', autoPrefers: 'wasm' });
    const session = await OrtSession.create('face-pad-trained (test)', bytes, 'wasm');
    const n = TRAINED_PAD.input;
    const input = new Float32Array(3 * n * n);
    const live: number[] = [];
    const logits: number[][] = [];
    const sizes: number[][] = [];
    try {
      for (const bitmap of crops) {
        sizes.push([bitmap.width, bitmap.height]);
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const g = canvas.getContext('2d')!;
        g.drawImage(bitmap, 0, 0);
        bitmap.close();
        livenessTensor(g.getImageData(0, 0, n, n).data, n, 'rgb', input, TRAINED_PAD.pixelScale);
        const out = await session.runTensor(input, [1, 3, n, n]);
        const l = Array.from(out.data as Float32Array);
        logits.push(l);
        live.push(softmax0(l));
      }
      return { live, logits, sizes };
    } finally {
      await session.release();
    }
  },
});
