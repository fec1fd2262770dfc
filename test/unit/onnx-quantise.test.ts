/**
 * The ONNX reader (scripts/lib-onnx-reader.mjs) and the QDQ int8 quantiser (scripts/lib-onnx-quantise.mjs), judged
 * by onnxruntime-web (Node build, wasm): a model read back is the model written, the real fr_feature package file
 * survives decode → encode with identical outputs, and a quantised Conv graph computes what the float one does to
 * within its quantisation step, with depthwise Convs left float when asked and the source spec untouched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-web';
import { DataType, encodeModel, float32Bytes } from '../../scripts/lib-onnx-writer.mjs';
import type { ModelSpec, NodeSpec } from '../../scripts/lib-onnx-writer.mjs';
import { decodeModel } from '../../scripts/lib-onnx-reader.mjs';
import {
  activationParams,
  convTensors,
  quantiseConvs,
  quantiseWeights,
  roundHalfEven,
} from '../../scripts/lib-onnx-quantise.mjs';

ort.env.wasm.numThreads = 1;
const ROOT = join(import.meta.dirname, '../..');

async function run(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  try {
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, dims) });
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Deterministic pseudo-random floats in [-1, 1). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const conv = (name: string, x: string, w: string, b: string, y: string, group = 1, k = 3): NodeSpec => ({
  opType: 'Conv',
  name,
  inputs: [x, w, b],
  outputs: [y],
  attributes: [
    { name: 'group', type: 'int', value: group },
    { name: 'kernel_shape', type: 'ints', value: [k, k] },
    { name: 'pads', type: 'ints', value: Array(4).fill((k - 1) / 2) },
  ],
});

/** x[1,4,8,8] → Conv 3×3 (8 out) → PRelu → depthwise 3×3 → Conv 1×1 (4 out) → Add(x) → y. */
function tinyNet(): ModelSpec {
  const t = (name: string, dims: number[], seed: number, k = 0.3) => ({
    name,
    dims,
    dataType: DataType.FLOAT,
    raw: float32Bytes(
      noise(
        dims.reduce((a, b) => a * b, 1),
        seed,
      ).map((v) => v * k),
    ),
  });
  return {
    irVersion: 7,
    opsetImports: [{ domain: '', version: 9 }],
    producerName: 'quantise-test',
    producerVersion: '0',
    graph: {
      name: 'tiny',
      nodes: [
        conv('c0', 'x', 'w0', 'b0', 'h0'),
        { opType: 'PRelu', name: 'p0', inputs: ['h0', 'a0'], outputs: ['h1'] },
        conv('dw', 'h1', 'w1', 'b1', 'h2', 8),
        conv('c2', 'h2', 'w2', 'b2', 'h3', 1, 1),
        { opType: 'Add', name: 'add', inputs: ['h3', 'x'], outputs: ['y'] },
      ],
      initializers: [
        t('w0', [8, 4, 3, 3], 1),
        t('b0', [8], 2),
        t('a0', [8, 1, 1], 3, 0.25),
        t('w1', [8, 1, 3, 3], 4),
        t('b1', [8], 5),
        t('w2', [4, 8, 1, 1], 6),
        t('b2', [4], 7),
      ],
      inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: [1, 4, 8, 8] }],
      outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: [1, 4, 8, 8] }],
    },
  };
}

/** Ranges as calibration would find them: min/max of each tensor over a few inputs, via exposed outputs. */
async function calibrate(m: ModelSpec, inputs: Float32Array[]): Promise<Record<string, [number, number]>> {
  const acts = convTensors(m);
  const exposed = {
    ...m,
    graph: {
      ...m.graph,
      outputs: acts
        .filter((a) => a !== 'x')
        .map((a) => ({ name: a, elemType: DataType.FLOAT, shape: ['n', 'c', 'h', 'w'] })),
    },
  };
  const s = await ort.InferenceSession.create(encodeModel(exposed));
  const ranges: Record<string, [number, number]> = {};
  for (const x of inputs) {
    const out = await s.run({ x: new ort.Tensor('float32', x, [1, 4, 8, 8]) });
    for (const a of acts) {
      const d = a === 'x' ? x : (out[a]!.data as Float32Array);
      const prev = ranges[a] ?? [Infinity, -Infinity];
      ranges[a] = [Math.min(prev[0], ...d), Math.max(prev[1], ...d)];
    }
  }
  await s.release();
  return ranges;
}

describe('quantisation primitives', () => {
  test('roundHalfEven rounds ties to even, like ONNX QuantizeLinear', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  test('activation params include zero exactly and span the range in 255 steps', () => {
    const { scale, zp } = activationParams([-1, 3]);
    expect(scale).toBeCloseTo(4 / 255, 9);
    expect(zp).toBe(64);
    // An all-positive range is widened down to 0 so zero padding stays exact.
    expect(activationParams([2, 5])).toEqual({ scale: 5 / 255, zp: 0 });
    expect(activationParams([0, 0]).scale).toBeGreaterThan(0);
  });

  test('weights: per output channel, the largest magnitude maps to ±127, error within half a step', () => {
    const w = Float32Array.from([0.5, -1, 0.25, 0.1, 0.02, -0.05]);
    const { q, scales } = quantiseWeights(w, 2);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), Math.fround(0.1 / 127)]);
    expect(q[1]).toBe(-127);
    expect(q[3]).toBe(127);
    w.forEach((v, i) =>
      expect(Math.abs(q[i]! * scales[Math.floor(i / 3)]! - v)).toBeLessThanOrEqual(
        scales[Math.floor(i / 3)]! / 2 + 1e-9,
      ),
    );
  });
});

