#!/usr/bin/env node
// @ts-check
/**
 * Reads an audit export (`audit-YYYY-MM-DD.ekaudit`, made on the admin screen) for support staff who have the file
 * and its export passphrase but not the kiosk:
 *
 *   npm run audit:read -- FILE [--json OUT] [--passphrase-file F]
 *   printf '%s\n' "$EXPORT_PASSPHRASE" | npm run audit:read -- FILE
 *
 * The passphrase comes from --passphrase-file, the AUDIT_EXPORT_PASSPHRASE environment variable, or the first line
 * of standard input; never from an argument (arguments show in `ps`). Prints one line per entry (UTC time, outcome,
 * mode, who overrode or made a change, the person's or guard's id a change is about, reason) and with --json writes
 * the decrypted payload. It only reads: the file is not changed. Outcomes are printed as written, so a newer kiosk's
 * outcome is shown rather than refused.
 *
 * The byte format is written out in src/crypto/export-file.ts (magic "EKAX", PBKDF2-SHA-256, AES-256-GCM with the
 * header as additional data). This is a second, independent reader of it in plain Node, on purpose (like the
 * receiver's protocol code): test/unit/audit-read.test.ts seals a file with the kiosk's own code and reads it here.
 * Exit 0 read, 1 wrong passphrase or not an audit export, 2 usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { parseArgs } from 'node:util';

const MAGIC = 'EKAX';
const HEADER = 4 + 1 + 1 + 4 + 16 + 12;
const MIN_ITER = 600_000;
const MAX_ITER = 10_000_000;

/**
 * @param {Uint8Array} file @param {string} passphrase
 * @returns {Promise<{ format: string, version: number, exportedAt: number, entries: Record<string, unknown>[] }>}
 */
export async function readAuditExport(file, passphrase) {
  const bytes = new Uint8Array(file);
  if (bytes.length < HEADER + 16 || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== MAGIC)
    throw Object.assign(new Error('not an audit export of the entrance kiosk (no EKAX header)'), { exit: 1 });
  if (bytes[4] !== 1 || bytes[5] !== 1) throw Object.assign(new Error(`unknown export format ${bytes[4]}/${bytes[5]}`), { exit: 1 });
  const header = bytes.slice(0, HEADER);
  const iterations = new DataView(header.buffer).getUint32(6, false);
  if (iterations < MIN_ITER || iterations > MAX_ITER) throw Object.assign(new Error('implausible iteration count'), { exit: 1 });
  const subtle = webcrypto.subtle;
  const base = await subtle.importKey('raw', new TextEncoder().encode(passphrase.normalize('NFKC')), 'PBKDF2', false, ['deriveKey']);
  const key = await subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: header.slice(10, 26), iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['decrypt'],
  );
  let plain;
  try {
    plain = await subtle.decrypt({ name: 'AES-GCM', iv: header.slice(26, 38), additionalData: header, tagLength: 128 }, key, bytes.subarray(HEADER));
  } catch {
    throw Object.assign(new Error('wrong export passphrase, or the file was altered'), { exit: 1 });
  }
  const payload = JSON.parse(new TextDecoder().decode(plain));
  if (payload?.format !== 'entrance-kiosk-audit' || !Array.isArray(payload.entries))
    throw Object.assign(new Error('decrypted, but not an audit payload'), { exit: 1 });
  return payload;
}

/**
 * Control, format and separator characters shown as \u{…}: a guard's override reason is free text, and an ESC
 * sequence or a bidi override in it could erase or reorder lines of this printout in the reader's terminal and hide
 * an entry (review, session 24). `--json` keeps the text as it is.
 * @param {string} s
 */
function printable(s) {
  return s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${c.codePointAt(0)?.toString(16)}}`);
}

/** @param {Record<string, unknown>} e */
function line(e) {
  const at = new Date(Number(e.at)).toISOString().replace('T', ' ').slice(0, 19);
  const who = e.actor ? ` by ${e.actor}` : '';
  // A change (mode system) is about a person or guard account; a decision's subject stays out of the printout.
  const about = e.mode === 'system' && e.subjectId && e.subjectId !== 'unknown' ? ` about ${e.subjectId}` : '';
  const score = typeof e.score === 'number' ? ` score ${e.score.toFixed(3)}` : '';
  return printable(`${at} UTC  ${String(e.outcome).padEnd(14)} ${String(e.mode).padEnd(6)}${who}${about}${score}${e.reason ? `  ${e.reason}` : ''}`);
}

async function main() {
  /** @type {{ values: { json?: string, 'passphrase-file'?: string }, positionals: string[] }} */
  let args;
  try {
    args = parseArgs({ args: process.argv.slice(2), options: { json: { type: 'string' }, 'passphrase-file': { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`audit:read: ${e instanceof Error ? e.message : String(e)}\nusage: npm run audit:read -- FILE [--json OUT] [--passphrase-file F]`);
    return 2;
  }
  if (args.positionals.length !== 1) {
    console.error('usage: npm run audit:read -- FILE [--json OUT] [--passphrase-file F]  (passphrase: file, AUDIT_EXPORT_PASSPHRASE or stdin)');
    return 2;
  }
  let pass = args.values['passphrase-file'] ? readFileSync(args.values['passphrase-file'], 'utf8') : process.env.AUDIT_EXPORT_PASSPHRASE || undefined;
  if (pass === undefined) {
    if (process.stdin.isTTY) process.stderr.write('export passphrase: ');
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    pass = Buffer.concat(chunks).toString('utf8');
  }
  pass = pass.split(/\r?\n/)[0] ?? '';
  try {
    const p = await readAuditExport(readFileSync(args.positionals[0] ?? ''), pass);
    console.log(`audit export of ${new Date(p.exportedAt).toISOString()}: ${p.entries.length} entries, newest first`);
    for (const e of [...p.entries].sort((a, b) => Number(b.at) - Number(a.at))) console.log(line(e));
    if (args.values.json) writeFileSync(args.values.json, `${JSON.stringify(p, null, 2)}\n`);
    return 0;
  } catch (e) {
    console.error(`audit:read: ${e instanceof Error ? e.message : String(e)}`);
    return /** @type {{ exit?: number }} */ (e).exit ?? 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main());
