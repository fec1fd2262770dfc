/**
 * The admin console is split into one card per capability (src/ui/*-card.ts) over one service per capability
 * (src/app): the UI renders and wires events, the services talk to the store and the watchlist service. This test
 * holds that line in the source: no module under src/ui imports the store, sync, crypto, decisions, inference or
 * capture layers, or reaches IndexedDB, the network, WebCrypto, the storage manager or a worker itself; and
 * admin-view.ts only composes cards (it imports nothing from src/app but types). It also proves the checker finds
 * a violation, on a file written to a temporary folder.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const UI = resolve(__dirname, '../../src/ui');
const ALLOWED = /^(\.\/|\.\.\/shared\/|\.\.\/config\/|\.\.\/app\/)/;
const DIRECT = /\bfetch\(|\bindexedDB\b|navigator\.storage|crypto\.subtle|new Worker\(|new SharedWorker\(/;
const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s*['"]([^'"]+)['"]/gm;

/** What a UI module may not do: each violation as `file: what`. */
export function uiViolations(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(dir, name), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[3]!;
      if (!ALLOWED.test(spec) && spec.startsWith('.')) out.push(`${name}: imports ${spec}`);
      // The console's composer takes types from src/app, never a service or a helper that could reach storage.
      if (name === 'admin-view.ts' && spec.startsWith('../') && !m[2]) out.push(`${name}: value import ${spec}`);
    }
    const direct = DIRECT.exec(text);
    if (direct) out.push(`${name}: ${direct[0]}`);
  }
  return out;
}

describe('UI boundary', () => {
  it('no UI module reaches storage, crypto, the network or a worker; admin-view only composes cards', () => {
    expect(uiViolations(UI)).toEqual([]);
    // The split happened: the console is cards, not one large module.
    const lines = readFileSync(join(UI, 'admin-view.ts'), 'utf8').split('\n').length;
    expect(lines).toBeLessThan(300);
  });

  it('the checker finds each kind of violation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ui-boundary-'));
    writeFileSync(
      join(dir, 'admin-view.ts'),
      [
        "import { Vault } from '../store';",
        "import { exportBundle } from '../sync/bundle';",
        "import { AdminOps } from '../app/admin-ops';",
        "import type { AppSnapshot } from '../app/controller';",
        'const r = fetch("/x");',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'card.ts'), "export const d = indexedDB.open('x');\n");
    expect(uiViolations(dir).sort()).toEqual(
      [
        'admin-view.ts: imports ../store',
        'admin-view.ts: value import ../store',
        'admin-view.ts: imports ../sync/bundle',
        'admin-view.ts: value import ../sync/bundle',
        'admin-view.ts: value import ../app/admin-ops',
        'admin-view.ts: fetch(',
        'card.ts: indexedDB',
      ].sort(),
    );
  });
});
