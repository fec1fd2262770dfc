// @ts-check
/**
 * Static int8 quantisation of a float ONNX graph's Conv layers, in ONNX's QDQ form: every tensor that enters or
 * leaves a Conv gets QuantizeLinear → DequantizeLinear (uint8, asymmetric, from calibrated ranges), weights become
 * int8 per output channel (symmetric), biases int32 at the input-scale × weight-scale. onnxruntime fuses each
 * DQ → Conv → Q into one QLinearConv (its integer GEMM kernels run ~2x faster than float ones in WASM SIMD) and
 * keeps the other operators (PRelu, Add, Reshape) in float between a DQ and a Q.
 *
 * Pure: a ModelSpec and calibration ranges in, a ModelSpec out; the same inputs always give the same bytes, so
 * the result's SHA-256 can be pinned in models/manifest.json. It decides nothing about which model is used; the
 * parity of the quantised model with the float one is proven by test/browser/face-int8-parity.test.ts.
 */
import { DataType, float32Bytes } from './lib-onnx-writer.mjs';

/** @typedef {import('./lib-onnx-writer.mjs').ModelSpec} ModelSpec */
/** @typedef {import('./lib-onnx-writer.mjs').NodeSpec} NodeSpec */
/** @typedef {import('./lib-onnx-writer.mjs').TensorSpec} TensorSpec */
/** @typedef {Record<string, [number, number]>} Ranges  tensor name → [min, max] seen during calibration */

/** QuantizeLinear/DequantizeLinear with per-axis scales need opset 13. */
export const QDQ_OPSET = 13;

/** Operators whose semantics did not change between the source model's opset and 13 (checked in `quantiseConvs`). */
const SAFE_TO_RESTAMP = new Set(['Conv', 'PRelu', 'Add', 'Reshape', 'Relu', 'Mul', 'Flatten', 'Gemm', 'Identity']);

/** @param {TensorSpec} t @returns {Float32Array} */
function floatsOf(t) {
  if (t.dataType !== DataType.FLOAT) throw new Error(`${t.name}: not a float tensor`);
  const v = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  const out = new Float32Array(t.raw.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  return out;
}

/** @param {string} name @param {readonly number[]} dims @param {number} dataType @param {Uint8Array} raw */
const tensor = (name, dims, dataType, raw) => ({ name, dims, dataType, raw });

/**
 * Activation quantisation parameters (uint8): the range widened to include 0 (so zero padding is exact) and
 * never narrower than 1e-6, ONNX's rounding (half to even) for the zero point.
 * @param {[number, number]} r
 */
export function activationParams(r) {
  const lo = Math.min(0, r[0]);
  const hi = Math.max(0, r[1]);
  const scale = Math.max(1e-6, (hi - lo) / 255);
  const zp = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zp };
}

/** @param {number} x */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Per-output-channel symmetric int8 weights: scale_c = max|w_c| / 127.
 * @param {Float32Array} w @param {number} channels
 */
export function quantiseWeights(w, channels) {
  const per = w.length / channels;
  const scales = new Float32Array(channels);
  const q = new Int8Array(w.length);
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(/** @type {number} */ (w[c * per + i])));
    const s = m > 0 ? m / 127 : 1;
    scales[c] = s;
    for (let i = 0; i < per; i++) {
      q[c * per + i] = Math.max(-127, Math.min(127, roundHalfEven(/** @type {number} */ (w[c * per + i]) / s)));
    }
  }
  return { q, scales };
}

/**
 * Returns the QDQ-quantised model. `ranges` must hold every quantised Conv's input and output tensor (see
 * `convTensors`); Convs named in `keepFloat`, and with `depthwiseFloat` every grouped Conv, stay float (they read
 * their input's dequantised twin). Depthwise layers are both the most sensitive to int8 and the slowest in it
 * (onnxruntime's WASM build has no fast int8 depthwise kernel): on fr_feature, all-int8 gave 28 ms and template
 * cosine 0.980 to the float model, int8 pointwise with float depthwise 17 ms and 0.991 (docs/faces.md).
 * @param {ModelSpec} model @param {Ranges} ranges
 * @param {{ keepFloat?: readonly string[], depthwiseFloat?: boolean }} [opts]
 * @returns {ModelSpec}
 */