describe('decodeModel', () => {
  test('reads back what encodeModel wrote', () => {
    const m = tinyNet();
    const back = decodeModel(encodeModel(m));
    expect(back.graph.nodes.map((n) => [n.opType, n.name, n.inputs, n.outputs])).toEqual(
      m.graph.nodes.map((n) => [n.opType, n.name, n.inputs, n.outputs]),
    );
    expect(back.graph.nodes[2]!.attributes).toEqual(m.graph.nodes[2]!.attributes);
    expect(back.graph.initializers.map((t) => [t.name, t.dims, t.dataType, Array.from(t.raw)])).toEqual(
      m.graph.initializers.map((t) => [t.name, t.dims, t.dataType, Array.from(t.raw)]),
    );
    expect(back.graph.inputs).toEqual(m.graph.inputs);
    expect(back.opsetImports).toEqual(m.opsetImports);
    expect(encodeModel(back)).toEqual(encodeModel(m));
  });

  test('the fr_feature package file (a PyTorch export) survives decode → encode with identical outputs', async () => {
    const src = readFileSync(join(ROOT, 'node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx'));
    const m = decodeModel(src);
    expect(m.graph.nodes.filter((n) => n.opType === 'Conv')).toHaveLength(50);
    const x = noise(3 * 112 * 112, 9);
    const a = await run(src, x, [1, 3, 112, 112]);
    const b = await run(encodeModel(m), x, [1, 3, 112, 112]);
    expect(Array.from(b)).toEqual(Array.from(a));
  }, 60_000); // two 24 MB model runs in onnxruntime-node: ~2 s idle, over 5 s on a loaded 2-core machine

  test('refuses truncated bytes and fields it does not model', () => {
    const bytes = encodeModel(tinyNet());
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 7))).toThrow();
    // Field 20 of ModelProto (training_info) is not modelled: refusing beats dropping it.
    expect(() => decodeModel(Uint8Array.from([...bytes, 0xa2, 0x01, 0x00]))).toThrow(/field 20/);
  });
});

describe('quantiseConvs', () => {
  const inputs = [1, 2, 3, 4].map((s) => noise(4 * 8 * 8, 100 + s));

  test('the int8 graph computes the float one to within a few quantisation steps', async () => {
    const m = tinyNet();
    const ranges = await calibrate(m, inputs);
    const q = quantiseConvs(m, ranges);
    expect(q.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(q.graph.nodes.filter((n) => n.opType === 'QuantizeLinear')).toHaveLength(convTensors(m).length);
    // Every float weight is replaced by an int8 one.
    expect(q.graph.initializers.some((t) => t.name === 'w0')).toBe(false);
    expect(q.graph.initializers.find((t) => t.name === 'w0__int8')?.dataType).toBe(DataType.INT8);
    const bytes = encodeModel(q);
    const step = activationParams(ranges['h3']!).scale;
    for (const x of inputs) {
      const ref = await run(encodeModel(m), x, [1, 4, 8, 8]);
      const got = await run(bytes, x, [1, 4, 8, 8]);
      let worst = 0;
      ref.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[i]!))));
      expect(worst).toBeGreaterThan(0); // it really is quantised
      expect(worst).toBeLessThan(6 * step + 0.02);
    }
  });

  test('depthwiseFloat keeps grouped Convs float; a tensor only they read is not quantised at all', () => {
    const m = tinyNet();
    const ranges = Object.fromEntries(convTensors(m).map((t) => [t, [-2, 2] as [number, number]]));
    const q = quantiseConvs(m, ranges, { depthwiseFloat: true });
    const dw = q.graph.nodes.find((n) => n.name === 'dw')!;
    expect(dw.inputs).toEqual(['h1', 'w1', 'b1']);
    expect(q.graph.nodes.some((n) => n.name === 'h1__Q')).toBe(false);
    expect(q.graph.initializers.some((t) => t.name === 'w1')).toBe(true);
    expect(q.graph.initializers.some((t) => t.name === 'w1__int8')).toBe(false);
    const c2 = q.graph.nodes.find((n) => n.name === 'c2')!;
    expect(c2.inputs).toEqual(['h2__dq', 'w2__deq', 'b2__deq']);
  });

  test('refuses a missing range or an operator it has not checked, and never mutates its input', () => {
    const m = tinyNet();
    const before = JSON.stringify(m.graph.nodes);
    const ranges = Object.fromEntries(convTensors(m).map((t) => [t, [-2, 2] as [number, number]]));
    quantiseConvs(m, ranges);
    expect(JSON.stringify(m.graph.nodes)).toBe(before);
    const { h2: _, ...missing } = ranges;
    expect(() => quantiseConvs(m, missing)).toThrow(/no calibration range for h2/);
    const odd = {
      ...m,
      graph: { ...m.graph, nodes: [...m.graph.nodes, { opType: 'Softmax', inputs: ['y'], outputs: ['z'] }] },
    };
    expect(() => quantiseConvs(odd, ranges)).toThrow(/Softmax/);
  });
});
