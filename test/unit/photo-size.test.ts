/**
 * Photos are checked for size before the face worker decodes them (src/shared/photo-size.ts): the pixel
 * count read from the header of a real camera JPEG (EXIF first, as cameras write it) and of PNG, GIF, WebP and BMP
 * headers; a PNG of a few bytes claiming 40,000 × 40,000 pixels (a decompression bomb) and a file over the byte
 * cap are refused with INPUT_NOT_IMAGE (rule photoTooLarge), worded in EN and ZH; a 50-megapixel photo passes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPhotoSize, imageSize, MAX_PHOTO_BYTES } from '../../src/shared/photo-size';
import { isKioskError } from '../../src/shared/errors';
import { describeError } from '../../src/ui/error-text';

function png(width: number, height: number): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const v = new DataView(b.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  b[24] = 8;
  b[25] = 6;
  return b;
}

const refused = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
};

describe('photo size before decoding', () => {
  it('reads the size from a camera JPEG (EXIF first) and from PNG, GIF, WebP and BMP headers', () => {
    const jpg = readFileSync(join(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo/sample1.jpg'));
    expect(imageSize(new Uint8Array(jpg))).toEqual({ width: 1920, height: 1280 });
    expect(imageSize(png(640, 480))).toEqual({ width: 640, height: 480 });
    expect(imageSize(new Uint8Array([...'GIF89a'].map((c) => c.charCodeAt(0)).concat([0x80, 0x02, 0xe0, 0x01])))).toEqual({ width: 640, height: 480 });
    const webp = new Uint8Array(30);
    webp.set([...'RIFF'].map((c) => c.charCodeAt(0)), 0);
    webp.set([...'WEBPVP8X'].map((c) => c.charCodeAt(0)), 8);
    webp.set([0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00], 24); // 640 − 1, 480 − 1
    expect(imageSize(webp)).toEqual({ width: 640, height: 480 });
    const bmp = new Uint8Array(26);
    bmp.set([0x42, 0x4d], 0);
    new DataView(bmp.buffer).setInt32(18, 640, true);
    new DataView(bmp.buffer).setInt32(22, -480, true);
    expect(imageSize(bmp)).toEqual({ width: 640, height: 480 });
    expect(imageSize(new Uint8Array([1, 2, 3]))).toBeNull();
  });

  it('refuses a decompression bomb and a file over the byte cap; a 50-megapixel photo passes', () => {
    const bomb = refused(() => checkPhotoSize(33, png(40_000, 40_000)));
    expect(isKioskError(bomb, 'INPUT_NOT_IMAGE') && bomb.details).toMatchObject({ rule: 'photoTooLarge', reason: 'too-many-pixels', width: 40_000 });
    expect(describeError(bomb, 'en').text).toBe('The file is not an image this kiosk can read. A photo may be at most 128 MB and 100 megapixels; make it smaller, or save it as a JPEG.');
    expect(describeError(bomb, 'zh').text).toContain('照片最大 128 MB、100 百万像素');
    const big = refused(() => checkPhotoSize(MAX_PHOTO_BYTES + 1, null));
    expect(isKioskError(big, 'INPUT_NOT_IMAGE') && big.details?.['reason']).toBe('too-many-bytes');
    expect(refused(() => checkPhotoSize(20 * 1024 * 1024, png(8192, 6144)))).toBeNull();
    expect(refused(() => checkPhotoSize(20 * 1024 * 1024, null))).toBeNull();
  });
});
