// @ts-check
/**
 * The PAD dev set's tuning/test split (bench/liveness.mjs), in one place so train/pad/train.py's `bench_side` can be
 * checked against it (test/unit/pad-split.test.ts): an image belongs to the photo it was made from, a photo to its
 * person's group (`name~member` → `name`, bench/lib/npm-faces.mjs), and a group is on the tuning side when the first
 * byte of its name's SHA-256 is even. Everything made from one person's photos falls on one side.
 */
import { createHash } from 'node:crypto';

/** The photo an image was made from: `bona-fide/x.jpg`, `attack/print/x-halftone-0.jpg`, `attack/replay/x-screen-1.jpg`, `attack/print/x-close-glare-0.jpg`, `bona-fide/x-far.jpg` → x. */
export const sourceOf = (/** @type {string} */ name) =>
  (name.split('/').pop() ?? name).replace(/\.[a-z0-9]+$/i, '').replace(/(-close)?-(halftone|texture|glare)-\d+$|(-close)?-screen-\d+$|-screen$|-far$/, '');

/** The split's group of a source name: `clm-audrey~2` → `clm-audrey`; names without `~` are their own group. */
export const groupOf = (/** @type {string} */ name) => name.replace(/~[a-z0-9]+$/i, '');

/** @returns {'tune' | 'test'} */
export const side = (/** @type {string} */ name) =>
  (createHash('sha256').update(groupOf(sourceOf(name))).digest()[0] ?? 0) % 2 === 0 ? 'tune' : 'test';
