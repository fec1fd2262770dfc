#!/usr/bin/env node
// @ts-check
/**
 * `npm start`: provisions the models, builds the PWA, then serves it on loopback and starts the local reference
 * receiver next to it, printing both URLs and what the admin needs (pairing code; admin token on first start).
 * Ctrl-C stops both.
 */
import { spawn, spawnSync } from 'node:child_process';
import { serve } from './serve.mjs';

const host = process.env.KIOSK_HOST ?? '127.0.0.1';
const port = Number(process.env.KIOSK_PORT ?? 4173);
const receiverPort = Number(process.env.RECEIVER_PORT ?? 8787);

/** @param {string} cmd @param {string[]} args */
function must(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

must('node', ['scripts/provision.mjs']);
must('npx', ['vite', 'build', '--logLevel', 'warn']);

const receiver = spawn('node', ['receiver/server.mjs', '--host', '127.0.0.1', '--port', String(receiverPort)], {
  stdio: 'inherit',
});
receiver.on('exit', (code) => {
  console.error(`receiver exited (${code})`);
  process.exit(code ?? 1);
});
const kiosk = await serve({ host, port, dir: 'dist' });
console.log(`\nkiosk:    ${kiosk.url}`);
console.log(`receiver: http://127.0.0.1:${receiverPort}/ (decisions, pairing)`);
console.log(
  'admin:    pair the kiosk with the pairing code above (printed while no kiosk is paired; later ones:\n' +
    '          node receiver/server.mjs pairing-code). Admin routes (new pairing codes, the decision log,\n' +
    '          publishing bundles) need the admin token the receiver wrote to admin-token.new in its data folder on\n' +
    '          its first start (see its line above), sent as\n' +
    '          "Authorization: Bearer <token>"; lost it? stop this, then: node receiver/server.mjs admin-token\n' +
    '          Publishing watchlist bundles also needs the admin key pinned: see docs/receiver.md.\n',
);

for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(sig, async () => {
    receiver.kill('SIGTERM');
    await kiosk.close();
    process.exit(0);
  });
}
