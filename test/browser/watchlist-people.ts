/**
 * People for watchlist tests and the watchlist benchmark (bench/watchlist.page.ts): one real face and as many
 * strangers as wanted. The real face is @vladmandic/face-api's demo sample3.jpg cropped to the centre woman (the
 * same crop test/browser/face-pipeline.test.ts calls A's other photo); strangers are random 512-D unit vectors,
 * near-orthogonal to any face template. Browser-only (fetch, createImageBitmap, OffscreenCanvas); no dataset.
 */
import s3 from '@vladmandic/face-api/demo/sample3.jpg?url';

/** A seeded xorshift32 source of numbers in (0, 1]. */
export function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x + 1) / 0x1_0000_0001;
  };
}

/** A random unit vector (Box-Muller normals, normalised). */
export function strangerTemplate(next: () => number, dim = 512): Float32Array {
  const t = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    t[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
    n += t[i]! * t[i]!;
  }
  for (let i = 0; i < dim; i++) t[i] = t[i]! / Math.sqrt(n);
  return t;
}

/** The real person's photo as a JPEG (enrol from it, then show it to the kiosk). */
export async function herPhoto(): Promise<Blob> {
  const src = await createImageBitmap(await (await fetch(s3)).blob());
  const c = new OffscreenCanvas(600, 750);
  c.getContext('2d')!.drawImage(src, 850, 50, 600, 750, 0, 0, 600, 750);
  src.close();
  return c.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
}
