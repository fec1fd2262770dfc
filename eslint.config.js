// Lint rules: typescript-eslint's recommended set plus the module boundaries the architecture depends on:
// views never import workers, crypto or the store; only the store opens IndexedDB; only src/inference touches
// ORT, MediaPipe and tesseract; matching stays pure. One block per folder, so no block overrides another.
import tseslint from 'typescript-eslint';

const RUNTIMES = ['onnxruntime-web', 'onnxruntime-web/*', '@mediapipe/*', 'tesseract.js'];
const IDB = ['idb'];
const CRYPTO = ['**/crypto/*', '**/crypto'];
const STORE = ['**/store/*', '**/store'];
const WORKER = ['**/inference/worker/*'];

/** @type {Record<string, string[]>} folder under src → forbidden import patterns */
const forbidden = {
  ui: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, ...WORKER],
  matching: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, '**/inference/*', '**/inference/**', '**/ui/*'],
  inference: [...IDB, ...CRYPTO, ...STORE, '**/ui/*'],
  store: [...RUNTIMES, '**/ui/*', ...WORKER],
  crypto: [...RUNTIMES, ...IDB, '**/ui/*', ...STORE],
  sync: [...RUNTIMES, ...IDB, '**/ui/*', ...WORKER],
  decisions: [...RUNTIMES, ...IDB, ...CRYPTO, '**/ui/*', ...WORKER],
  capture: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, '**/ui/*'],
  shared: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, '**/ui/*', '**/inference/*'],
  config: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, '**/ui/*'],
  offline: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, '**/ui/*'],
  sw: [...RUNTIMES, ...IDB, ...CRYPTO, ...STORE, '**/ui/*'],
};

const boundaries = Object.entries(forbidden).map(([folder, patterns]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: patterns, message: `src/${folder} must not import this (see docs/architecture.md).` }] },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: ['dist/**', 'dist-e2e/**', 'dev-dist/**', 'node_modules/**', 'models/**', 'test/.cache/**', 'bench/results/**', 'coverage/**'],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...boundaries,
);