export function quantiseConvs(model, ranges, opts = {}) {
  const g = model.graph;
  const other = model.opsetImports.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx');
  if (other.length) throw new Error(`opset domains not supported: ${other.map((o) => o.domain).join(', ')}`);
  // A model already at opset 13 keeps its operators' semantics as they are; an older one is restamped, which is
  // only safe for operators whose definition did not change on the way.
  const ownOpset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
  for (const n of g.nodes) {
    if (ownOpset !== QDQ_OPSET && !SAFE_TO_RESTAMP.has(n.opType))
      throw new Error(`${n.opType}: not checked for the opset ${QDQ_OPSET} restamp`);
  }
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const keep = new Set(opts.keepFloat ?? []);
  for (const k of keep)
    if (!g.nodes.some((n) => n.opType === 'Conv' && n.name === k)) throw new Error(`keepFloat: no Conv ${k}`);
  if (opts.depthwiseFloat) {
    for (const n of g.nodes) {
      if (n.opType !== 'Conv') continue;
      const group = n.attributes?.find((a) => a.name === 'group');
      if (group && group.type === 'int' && group.value > 1) {
        if (!n.name) throw new Error('a grouped Conv has no name');
        keep.add(n.name);
      }
    }
  }
  const convs = g.nodes.filter((n) => n.opType === 'Conv' && !keep.has(n.name ?? ''));
  const acts = convTensors(model, keep);
  for (const a of acts) if (!ranges[a]) throw new Error(`no calibration range for ${a}`);

  /** @type {TensorSpec[]} */
  const newInits = [];
  /** @type {Map<string, string>} float tensor → its dequantised twin */
  const dq = new Map();
  /** @type {Map<string, NodeSpec[]>} tensor → Q/DQ nodes placed right after its producer */
  const after = new Map();
  const zpName = (/** @type {string} */ t) => `${t}__zp`;
  const scaleName = (/** @type {string} */ t) => `${t}__scale`;
  for (const a of acts) {
    const { scale, zp } = activationParams(/** @type {[number, number]} */ (ranges[a]));
    newInits.push(tensor(scaleName(a), [], DataType.FLOAT, float32Bytes(Float32Array.of(scale))));
    newInits.push(tensor(zpName(a), [], DataType.UINT8, Uint8Array.of(zp)));
    const qd = `${a}__q`;
    const dqd = `${a}__dq`;
    dq.set(a, dqd);
    after.set(a, [
      { opType: 'QuantizeLinear', inputs: [a, scaleName(a), zpName(a)], outputs: [qd], name: `${a}__Q` },
      { opType: 'DequantizeLinear', inputs: [qd, scaleName(a), zpName(a)], outputs: [dqd], name: `${a}__DQ` },
    ]);
  }

  /** @type {Set<string>} float weights and biases replaced by integer ones */
  const replaced = new Set();
  /** @type {Map<NodeSpec, NodeSpec[]>} nodes to put right before a Conv (weight/bias DQ) */
  const before = new Map();
  /** @type {Map<NodeSpec, string[]>} each Conv's new inputs (the source spec is never mutated) */
  const convInputs = new Map();
  for (const n of convs) {
    const [x, wName, bName] = /** @type {[string, string, string | undefined]} */ (n.inputs);
    const w = inits.get(wName);
    if (!w) throw new Error(`${n.name}: weight ${wName} is not an initialiser`);
    const cout = /** @type {number} */ (w.dims[0]);
    const { q, scales } = quantiseWeights(floatsOf(w), cout);
    const wq = `${wName}__int8`;
    newInits.push(tensor(wq, w.dims, DataType.INT8, new Uint8Array(q.buffer)));
    newInits.push(tensor(`${wq}__scale`, [cout], DataType.FLOAT, float32Bytes(scales)));
    newInits.push(tensor(`${wq}__zp`, [cout], DataType.INT8, new Uint8Array(cout)));
    replaced.add(wName);
    /** @type {NodeSpec[]} */
    const pre = [
      {
        opType: 'DequantizeLinear',
        inputs: [wq, `${wq}__scale`, `${wq}__zp`],
        outputs: [`${wName}__deq`],
        name: `${wName}__DQ`,
        attributes: [{ name: 'axis', type: 'int', value: 0 }],
      },
    ];
    const inputs = [/** @type {string} */ (dq.get(x)), `${wName}__deq`];
    if (bName) {
      const b = inits.get(bName);
      if (!b) throw new Error(`${n.name}: bias ${bName} is not an initialiser`);
      const sx = activationParams(/** @type {[number, number]} */ (ranges[x])).scale;
      const bf = floatsOf(b);
      const bq = new Int32Array(cout);
      const bs = new Float32Array(cout);
      for (let c = 0; c < cout; c++) {
        // Stored as float32 in the file: compute the bias scale in float32 too, so ORT's own product agrees.
        bs[c] = Math.fround(Math.fround(sx) * /** @type {number} */ (scales[c]));
        bq[c] = roundHalfEven(/** @type {number} */ (bf[c]) / /** @type {number} */ (bs[c]));
      }
      const bqn = `${bName}__int32`;
      newInits.push(tensor(bqn, [cout], DataType.INT32, new Uint8Array(bq.buffer)));
      newInits.push(tensor(`${bqn}__scale`, [cout], DataType.FLOAT, float32Bytes(bs)));
      newInits.push(tensor(`${bqn}__zp`, [cout], DataType.INT32, new Uint8Array(cout * 4)));
      replaced.add(bName);
      pre.push({
        opType: 'DequantizeLinear',
        inputs: [bqn, `${bqn}__scale`, `${bqn}__zp`],
        outputs: [`${bName}__deq`],
        name: `${bName}__DQ`,
        attributes: [{ name: 'axis', type: 'int', value: 0 }],
      });
      inputs.push(`${bName}__deq`);
    }
    before.set(n, pre);
    convInputs.set(n, inputs);
  }

  // Every other consumer of a quantised tensor reads its dequantised twin, so a tensor has exactly one Q/DQ pair
  // and each Conv's output feeds only its own Q (what onnxruntime's QLinearConv fusion requires).
  /** @type {NodeSpec[]} */
  const nodes = [];
  const rewire = (/** @type {NodeSpec} */ n) => {
    const ci = convInputs.get(n);
    if (ci) return { ...n, inputs: ci };
    return { ...n, inputs: n.inputs.map((i) => dq.get(i) ?? i) };
  };
  for (const a of g.inputs) nodes.push(...(after.get(a.name) ?? []));
  for (const n of g.nodes) {
    nodes.push(...(before.get(n) ?? []));
    nodes.push(rewire(n));
    for (const o of n.outputs) nodes.push(...(after.get(o) ?? []));
  }
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (const a of acts) if (outputs.has(a)) throw new Error(`${a}: a graph output cannot be quantised here`);
  const stillUsed = new Set(nodes.flatMap((n) => n.inputs));
  return {
    ...model,
    opsetImports: [{ domain: '', version: QDQ_OPSET }],
    graph: {
      ...g,
      nodes,
      initializers: [...g.initializers.filter((t) => !replaced.has(t.name) || stillUsed.has(t.name)), ...newInits],
    },
  };
}

