// @ts-check
/**
 * Video files for the liveness benchmark and its dev-set builder: decoded to JPEG frames with ffmpeg (Debian
 * package; `npm test` installs it) into a temporary folder the caller removes. Owns nothing else.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const VIDEO_EXT = new Set(['.mp4', '.webm', '.mov', '.mkv', '.avi', '.y4m']);
export const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp']);

/**
 * @param {string} video @param {string} outDir @param {{ fps: number, seconds: number, width?: number }} o
 * @returns {string[]} frame paths in order
 */
export function extractFrames(video, outDir, o) {
  mkdirSync(outDir, { recursive: true });
  const r = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-y', '-i', video, '-t', String(o.seconds), '-vf', `fps=${o.fps},scale=${o.width ?? 640}:-2`, '-q:v', '3', join(outDir, '%05d.jpg')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.error) throw new Error(`ffmpeg not runnable (${r.error.message}); install Debian's ffmpeg`);
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${video}`);
  return readdirSync(outDir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(outDir, f));
}

/**
 * Assembles JPEG frames into a video ffmpeg can read back (MJPEG in AVI: no codec licence, in every ffmpeg build).
 * @param {string} framesDir  frames named %05d.jpg @param {number} fps @param {string} out
 */
export function assembleVideo(framesDir, fps, out) {
  const r = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-y', '-framerate', String(fps), '-i', join(framesDir, '%05d.jpg'), '-c:v', 'mjpeg', '-q:v', '3', out],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not write ${out}`);
}
