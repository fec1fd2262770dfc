/**
 * The static server (scripts/serve.mjs; also what the receiver's --app serves tablets with) must answer a file it
 * cannot read with an error, not die: a path that is a socket (or a file removed between its check and its read)
 * threw an unhandled stream error and ended the process (attacker review, session 23). Real server, real sockets.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SW_REMOVER, serve } from '../../scripts/serve.mjs';

const dir = mkdtempSync(join(tmpdir(), 'serve-static-'));
const sockets: Server[] = [];
afterAll(() => {
  for (const s of sockets) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the static server', () => {
  it('answers a socket or a FIFO where a file was expected with 404, and keeps serving', async () => {
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>kiosk</title>');
    writeFileSync(join(dir, 'app.js'), 'export {};');
    const sock = createServer();
    await new Promise<void>((r) => sock.listen(join(dir, 'x.js'), r));
    sockets.push(sock);
    execFileSync('mkfifo', [join(dir, 'pipe.js')]);
    const server = await serve({ port: 0, dir });
    try {
      for (const path of ['x.js', 'pipe.js']) {
        const res = await fetch(new URL(path, server.url), { signal: AbortSignal.timeout(5000) });
        expect(res.status, path).toBe(404);
        await res.body?.cancel();
      }
      const ok = await fetch(new URL('app.js', server.url));
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('export {};');
      const head = await fetch(new URL('index.html', server.url), { method: 'HEAD' });
      expect([head.status, head.headers.get('content-length')]).toEqual([200, '35']);
    } finally {
      await server.close();
    }
  });

  it('answers a service-worker script request for anything but /sw.js with a worker that removes itself', async () => {
    // A worker registered under another script or scope (by whoever once controlled what this origin served) stayed
    // for ever: the browser keeps a registration whose update check fails. Its update check now gets the remover.
    writeFileSync(join(dir, 'sw.js'), '/* the kiosk worker */');
    const server = await serve({ port: 0, dir });
    try {
      for (const path of ['rogue-sw.js', 'assets/app.js', 'rogue']) {
        const res = await fetch(new URL(path, server.url), { headers: { 'service-worker': 'script' } });
        expect([res.status, res.headers.get('content-type')], path).toEqual([200, 'text/javascript; charset=utf-8']);
        expect(await res.text(), path).toBe(SW_REMOVER);
      }
      expect(SW_REMOVER).toContain('registration');
      expect(SW_REMOVER).toContain('.unregister()');
      // The kiosk's own worker, and ordinary requests for the same paths, are served as files.
      const own = await fetch(new URL('sw.js', server.url), { headers: { 'service-worker': 'script' } });
      expect(await own.text()).toBe('/* the kiosk worker */');
      expect((await fetch(new URL('rogue-sw.js', server.url))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
