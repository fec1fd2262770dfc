// @ts-check
/**
 * Builds the ONNX form of dlib's ResNet face descriptor from the tfjs weights that @vladmandic/face-api ships
 * (model/face_recognition_model-weights_manifest.json + .bin). It owns the graph: a node-for-node copy of face-api's
 * FaceRecognitionNet.forwardInput (src/faceRecognitionNet/*.ts in face-api 1.7.15), with its input normalisation moved
 * inside the graph so no caller can get it wrong. It must never change what the network computes (no folding, no
 * re-quantisation, no L2 normalisation face-api does not do): the parity test compares it with face-api's own output.
 * Pure and environment-free (no fs, no clock, runs in Node or a browser): the same weights always give the same
 * bytes, whose hash models/manifest.json pins.
 *
 * The model's contract (also written into the model's doc_string and metadata_props):
 *   input  `image`      float32 [N, 3, 150, 150], NCHW, RGB, raw 0..255 values of a 150x150 face crop;
 *   output `descriptor` float32 [N, 128], exactly face-api's computeFaceDescriptor (NOT L2-normalised; dlib's own
 *          descriptors are compared by Euclidean distance, 0.6 being dlib's same-person threshold).
 * Inside: x' = (x - [122.782, 117.001, 104.298]) / 255, then the ResNet.
 */
import { DataType, encodeModel, float32Bytes, int64Bytes } from './lib-onnx-writer.mjs';

/** face-api's FaceRecognitionNet.forwardInput: `normalize(batchTensor, meanRgb).div(255)`. */
export const DLIB_MEAN_RGB = Object.freeze([122.782, 117.001, 104.298]);
export const DLIB_INPUT_SIZE = 150;
export const DLIB_DESCRIPTOR_LENGTH = 128;
export const DLIB_INPUT_NAME = 'image';
export const DLIB_OUTPUT_NAME = 'descriptor';

/** Opset 13 has every op used here in the form used (Pad with `pads` as an input); ORT web runs opsets up to 21+. */
const OPSET = 13;
/** IR version 7 is the one released alongside opset 13. */
const IR_VERSION = 7;

/**
 * @typedef {{ dtype: 'uint8' | 'uint16', scale: number, min: number }} TfjsQuantization
 * @typedef {{ name: string, shape: number[], dtype: string, quantization?: TfjsQuantization }} TfjsWeightSpec
 * @typedef {{ paths: string[], weights: TfjsWeightSpec[] }[]} TfjsWeightsManifest
 * @typedef {{ shape: number[], values: Float32Array }} DecodedWeight
 */

/**
 * Decodes a tfjs weights manifest + its concatenated shards exactly as tfjs-core's io.decodeWeights does for the
 * cases this model uses: plain little-endian float32, or uint8/uint16 affine quantisation `q * scale + min` computed
 * in double precision and rounded once to float32 (so the values are bit-identical to what face-api runs with).
 * @param {TfjsWeightsManifest} manifest
 * @param {Uint8Array} bin all shards of the manifest, concatenated in manifest order
 * @returns {Map<string, DecodedWeight>}
 */
