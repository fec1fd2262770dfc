// @ts-check
/**
 * A minimal, dependency-free ONNX ModelProto encoder: just the protobuf messages our converters emit (model, graph,
 * node, attribute, tensor, value info). It owns the wire format only; it must never decide what a graph computes,
 * and it must never read files or the clock, so the same spec always yields the same bytes (model hashes are pinned
 * in models/manifest.json). It runs unchanged in Node and in the browser (the parity test builds models there).
 *
 * Field numbers are those of onnx/onnx.proto (proto2), given next to each message below. Repeated scalars are written
 * unpacked, as proto2 defaults to; every protobuf parser must accept that form.
 */

/** TensorProto.DataType values (onnx.proto `enum DataType`). */
export const DataType = Object.freeze({ FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT32: 6, INT64: 7 });

/** AttributeProto.AttributeType values (onnx.proto `enum AttributeType`). */
const AttributeType = Object.freeze({ FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 });

/** Protobuf wire types. */
const VARINT = 0;
const FIXED32 = 5;
const LEN = 2;

/**
 * @typedef {{ name: string, dims: readonly number[], dataType: number, raw: Uint8Array, docString?: string }} TensorSpec
 *   raw: the elements in little-endian byte order (TensorProto.raw_data), dims.product() * sizeof(dataType) bytes.
 * @typedef {{ name: string, type: 'int', value: number }
 *   | { name: string, type: 'ints', value: readonly number[] }
 *   | { name: string, type: 'float', value: number }
 *   | { name: string, type: 'floats', value: readonly number[] }
 *   | { name: string, type: 'string', value: string }
 *   | { name: string, type: 'tensor', value: TensorSpec }} AttributeSpec
 * @typedef {{ opType: string, inputs: readonly string[], outputs: readonly string[], name?: string,
 *   domain?: string, attributes?: readonly AttributeSpec[], docString?: string }} NodeSpec
 * @typedef {{ name: string, elemType: number, shape: readonly (number | string)[], docString?: string }} ValueInfoSpec
 *   shape: a number is a fixed dimension (dim_value), a string a symbolic one (dim_param, e.g. 'batch').
 * @typedef {{ name: string, nodes: readonly NodeSpec[], initializers: readonly TensorSpec[],
 *   inputs: readonly ValueInfoSpec[], outputs: readonly ValueInfoSpec[], docString?: string }} GraphSpec
 * @typedef {{ irVersion: number, opsetImports: readonly { domain: string, version: number }[],
 *   producerName: string, producerVersion: string, domain?: string, modelVersion?: number, docString?: string,
 *   metadata?: readonly (readonly [string, string])[], graph: GraphSpec }} ModelSpec
 */

/** Appends protobuf fields to a growing list of chunks; `finish()` concatenates them once. */
class MessageWriter {
  /** @type {Uint8Array[]} */
  #chunks = [];
  #length = 0;

