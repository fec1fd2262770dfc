/**
 * src/inference/model-loader.ts in Chromium with real fetch, Cache Storage and WebCrypto against the provisioned
 * /models/ (served by the test server as in the app): a good file loads; a corrupt copy in Cache Storage (stored
 * under a workbox-style `__WB_REVISION__` key) is detected, evicted and replaced by a verified re-fetch from the
 * origin, which is put back under the same key; a file whose origin copy is wrong too fails closed with MODEL_INTEGRITY; missing files and ids give
 * MODEL_MISSING; a rejected load is not memoised, so a retry really retries.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ModelLoader, type ModelLoaderEvent, type ModelManifest } from '../../src/inference/model-loader';
import { isKioskError } from '../../src/shared/errors';

const TEST_CACHE = 'workbox-precache-v2-model-loader-test';

async function hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
}

async function realManifest(): Promise<ModelManifest> {
  return (await (await fetch('/models/manifest.json')).json()) as ModelManifest;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

afterEach(async () => {
  await caches.delete(TEST_CACHE);
});

describe('ModelLoader', () => {
  test('loads a file by manifest id from this origin, verified against the pinned hash', async () => {
    const loader = new ModelLoader();
    const entry = (await loader.manifest()).files.find((f) => f.id === 'face-detect-short')!;
    const bytes = await loader.load('face-detect-short');
    expect(bytes.byteLength).toBe(entry.size);
    expect(await hex(bytes)).toBe(entry.sha256);
    expect(await loader.url('face-detect-short')).toBe(
      `${location.origin}/models/face/face_detection_short_range.tflite`,
    );
    // Each call gets its own copy: detaching one (transfer to a worker) cannot break another caller.
    const again = await loader.load('face-detect-short');
    expect(again).not.toBe(bytes);
    structuredClone(bytes, { transfer: [bytes.buffer] });
    expect(again.byteLength).toBe(entry.size);
  });

  test('a corrupt copy in Cache Storage is detected, evicted, and the origin copy is fetched and verified', async () => {
    const manifest = await realManifest();
    const entry = manifest.files.find((f) => f.id === 'plate-rec-keys')!;
    const cache = await caches.open(TEST_CACHE);
    // Workbox keys unrevisioned precache entries with a __WB_REVISION__ query: the loader must match by path.
    const key = `${location.origin}/models/${entry.out}?__WB_REVISION__=deadbeef`;
    const good = new Uint8Array(await (await fetch(`/models/${entry.out}`)).arrayBuffer());
    const corrupt = good.slice();
    corrupt[100] = corrupt[100]! ^ 0xff; // one flipped byte, same size: only the hash can tell
    await cache.put(key, new Response(corrupt));

    const events: ModelLoaderEvent[] = [];
    const loader = new ModelLoader({ onEvent: (e) => events.push(e) });
    const bytes = await loader.load('plate-rec-keys');

    expect(await hex(bytes)).toBe(entry.sha256);
    expect(events).toEqual([
      {
        type: 'evicted',
        id: 'plate-rec-keys',
        url: `${location.origin}/models/${entry.out}`,
        cache: TEST_CACHE,
        from: 'cache',
      },
      { type: 'refetched', id: 'plate-rec-keys', url: `${location.origin}/models/${entry.out}`, ok: true },
      {
        type: 'restored',
        id: 'plate-rec-keys',
        url: `${location.origin}/models/${entry.out}`,
        cache: TEST_CACHE,
        ok: true,
      },
    ]);
    // The repair is back under the precache's own key (the next start finds it offline), and it is the pinned bytes.
    const restored = await cache.match(key);
    expect(restored).toBeDefined();
    expect(await hex(new Uint8Array(await restored!.arrayBuffer()))).toBe(entry.sha256);
    expect((await cache.keys()).map((r) => r.url)).toEqual([key]);
    // A new loader (the next start) uses that copy as is: no event, no request to the origin.
    performance.clearResourceTimings();
    const later: ModelLoaderEvent[] = [];
    expect(await hex(await new ModelLoader({ onEvent: (e) => later.push(e) }).load('plate-rec-keys'))).toBe(
      entry.sha256,
    );
    expect(later).toEqual([]);
    const fetched = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
    expect(fetched).not.toContain(`/models/${entry.out}`);
  });

  test('a good copy in Cache Storage is used as is (offline start), not re-fetched', async () => {
    const entry = (await realManifest()).files.find((f) => f.id === 'plate-rec-keys')!;
    const good = new Uint8Array(await (await fetch(`/models/${entry.out}`)).arrayBuffer());
    const cache = await caches.open(TEST_CACHE);
    await cache.put(`/models/${entry.out}?__WB_REVISION__=1`, new Response(good));
    performance.clearResourceTimings();
    const events: ModelLoaderEvent[] = [];
    const bytes = await new ModelLoader({ onEvent: (e) => events.push(e) }).load('plate-rec-keys');
    expect(await hex(bytes)).toBe(entry.sha256);
    expect(events).toEqual([]);
    const fetched = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
    expect(fetched).not.toContain(`/models/${entry.out}`);
    expect(await cache.match(`/models/${entry.out}?__WB_REVISION__=1`)).toBeDefined();
  });

  test('when the origin copy is wrong too, the load fails closed with MODEL_INTEGRITY and leaves no bad copy', async () => {
    const manifest = await realManifest();
    const entry = manifest.files.find((f) => f.id === 'plate-rec-keys')!;
    // The origin serves the real file, but this build's manifest pins other bytes: both the cached and the
    // re-fetched copy must then be refused.
    const pinnedElsewhere = { ...entry, sha256: entry.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    const cache = await caches.open(TEST_CACHE);
    await cache.put(`/models/${entry.out}?__WB_REVISION__=x`, new Response('stale'));
    const events: ModelLoaderEvent[] = [];
    const loader = new ModelLoader({
      manifest: { schemaVersion: 1, files: [pinnedElsewhere] },
      onEvent: (e) => events.push(e),
    });

    const err = await errorOf(loader.load('plate-rec-keys'));
    expect(isKioskError(err, 'MODEL_INTEGRITY')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({
      id: 'plate-rec-keys',
      expected: pinnedElsewhere.sha256,
      actual: entry.sha256,
    });
    expect(events.map((e) => e.type)).toEqual(['evicted', 'refetched']);
    expect(events[1]).toMatchObject({ ok: false });
    expect(await cache.match(`/models/${entry.out}?__WB_REVISION__=x`)).toBeUndefined();
  });

  test('a rejected load is not memoised: a retry after the cause is fixed succeeds', async () => {
    const entry = (await realManifest()).files.find((f) => f.id === 'plate-rec-keys')!;
    const manifest: ModelManifest = { schemaVersion: 1, files: [{ ...entry, size: entry.size + 1 }] };
    const loader = new ModelLoader({ manifest });
    expect(isKioskError(await errorOf(loader.load('plate-rec-keys')), 'MODEL_INTEGRITY')).toBe(true);
    manifest.files[0]!.size = entry.size; // e.g. the app updated its manifest
    expect(await hex(await loader.load('plate-rec-keys'))).toBe(entry.sha256);
  });

  test('missing file, unknown id and unreadable manifest give their own codes', async () => {
    const entry = (await realManifest()).files[0]!;
    const loader = new ModelLoader({
      manifest: { schemaVersion: 1, files: [{ ...entry, id: 'gone', out: 'face/not-provisioned.onnx' }] },
    });
    const missing = await errorOf(loader.load('gone'));
    expect(isKioskError(missing, 'MODEL_MISSING')).toBe(true);
    expect(isKioskError(await errorOf(loader.load('no-such-id')), 'MODEL_MISSING')).toBe(true);
    const noManifest = new ModelLoader({ manifest: '/models/no-such-manifest.json' });
    expect(isKioskError(await errorOf(noManifest.load('face-detect-short')), 'MODEL_MANIFEST_INVALID')).toBe(true);
  });

  test('refuses another origin and paths that escape the models folder', async () => {
    expect(() => new ModelLoader({ base: 'https://models.example.com/' })).toThrow(/own origin|valid/);
    expect(() => new ModelLoader({ manifest: 'https://cdn.example.com/manifest.json' })).toThrow();
    const entry = (await realManifest()).files[0]!;
    const loader = new ModelLoader({
      manifest: { schemaVersion: 1, files: [{ ...entry, id: 'x', out: '../index.html' }] },
    });
    expect(isKioskError(await errorOf(loader.load('x')), 'MODEL_MANIFEST_INVALID')).toBe(true);
  });
});
