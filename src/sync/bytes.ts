/**
 * Little-endian byte writer and bounds-checked reader for the watchlist bundle format.
 *
 * Pure and runtime-neutral (browser, worker, Node). The reader never trusts a length it reads: every read checks
 * the remaining bytes first and fails with BUNDLE_INVALID, so a truncated or garbled file can never make the
 * parser read past the end, allocate a huge array, or hand back a half-parsed value. Strings are strict UTF-8
 * (a fatal decoder), and the writer refuses strings UTF-8 cannot round-trip (lone surrogates), so what the admin
 * exported is exactly what the kiosk reads.
 */
import { KioskError } from '../shared/errors';

/** True on every platform browsers ship on today; checked so the Float32 copy stays correct anywhere. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Largest integer a JS number holds exactly; u64 fields above it are refused rather than rounded. */
export const MAX_SAFE_U64 = Number.MAX_SAFE_INTEGER;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function invalid(reason: string, details: Record<string, string | number | boolean> = {}): KioskError {
  return new KioskError('BUNDLE_INVALID', { reason, ...details });
}

/** UTF-8 bytes of `text`, or undefined if UTF-8 would change it (lone surrogates become U+FFFD otherwise). */
export function strictUtf8(text: string): Uint8Array<ArrayBuffer> | undefined {
  const bytes = utf8Encoder.encode(text);
  return utf8Decoder.decode(bytes) === text ? bytes : undefined;
}

export class ByteWriter {
  private buf: Uint8Array<ArrayBuffer>;
  private view: DataView<ArrayBuffer>;
  private len = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < at + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.len = at + n;
    return at;
  }

  u8(v: number): void {
    this.view.setUint8(this.reserve(1), v);
  }

  u16(v: number): void {
    this.view.setUint16(this.reserve(2), v, true);
  }

  u32(v: number): void {
    this.view.setUint32(this.reserve(4), v, true);
  }

  /** Unsigned 64-bit integer; callers validate 0 <= v <= MAX_SAFE_U64 first. */
  u64(v: number): void {
    const at = this.reserve(8);
    this.view.setUint32(at, v % 0x1_0000_0000, true);
    this.view.setUint32(at + 4, Math.floor(v / 0x1_0000_0000), true);
  }

  /** IEEE 754 double: the one encoding that round-trips every JS number a Subject holds. */
  f64(v: number): void {
    this.view.setFloat64(this.reserve(8), v, true);
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.reserve(b.length));
  }

  /**
   * Float32 values as their exact little-endian bit patterns (a byte copy, never a float conversion, so NaN
   * payloads and -0 survive too).
   */
  float32(values: Float32Array): void {
    const src = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    const at = this.reserve(src.length);
    this.buf.set(src, at);
    if (!HOST_LITTLE_ENDIAN) swap32(this.buf, at, src.length);
  }

  /** u16 byte length + strict UTF-8. */
  str(bytes: Uint8Array): void {
    this.u16(bytes.length);
    this.bytes(bytes);
  }

  /** The written bytes (a view; the writer must not be used afterwards). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.len);
  }
}

export class ByteReader {
  private readonly view: DataView<ArrayBuffer>;
  private at: number;

  constructor(
    private readonly buf: Uint8Array<ArrayBuffer>,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.at = start;
  }

  get offset(): number {
    return this.at;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  private take(n: number, what: string): number {
    if (n < 0 || this.at + n > this.end) throw invalid('truncated', { field: what, at: this.at });
    const at = this.at;
    this.at += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }

  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }

  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }

  u64(what: string): number {
    const at = this.take(8, what);
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    const v = hi * 0x1_0000_0000 + lo;
    if (v > MAX_SAFE_U64) throw invalid('integer-too-large', { field: what });
    return v;
  }

  f64(what: string): number {
    return this.view.getFloat64(this.take(8, what), true);
  }

  /** A copy (never a view), so later changes to the input cannot reach parsed values. */
  bytes(n: number, what: string): Uint8Array<ArrayBuffer> {
    const at = this.take(n, what);
    return this.buf.slice(at, at + n);
  }

  float32(count: number, what: string): Float32Array<ArrayBuffer> {
    const n = count * 4;
    const at = this.take(n, what);
    // slice() gives a fresh, 4-byte-aligned buffer whatever the input's alignment was.
    const copy = this.buf.slice(at, at + n);
    if (!HOST_LITTLE_ENDIAN) swap32(copy, 0, n);
    return new Float32Array(copy.buffer);
  }

  str(what: string, maxBytes: number): string {
    const n = this.u16(what);
    if (n > maxBytes) throw invalid('string-too-long', { field: what });
    const at = this.take(n, what);
    try {
      return utf8Decoder.decode(this.buf.subarray(at, at + n));
    } catch {
      throw invalid('bad-utf8', { field: what });
    }
  }

  /** Refuses trailing bytes: a well-formed file has exactly one parse. */
  expectEnd(what: string): void {
    if (this.at !== this.end) throw invalid('trailing-bytes', { field: what, at: this.at });
  }
}

function swap32(b: Uint8Array, at: number, n: number): void {
  for (let i = at; i < at + n; i += 4) {
    const a0 = b[i]!;
    const a1 = b[i + 1]!;
    b[i] = b[i + 3]!;
    b[i + 1] = b[i + 2]!;
    b[i + 2] = a1;
    b[i + 3] = a0;
  }
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
