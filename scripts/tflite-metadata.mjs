#!/usr/bin/env node
// @ts-check
/**
 * Adds TFLite model metadata (image input, RGB, normalisation mean/std) to a BlazeFace .tflite so that
 * @mediapipe/tasks-vision's FaceDetector accepts it.
 *
 * Why: the only BlazeFace .tflite files on npm (@mediapipe/face_detection) carry no metadata, and the tasks API
 * refuses a float32 image input without NormalizationOptions ("Input tensor has type float32: it requires
 * specifying NormalizationOptions metadata"). This module writes the few metadata tables needed, by hand, with
 * the `flatbuffers` Builder, from the published schemas' field ids (documented next to each write below). It does
 * not vendor TensorFlow's schema files and never changes a byte of the model's graph or weights: the original file
 * is carried over verbatim and only a new root Model table (plus its buffers/metadata vectors) is put in front
 * of it, so every existing object keeps its relative offsets. Output is deterministic (provisioning pins its hash).
 *
 * Layout trick: flatbuffer offsets (uoffset_t) only point forward. Building back to front, the Builder first
 * receives the whole original file (16-byte padded, so every object keeps its 16-byte alignment), then the new
 * metadata buffer, Buffer/Metadata tables, the two vectors and the new Model table; `finish` writes the new root
 * offset and the "TFL3" identifier at the front. The old root table and old vectors are left in place, unreferenced.
 *
 * CLI: node scripts/tflite-metadata.mjs <in.tflite> <out.tflite> [--mean 127.5] [--std 127.5] [--name NAME]
 *      node scripts/tflite-metadata.mjs --print <model.tflite>
 */
import { Builder } from 'flatbuffers';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// ---- Field ids relied on (tensorflow/lite/schema/schema.fbs, file_identifier "TFL3") ----
// table Model     { version:uint 0; operator_codes 1; subgraphs 2; description:string 3; buffers:[Buffer] 4;
//                   metadata_buffer:[int] 5; metadata:[Metadata] 6; signature_defs 7; }
// table SubGraph  { tensors:[Tensor] 0; inputs:[int] 1; outputs:[int] 2; operators 3; name:string 4; }
// table Tensor    { shape:[int] 0; type:TensorType(byte) 1; buffer:uint 2; name:string 3; ... }  (FLOAT32 = 0)
// table Buffer    { data:[ubyte] (force_align: 16) 0; offset:ulong 1; size:ulong 2; }
// table Metadata  { name:string 0; buffer:uint 1; }
const MODEL = {
  version: 0,
  operatorCodes: 1,
  subgraphs: 2,
  description: 3,
  buffers: 4,
  metadataBuffer: 5,
  metadata: 6,
  signatureDefs: 7,
};
const MODEL_KNOWN_FIELDS = 8;
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2 };
const TENSOR = { shape: 0, type: 1, name: 3 };
const BUFFER = { data: 0, offset: 1, size: 2 };
const METADATA = { name: 0, buffer: 1 };
const TENSOR_TYPE_FLOAT32 = 0;

// ---- Field ids relied on (tflite-support metadata_schema.fbs, file_identifier "M001") ----
// table ModelMetadata    { name 0; description 1; version 2; subgraph_metadata:[SubGraphMetadata] 3; author 4;
//                          license 5; associated_files 6; min_parser_version:string 7; }
// table SubGraphMetadata { name 0; description 1; input_tensor_metadata:[TensorMetadata] 2;
//                          output_tensor_metadata:[TensorMetadata] 3; ... }
// table TensorMetadata   { name 0; description 1; dimension_names 2; content:Content 3;
//                          process_units:[ProcessUnit] 4; stats:Stats 5; associated_files 6; }
// table Content          { content_properties:ContentProperties (union: type slot 0, value slot 1); range 2; }
//   union ContentProperties { FeatureProperties = 1, ImageProperties = 2, BoundingBoxProperties = 3, ... }
// table ImageProperties  { color_space:ColorSpaceType(byte) 0; default_size:ImageSize 1; }  RGB = 1
// table ImageSize        { width:uint 0; height:uint 1; }
// table ProcessUnit      { options:ProcessUnitOptions (union: type slot 0, value slot 1); }
//   union ProcessUnitOptions { NormalizationOptions = 1, ... }
// table NormalizationOptions { mean:[float] 0; std:[float] 1; }
// table Stats            { max:[float] 0; min:[float] 1; }
const MM = { name: 0, description: 1, version: 2, subgraphMetadata: 3, author: 4, license: 5, minParserVersion: 7 };
const SGM = { name: 0, inputTensorMetadata: 2, outputTensorMetadata: 3 };
const TM = { name: 0, description: 1, content: 3, processUnits: 4, stats: 5 };
const CONTENT = { propertiesType: 0, properties: 1 };
const CONTENT_PROPERTIES_FEATURE = 1;
const CONTENT_PROPERTIES_IMAGE = 2;
const IMAGE_PROPS = { colorSpace: 0, defaultSize: 1 };
const COLOR_SPACE_RGB = 1;
const IMAGE_SIZE = { width: 0, height: 1 };
const PROCESS_UNIT = { optionsType: 0, options: 1 };
const PROCESS_UNIT_NORMALIZATION = 1;
const NORM = { mean: 0, std: 1 };
const STATS = { max: 0, min: 1 };

