/**
 * The kiosk's configuration, one entry point over its parts: face (src/config/face.ts: models, quality gates,
 * thresholds, decision policy, PAD, challenge, open set), plate (src/config/plate.ts: match bounds and region),
 * kiosk (src/config/kiosk.ts: the admin's settings, camera capture) and the build-time upstream origin
 * (src/config/upstream.ts). Every option documents its default and unit where it is declared and is validated
 * when loaded or supplied: a bad value is CONFIG_INVALID naming the field. Defaults and checks only: no storage,
 * no network, no runtime. Measured constants the product never changes stay beside the code that uses them
 * (the plate pipeline's tunables in src/inference/worker/plate/plate-pipeline.ts, measurements in docs/plates.md).
 */
export * from './face';
export * from './plate';
export * from './kiosk';
export * from './upstream';
