/**
 * tesseract.js as a plate recogniser: reads one tight line crop, behind the same candidate shape as PP-OCR.
 *
 * Owns tesseract's setup (fully offline: worker, core and traineddata from our own origin, no cache writes, no
 * blob worker) and the crop preparation that measured best for plates (grey, contrast stretch, dark-on-light,
 * upscaled to ~100 px high, single-word page mode, A-Z0-9 whitelist). Crops reach tesseract as an in-memory BMP
 * so no canvas is needed. It never localises plates (the PP-OCR detector does) and never sees whole frames.
 */
import { createWorker, OEM, PSM, type Worker as TesseractWorker } from 'tesseract.js';
import { KioskError } from '../../../shared/errors';
import { resize, stretchContrast, toGray, type RgbaImage } from './plate-image';

export interface TesseractPaths {
  /** tesseract.js's worker script (same origin). */
  workerPath: string;
  /** The core .wasm.js file (same origin; the file name picks the SIMD/LSTM build). */
  corePath: string;
  /** Folder URL holding eng.traineddata.gz (same origin). */
  langPath: string;
}

export interface TesseractRead {
  text: string;
  /** 0..1 (tesseract's word confidence / 100). */
  confidence: number;
}

export interface TesseractRecogniser {
  read(crop: RgbaImage): Promise<TesseractRead>;
  terminate(): Promise<void>;
}

const WHITELIST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const TARGET_HEIGHT = 100;

/** Grey, stretched, dark text on a light ground, ~100 px high: tesseract's LSTM was trained on such lines. */
export function prepareForTesseract(crop: RgbaImage): RgbaImage {
  let img = stretchContrast(toGray(crop));
  const n = img.width * img.height;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += img.data[i * 4]!;
  if (sum / n < 110) {
    // Light characters on a dark plate: invert.
    const inv = new Uint8ClampedArray(img.data.length);
    for (let i = 0; i < img.data.length; i += 4) {
      inv[i] = 255 - img.data[i]!;
      inv[i + 1] = 255 - img.data[i + 1]!;
      inv[i + 2] = 255 - img.data[i + 2]!;
      inv[i + 3] = 255;
    }
    img = { width: img.width, height: img.height, data: inv };
  }
  const scale = TARGET_HEIGHT / img.height;
  return resize(img, img.width * scale, TARGET_HEIGHT, scale > 1 ? 'cubic' : 'linear');
}

/** 24-bit BMP bytes of an RGBA image (bottom-up rows, 4-byte aligned), which Leptonica reads everywhere. */
export function encodeBmp(img: RgbaImage): Uint8Array {
  const rowSize = Math.ceil((img.width * 3) / 4) * 4;
  const size = 54 + rowSize * img.height;
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  buf[0] = 0x42;
  buf[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, img.width, true);
  v.setInt32(22, img.height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, rowSize * img.height, true);
  for (let y = 0; y < img.height; y++) {
    const row = 54 + (img.height - 1 - y) * rowSize;
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 4;
      buf[row + x * 3] = img.data[p + 2]!;
      buf[row + x * 3 + 1] = img.data[p + 1]!;
      buf[row + x * 3 + 2] = img.data[p]!;
    }
  }
  return buf;
}

export async function createTesseractRecogniser(paths: TesseractPaths): Promise<TesseractRecogniser> {
  let worker: TesseractWorker;
  try {
    worker = await createWorker('eng', OEM.LSTM_ONLY, {
      workerPath: paths.workerPath,
      corePath: paths.corePath,
      langPath: paths.langPath,
      // Nothing is written to IndexedDB (the vault's database is the only one the kiosk keeps) and the worker
      // script is loaded from our origin, not re-wrapped in a blob URL.
      cacheMethod: 'none',
      workerBlobURL: false,
      gzip: true,
    });
    await worker.setParameters({
      tessedit_char_whitelist: WHITELIST,
      tessedit_pageseg_mode: PSM.SINGLE_WORD,
    });
  } catch (e) {
    throw new KioskError('MODEL_LOAD_FAILED', { model: 'tesseract' }, { cause: e });
  }
  let queue: Promise<unknown> = Promise.resolve();
  return {
    read(crop) {
      const p = queue.then(async () => {
        const bmp = encodeBmp(prepareForTesseract(crop));
        const r = await worker.recognize(bmp as unknown as Blob, {}, { text: true, blocks: true });
        const text = (r.data.text ?? '').replace(/[^A-Z0-9]/g, '');
        // With a whitelist, the page and word confidences come back 0; the symbols carry real ones. Geometric mean,
        // as for PP-OCR reads, so one doubtful character pulls the read down.
        const symbols = (r.data.blocks ?? []).flatMap((b) =>
          b.paragraphs.flatMap((p) => p.lines.flatMap((l) => l.words.flatMap((w) => w.symbols))),
        );
        const conf = symbols.length
          ? Math.exp(symbols.reduce((acc, x) => acc + Math.log(Math.max(1e-3, x.confidence / 100)), 0) / symbols.length)
          : 0;
        return { text, confidence: Math.max(0, Math.min(1, conf)) };
      });
      queue = p.catch(() => undefined);
      return p;
    },
    async terminate() {
      await worker.terminate();
    },
  };
}
