/**
 * The inner loop of 1:N matching: one query against every row of a packed matrix, as a tiny WebAssembly SIMD
 * module assembled here from opcodes (no toolchain, no binary blob to trust; about 700 bytes).
 *
 * Why not plain JS: V8 has no SIMD for JS, and a 4-way unrolled scalar loop measured 58 ms for 100k×512 floats
 * on the 2-core target, against a 10 ms budget. The f32x4 kernel measured 12 ms (it is memory-bound: 205 MB read
 * per query); int8 rows with i32x4.dot_i16x8_s measured 4 ms (51 MB read). So large galleries keep int8 rows here
 * and the caller re-scores the few candidates that matter exactly in float32 (see gallery.ts for the error bound).
 * A scalar JS kernel with the same interface is the fallback where WebAssembly SIMD is missing, and the reference
 * the tests compare against.
 *
 * Owns only arithmetic over its own linear memory. It must never see identities or decide anything.
 * Rows must have a length that is a multiple of 32 (the callers pad with zeros, which changes no dot product).
 */

export type Precision = 'f32' | 'int8';

export interface DotKernel {
  readonly precision: Precision;
  readonly rows: number;
  /** Padded row length (multiple of 32). */
  readonly stride: number;
  /** True when the WebAssembly SIMD module runs; false for the scalar JS fallback. */
  readonly simd: boolean;
  /** Bytes held for the matrix (what the scale benchmark reports). */
  readonly matrixBytes: number;
  /** Writes row `i` (already quantised for int8; `values.length` ≤ stride, the rest stays zero). */
  setRow(i: number, values: ArrayLike<number>): void;
  /** Dot products of `query` (same encoding as the rows) with every row. The returned view is reused per call. */
  scores(query: ArrayLike<number>): Float32Array | Int32Array;
}

export const ROW_ALIGN = 32;

// ---- a minimal WebAssembly binary writer (only what the two kernels need) ----

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

const T_I32 = 0x7f;
const T_V128 = 0x7b;
const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  f32Add: 0x92,
  i32Store: 0x36,
  f32Store: 0x38,
  void: 0x40,
} as const;
// SIMD opcodes (prefix 0xfd, then a LEB128 sub-opcode), from the WebAssembly SIMD proposal's opcode table.
const SIMD = {
  load: 0x00,
  const: 0x0c,
  i32x4ExtractLane: 0x1b,
  f32x4ExtractLane: 0x1f,
  i16x8ExtendLowI8x16S: 0x87,
  i16x8ExtendHighI8x16S: 0x88,
  i32x4Add: 0xae,
  i32x4DotI16x8S: 0xba,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
} as const;

