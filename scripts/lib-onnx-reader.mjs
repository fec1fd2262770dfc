// @ts-check
/**
 * A minimal, dependency-free ONNX ModelProto decoder: the inverse of lib-onnx-writer.mjs for the messages that
 * writer knows (model, graph, node, attribute, tensor, value info), returning the same ModelSpec, so a model from a
 * package can be read, rewritten by one of our transforms (the int8 quantiser) and written again. It owns the wire
 * format only and decides nothing about what a graph computes. Fields it does not model (value_info, training info,
 * sub-graphs, external data, sparse initialisers) make it throw rather than drop them silently: a transform must
 * never change a graph it did not understand.
 */
import { DataType, ELEMENT_SIZE } from './lib-onnx-writer.mjs';

/** @typedef {import('./lib-onnx-writer.mjs').ModelSpec} ModelSpec */
/** @typedef {import('./lib-onnx-writer.mjs').GraphSpec} GraphSpec */
/** @typedef {import('./lib-onnx-writer.mjs').NodeSpec} NodeSpec */
/** @typedef {import('./lib-onnx-writer.mjs').TensorSpec} TensorSpec */
/** @typedef {import('./lib-onnx-writer.mjs').AttributeSpec} AttributeSpec */
/** @typedef {import('./lib-onnx-writer.mjs').ValueInfoSpec} ValueInfoSpec */

/** One protobuf field as read off the wire. @typedef {{ field: number, wire: number, int?: bigint, bytes?: Uint8Array, f32?: number }} Field */

/** @param {Uint8Array} buf @returns {Field[]} every field of one message, in wire order */
function fields(buf) {
  /** @type {Field[]} */
  const out = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new Error('truncated varint');
      const b = /** @type {number} */ (buf[at++]);
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ field, wire, int: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw new Error(`field ${field}: length ${len} past the end`);
      out.push({ field, wire, bytes: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 5) {
      if (at + 4 > buf.length) throw new Error('truncated fixed32');
      out.push({ field, wire, f32: view.getFloat32(at, true) });
      at += 4;
    } else if (wire === 1) {
      if (at + 8 > buf.length) throw new Error('truncated fixed64');
      out.push({ field, wire, int: view.getBigUint64(at, true) });
      at += 8;
    } else throw new Error(`unsupported wire type ${wire} (field ${field})`);
  }
  return out;
}

const text = (/** @type {Field} */ f) => new TextDecoder().decode(f.bytes);
const num = (/** @type {Field} */ f) => Number(BigInt.asIntN(64, /** @type {bigint} */ (f.int)));

/** Repeated int64 (packed or not) → numbers. @param {Field[]} fs */
function ints(fs) {
  /** @type {number[]} */
  const out = [];
  for (const f of fs) {
    if (f.wire === 0) out.push(num(f));
    else for (const g of fields(packedAsVarints(/** @type {Uint8Array} */ (f.bytes)))) out.push(num(g));
  }
  return out;
}

/** A packed varint run re-tagged as field-1 varints so `fields` can read it. @param {Uint8Array} b */
function packedAsVarints(b) {
  /** @type {number[]} */
  const out = [];
  let start = true;
  for (const x of b) {
    if (start) out.push(0x08);
    out.push(x);
    start = (x & 0x80) === 0;
  }
  return Uint8Array.from(out);
}

/** Repeated float (packed or not) → numbers. @param {Field[]} fs */
function floats(fs) {
  /** @type {number[]} */
  const out = [];
  for (const f of fs) {
    if (f.wire === 5) out.push(/** @type {number} */ (f.f32));
    else {
      const b = /** @type {Uint8Array} */ (f.bytes);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 4 <= b.length; i += 4) out.push(v.getFloat32(i, true));
    }
  }
  return out;
}

/** Fields grouped by number, with a check that nothing unknown is present. */
function byField(/** @type {Uint8Array} */ buf, /** @type {string} */ what, /** @type {number[]} */ known) {
  /** @type {Map<number, Field[]>} */
  const m = new Map();
  for (const f of fields(buf)) {
    if (!known.includes(f.field)) throw new Error(`${what}: field ${f.field} is not supported by this reader`);
    const list = m.get(f.field) ?? [];
    list.push(f);
    m.set(f.field, list);
  }
  const one = (/** @type {number} */ n) => m.get(n)?.[0];
  const all = (/** @type {number} */ n) => m.get(n) ?? [];
  return { one, all };
}

/** TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, int64_data=7, name=8, raw_data=9, doc=12. */
function tensor(/** @type {Uint8Array} */ buf) {
  const { one, all } = byField(buf, 'tensor', [1, 2, 4, 5, 7, 8, 9, 12]);
  const name = one(8) ? text(/** @type {Field} */ (one(8))) : '';
  const dims = ints(all(1));
  const dataType = num(/** @type {Field} */ (one(2)));
  const size = ELEMENT_SIZE.get(dataType);
  if (size === undefined) throw new Error(`tensor ${name}: unsupported data type ${dataType}`);
  const count = dims.reduce((a, b) => a * b, 1);
  let raw;
  const r = one(9);
  if (r) raw = Uint8Array.from(/** @type {Uint8Array} */ (r.bytes));
  else {
    raw = new Uint8Array(count * size);
    const v = new DataView(raw.buffer);
    if (dataType === DataType.FLOAT) floats(all(4)).forEach((x, i) => v.setFloat32(i * 4, x, true));
    else if (dataType === DataType.INT64) ints(all(7)).forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true));
    else if (dataType === DataType.INT32) ints(all(5)).forEach((x, i) => v.setInt32(i * 4, x, true));
    else if (count > 0) throw new Error(`tensor ${name}: typed data for type ${dataType} not supported`);
  }
  if (raw.length !== count * size) throw new Error(`tensor ${name}: ${raw.length} bytes for [${dims.join(',')}]`);
  /** @type {TensorSpec} */
  const t = { name, dims, dataType, raw };
  if (one(12)) t.docString = text(/** @type {Field} */ (one(12)));
  return t;
}

/**
 * AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20 (doc_string=13 ignored).
 * @param {Uint8Array} buf @returns {AttributeSpec}
 */
function attribute(buf) {
  const { one, all } = byField(buf, 'attribute', [1, 2, 3, 4, 5, 7, 8, 13, 20]);
  const name = text(/** @type {Field} */ (one(1)));
  const type = one(20) ? num(/** @type {Field} */ (one(20))) : 0;
  switch (type) {
    case 1:
      return { name, type: 'float', value: /** @type {number} */ (one(2)?.f32 ?? 0) };
    case 2:
      return { name, type: 'int', value: one(3) ? num(/** @type {Field} */ (one(3))) : 0 };
    case 3:
      return { name, type: 'string', value: one(4) ? text(/** @type {Field} */ (one(4))) : '' };
    case 4:
      return { name, type: 'tensor', value: tensor(/** @type {Uint8Array} */ (one(5)?.bytes)) };
    case 6:
      return { name, type: 'floats', value: floats(all(7)) };
    case 7:
      return { name, type: 'ints', value: ints(all(8)) };
    default:
      throw new Error(`attribute ${name}: type ${type} not supported`);
  }
}

/** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, doc_string=6, domain=7. */
function node(/** @type {Uint8Array} */ buf) {
  const { one, all } = byField(buf, 'node', [1, 2, 3, 4, 5, 6, 7]);
  /** @type {NodeSpec & { attributes: AttributeSpec[] }} */
  const n = {
    opType: text(/** @type {Field} */ (one(4))),
    inputs: all(1).map(text),
    outputs: all(2).map(text),
    attributes: all(5).map((f) => attribute(/** @type {Uint8Array} */ (f.bytes))),
  };
  if (one(3)) n.name = text(/** @type {Field} */ (one(3)));
  if (one(6)) n.docString = text(/** @type {Field} */ (one(6)));
  if (one(7) && text(/** @type {Field} */ (one(7))) !== '') n.domain = text(/** @type {Field} */ (one(7)));
  return n;
}

