#!/usr/bin/env node
// @ts-check
/**
 * Converts dlib's ResNet face descriptor, as shipped in tfjs form by @vladmandic/face-api, into our own ONNX file
 * (models/face/dlib_resnet.onnx). This file owns only the Node side: reading the weights, writing the model
 * atomically, hashing it, and the command line; the graph itself is built by lib-dlib-onnx.mjs. It must never fetch
 * anything: the weights come from node_modules only.
 *
 *   node scripts/convert-dlib.mjs [--out models/face/dlib_resnet.onnx] [--manifest FILE] [--bin FILE]
 *
 * scripts/provision.mjs calls convertDlib() and pins the returned sha256 (the output is byte-for-byte deterministic).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDlibOnnx } from './lib-dlib-onnx.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const faceApiModel = join(root, 'node_modules/@vladmandic/face-api/model');

export const DEFAULT_MANIFEST = join(faceApiModel, 'face_recognition_model-weights_manifest.json');
export const DEFAULT_BIN = join(faceApiModel, 'face_recognition_model.bin');
export const DEFAULT_OUT = join(root, 'models/face/dlib_resnet.onnx');

/**
 * @param {{ manifestPath?: string, binPath?: string, outPath?: string }} [opts]
 *   manifestPath: tfjs weights manifest; binPath: all its shards concatenated (this model has one shard);
 *   outPath: where to write the .onnx (directories are created).
 * @returns {Promise<{ sha256: string, size: number }>} hex SHA-256 and byte size of the written file
 */
export async function convertDlib({
  manifestPath = DEFAULT_MANIFEST,
  binPath = DEFAULT_BIN,
  outPath = DEFAULT_OUT,
} = {}) {
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  const bin = new Uint8Array(await readFile(binPath));
  const onnx = await buildDlibOnnx({ manifest, bin });
  await mkdir(dirname(outPath), { recursive: true });
  // Write then rename, so a crash never leaves a truncated model under the name the app loads.
  const tmp = `${outPath}.${process.pid}.tmp`;
  await writeFile(tmp, onnx);
  await rename(tmp, outPath);
  return { sha256: createHash('sha256').update(onnx).digest('hex'), size: onnx.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      manifest: { type: 'string', default: DEFAULT_MANIFEST },
      bin: { type: 'string', default: DEFAULT_BIN },
    },
  });
  const outPath = resolve(values.out);
  const { sha256, size } = await convertDlib({ manifestPath: values.manifest, binPath: values.bin, outPath });
  console.log(`${outPath}\n  ${size} bytes\n  sha256 ${sha256}`);
}