const get = (i: number) => [OP.localGet, ...uleb(i)];
const set = (i: number) => [OP.localSet, ...uleb(i)];
const tee = (i: number) => [OP.localTee, ...uleb(i)];
const i32 = (n: number) => [OP.i32Const, ...sleb(n)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
/** v128.load with a 16-byte alignment hint and a constant offset. */
const v128Load = (offset: number) => simd(SIMD.load, 4, ...uleb(offset));

/**
 * kernel(mat, q, rows, stride, out): out[r] = Σ_j mat[r·stride + j] · q[j].
 * Params 0..4 as named; locals 5 = j, 6 = query pointer, 7..10 = four v128 accumulators. Four independent
 * accumulators hide the add latency; the float kernel handles 16 floats (64 bytes) per iteration, the int8 kernel
 * 32 bytes, sign-extended to i16 and multiplied pairwise into i32 lanes (exact: |127·127·2| fits easily).
 */
function kernelBody(precision: Precision): number[] {
  const [MAT, Q, ROWS, STRIDE, OUT, J, QP] = [0, 1, 2, 3, 4, 5, 6];
  const ACC = [7, 8, 9, 10] as const;
  const c: number[] = [];
  const zero = simd(SIMD.const, ...new Array<number>(16).fill(0));
  c.push(OP.block, OP.void, OP.loop, OP.void);
  c.push(...get(ROWS), OP.i32Eqz, OP.brIf, 1);
  for (const a of ACC) c.push(...zero, ...set(a));
  c.push(...i32(0), ...set(J), ...get(Q), ...set(QP));
  c.push(OP.loop, OP.void);
  let bytesPerIter: number;
  let elemsPerIter: number;
  if (precision === 'f32') {
    for (let u = 0; u < 4; u++) {
      c.push(...get(ACC[u]!), ...get(MAT), ...v128Load(16 * u), ...get(QP), ...v128Load(16 * u));
      c.push(...simd(SIMD.f32x4Mul), ...simd(SIMD.f32x4Add), ...set(ACC[u]!));
    }
    bytesPerIter = 64;
    elemsPerIter = 16;
  } else {
    for (let u = 0; u < 2; u++) {
      for (const [half, ext] of [
        [0, SIMD.i16x8ExtendLowI8x16S],
        [1, SIMD.i16x8ExtendHighI8x16S],
      ] as const) {
        const acc = ACC[2 * u + half]!;
        c.push(...get(acc), ...get(MAT), ...v128Load(16 * u), ...simd(ext), ...get(QP), ...v128Load(16 * u));
        c.push(...simd(ext), ...simd(SIMD.i32x4DotI16x8S), ...simd(SIMD.i32x4Add), ...set(acc));
      }
    }
    bytesPerIter = 32;
    elemsPerIter = 32;
  }
  c.push(...get(MAT), ...i32(bytesPerIter), OP.i32Add, ...set(MAT));
  c.push(...get(QP), ...i32(bytesPerIter), OP.i32Add, ...set(QP));
  c.push(...get(J), ...i32(elemsPerIter), OP.i32Add, ...tee(J), ...get(STRIDE), OP.i32LtU, OP.brIf, 0);
  c.push(OP.end);
  // Horizontal sum of the four accumulators, stored to out[r].
  const vadd = precision === 'f32' ? SIMD.f32x4Add : SIMD.i32x4Add;
  const lane = precision === 'f32' ? SIMD.f32x4ExtractLane : SIMD.i32x4ExtractLane;
  const sadd = precision === 'f32' ? OP.f32Add : OP.i32Add;
  c.push(...get(OUT), ...get(ACC[0]), ...get(ACC[1]), ...simd(vadd), ...get(ACC[2]), ...get(ACC[3]), ...simd(vadd));
  c.push(...simd(vadd), ...set(ACC[0]));
  c.push(...get(ACC[0]), ...simd(lane, 0), ...get(ACC[0]), ...simd(lane, 1), sadd);
  c.push(...get(ACC[0]), ...simd(lane, 2), ...get(ACC[0]), ...simd(lane, 3), sadd, sadd);
  c.push(precision === 'f32' ? OP.f32Store : OP.i32Store, 2, 0);
  c.push(...get(OUT), ...i32(4), OP.i32Add, ...set(OUT));
  c.push(...get(ROWS), ...i32(1), OP.i32Sub, ...set(ROWS));
  c.push(OP.br, 0, OP.end, OP.end);
  const locals = vec([
    [...uleb(2), T_I32],
    [...uleb(4), T_V128],
  ]);
  const fn = [...locals, ...c, OP.end];
  return [...uleb(fn.length), ...fn];
}

/** The whole module: one growable memory (exported) and the two kernels `dot_f32`, `dot_i8`. */
export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const sig = [0x60, ...vec([[T_I32], [T_I32], [T_I32], [T_I32], [T_I32]]), 0];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([sig])),
    ...section(3, vec([[0], [0]])),
    ...section(5, vec([[0x01, ...uleb(1), ...uleb(65536)]])),
    ...section(
      7,
      vec([
        [...name('memory'), 0x02, 0],
        [...name('dot_f32'), 0x00, 0],
        [...name('dot_i8'), 0x00, 1],
      ]),
    ),
    ...section(10, vec([kernelBody('f32'), kernelBody('int8')])),
  ];
  return new Uint8Array(bytes);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (compiled once, synchronously: < 4 KB). */
function simdModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = kernelModuleBytes();
    compiled = typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    // A CSP without 'wasm-unsafe-eval' throws here; the scalar kernel still gives the same answers, slower.
    compiled = null;
  }
  return compiled;
}

export function padStride(dim: number): number {
  return Math.ceil(dim / ROW_ALIGN) * ROW_ALIGN;
}

type KernelFn = (mat: number, q: number, rows: number, stride: number, out: number) => void;

