/**
 * The runtime files models/manifest.json ships are the ones the runtimes need, and suffice: tesseract.js 7 runs
 * fully offline from /models/tesseract, where provisioning put only one of tesseract.js-core's 12 builds (the one
 * the worker picks in Chromium). If tesseract.js ever picks another build, it gets a 404 and this test fails.
 * (onnxruntime-web's files are checked in face-detector.test.ts, MediaPipe's in the same file's worker test.)
 */
import { expect, test } from 'vitest';
import { createWorker, OEM } from 'tesseract.js';

test('tesseract.js reads text with only the provisioned worker, core and eng traineddata', async () => {
  const manifest = (await (await fetch('/models/manifest.json')).json()) as { files: { out: string }[] };
  const shipped = manifest.files.map((f) => f.out).filter((o) => o.startsWith('tesseract/'));
  expect(shipped.sort()).toEqual([
    'tesseract/eng.traineddata.gz',
    'tesseract/tesseract-core-relaxedsimd-lstm.wasm.js',
    'tesseract/worker.min.js',
  ]);

  const canvas = new OffscreenCanvas(480, 120);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, 480, 120);
  ctx.fillStyle = '#000';
  ctx.font = 'bold 64px sans-serif';
  ctx.fillText('KX 4821', 40, 85);
  const png = await canvas.convertToBlob({ type: 'image/png' });

  const worker = await createWorker('eng', OEM.LSTM_ONLY, {
    workerPath: '/models/tesseract/worker.min.js',
    // A folder, as the kiosk configures it: tesseract.js then chooses the core build itself.
    corePath: '/models/tesseract',
    langPath: '/models/tesseract',
    workerBlobURL: false,
    cacheMethod: 'none',
    gzip: true,
  });
  try {
    const { data } = await worker.recognize(png);
    expect(data.text.replace(/\s+/g, ' ').trim()).toBe('KX 4821');
  } finally {
    await worker.terminate();
  }
});
