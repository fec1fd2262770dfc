#!/usr/bin/env node
// @ts-check
/**
 * `npm run train:plates [-- --smoke] [-- train.py options]`: trains the plate recogniser and installs it.
 *
 * Runs train/plates/train.py with Debian's Python (/usr/bin/python3, where apt installs python3-torch; not the
 * first python3 on PATH, which may be another interpreter without it), then scripts/quantise-plate-rec.mjs:
 * for a full run, `--install` (models/trained/ and the manifest's hashes); for `--smoke`, the int8 is built in the
 * smoke output folder only, so a smoke run never changes a committed file. Owns only this sequencing.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, runOrExit, trainingOut } from './lib-train.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export { PYTHON };

const args = process.argv.slice(2);
const { smoke, out, outArgs } = trainingOut(args, 'plate-smoke-', join(root, 'train/plates/run'));
const pyArgs = [join(root, 'train/plates/train.py'), ...args, ...outArgs];
if (!smoke && !args.includes('--fixture')) pyArgs.push('--fixture');

/** @param {string} cmd @param {string[]} a */
const run = (cmd, a) => runOrExit(cmd, a, root);

run(PYTHON, pyArgs);
run(process.execPath, [join(root, 'scripts/quantise-plate-rec.mjs'), '--run', out, ...(smoke ? [] : ['--install'])]);
console.log(smoke ? `smoke output in ${out}` : 'installed models/trained/ and pinned models/manifest.json');
