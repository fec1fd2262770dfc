/**
 * A photo's size checked before it is decoded: the file's bytes, and its width × height read from the format's
 * header (PNG, JPEG, GIF, WebP, BMP) without decoding a pixel. A few-kilobyte PNG can claim 40,000 × 40,000 pixels
 * and take 6.4 GB to decode (a decompression bomb), which would take the face worker down; such a photo is refused
 * with INPUT_NOT_IMAGE (rule photoTooLarge) instead. The caps are far above a camera's photo (a 61-megapixel
 * full-frame camera, a 20 MB JPEG, a 50-megapixel PNG); the decoder downscales what passes (src/inference/worker/face/face-worker.ts).
 * A header this module does not find (another format, an EXIF block longer than the bytes read) is left to the
 * decoder, which refuses what it cannot read. Pure: no DOM, no worker state.
 */
import { KioskError } from './errors';

export const MAX_PHOTO_BYTES = 128 * 1024 * 1024;
export const MAX_PHOTO_PIXELS = 100_000_000;
/** How much of the file's start is read for the header (a JPEG's EXIF and thumbnails come before its size). */
export const PHOTO_HEAD_BYTES = 256 * 1024;

const u16be = (b: Uint8Array, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u16le = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, i: number) => u16le(b, i) | ((b[i + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 65536 + u16be(b, i + 2);
const i32le = (b: Uint8Array, i: number) => u16le(b, i) | (u16le(b, i + 2) << 16);
const ascii = (b: Uint8Array, i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));

function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    // Standalone markers carry no length.
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      i += 2;
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    if (m === 0xd9 || m === 0xda) return null; // end of image or start of scan before any frame header
    i += 2 + u16be(b, i + 2);
  }
  return null;
}

/** Width and height from the header in `head` (the file's first bytes), or null when it is not found there. */
export function imageSize(head: Uint8Array): { width: number; height: number } | null {
  const b = head;
  if (b.length >= 24 && b[0] === 0x89 && ascii(b, 1, 'PNG') && ascii(b, 12, 'IHDR')) return { width: u32be(b, 16), height: u32be(b, 20) };
  if (b.length >= 10 && ascii(b, 0, 'GIF8')) return { width: u16le(b, 6), height: u16le(b, 8) };
  if (b.length >= 30 && ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) {
    if (ascii(b, 12, 'VP8X')) return { width: 1 + u24le(b, 24), height: 1 + u24le(b, 27) };
    if (ascii(b, 12, 'VP8 ')) return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
    if (ascii(b, 12, 'VP8L')) {
      const [b0, b1, b2, b3] = [b[21]!, b[22]!, b[23]!, b[24]!];
      return { width: 1 + (((b1 & 0x3f) << 8) | b0), height: 1 + (((b3 & 0xf) << 10) | (b2 << 2) | ((b1 & 0xc0) >> 6)) };
    }
    return null;
  }
  if (b.length >= 26 && ascii(b, 0, 'BM')) return { width: Math.abs(i32le(b, 18)), height: Math.abs(i32le(b, 22)) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  return null;
}

/** INPUT_NOT_IMAGE (rule photoTooLarge) for a photo over the byte cap, or whose header claims too many pixels. */
export function checkPhotoSize(bytes: number, head: Uint8Array | null): void {
  const caps = { maxMB: MAX_PHOTO_BYTES / (1024 * 1024), maxMP: MAX_PHOTO_PIXELS / 1_000_000 };
  if (bytes > MAX_PHOTO_BYTES) throw new KioskError('INPUT_NOT_IMAGE', { reason: 'too-many-bytes', rule: 'photoTooLarge', bytes, ...caps });
  const size = head ? imageSize(head) : null;
  if (size && size.width * size.height > MAX_PHOTO_PIXELS) {
    throw new KioskError('INPUT_NOT_IMAGE', { reason: 'too-many-pixels', rule: 'photoTooLarge', width: size.width, height: size.height, ...caps });
  }
}