class WasmKernel implements DotKernel {
  readonly simd = true;
  readonly stride: number;
  readonly matrixBytes: number;
  private readonly mat: Float32Array | Int8Array;
  private readonly query: Float32Array | Int8Array;
  private readonly out: Float32Array | Int32Array;
  private readonly fn: KernelFn;
  private readonly qOff: number;
  private readonly outOff: number;

  constructor(
    mod: WebAssembly.Module,
    readonly precision: Precision,
    readonly rows: number,
    dim: number,
  ) {
    this.stride = padStride(dim);
    const elem = precision === 'f32' ? 4 : 1;
    this.matrixBytes = rows * this.stride * elem;
    this.qOff = this.matrixBytes; // multiple of 32, so the query stays 16-byte aligned
    this.outOff = this.qOff + this.stride * elem;
    const total = this.outOff + rows * 4;
    const instance = new WebAssembly.Instance(mod);
    const exports = instance.exports as unknown as { memory: WebAssembly.Memory; dot_f32: KernelFn; dot_i8: KernelFn };
    const have = exports.memory.buffer.byteLength;
    if (total > have) exports.memory.grow(Math.ceil((total - have) / 65536));
    const buf = exports.memory.buffer;
    this.fn = precision === 'f32' ? exports.dot_f32 : exports.dot_i8;
    if (precision === 'f32') {
      this.mat = new Float32Array(buf, 0, rows * this.stride);
      this.query = new Float32Array(buf, this.qOff, this.stride);
      this.out = new Float32Array(buf, this.outOff, rows);
    } else {
      this.mat = new Int8Array(buf, 0, rows * this.stride);
      this.query = new Int8Array(buf, this.qOff, this.stride);
      this.out = new Int32Array(buf, this.outOff, rows);
    }
  }

  setRow(i: number, values: ArrayLike<number>): void {
    this.mat.set(values, i * this.stride);
  }

  scores(query: ArrayLike<number>): Float32Array | Int32Array {
    this.query.fill(0);
    this.query.set(query);
    this.fn(0, this.qOff, this.rows, this.stride, this.outOff);
    return this.out;
  }
}

class ScalarKernel implements DotKernel {
  readonly simd = false;
  readonly stride: number;
  readonly matrixBytes: number;
  private readonly mat: Float32Array | Int8Array;
  private readonly query: Float32Array | Int8Array;
  private readonly out: Float32Array | Int32Array;

  constructor(
    readonly precision: Precision,
    readonly rows: number,
    dim: number,
  ) {
    this.stride = padStride(dim);
    const Ctor = precision === 'f32' ? Float32Array : Int8Array;
    this.mat = new Ctor(rows * this.stride);
    this.query = new Ctor(this.stride);
    this.out = precision === 'f32' ? new Float32Array(rows) : new Int32Array(rows);
    this.matrixBytes = this.mat.byteLength;
  }

  setRow(i: number, values: ArrayLike<number>): void {
    this.mat.set(values, i * this.stride);
  }

  scores(query: ArrayLike<number>): Float32Array | Int32Array {
    const { mat, q, out, stride, rows } = {
      mat: this.mat,
      q: this.query,
      out: this.out,
      stride: this.stride,
      rows: this.rows,
    };
    q.fill(0);
    q.set(query);
    for (let r = 0, o = 0; r < rows; r++, o += stride) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < stride; j += 4) {
        s0 += mat[o + j]! * q[j]!;
        s1 += mat[o + j + 1]! * q[j + 1]!;
        s2 += mat[o + j + 2]! * q[j + 2]!;
        s3 += mat[o + j + 3]! * q[j + 3]!;
      }
      out[r] = s0 + s1 + s2 + s3;
    }
    return out;
  }
}

/** A kernel for `rows` × `dim`; `useWasm: false` forces the scalar fallback (tests, benchmarks). */
export function createDotKernel(precision: Precision, rows: number, dim: number, useWasm = true): DotKernel {
  const mod = useWasm ? simdModule() : null;
  return mod ? new WasmKernel(mod, precision, rows, dim) : new ScalarKernel(precision, rows, dim);
}

/** Whether the SIMD module compiled in this runtime. */
export function wasmSimdAvailable(): boolean {
  return simdModule() !== null;
}
