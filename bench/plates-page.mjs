// @ts-check
/**
 * Browser side of the plate benchmark (bench/plates.mjs drives it through window.__plates).
 *
 * Runs the real pipeline: the app's PlateClient → plate worker → onnxruntime-web / tesseract.js, and the app's
 * pure matching (voteConsensus, decidePlate) for the access decisions. Photos come from the benchmark's own
 * loopback route and stay in memory; nothing is stored. The app modules are imported by URL from the Vite dev
 * server (this page is not part of the app build), so this file carries only loose JSDoc types.
 */

/** @type {string} */
const CLIENT = '/src/inference/client/plate-client.ts';
/** @type {string} */
const MATCHING = '/src/matching/plates/index.ts';

const { PlateClient } = await import(/* @vite-ignore */ CLIENT);
const M = await import(/* @vite-ignore */ MATCHING);

/**
 * The label as the kiosk stores and compares it: normalised, then spelled the region's way (US plates print O and 0
 * with one glyph, so reads and listed plates both spell it 0: formats.ts regionSpelling). A read is exact when it
 * equals this; comparing with the raw label would count every US plate labelled with a letter O as misread, though
 * the kiosk never emits that O for any plate (the raw-label rate is reported beside it).
 * @param {string} label @param {string} region
 */
function spelled(label, region) {
  const rules = M.REGION_RULES[region];
  const plate = M.normalisePlate(label);
  return rules ? M.regionSpelling(plate, rules) : plate;
}

/** @type {Map<string, any>} */
const clients = new Map();
/** @type {Map<string, string[]>} */
const regionPlates = new Map();

/** Deterministic 32-bit hash (FNV-1a) so impostors are the same on every run. @param {string} s */
function hash(s) {
  let h = 0x811c9dc5;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/**
 * The same plate with one character replaced by a character of the same class (letter/digit) that is *not*
 * a look-alike (substitution cost 1): a different, real-looking plate one clear character away.
 * @param {string} plate
 */
function impostorOf(plate) {
  const chars = [...plate];
  const h = hash(plate);
  const pos = h % chars.length;
  const c = /** @type {string} */ (chars[pos]);
  const pool = M.isDigit(c) ? M.DIGITS : M.LATIN_LETTERS;
  const options = [...pool].filter((x) => x !== c && M.substitutionCost(c, x) === 1);
  chars[pos] = options[(h >>> 8) % options.length];
  return chars.join('');
}

/** @param {string} url @returns {Promise<Blob>} */
async function photo(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.blob();
}

/**
 * A debug crop as a PNG data URL (the benchmark's --dump writes them to a directory outside the repo).
 * @param {{ source: string, width: number, height: number, data: Uint8ClampedArray }} c
 */
function cropPng(c) {
  const canvas = document.createElement('canvas');
  canvas.width = c.width;
  canvas.height = c.height;
  /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d')).putImageData(
    new ImageData(new Uint8ClampedArray(c.data), c.width, c.height),
    0,
    0,
  );
  return { source: c.source, png: canvas.toDataURL('image/png') };
}

/**
 * Every read of a debug result with its crop's corners (bench --raw).
 * @param {{ raw?: { text: string, confidence: number, likeness: number, score: number, source: string,
 *   quad: { x: number, y: number }[] }[] }} r
 */
function rawReads(r) {
  return (r.raw ?? []).map((c) => ({
    text: c.text,
    confidence: c.confidence,
    likeness: c.likeness,
    score: c.score,
    source: c.source,
    // Where it was read (frame pixels): localisation studies compare it with the labelled plate box.
    quad: c.quad.map((q) => [Math.round(q.x), Math.round(q.y)]),
  }));
}

