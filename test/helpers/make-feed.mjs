#!/usr/bin/env node
// @ts-check
/**
 * Turns any image or video into a Chromium fake-camera feed (.y4m, yuv420p, 640x480 by default).
 *
 * Chromium's --use-file-for-fake-video-capture plays the file in a loop as the camera; Y4M works, MJPEG gave solid
 * green frames on these machines (../shared/docs/browser-testing.md). The source is scaled to fit and padded, so a
 * box measured on the padded frame maps back with `fitTransform`. Needs ffmpeg (Debian package), which `npm test`
 * installs when missing.
 *
 * CLI: node test/helpers/make-feed.mjs IN OUT.y4m [--crop w:h:x:y] [--seconds 3] [--fps 15] [--size 640x480]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * @typedef {{ crop?: string, seconds?: number, fps?: number, width?: number, height?: number, inset?: number }} FeedOptions
 * `inset` (0..1): the picture fills only that fraction of the frame, centred on a plain grey wall — a photo held up at
 * arm's length rather than filling the camera's view.
 */

/**
 * Writes `out` (a .y4m) from `input` (image or video) unless it is already newer than the input.
 * @param {string} input
 * @param {string} out
 * @param {FeedOptions} [opts]
 * @returns {string} out
 */
export function makeFeed(input, out, opts = {}) {
  const { seconds = 3, fps = 15, width = 640, height = 480 } = opts;
  if (!existsSync(input)) throw new Error(`feed source missing: ${input}`);
  if (existsSync(out) && statSync(out).mtimeMs > statSync(input).mtimeMs) return out;
  mkdirSync(dirname(out), { recursive: true });
  const isImage = ['.jpg', '.jpeg', '.png', '.bmp', '.webp'].includes(extname(input).toLowerCase());
  const filters = [
    ...(opts.crop ? [`crop=${opts.crop}`] : []),
    `scale=${Math.round(width * (opts.inset ?? 1))}:${Math.round(height * (opts.inset ?? 1))}:force_original_aspect_ratio=decrease`,
    `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2${opts.inset ? ':color=0x6b6b6b' : ''}`,
    `fps=${fps}`,
    'format=yuv420p',
  ];
  const args = [
    '-v', 'error', '-y',
    ...(isImage ? ['-loop', '1', '-framerate', String(fps)] : []),
    '-i', input,
    '-t', String(seconds),
    '-vf', filters.join(','),
    '-pix_fmt', 'yuv420p',
    '-f', 'yuv4mpegpipe',
    out,
  ];
  const r = spawnSync('ffmpeg', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`ffmpeg not runnable (${r.error.message}); install Debian's ffmpeg`);
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${input} (exit ${r.status})`);
  return out;
}

/**
 * Writes one feed that plays several stills one after the other (e.g. a person, an empty doorway, another person),
 * each for its own number of seconds, at one frame rate. Chromium loops the whole file. Each segment is made by
 * `makeFeed` and the frames are joined under the first segment's header (same size, rate and format by construction).
 * @param {{ input: string, crop?: string, seconds: number }[]} segments
 * @param {string} out
 * @param {{ fps?: number, width?: number, height?: number }} [opts]
 * @returns {string} out
 */
export function makeSequenceFeed(segments, out, opts = {}) {
  const newest = Math.max(...segments.map((s) => statSync(s.input).mtimeMs));
  if (existsSync(out) && statSync(out).mtimeMs > newest) return out;
  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(`${out}.part`, 'w');
  try {
    segments.forEach((seg, i) => {
      const part = makeFeed(seg.input, `${out}.seg${i}.y4m`, { ...opts, crop: seg.crop, seconds: seg.seconds });
      const bytes = readFileSync(part);
      // Y4M: one header line, then FRAME records; later segments contribute their frames only.
      const body = i === 0 ? bytes : bytes.subarray(bytes.indexOf(0x0a) + 1);
      writeSync(fd, body);
      rmSync(part);
    });
  } finally {
    closeSync(fd);
  }
  renameSync(`${out}.part`, out);
  return out;
}

/**
 * Maps a box in the (cropped) source into feed pixels, mirroring the scale+pad filters above.
 * @param {{x:number,y:number,w:number,h:number}} box  in cropped-source pixels
 * @param {{ srcW: number, srcH: number, width?: number, height?: number }} geo
 */
export function fitTransform(box, { srcW, srcH, width = 640, height = 480 }) {
  const s = Math.min(width / srcW, height / srcH);
  const ox = (width - Math.round(srcW * s)) / 2;
  const oy = (height - Math.round(srcH * s)) / 2;
  return { x: box.x * s + ox, y: box.y * s + oy, w: box.w * s, h: box.h * s };
}

/**
 * Writes a cropped still photo (JPEG) for enrolment tests, unless it is already newer than its source.
 * @param {string} input
 * @param {string} out
 * @param {string} crop  ffmpeg crop w:h:x:y
 * @returns {string} out
 */
export function makePhoto(input, out, crop) {
  if (existsSync(out) && statSync(out).mtimeMs > statSync(input).mtimeMs) return out;
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', input, '-vf', `crop=${crop}`, '-q:v', '3', out], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.error) throw new Error(`ffmpeg not runnable (${r.error.message}); install Debian's ffmpeg`);
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${input} (exit ${r.status})`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { crop: { type: 'string' }, seconds: { type: 'string' }, fps: { type: 'string' }, size: { type: 'string' } },
  });
  const [input, out] = positionals;
  if (!input || !out) {
    console.error('usage: make-feed.mjs IN OUT.y4m [--crop w:h:x:y] [--seconds 3] [--fps 15] [--size 640x480]');
    process.exit(2);
  }
  const [w, h] = (values.size ?? '640x480').split('x').map(Number);
  makeFeed(input, out, {
    crop: values.crop,
    seconds: values.seconds ? Number(values.seconds) : undefined,
    fps: values.fps ? Number(values.fps) : undefined,
    width: w,
    height: h,
  });
  console.log(out);
}
