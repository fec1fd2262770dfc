/**
 * Egress guards that hold before any browser runs: the CSP the servers send allows only our origin and the
 * upstream, the pinned MediaPipe build carries no telemetry endpoint, and the app's own source names no outside host.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { securityHeaders } from '../../scripts/security-headers.mjs';

const root = join(import.meta.dirname, '../..');

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }),
  );
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('content security policy', () => {
  it('connects only to self and the configured upstream', () => {
    const csp = directives(securityHeaders({ upstream: 'https://door.example.org:8443/decisions' })['Content-Security-Policy']!);
    expect(csp.get('connect-src')).toEqual(["'self'", 'https://door.example.org:8443']);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    for (const [name, values] of csp) {
      expect(values, name).not.toContain('*');
      expect(values, name).not.toContain("'unsafe-eval'");
      // Not even for styles: only Vite's dev server (inline <style> for hot reload) gets that (dev: true).
      expect(values, name).not.toContain("'unsafe-inline'");
      expect(values.some((v) => v.startsWith('https:') && v.length === 6), name).toBe(false);
    }
  });

  it('allows inline styles only on the dev server', () => {
    expect(directives(securityHeaders({ dev: true })['Content-Security-Policy']!).get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
    expect(directives(securityHeaders()['Content-Security-Policy']!).get('style-src')).toEqual(["'self'"]);
  });

  it('makes the page cross-origin isolated (ORT threads need it)', () => {
    const h = securityHeaders();
    expect(h['Cross-Origin-Opener-Policy']).toBe('same-origin');
    expect(h['Cross-Origin-Embedder-Policy']).toBe('require-corp');
  });
});

describe('no telemetry at the source', () => {
  it('ships the MediaPipe build that has no usage-log endpoint', () => {
    const dir = join(root, 'node_modules/@mediapipe/tasks-vision');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
    expect(pkg.version).toBe('0.10.35');
    for (const f of ['vision_bundle.mjs', 'wasm/vision_wasm_module_internal.js', 'wasm/vision_wasm_module_internal.wasm']) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      expect(bytes, f).not.toMatch(/odml\.pa\.googleapis\.com|play\.googleapis\.com\/log|\/v1\/log\b/);
    }
  });

  it('the app source names no outside host', () => {
    const offenders: string[] = [];
    for (const file of [...walk(join(root, 'src')), join(root, 'index.html')]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/https?:\/\/([a-zA-Z0-9.-]+)/g)) {
        if (!/^(localhost|127\.0\.0\.1|www\.w3\.org)$/.test(m[1]!)) offenders.push(`${file}: ${m[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
