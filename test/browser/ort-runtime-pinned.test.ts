/**
 * onnxruntime-web's own runtime wasm is checked like every model, in both workers that run ORT: started on a model
 * base whose manifest pins other bytes for `ort-wasm-plain-binary` (what a kiosk sees when that file on its origin or
 * in its cache was swapped; served by vitest.config.ts's test-only pinnedOtherPlugin), the real face worker and the
 * real plate worker refuse to start with MODEL_INTEGRITY — the swapped runtime never runs and no other ORT build is
 * tried in its place. The same clients on the real base start (the positive side is every other face/plate test).
 */
import { describe, expect, it } from 'vitest';
import { FaceClient } from '../../src/inference/client/face-client';
import { PlateClient } from '../../src/inference/client/plate-client';
import { isKioskError } from '../../src/shared/errors';

const SWAPPED_ORT = '/models-pinned-other/ort-wasm-plain-binary/';

describe('ORT runtime pinned in the manifest (real workers)', () => {
  it('the served manifest differs from the real one only in that pin', async () => {
    const real = (await (await fetch('/models/manifest.json')).json()) as { files: { id: string; sha256: string }[] };
    const other = (await (await fetch(`${SWAPPED_ORT}manifest.json`)).json()) as typeof real;
    const changed = other.files.filter((f, i) => f.sha256 !== real.files[i]!.sha256).map((f) => f.id);
    expect(changed).toEqual(['ort-wasm-plain-binary']);
  });

  it('the face worker refuses to start on a swapped ORT runtime', async () => {
    const client = new FaceClient({ backend: 'wasm', modelBase: SWAPPED_ORT });
    try {
      await expect(client.init()).rejects.toSatisfy((e: unknown) => isKioskError(e, 'MODEL_INTEGRITY'));
    } finally {
      client.terminate();
    }
  }, 120_000);

  it('the plate worker refuses to start on a swapped ORT runtime', async () => {
    const client = new PlateClient({ region: 'us', reader: 'trained', backend: 'wasm', modelBase: SWAPPED_ORT });
    try {
      await expect(client.init()).rejects.toSatisfy((e: unknown) => isKioskError(e, 'MODEL_INTEGRITY'));
    } finally {
      client.terminate();
    }
  }, 120_000);
});