  /** @param {Uint8Array} bytes */
  #push(bytes) {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  /** @param {number | bigint} value any int64; negatives take 10 bytes (two's complement), as protobuf specifies */
  #varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    /** @type {number[]} */
    const out = [];
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.#push(Uint8Array.from(out));
  }

  /** @param {number} field @param {number} wireType */
  #tag(field, wireType) {
    this.#varint((field << 3) | wireType);
  }

  /** @param {number} field @param {number | bigint} value */
  int(field, value) {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
    this.#tag(field, VARINT);
    this.#varint(value);
    return this;
  }

  /** @param {number} field @param {number} value stored as IEEE-754 single precision */
  float(field, value) {
    this.#tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  /** @param {number} field @param {Uint8Array} value */
  bytes(field, value) {
    this.#tag(field, LEN);
    this.#varint(value.length);
    this.#push(value);
    return this;
  }

  /** @param {number} field @param {string} value */
  string(field, value) {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /**
   * Writes a string only when present, so optional fields stay absent rather than empty.
   * @param {number} field @param {string | undefined} value
   */
  optString(field, value) {
    return value === undefined ? this : this.string(field, value);
  }

  /** @param {number} field @param {MessageWriter} message */
  message(field, message) {
    return this.bytes(field, message.finish());
  }

  finish() {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Bytes per element for the data types we read and write. @type {Map<number, number>} */
export const ELEMENT_SIZE = new Map([
  [DataType.FLOAT, 4],
  [DataType.UINT8, 1],
  [DataType.INT8, 1],
  [DataType.UINT16, 2],
  [DataType.INT32, 4],
  [DataType.INT64, 8],
]);

/** TensorProto: dims=1, data_type=2, name=8, raw_data=9, doc_string=12. @param {TensorSpec} t */
function tensorProto(t) {
  const size = ELEMENT_SIZE.get(t.dataType);
  if (size === undefined) throw new Error(`tensor ${t.name}: unsupported data type ${t.dataType}`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.raw.length !== count * size) {
    throw new Error(`tensor ${t.name}: ${t.raw.length} bytes for dims [${t.dims.join(',')}], expected ${count * size}`);
  }
  const w = new MessageWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  w.optString(12, t.docString);
  return w;
}

/**
 * AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20.
 * @param {AttributeSpec} a
 */
function attributeProto(a) {
  const w = new MessageWriter().string(1, a.name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value).int(20, AttributeType.FLOAT);
      break;
    case 'int':
      w.int(3, a.value).int(20, AttributeType.INT);
      break;
    case 'string':
      w.string(4, a.value).int(20, AttributeType.STRING);
      break;
    case 'tensor':
      w.message(5, tensorProto(a.value)).int(20, AttributeType.TENSOR);
      break;
    case 'floats':
      for (const v of a.value) w.float(7, v);
      w.int(20, AttributeType.FLOATS);
      break;
    case 'ints':
      for (const v of a.value) w.int(8, v);
      w.int(20, AttributeType.INTS);
      break;
    default:
      throw new Error(`unsupported attribute ${JSON.stringify(a)}`);
  }
  return w;
}

/** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, doc_string=6, domain=7. @param {NodeSpec} n */
function nodeProto(n) {
  const w = new MessageWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.optString(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  w.optString(6, n.docString);
  w.optString(7, n.domain);
  return w;
}

/**
 * ValueInfoProto: name=1, type=2, doc_string=3. TypeProto: tensor_type=1. TypeProto.Tensor: elem_type=1, shape=2.
 * TensorShapeProto: dim=1. Dimension: dim_value=1, dim_param=2.
 * @param {ValueInfoSpec} v
 */
function valueInfoProto(v) {
  const shape = new MessageWriter();
  for (const d of v.shape) {
    const dim = new MessageWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new MessageWriter().int(1, v.elemType).message(2, shape);
  const type = new MessageWriter().message(1, tensorType);
  return new MessageWriter().string(1, v.name).message(2, type).optString(3, v.docString);
}

/**
 * GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12.
 * @param {GraphSpec} g
 */
function graphProto(g) {
  const w = new MessageWriter();
  for (const n of g.nodes) w.message(1, nodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensorProto(t));
  w.optString(10, g.docString);
  for (const i of g.inputs) w.message(11, valueInfoProto(i));
  for (const o of g.outputs) w.message(12, valueInfoProto(o));
  return w;
}

/**
 * Encodes a ModelProto: ir_version=1, producer_name=2, producer_version=3, domain=4, model_version=5,
 * doc_string=6, graph=7, opset_import=8 (OperatorSetIdProto: domain=1, version=2),
 * metadata_props=14 (StringStringEntryProto: key=1, value=2).
 * @param {ModelSpec} m
 * @returns {Uint8Array}
 */
export function encodeModel(m) {
  checkGraph(m.graph);
  const w = new MessageWriter();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  w.optString(4, m.domain);
  if (m.modelVersion !== undefined) w.int(5, m.modelVersion);
  w.optString(6, m.docString);
  w.message(7, graphProto(m.graph));
  for (const o of m.opsetImports) w.message(8, new MessageWriter().string(1, o.domain).int(2, o.version));
  for (const [key, value] of m.metadata ?? []) w.message(14, new MessageWriter().string(1, key).string(2, value));
  return w.finish();
}

/**
 * Catches the wiring mistakes a runtime would only report as an opaque load error: a value consumed before it is
 * produced (ONNX requires topological order), produced twice, or a graph output nobody produces.
 * @param {GraphSpec} g
 */
function checkGraph(g) {
  const known = new Set([...g.inputs.map((i) => i.name), ...g.initializers.map((t) => t.name)]);
  if (known.size !== g.inputs.length + g.initializers.length)
    throw new Error(`graph ${g.name}: duplicate input/initializer name`);
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !known.has(i)) throw new Error(`node ${n.name ?? n.opType}: input ${i} is not defined before it`);
    }
    for (const o of n.outputs) {
      if (known.has(o)) throw new Error(`node ${n.name ?? n.opType}: output ${o} is defined twice`);
      known.add(o);
    }
  }
  for (const o of g.outputs)
    if (!known.has(o.name)) throw new Error(`graph ${g.name}: output ${o.name} is never produced`);
}

/** @param {Float32Array} values @returns {Uint8Array} little-endian bytes, whatever the host's byte order */
export function float32Bytes(values) {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, /** @type {number} */ (values[i]), true);
  return out;
}

/** @param {readonly number[]} values @returns {Uint8Array} */
export function int64Bytes(values) {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return out;
}