/** Name of the Model.metadata entry that MediaPipe / TFLite Support read the metadata flatbuffer from. */
export const METADATA_ENTRY_NAME = 'TFLITE_METADATA';
/** Oldest metadata parser that understands every field written here (all exist since schema 1.0.0). */
const MIN_PARSER_VERSION = '1.0.0';

// ---------------------------------------------------------------------------------------------------------------
// Minimal flatbuffer reader (absolute byte positions in a Uint8Array).

class FbReader {
  /** @param {Uint8Array} bytes */
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** @param {number} pos */
  u32(pos) {
    return this.view.getUint32(pos, true);
  }
  root() {
    return this.u32(0);
  }
  identifier() {
    return new TextDecoder().decode(this.bytes.subarray(4, 8));
  }
  /** Number of field slots in a table's vtable. @param {number} table */
  fieldCount(table) {
    const vt = table - this.view.getInt32(table, true);
    return (this.view.getUint16(vt, true) - 4) / 2;
  }
  /** Absolute position of a field's inline value, or 0 when absent. @param {number} table @param {number} id */
  field(table, id) {
    const vt = table - this.view.getInt32(table, true);
    const vtSize = this.view.getUint16(vt, true);
    if (4 + 2 * id >= vtSize) return 0;
    const off = this.view.getUint16(vt + 4 + 2 * id, true);
    return off === 0 ? 0 : table + off;
  }
  /** Target of an offset field, or 0. @param {number} table @param {number} id */
  ref(table, id) {
    const pos = this.field(table, id);
    return pos === 0 ? 0 : pos + this.u32(pos);
  }
  /** @param {number} table @param {number} id @param {number} dflt */
  u32Field(table, id, dflt) {
    const pos = this.field(table, id);
    return pos === 0 ? dflt : this.u32(pos);
  }
  /** @param {number} table @param {number} id @param {number} dflt */
  u8Field(table, id, dflt) {
    const pos = this.field(table, id);
    return pos === 0 ? dflt : this.view.getUint8(pos);
  }
  /** Positions of a vector's elements (for a vector of tables, the element tables). @param {number} vec */
  tableVector(vec) {
    if (vec === 0) return [];
    const n = this.u32(vec);
    return Array.from({ length: n }, (_, i) => {
      const el = vec + 4 + 4 * i;
      return el + this.u32(el);
    });
  }
  /** @param {number} vec */
  i32Vector(vec) {
    if (vec === 0) return [];
    const n = this.u32(vec);
    return Array.from({ length: n }, (_, i) => this.view.getInt32(vec + 4 + 4 * i, true));
  }
  /** @param {number} vec */
  f32Vector(vec) {
    if (vec === 0) return [];
    const n = this.u32(vec);
    return Array.from({ length: n }, (_, i) => this.view.getFloat32(vec + 4 + 4 * i, true));
  }
  /** @param {number} vec */
  byteVector(vec) {
    if (vec === 0) return new Uint8Array(0);
    return this.bytes.subarray(vec + 4, vec + 4 + this.u32(vec));
  }
  /** @param {number} str */
  string(str) {
    return str === 0 ? null : new TextDecoder().decode(this.byteVector(str));
  }
}

/**
 * @typedef {{ name: string | null, shape: number[], type: number }} TensorInfo
 * @typedef {{
 *   version: number,
 *   buffers: Uint8Array[],
 *   metadata: { name: string | null, buffer: number }[],
 *   inputs: TensorInfo[],
 *   outputs: TensorInfo[],
 * }} ModelSummary
 */