/** The benchmark's hook on window. */
const hook = {
  /** @param {{ reader: string, region: string, threads?: number, tuning?: object }} o */
  async init(o) {
    const key = o.reader;
    if (!clients.has(key))
      clients.set(
        key,
        new PlateClient({
          reader: o.reader,
          region: o.region,
          threads: o.threads,
          ...(o.tuning ? { tuning: o.tuning } : {}),
        }),
      );
    const t0 = performance.now();
    const info = await clients.get(key).init();
    return { ...info, initMs: performance.now() - t0 };
  },
  /** @param {string} region @param {string[]} plates */
  setRegion(region, plates) {
    regionPlates.set(region, [...new Set(plates.map((p) => M.normalisePlate(p)))]);
  },
  /** @param {string} reader */
  close(reader) {
    clients.get(reader)?.terminate();
    clients.delete(reader);
  },
  /**
   * @param {{ reader: string, region: string, url: string, plate: string, debug?: boolean, raw?: boolean,
   *   cropOnly?: boolean,
   *   box: { x: number, y: number, width: number, height: number } | null }} o
   */
  async evaluate(o) {
    const client = clients.get(o.reader);
    const blob = await photo(o.url);
    if (o.cropOnly) {
      // A crop folder: the image is the plate box; no whole-photo read and no decision.
      const bitmap = await createImageBitmap(blob, { imageOrientation: 'none' });
      const box = o.box ?? { x: 0, y: 0, width: bitmap.width, height: bitmap.height };
      const crop = await client.read(undefined, bitmap, { region: o.region, plateBox: box, debug: o.raw === true });
      const none = { text: '', confidence: 0, times: crop.times, top: [], crops: [], raw: [] };
      return {
        truth: spelled(o.plate, o.region),
        e2e: none,
        crop: { text: crop.text, confidence: crop.confidence, times: crop.times, raw: rawReads(crop) },
        enrolled: { outcome: 'skipped', reason: 'crop mode' },
        notListed: { outcome: 'skipped', reason: 'crop mode', impostor: '' },
      };
    }
    // imageOrientation 'none': label boxes are in the file's stored pixel grid.
    const e2e = await client.read(undefined, await createImageBitmap(blob, { imageOrientation: 'none' }), {
      region: o.region,
      ...(o.debug || o.raw ? { debug: true } : {}),
    });
    const crop = await client.read(undefined, await createImageBitmap(blob, { imageOrientation: 'none' }), {
      region: o.region,
      plateBox: o.box,
      ...(o.raw ? { debug: true } : {}),
    });
    const plate = M.normalisePlate(o.plate);
    const listed = regionPlates.get(o.region) ?? [];
    const impostor = impostorOf(plate);
    const subjects = (/** @type {string[]} */ plates) =>
      plates.map((p, i) => ({ id: `s${i}`, list: 'allow', plates: [p] }));
    // One photo per car here, so one frame of support is all there is (the kiosk requires more by default).
    const cfg = { region: o.region, minSupport: 1 };
    const consensus = M.voteConsensus([{ text: e2e.text, confidence: e2e.confidence }]);
    const enrolled = M.decidePlate(consensus, subjects(listed), cfg, { now: 0 });
    const notListed = M.decidePlate(consensus, subjects([...listed.filter((p) => p !== plate), impostor]), cfg, {
      now: 0,
    });
    return {
      truth: spelled(o.plate, o.region),
      e2e: {
        text: e2e.text,
        confidence: e2e.confidence,
        times: e2e.times,
        top: e2e.candidates
          .slice(0, 4)
          .map(
            (/** @type {{ text: string, score: number, source: string }} */ c) =>
              `${c.text}:${c.score.toFixed(2)}:${c.source}`,
          ),
        crops: o.debug ? (e2e.crops ?? []).map(cropPng) : [],
        raw: rawReads(e2e),
      },
      crop: { text: crop.text, confidence: crop.confidence, times: crop.times, raw: rawReads(crop) },
      enrolled: { outcome: enrolled.outcome, reason: enrolled.reason },
      notListed: { outcome: notListed.outcome, reason: notListed.reason, impostor },
    };
  },
};
const w = /** @type {any} */ (window);
w.__plates = hook;
w.__platesReady = true;
