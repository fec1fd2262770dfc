/**
 * src has no import cycles (type-only imports included: a cycle of types still means two modules own one concept).
 * Every static `import … from`, `export … from`, side-effect `import '…'` and dynamic `import('…')` of a relative
 * path is followed; a cycle fails the test and is printed module by module. Also proves the walker itself finds a
 * cycle, on a two-file tree written to a temporary folder.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SPEC = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(n) && !n.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of one file, resolved to files on disk (extension or index.ts as Vite resolves them). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(SPEC)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec?.startsWith('.')) continue;
    const base = resolve(dirname(file), spec.replace(/\?.*$/, ''));
    const hit = [base, `${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p) && statSync(p).isFile());
    if (hit && hit.endsWith('.ts')) out.push(hit);
  }
  return out;
}

/** Every cycle's path (first module repeated at the end), found by depth-first search. */
export function findCycles(root: string): string[][] {
  const graph = new Map(files(root).map((f) => [f, importsOf(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((p) => relative(root, p)));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

describe('import cycles', () => {
  it('the walker finds a cycle, including one made only of type imports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cycles-'));
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'core.ts'), "import type { Snap } from './manifest';\nexport interface Core { s: Snap }\n");
    writeFileSync(join(dir, 'store', 'manifest.ts'), "import type { Core } from './core';\nexport interface Snap { c?: Core }\n");
    writeFileSync(join(dir, 'a.ts'), "export const a = () => import('./store/core');\n");
    expect(findCycles(dir)).toEqual([['store/core.ts', 'store/manifest.ts', 'store/core.ts']]);
  });

  it('src has none', () => {
    const src = resolve(__dirname, '../../src');
    expect(files(src).length).toBeGreaterThan(100);
    expect(findCycles(src)).toEqual([]);
  });
});
