// @ts-check
/**
 * What the `npm run train:*` scripts share: where a run writes (`--out`, a temporary folder for `--smoke`, else the
 * script's run folder), running a step and stopping on its failure, and installing a model the project trained
 * itself (copied into models/trained/, its size and SHA-256 re-pinned in models/manifest.json under an existing
 * entry). The training scripts decide what runs and what is installed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Debian's Python, where apt installs python3-torch (not the first python3 on PATH, which may lack it). */
export const PYTHON = '/usr/bin/python3';

/**
 * @param {string[]} args the script's arguments
 * @param {string} smokePrefix temporary folder prefix for `--smoke`
 * @param {string} runDir the full run's folder
 * @returns {{ smoke: boolean, out: string, outArgs: string[] }} outArgs: `--out <out>` unless the caller gave one
 */
export function trainingOut(args, smokePrefix, runDir) {
  const smoke = args.includes('--smoke');
  const i = args.indexOf('--out');
  const out = i >= 0 ? /** @type {string} */ (args[i + 1]) : smoke ? mkdtempSync(join(tmpdir(), smokePrefix)) : runDir;
  return { smoke, out, outArgs: i >= 0 ? [] : ['--out', out] };
}

/** Runs one step with inherited output; exits with its status when it fails. @param {string} cmd @param {string[]} a @param {string} cwd */
export function runOrExit(cmd, a, cwd) {
  console.log(`$ ${cmd} ${a.join(' ')}`);
  const r = spawnSync(cmd, a, { stdio: 'inherit', cwd });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * @param {string} root repository root
 * @param {string} entryId manifest entry to re-pin (must exist: a new model gets its entry, licence and provenance by hand)
 * @param {string} src trained file to install
 * @param {string} [name] file name under models/trained/ (default: the source's)
 * @returns {{ sha256: string, size: number, path: string }}
 */
export function installTrained(root, entryId, src, name = basename(src)) {
  const bytes = readFileSync(src);
  const rel = `models/trained/${name}`;
  const manifestPath = join(root, 'models/manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const e = [...manifest.files, ...(manifest.verificationOnly ?? [])].find((x) => x.id === entryId);
  if (!e) throw new Error(`no manifest entry ${entryId}`);
  if (e.path !== rel) throw new Error(`manifest entry ${entryId} pins ${e.path}, not ${rel}`);
  copyFileSync(src, join(root, rel));
  e.sha256 = createHash('sha256').update(bytes).digest('hex');
  e.size = bytes.length;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { sha256: e.sha256, size: e.size, path: rel };
}