export function decodeTfjsWeights(manifest, bin) {
  /** @type {Map<string, DecodedWeight>} */
  const out = new Map();
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  let offset = 0;
  for (const group of manifest) {
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      const q = spec.quantization;
      if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not supported`);
      if (q === undefined) {
        need(spec, offset, count * 4, bin.length);
        for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + i * 4, true);
        offset += count * 4;
      } else if (q.dtype === 'uint8') {
        need(spec, offset, count, bin.length);
        for (let i = 0; i < count; i++) values[i] = view.getUint8(offset + i) * q.scale + q.min;
        offset += count;
      } else if (q.dtype === 'uint16') {
        need(spec, offset, count * 2, bin.length);
        for (let i = 0; i < count; i++) values[i] = view.getUint16(offset + i * 2, true) * q.scale + q.min;
        offset += count * 2;
      } else {
        throw new Error(`weight ${spec.name}: quantization ${JSON.stringify(q)} is not supported`);
      }
      if (out.has(spec.name)) throw new Error(`weight ${spec.name} appears twice in the manifest`);
      out.set(spec.name, { shape: spec.shape, values });
    }
  }
  if (offset !== bin.length) throw new Error(`weights file has ${bin.length} bytes, the manifest describes ${offset}`);
  return out;
}

/** @param {TfjsWeightSpec} spec @param {number} offset @param {number} size @param {number} total */
function need(spec, offset, size, total) {
  if (offset + size > total)
    throw new Error(`weights file too short: ${spec.name} needs bytes ${offset}..${offset + size} of ${total}`);
}

/**
 * Collects nodes and initializers while tracking each value's static shape [C, H, W] (batch left symbolic), so the
 * residual-down padding decisions face-api makes at run time from tensor shapes are made here, once, identically.
 */
class GraphBuilder {
  /** @type {import('./lib-onnx-writer.mjs').NodeSpec[]} */
  nodes = [];
  /** @type {import('./lib-onnx-writer.mjs').TensorSpec[]} */
  initializers = [];
  /** @type {Map<string, DecodedWeight>} */
  #weights;
  /** @type {Set<string>} */
  #used = new Set();

  /** @param {Map<string, DecodedWeight>} weights */
  constructor(weights) {
    this.#weights = weights;
  }

  /** @param {string} name @param {number} rank */
  weight(name, rank) {
    const w = this.#weights.get(name);
    if (w === undefined) throw new Error(`weight ${name} is missing from the manifest`);
    if (w.shape.length !== rank) throw new Error(`weight ${name}: rank ${w.shape.length}, expected ${rank}`);
    this.#used.add(name);
    return w;
  }

  unusedWeights() {
    return [...this.#weights.keys()].filter((k) => !this.#used.has(k));
  }

  /** @param {string} name @param {number[]} dims @param {Float32Array} values */
  floatInit(name, dims, values) {
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, raw: float32Bytes(values) });
    return name;
  }

  /** @param {string} name @param {number[]} values */
  int64Init(name, values) {
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, raw: int64Bytes(values) });
    return name;
  }

  /** @param {import('./lib-onnx-writer.mjs').NodeSpec} node */
  node(node) {
    this.nodes.push(node);
    return /** @type {string} */ (node.outputs[0]);
  }
}

/**
 * @typedef {{ name: string, c: number, h: number, w: number }} Value a graph value and its static [C, H, W]
 */

/** tfjs 'valid': out = ceil((in - k + 1) / s). @param {number} size @param {number} k @param {number} s */
const validOut = (size, k, s) => Math.ceil((size - k + 1) / s);

/**
 * face-api convLayer: conv2d (HWIO filters) + bias, then the scale layer `x * weights + biases`, then optional ReLU.
 * Kept as Conv, Mul, Add so the graph reads like face-api's source; ORT fuses Mul/Add into the Conv when it loads
 * (measured: a graph pre-folded by hand gave bit-identical descriptors and the same run time).
 * @param {GraphBuilder} g @param {Value} x @param {string} prefix
 * @param {{ stride: 1 | 2, relu: boolean, padding: 'same' | 'valid' }} o
 * @returns {Value}
 */
function convLayer(g, x, prefix, o) {
  const filters = g.weight(`${prefix}/conv/filters`, 4);
  const [kh, kw, cin, cout] = /** @type {[number, number, number, number]} */ (filters.shape);
  if (cin !== x.c) throw new Error(`${prefix}: filters take ${cin} channels, input has ${x.c}`);
  if (kh !== kw || kh % 2 !== 1) throw new Error(`${prefix}: kernel ${kh}x${kw} is not odd and square`);
  const bias = g.weight(`${prefix}/conv/bias`, 1);
  const scaleW = g.weight(`${prefix}/scale/weights`, 1);
  const scaleB = g.weight(`${prefix}/scale/biases`, 1);
  for (const [n, d] of Object.entries({ bias, 'scale/weights': scaleW, 'scale/biases': scaleB })) {
    if (d.shape[0] !== cout) throw new Error(`${prefix}/${n}: ${d.shape[0]} values for ${cout} filters`);
  }

  // tfjs 'same' with stride 1 pads (k-1)/2 on every side; only stride-1 'same' convolutions occur in this network.
  if (o.padding === 'same' && o.stride !== 1)
    throw new Error(`${prefix}: 'same' padding with stride ${o.stride} is not reproduced`);
  const pad = o.padding === 'same' ? (kh - 1) / 2 : 0;
  const h = o.padding === 'same' ? x.h : validOut(x.h, kh, o.stride);
  const w = o.padding === 'same' ? x.w : validOut(x.w, kw, o.stride);

  const conv = g.node({
    opType: 'Conv',
    name: `${prefix}/conv`,
    inputs: [
      x.name,
      g.floatInit(`${prefix}/conv/filters`, [cout, cin, kh, kw], hwioToOihw(filters.values, kh, kw, cin, cout)),
      g.floatInit(`${prefix}/conv/bias`, [cout], bias.values),
    ],
    outputs: [`${prefix}/conv:0`],
    attributes: [
      { name: 'kernel_shape', type: 'ints', value: [kh, kw] },
      { name: 'strides', type: 'ints', value: [o.stride, o.stride] },
      { name: 'pads', type: 'ints', value: [pad, pad, pad, pad] },
      { name: 'dilations', type: 'ints', value: [1, 1] },
      { name: 'group', type: 'int', value: 1 },
    ],
  });
  const mul = g.node({
    opType: 'Mul',
    name: `${prefix}/scale/mul`,
    inputs: [conv, g.floatInit(`${prefix}/scale/weights`, [cout, 1, 1], scaleW.values)],
    outputs: [`${prefix}/scale/mul:0`],
  });
  let out = g.node({
    opType: 'Add',
    name: `${prefix}/scale/add`,
    inputs: [mul, g.floatInit(`${prefix}/scale/biases`, [cout, 1, 1], scaleB.values)],
    outputs: [`${prefix}/scale/add:0`],
  });
  if (o.relu) out = g.node({ opType: 'Relu', name: `${prefix}/relu`, inputs: [out], outputs: [`${prefix}/relu:0`] });
  return { name: out, c: cout, h, w };
}

/** @param {Float32Array} v @param {number} kh @param {number} kw @param {number} cin @param {number} cout */
function hwioToOihw(v, kh, kw, cin, cout) {
  const out = new Float32Array(v.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = /** @type {number} */ (v[((y * kw + x) * cin + i) * cout + o]);
  return out;
}

/** face-api residualLayer.residual. @param {GraphBuilder} g @param {Value} x @param {string} prefix @returns {Value} */
function residual(g, x, prefix) {
  const a = convLayer(g, x, `${prefix}/conv1`, { stride: 1, relu: true, padding: 'same' });
  const b = convLayer(g, a, `${prefix}/conv2`, { stride: 1, relu: false, padding: 'same' });
  if (b.c !== x.c || b.h !== x.h || b.w !== x.w) throw new Error(`${prefix}: residual shapes differ`);
  const sum = g.node({ opType: 'Add', name: `${prefix}/add`, inputs: [b.name, x.name], outputs: [`${prefix}/add:0`] });
  const out = g.node({ opType: 'Relu', name: `${prefix}/relu`, inputs: [sum], outputs: [`${prefix}/relu:0`] });
  return { name: out, c: x.c, h: x.h, w: x.w };
}

/**
 * face-api residualLayer.residualDown: the shortcut is a 2x2/2 average pool, zero-padded on the channel axis when
 * the block widens; when the strided 'valid' conv comes out one smaller than the pool (odd sizes: 8 -> 3 vs 4,
 * 4 -> 1 vs 2), face-api appends ONE zero row (bottom) and ONE zero column (right) to the conv branch.
 * @param {GraphBuilder} g @param {Value} x @param {string} prefix @returns {Value}
 */
function residualDown(g, x, prefix) {
  const a = convLayer(g, x, `${prefix}/conv1`, { stride: 2, relu: true, padding: 'valid' });
  let b = convLayer(g, a, `${prefix}/conv2`, { stride: 1, relu: false, padding: 'same' });

  let pooled = {
    name: g.node({
      opType: 'AveragePool',
      name: `${prefix}/shortcut/avgpool`,
      inputs: [x.name],
      outputs: [`${prefix}/shortcut/avgpool:0`],
      attributes: [
        { name: 'kernel_shape', type: 'ints', value: [2, 2] },
        { name: 'strides', type: 'ints', value: [2, 2] },
      ],
    }),
    c: x.c,
    h: validOut(x.h, 2, 2),
    w: validOut(x.w, 2, 2),
  };

  if (pooled.h !== b.h || pooled.w !== b.w) {
    // face-api: concat a [N,1,W,C] zero slab on axis 1 (H), then [N,H+1,1,C] on axis 2 (W): always +1 each.
    const padded = g.node({
      opType: 'Pad',
      name: `${prefix}/pad_hw`,
      inputs: [b.name, g.int64Init(`${prefix}/pad_hw/pads`, [0, 0, 0, 0, 0, 0, 1, 1])],
      outputs: [`${prefix}/pad_hw:0`],
      attributes: [{ name: 'mode', type: 'string', value: 'constant' }],
    });
    b = { name: padded, c: b.c, h: b.h + 1, w: b.w + 1 };
  }
  if (pooled.c !== b.c) {
    // face-api: concat zeros of the pooled shape on the channel axis, i.e. the new channels come after the old.
    if (b.c !== 2 * pooled.c)
      throw new Error(`${prefix}: shortcut widens ${pooled.c} -> ${b.c}, face-api only doubles`);
    const padded = g.node({
      opType: 'Pad',
      name: `${prefix}/shortcut/pad_c`,
      inputs: [pooled.name, g.int64Init(`${prefix}/shortcut/pad_c/pads`, [0, 0, 0, 0, 0, b.c - pooled.c, 0, 0])],
      outputs: [`${prefix}/shortcut/pad_c:0`],
      attributes: [{ name: 'mode', type: 'string', value: 'constant' }],
    });
    pooled = { name: padded, c: b.c, h: pooled.h, w: pooled.w };
  }
  if (pooled.h !== b.h || pooled.w !== b.w || pooled.c !== b.c) {
    throw new Error(`${prefix}: cannot add [${pooled.c},${pooled.h},${pooled.w}] and [${b.c},${b.h},${b.w}]`);
  }
  const sum = g.node({
    opType: 'Add',
    name: `${prefix}/add`,
    inputs: [pooled.name, b.name],
    outputs: [`${prefix}/add:0`],
  });
  const out = g.node({ opType: 'Relu', name: `${prefix}/relu`, inputs: [sum], outputs: [`${prefix}/relu:0`] });
  return { name: out, c: b.c, h: b.h, w: b.w };
}

/** @param {Uint8Array} bytes */
async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', /** @type {Uint8Array<ArrayBuffer>} */ (bytes));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * @typedef {{ manifest: TfjsWeightsManifest, bin: Uint8Array, sourceName?: string }} DlibSource
 *   sourceName: where the weights came from, recorded in the model metadata (default: face-api 1.7.15's files).
 */

/**
 * Builds the dlib face-descriptor ONNX model. Deterministic: same inputs, same bytes.
 * @param {DlibSource} source
 * @returns {Promise<Uint8Array>} a serialised onnx.ModelProto
 */
export async function buildDlibOnnx({
  manifest,
  bin,
  sourceName = '@vladmandic/face-api@1.7.15 model/face_recognition_model',
}) {
  const g = new GraphBuilder(decodeTfjsWeights(manifest, bin));
  const S = DLIB_INPUT_SIZE;

  const centered = g.node({
    opType: 'Sub',
    name: 'normalize/sub_mean',
    inputs: [DLIB_INPUT_NAME, g.floatInit('normalize/mean_rgb', [1, 3, 1, 1], Float32Array.from(DLIB_MEAN_RGB))],
    outputs: ['normalize/sub_mean:0'],
  });
  const scaled = g.node({
    opType: 'Div',
    name: 'normalize/div_255',
    inputs: [centered, g.floatInit('normalize/255', [], Float32Array.of(255))],
    outputs: ['normalize/div_255:0'],
  });

  let x = convLayer(g, { name: scaled, c: 3, h: S, w: S }, 'conv32_down', { stride: 2, relu: true, padding: 'valid' });
  x = {
    name: g.node({
      opType: 'MaxPool',
      name: 'maxpool',
      inputs: [x.name],
      outputs: ['maxpool:0'],
      attributes: [
        { name: 'kernel_shape', type: 'ints', value: [3, 3] },
        { name: 'strides', type: 'ints', value: [2, 2] },
      ],
    }),
    c: x.c,
    h: validOut(x.h, 3, 2),
    w: validOut(x.w, 3, 2),
  };
  for (const p of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(g, x, p);
  x = residualDown(g, x, 'conv64_down');
  for (const p of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(g, x, p);
  x = residualDown(g, x, 'conv128_down');
  for (const p of ['conv128_1', 'conv128_2']) x = residual(g, x, p);
  x = residualDown(g, x, 'conv256_down');
  for (const p of ['conv256_1', 'conv256_2']) x = residual(g, x, p);
  x = residualDown(g, x, 'conv256_down_out');

  // face-api: out.mean([1, 2]) over H and W, then matMul with fc [256, 128].
  const pooled = g.node({
    opType: 'GlobalAveragePool',
    name: 'global_avg',
    inputs: [x.name],
    outputs: ['global_avg:0'],
  });
  const flat = g.node({
    opType: 'Flatten',
    name: 'flatten',
    inputs: [pooled],
    outputs: ['flatten:0'],
    attributes: [{ name: 'axis', type: 'int', value: 1 }],
  });
  const fc = g.weight('fc', 2);
  if (fc.shape[0] !== x.c || fc.shape[1] !== DLIB_DESCRIPTOR_LENGTH)
    throw new Error(`fc has shape [${fc.shape.join(',')}]`);
  g.node({
    opType: 'MatMul',
    name: 'fc',
    inputs: [flat, g.floatInit('fc', [x.c, DLIB_DESCRIPTOR_LENGTH], fc.values)],
    outputs: [DLIB_OUTPUT_NAME],
  });

  const unused = g.unusedWeights();
  if (unused.length > 0) throw new Error(`weights not used by the graph: ${unused.join(', ')}`);

  const contract =
    `input ${DLIB_INPUT_NAME}: float32 [N,3,${S},${S}] NCHW RGB, raw 0..255 pixel values of the face crop ` +
    `(the graph subtracts mean RGB [${DLIB_MEAN_RGB.join(', ')}] and divides by 255). ` +
    `output ${DLIB_OUTPUT_NAME}: float32 [N,${DLIB_DESCRIPTOR_LENGTH}], face-api's face descriptor, not L2-normalised.`;
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [{ domain: '', version: OPSET }],
    producerName: 'entrance-kiosk scripts/convert-dlib.mjs',
    producerVersion: '1',
    docString:
      "dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1, weights released to the public domain by " +
      `Davis King), converted from the tfjs weights in ${sourceName}. ${contract}`,
    metadata: [
      ['source', sourceName],
      ['source_weights_sha256', await sha256Hex(bin)],
      [
        'license',
        "weights: public domain (released so by Davis King, davisking/dlib-models README); graph from face-api's MIT code",
      ],
      [
        'training_data',
        'about 3 million faces, 7485 identities: FaceScrub, VGG Face and images scraped by the author (dlib-models README)',
      ],
      ['input_layout', 'NCHW'],
      ['input_color', 'RGB'],
      ['input_range', '0..255'],
      ['input_mean_rgb', DLIB_MEAN_RGB.join(',')],
      ['input_scale', '1/255'],
      ['output_l2_normalized', 'false'],
    ],
    graph: {
      name: 'dlib_face_recognition_resnet',
      docString: contract,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: DLIB_INPUT_NAME, elemType: DataType.FLOAT, shape: ['N', 3, S, S] }],
      outputs: [{ name: DLIB_OUTPUT_NAME, elemType: DataType.FLOAT, shape: ['N', DLIB_DESCRIPTOR_LENGTH] }],
    },
  });
}