/**
 * The activation tensors `quantiseConvs` needs ranges for: each Conv's input and output, in graph order.
 * @param {ModelSpec} model @param {ReadonlySet<string>} [keepFloat] Conv names left float
 * @returns {string[]}
 */
export function convTensors(model, keepFloat = new Set()) {
  const seen = new Set();
  /** @type {string[]} */
  const out = [];
  for (const n of model.graph.nodes) {
    if (n.opType !== 'Conv' || keepFloat.has(n.name ?? '')) continue;
    for (const t of [n.inputs[0], n.outputs[0]]) {
      if (t && !seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    }
  }
  return out;
}

/**
 * The model with every `acts` tensor (except the graph input) also exposed as a graph output, for calibration runs.
 * @param {ModelSpec} model @param {readonly string[]} acts @returns {ModelSpec}
 */
export function exposeTensors(model, acts) {
  const input = model.graph.inputs[0]?.name;
  return {
    ...model,
    graph: {
      ...model.graph,
      outputs: [
        ...model.graph.outputs,
        ...acts.filter((a) => a !== input).map((a) => ({ name: a, elemType: 1, shape: ['n', 'c', 'h', 'w'] })),
      ],
    },
  };
}

/**
 * Widen `ranges[name]` to cover every value of `data` (calibration: min/max per tensor over all inputs).
 * @param {Ranges} ranges @param {string} name @param {ArrayLike<number>} data
 */
export function widenRange(ranges, name, data) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = /** @type {number} */ (data[i]);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const prev = ranges[name] ?? [Infinity, -Infinity];
  ranges[name] = [Math.min(prev[0], lo), Math.max(prev[1], hi)];
}