/**
 * Reads what this module needs from a .tflite (root Model, first subgraph's inputs/outputs, buffers, metadata).
 * @param {Uint8Array} bytes
 * @returns {ModelSummary}
 */
export function readModel(bytes) {
  const r = new FbReader(bytes);
  if (bytes.length < 8 || r.identifier() !== 'TFL3')
    throw new Error('not a TFLite flatbuffer (identifier is not "TFL3")');
  const model = r.root();
  const buffers = r.tableVector(r.ref(model, MODEL.buffers)).map((b) => r.byteVector(r.ref(b, BUFFER.data)));
  const metadata = r.tableVector(r.ref(model, MODEL.metadata)).map((m) => ({
    name: r.string(r.ref(m, METADATA.name)),
    buffer: r.u32Field(m, METADATA.buffer, 0),
  }));
  const subgraph = r.tableVector(r.ref(model, MODEL.subgraphs))[0];
  if (subgraph === undefined) throw new Error('model has no subgraph');
  const tensors = r.tableVector(r.ref(subgraph, SUBGRAPH.tensors));
  /** @param {number} i @returns {TensorInfo} */
  const tensor = (i) => {
    const t = tensors[i];
    if (t === undefined) throw new Error(`tensor index ${i} out of range`);
    return {
      name: r.string(r.ref(t, TENSOR.name)),
      shape: r.i32Vector(r.ref(t, TENSOR.shape)),
      type: r.u8Field(t, TENSOR.type, 0),
    };
  };
  return {
    version: r.u32Field(model, MODEL.version, 0),
    buffers,
    metadata,
    inputs: r.i32Vector(r.ref(subgraph, SUBGRAPH.inputs)).map(tensor),
    outputs: r.i32Vector(r.ref(subgraph, SUBGRAPH.outputs)).map(tensor),
  };
}

/**
 * @typedef {{
 *   name: string | null,
 *   description: string | null,
 *   license: string | null,
 *   minParserVersion: string | null,
 *   inputs: { name: string | null, contentType: number, colorSpace: number | null, width: number | null,
 *             height: number | null, mean: number[], std: number[], statsMin: number[], statsMax: number[] }[],
 *   outputs: { name: string | null, description: string | null }[],
 * }} MetadataSummary
 */

/**
 * Parses the ModelMetadata flatbuffer stored in a .tflite's TFLITE_METADATA buffer, or returns null if absent.
 * @param {Uint8Array} modelBytes
 * @returns {MetadataSummary | null}
 */
