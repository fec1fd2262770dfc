/**
 * scripts/tflite-metadata.mjs on the real BlazeFace models from @mediapipe/face_detection: the metadata it writes
 * reads back with the schema's field ids (image content, RGB, mean/std, one entry per output), and the model
 * itself is untouched: same version, tensors and every original buffer byte for byte. MediaPipe's acceptance of
 * the result is proven in test/browser/face-detector.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addImageMetadata,
  embedMetadata,
  readMetadata,
  readModel,
  METADATA_ENTRY_NAME,
} from '../../scripts/tflite-metadata.mjs';

const pkg = new URL('../../node_modules/@mediapipe/face_detection', import.meta.url).pathname;
const opts = { name: 'BlazeFace', license: 'Apache-2.0', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] };

describe.each([
  ['face_detection_short_range.tflite', 128, 896],
  ['face_detection_full_range.tflite', 192, 2304],
])('%s', (file, size, anchors) => {
  const original = new Uint8Array(readFileSync(join(pkg, file)));
  const withMeta = addImageMetadata(original, opts);

  test('has no metadata as shipped on npm (why the FaceDetector refuses it)', () => {
    expect(readMetadata(original)).toBeNull();
  });

  test('gets image input metadata: RGB, mean = std = 127.5, i.e. values in [-1, 1]', () => {
    const m = readMetadata(withMeta)!;
    expect(m.name).toBe('BlazeFace');
    expect(m.license).toBe('Apache-2.0');
    expect(m.minParserVersion).toBe('1.0.0');
    expect(m.inputs).toHaveLength(1);
    const input = m.inputs[0]!;
    expect(input).toMatchObject({
      contentType: 2,
      colorSpace: 1,
      width: size,
      height: size,
      mean: opts.mean,
      std: opts.std,
    });
    expect(input.statsMin).toEqual([-1, -1, -1]);
    expect(input.statsMax).toEqual([1, 1, 1]);
    expect(m.outputs.map((o) => o.name)).toEqual(readModel(original).outputs.map((o) => o.name));
  });

  test('leaves the model itself byte-identical: version, tensors and every original buffer', () => {
    const a = readModel(original);
    const b = readModel(withMeta);
    expect(b.version).toBe(a.version);
    expect(b.inputs).toEqual(a.inputs);
    expect(b.inputs[0]!.shape).toEqual([1, size, size, 3]);
    expect(b.outputs).toEqual(a.outputs);
    expect(b.outputs[0]!.shape).toEqual([1, anchors, 16]);
    expect(b.buffers).toHaveLength(a.buffers.length + 1);
    a.buffers.forEach((buf, i) =>
      expect(Buffer.from(b.buffers[i]!).equals(Buffer.from(buf)), `buffer ${i}`).toBe(true),
    );
    expect(b.metadata).toEqual([...a.metadata, { name: METADATA_ENTRY_NAME, buffer: a.buffers.length }]);
    // The new root is built in front of the original file, which is carried over whole (16-byte aligned).
    expect(
      Buffer.from(withMeta.subarray(withMeta.length - Math.ceil(original.length / 16) * 16))
        .subarray(0, original.length)
        .equals(Buffer.from(original)),
    ).toBe(true);
  });

  test('is deterministic and idempotent: re-adding replaces the entry instead of stacking a second one', () => {
    expect(Buffer.from(addImageMetadata(original, opts)).equals(Buffer.from(withMeta))).toBe(true);
    const twice = addImageMetadata(withMeta, { ...opts, name: 'again' });
    expect(readModel(twice).metadata.filter((m) => m.name === METADATA_ENTRY_NAME)).toHaveLength(1);
    expect(readMetadata(twice)!.name).toBe('again');
  });
});

test('refuses what it cannot handle instead of writing a broken model', () => {
  expect(() => embedMetadata(new TextEncoder().encode('not a flatbuffer at all'), new Uint8Array(8))).toThrow(/TFL3/);
  const model = new Uint8Array(readFileSync(join(pkg, 'face_detection_short_range.tflite')));
  expect(() => addImageMetadata(model, { ...opts, std: [0], mean: [0] })).toThrow(/std/);
  expect(() => addImageMetadata(model, { ...opts, mean: [1, 2], std: [1, 2] })).toThrow(/1 or 3/);
});
