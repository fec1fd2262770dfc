#!/usr/bin/env node
// @ts-check
/**
 * `npm run train:plate-finder [-- --smoke] [-- detector.py options]`: trains the project's plate finder and installs it.
 *
 * Runs train/plates/detector.py with Debian's Python (/usr/bin/python3, where apt installs python3-torch; not the
 * first python3 on PATH). A full run then copies the checkpoint chosen on the `val` photos (plate_det.onnx) to
 * models/trained/plate_finder.onnx and re-pins its size and SHA-256 in models/manifest.json (entry plate-finder);
 * `--smoke` trains a few steps on drawn scenes into a temporary folder and never changes a committed file. Owns only
 * this sequencing.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installTrained, PYTHON, runOrExit, trainingOut } from './lib-train.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const FINDER_ENTRY = 'plate-finder';

const args = process.argv.slice(2);
const { smoke, out, outArgs } = trainingOut(args, 'plate-finder-smoke-', join(root, 'train/plates/det-run'));
runOrExit(PYTHON, [join(root, 'train/plates/detector.py'), ...args, ...outArgs], root);
if (smoke) {
  console.log(`smoke output in ${out}`);
} else {
  const e = installTrained(root, FINDER_ENTRY, join(out, 'plate_det.onnx'), 'plate_finder.onnx');
  console.log(`installed ${e.path} (${e.size} bytes, ${e.sha256}) and pinned it in models/manifest.json`);
}