/** ValueInfoProto → ValueInfoSpec (tensor types only). */
function valueInfo(/** @type {Uint8Array} */ buf) {
  const { one } = byField(buf, 'value_info', [1, 2, 3]);
  const name = text(/** @type {Field} */ (one(1)));
  const type = byField(/** @type {Uint8Array} */ (one(2)?.bytes), `type of ${name}`, [1, 6]).one(1);
  if (!type) throw new Error(`${name}: only tensor types are supported`);
  const tt = byField(/** @type {Uint8Array} */ (type.bytes), `tensor type of ${name}`, [1, 2]);
  /** @type {(number | string)[]} */
  const shape = [];
  const s = tt.one(2);
  if (s) {
    for (const d of byField(/** @type {Uint8Array} */ (s.bytes), `shape of ${name}`, [1]).all(1)) {
      const dim = byField(/** @type {Uint8Array} */ (d.bytes), `dim of ${name}`, [1, 2, 3]);
      const v = dim.one(1);
      const p = dim.one(2);
      shape.push(v ? num(v) : p ? text(p) : '?');
    }
  }
  /** @type {ValueInfoSpec} */
  const out = { name, elemType: num(/** @type {Field} */ (tt.one(1))), shape };
  if (one(3)) out.docString = text(/** @type {Field} */ (one(3)));
  return out;
}

/** GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12, value_info=13 (dropped: shapes). */
function graph(/** @type {Uint8Array} */ buf) {
  const { one, all } = byField(buf, 'graph', [1, 2, 5, 10, 11, 12, 13]);
  const initializers = all(5).map((f) => tensor(/** @type {Uint8Array} */ (f.bytes)));
  const init = new Set(initializers.map((t) => t.name));
  /** @type {GraphSpec} */
  const g = {
    name: one(2) ? text(/** @type {Field} */ (one(2))) : 'graph',
    nodes: all(1).map((f) => node(/** @type {Uint8Array} */ (f.bytes))),
    initializers,
    // Older exporters list initialisers among the inputs too (IR < 4); the writer keeps them apart.
    inputs: all(11)
      .map((f) => valueInfo(/** @type {Uint8Array} */ (f.bytes)))
      .filter((i) => !init.has(i.name)),
    outputs: all(12).map((f) => valueInfo(/** @type {Uint8Array} */ (f.bytes))),
  };
  if (one(10)) g.docString = text(/** @type {Field} */ (one(10)));
  return g;
}

/**
 * Decodes a ModelProto: ir_version=1, producer_name=2, producer_version=3, domain=4, model_version=5,
 * doc_string=6, graph=7, opset_import=8, metadata_props=14.
 * @param {Uint8Array} bytes
 * @returns {ModelSpec}
 */
export function decodeModel(bytes) {
  const { one, all } = byField(bytes, 'model', [1, 2, 3, 4, 5, 6, 7, 8, 14]);
  const g = one(7);
  if (!g) throw new Error('model has no graph');
  /** @type {ModelSpec} */
  const m = {
    irVersion: num(/** @type {Field} */ (one(1))),
    producerName: one(2) ? text(/** @type {Field} */ (one(2))) : '',
    producerVersion: one(3) ? text(/** @type {Field} */ (one(3))) : '',
    opsetImports: all(8).map((f) => {
      const o = byField(/** @type {Uint8Array} */ (f.bytes), 'opset_import', [1, 2]);
      return {
        domain: o.one(1) ? text(/** @type {Field} */ (o.one(1))) : '',
        version: num(/** @type {Field} */ (o.one(2))),
      };
    }),
    graph: graph(/** @type {Uint8Array} */ (g.bytes)),
    metadata: all(14).map((f) => {
      const kv = byField(/** @type {Uint8Array} */ (f.bytes), 'metadata', [1, 2]);
      return /** @type {const} */ ([
        kv.one(1) ? text(/** @type {Field} */ (kv.one(1))) : '',
        kv.one(2) ? text(/** @type {Field} */ (kv.one(2))) : '',
      ]);
    }),
  };
  if (one(4)) m.domain = text(/** @type {Field} */ (one(4)));
  if (one(5)) m.modelVersion = num(/** @type {Field} */ (one(5)));
  if (one(6)) m.docString = text(/** @type {Field} */ (one(6)));
  return m;
}