export function readMetadata(modelBytes) {
  const model = readModel(modelBytes);
  const entry = model.metadata.find((m) => m.name === METADATA_ENTRY_NAME);
  if (!entry) return null;
  const buf = model.buffers[entry.buffer];
  if (!buf) throw new Error(`${METADATA_ENTRY_NAME} points at missing buffer ${entry.buffer}`);
  const r = new FbReader(buf);
  if (r.identifier() !== 'M001') throw new Error('metadata buffer identifier is not "M001"');
  const root = r.root();
  const sg = r.tableVector(r.ref(root, MM.subgraphMetadata))[0];
  const tms = (/** @type {number} */ id) => (sg === undefined ? [] : r.tableVector(r.ref(sg, id)));
  return {
    name: r.string(r.ref(root, MM.name)),
    description: r.string(r.ref(root, MM.description)),
    license: r.string(r.ref(root, MM.license)),
    minParserVersion: r.string(r.ref(root, MM.minParserVersion)),
    inputs: tms(SGM.inputTensorMetadata).map((tm) => {
      const content = r.ref(tm, TM.content);
      const contentType = content ? r.u8Field(content, CONTENT.propertiesType, 0) : 0;
      const props = content && contentType === CONTENT_PROPERTIES_IMAGE ? r.ref(content, CONTENT.properties) : 0;
      const size = props ? r.ref(props, IMAGE_PROPS.defaultSize) : 0;
      const norm = r
        .tableVector(r.ref(tm, TM.processUnits))
        .filter((pu) => r.u8Field(pu, PROCESS_UNIT.optionsType, 0) === PROCESS_UNIT_NORMALIZATION)
        .map((pu) => r.ref(pu, PROCESS_UNIT.options))[0];
      const stats = r.ref(tm, TM.stats);
      return {
        name: r.string(r.ref(tm, TM.name)),
        contentType,
        colorSpace: props ? r.u8Field(props, IMAGE_PROPS.colorSpace, 0) : null,
        width: size ? r.u32Field(size, IMAGE_SIZE.width, 0) : null,
        height: size ? r.u32Field(size, IMAGE_SIZE.height, 0) : null,
        mean: norm ? r.f32Vector(r.ref(norm, NORM.mean)) : [],
        std: norm ? r.f32Vector(r.ref(norm, NORM.std)) : [],
        statsMin: stats ? r.f32Vector(r.ref(stats, STATS.min)) : [],
        statsMax: stats ? r.f32Vector(r.ref(stats, STATS.max)) : [],
      };
    }),
    outputs: tms(SGM.outputTensorMetadata).map((tm) => ({
      name: r.string(r.ref(tm, TM.name)),
      description: r.string(r.ref(tm, TM.description)),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Writers.

/** @param {Builder} b @param {number[]} values */
function floatVector(b, values) {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(/** @type {number} */ (values[i]));
  return b.endVector();
}

/** @param {Builder} b @param {number[]} offsets builder offsets of tables, in vector order */
function offsetVector(b, offsets) {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(/** @type {number} */ (offsets[i]));
  return b.endVector();
}

/**
 * @typedef {{
 *   name: string,
 *   description?: string,
 *   author?: string,
 *   license?: string,
 *   mean: number[],
 *   std: number[],
 *   outputDescriptions?: string[],
 * }} ImageModelMetadataOptions
 */

/**
 * Builds the ModelMetadata flatbuffer ("M001") for a single-input image model.
 * @param {ModelSummary} model
 * @param {ImageModelMetadataOptions} opts
 * @returns {Uint8Array}
 */
export function buildImageModelMetadata(model, opts) {
  const input = model.inputs[0];
  if (!input || model.inputs.length !== 1)
    throw new Error(`expected exactly one input tensor, found ${model.inputs.length}`);
  const [, height, width, channels] = input.shape;
  if (input.shape.length !== 4 || channels !== 3)
    throw new Error(`input shape ${JSON.stringify(input.shape)} is not [1, H, W, 3]`);
  if (opts.mean.length !== opts.std.length || ![1, 3].includes(opts.mean.length)) {
    throw new Error('mean and std must both have 1 or 3 values');
  }
  if (opts.std.some((s) => !(s > 0))) throw new Error('std values must be > 0');

  const b = new Builder(1024);
  // Input tensor: an RGB image, normalised per channel as (x - mean) / std.
  b.startObject(2);
  b.addFieldInt32(IMAGE_SIZE.width, width ?? 0, 0);
  b.addFieldInt32(IMAGE_SIZE.height, height ?? 0, 0);
  const imageSize = b.endObject();
  b.startObject(2);
  b.addFieldInt8(IMAGE_PROPS.colorSpace, COLOR_SPACE_RGB, 0);
  b.addFieldOffset(IMAGE_PROPS.defaultSize, imageSize, 0);
  const imageProps = b.endObject();
  b.startObject(3);
  b.addFieldInt8(CONTENT.propertiesType, CONTENT_PROPERTIES_IMAGE, 0);
  b.addFieldOffset(CONTENT.properties, imageProps, 0);
  const inputContent = b.endObject();
  const meanVec = floatVector(b, opts.mean);
  const stdVec = floatVector(b, opts.std);
  b.startObject(2);
  b.addFieldOffset(NORM.mean, meanVec, 0);
  b.addFieldOffset(NORM.std, stdVec, 0);
  const norm = b.endObject();
  b.startObject(2);
  b.addFieldInt8(PROCESS_UNIT.optionsType, PROCESS_UNIT_NORMALIZATION, 0);
  b.addFieldOffset(PROCESS_UNIT.options, norm, 0);
  const processUnits = offsetVector(b, [b.endObject()]);
  // Stats document the value range the normalisation produces: [(0 - mean) / std, (255 - mean) / std].
  const statsMax = floatVector(
    b,
    opts.mean.map((m, i) => (255 - m) / /** @type {number} */ (opts.std[i])),
  );
  const statsMin = floatVector(
    b,
    opts.mean.map((m, i) => (0 - m) / /** @type {number} */ (opts.std[i])),
  );
  b.startObject(2);
  b.addFieldOffset(STATS.max, statsMax, 0);
  b.addFieldOffset(STATS.min, statsMin, 0);
  const stats = b.endObject();
  const inName = b.createString(input.name ?? 'image');
  const inDesc = b.createString(`RGB image ${width}x${height}, values normalised as (x - mean) / std`);
  b.startObject(6);
  b.addFieldOffset(TM.name, inName, 0);
  b.addFieldOffset(TM.description, inDesc, 0);
  b.addFieldOffset(TM.content, inputContent, 0);
  b.addFieldOffset(TM.processUnits, processUnits, 0);
  b.addFieldOffset(TM.stats, stats, 0);
  const inputTm = b.endObject();

  // Outputs: raw feature tensors (box regressors, scores). The detector's decoding is configured in MediaPipe's
  // graph, not from metadata; names are recorded so the metadata lists every output as the schema asks.
  const outputTms = model.outputs.map((t, i) => {
    b.startObject(0);
    const feature = b.endObject();
    b.startObject(3);
    b.addFieldInt8(CONTENT.propertiesType, CONTENT_PROPERTIES_FEATURE, 0);
    b.addFieldOffset(CONTENT.properties, feature, 0);
    const content = b.endObject();
    const name = b.createString(t.name ?? `output_${i}`);
    const desc = opts.outputDescriptions?.[i] ? b.createString(opts.outputDescriptions[i]) : 0;
    b.startObject(4);
    b.addFieldOffset(TM.name, name, 0);
    if (desc) b.addFieldOffset(TM.description, desc, 0);
    b.addFieldOffset(TM.content, content, 0);
    return b.endObject();
  });

  const inputsVec = offsetVector(b, [inputTm]);
  const outputsVec = offsetVector(b, outputTms);
  b.startObject(4);
  b.addFieldOffset(SGM.inputTensorMetadata, inputsVec, 0);
  b.addFieldOffset(SGM.outputTensorMetadata, outputsVec, 0);
  const subgraphs = offsetVector(b, [b.endObject()]);

  const name = b.createString(opts.name);
  const description = opts.description ? b.createString(opts.description) : 0;
  const author = opts.author ? b.createString(opts.author) : 0;
  const license = opts.license ? b.createString(opts.license) : 0;
  const minParser = b.createString(MIN_PARSER_VERSION);
  b.startObject(8);
  b.addFieldOffset(MM.name, name, 0);
  if (description) b.addFieldOffset(MM.description, description, 0);
  b.addFieldOffset(MM.subgraphMetadata, subgraphs, 0);
  if (author) b.addFieldOffset(MM.author, author, 0);
  if (license) b.addFieldOffset(MM.license, license, 0);
  b.addFieldOffset(MM.minParserVersion, minParser, 0);
  b.finish(b.endObject(), 'M001');
  return b.asUint8Array().slice();
}

/**
 * Returns a copy of `modelBytes` whose Model.metadata has a TFLITE_METADATA entry pointing at a new buffer holding
 * `metadataBytes`. Any existing TFLITE_METADATA entry is replaced; every other metadata entry is kept.
 * @param {Uint8Array} modelBytes
 * @param {Uint8Array} metadataBytes
 * @returns {Uint8Array}
 */
export function embedMetadata(modelBytes, metadataBytes) {
  const r = new FbReader(modelBytes);
  if (modelBytes.length < 8 || r.identifier() !== 'TFL3')
    throw new Error('not a TFLite flatbuffer (identifier is not "TFL3")');
  const model = r.root();
  for (let id = MODEL_KNOWN_FIELDS; id < r.fieldCount(model); id++) {
    // A field this code does not know could hold an offset we would fail to carry over: refuse, don't guess.
    if (r.field(model, id) !== 0) throw new Error(`Model has field ${id}, unknown to this tool (schema newer than it)`);
  }
  const oldBuffers = r.tableVector(r.ref(model, MODEL.buffers));
  for (const buf of oldBuffers) {
    // Buffers stored outside the flatbuffer (models > 2 GB) address bytes by absolute file offset; prepending
    // would shift them.
    if (r.field(buf, BUFFER.offset) !== 0 || r.field(buf, BUFFER.size) !== 0) {
      throw new Error('model stores buffers outside the flatbuffer; not supported');
    }
  }
  const keptMetadata = r
    .tableVector(r.ref(model, MODEL.metadata))
    .filter((m) => r.string(r.ref(m, METADATA.name)) !== METADATA_ENTRY_NAME);

  const padded = Math.ceil(modelBytes.length / 16) * 16;
  const b = new Builder(padded + metadataBytes.length + 1024);
  // 1. The original file, verbatim, at the end of the new one (written back to front, zero padding last).
  b.prep(16, padded);
  for (let i = padded - 1; i >= 0; i--) b.writeInt8(i < modelBytes.length ? /** @type {number} */ (modelBytes[i]) : 0);
  const base = b.offset();
  /** Builder offset (distance from the end) of an object at absolute position `pos` in the original file. */
  const old = (/** @type {number} */ pos) => base - pos;

  // 2. The metadata bytes as a Buffer.data vector, 16-byte aligned as the schema's force_align asks.
  b.startVector(1, metadataBytes.length, 16);
  for (let i = metadataBytes.length - 1; i >= 0; i--) b.writeInt8(/** @type {number} */ (metadataBytes[i]));
  const data = b.endVector();
  b.startObject(3);
  b.addFieldOffset(BUFFER.data, data, 0);
  const newBuffer = b.endObject();
  const newBufferIndex = oldBuffers.length;

  const name = b.createString(METADATA_ENTRY_NAME);
  b.startObject(2);
  b.addFieldOffset(METADATA.name, name, 0);
  b.addFieldInt32(METADATA.buffer, newBufferIndex, 0);
  const newMetadata = b.endObject();

  const buffersVec = offsetVector(b, [...oldBuffers.map(old), newBuffer]);
  const metadataVec = offsetVector(b, [...keptMetadata.map(old), newMetadata]);

  // 3. The new root Model: same fields as the old one, pointing into the carried-over bytes, except the two vectors.
  b.startObject(MODEL_KNOWN_FIELDS);
  b.addFieldInt32(MODEL.version, r.u32Field(model, MODEL.version, 0), 0);
  for (const id of [
    MODEL.operatorCodes,
    MODEL.subgraphs,
    MODEL.description,
    MODEL.metadataBuffer,
    MODEL.signatureDefs,
  ]) {
    const target = r.ref(model, id);
    if (target !== 0) b.addFieldOffset(id, old(target), 0);
  }
  b.addFieldOffset(MODEL.buffers, buffersVec, 0);
  b.addFieldOffset(MODEL.metadata, metadataVec, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

/**
 * Adds image-input metadata to a .tflite (the transform provisioning runs for the BlazeFace models).
 * @param {Uint8Array} modelBytes
 * @param {ImageModelMetadataOptions} opts
 * @returns {Uint8Array}
 */
export function addImageMetadata(modelBytes, opts) {
  const model = readModel(modelBytes);
  const input = model.inputs[0];
  if (input && input.type !== TENSOR_TYPE_FLOAT32)
    throw new Error('input tensor is not float32; normalisation metadata would be wrong');
  return embedMetadata(modelBytes, buildImageModelMetadata(model, opts));
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

/** @param {string[]} argv */
function main(argv) {
  if (argv[0] === '--print') {
    const bytes = readFileSync(/** @type {string} */ (argv[1]));
    const { buffers, ...summary } = readModel(bytes);
    console.log(JSON.stringify({ ...summary, buffers: buffers.length, metadataContent: readMetadata(bytes) }, null, 2));
    return;
  }
  const [input, output, ...rest] = argv;
  if (!input || !output) {
    console.error(
      'usage: tflite-metadata.mjs <in.tflite> <out.tflite> [--mean 127.5] [--std 127.5] [--name NAME]\n       tflite-metadata.mjs --print <model.tflite>',
    );
    process.exit(2);
  }
  /** @param {string} flag @param {string} dflt */
  const opt = (flag, dflt) => {
    const i = rest.indexOf(flag);
    return i === -1 ? dflt : (rest[i + 1] ?? dflt);
  };
  const mean = Number(opt('--mean', '127.5'));
  const std = Number(opt('--std', '127.5'));
  const out = addImageMetadata(readFileSync(input), {
    name: opt('--name', 'model'),
    mean: [mean, mean, mean],
    std: [std, std, std],
  });
  writeFileSync(output, out);
  console.log(`${output}: ${out.length} bytes`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
