/**
 * Test helpers for the receiver project: start the real receiver CLI and a real Mosquitto as child processes on
 * free loopback ports, and act as a kiosk from Node (keys made with Node's WebCrypto, messages spelled out here,
 * the pairing proof computed with node:crypto) so the receiver is checked against an implementation that is not
 * its own. Every process started here is stopped by the returned handle; tests call it in afterAll/afterEach.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const subtle = globalThis.crypto.subtle;

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.end();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ReceiverProcess {
  url: string;
  port: number;
  pairingCode: string;
  /** The admin token, if this start created it (first start on a data folder); later starts print none. */
  adminToken: string | undefined;
  /** Everything the process printed so far (stdout and stderr, interleaved by arrival). */
  output: () => string;
  /** Lines of JSON logging, parsed. */
  logLines: () => Record<string, unknown>[];
  waitForOutput: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  child: ChildProcess;
}

export interface NodeProcess {
  /** Everything the process printed so far (stdout and stderr, interleaved by arrival). */
  output: () => string;
  waitForOutput: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  child: ChildProcess;
}

/** Spawns `node <script> ...args` from the repository root, collecting what it prints. */
export function startNode(script: string, args: string[]): NodeProcess {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const waitForOutput = async (re: RegExp, ms = 15_000): Promise<RegExpExecArray> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (child.exitCode !== null)
        throw new Error(`${script} exited (${child.exitCode}) before printing ${re}:\n${out}`);
      if (Date.now() > end) throw new Error(`${script} did not print ${re} within ${ms} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    output: () => out,
    waitForOutput,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    child,
  };
}

/**
 * The token a first start wrote for the admin to collect (its output names the file, never the token); undefined
 * on later starts.
 */
function newAdminToken(output: string): string | undefined {
  const file = /^receiver: admin token created: in (\S+) \(/m.exec(output)?.[1];
  return file === undefined ? undefined : readFileSync(file, 'utf8').trim();
}

/** Spawns `node receiver/server.mjs` with the given arguments and waits for its banner. */
export async function startReceiver(args: string[]): Promise<ReceiverProcess> {
  const p = startNode('receiver/server.mjs', args);
  let url: string;
  let pairingCode: string;
  try {
    // Generous: a first start makes keys (and with --tls a CA) on a machine other tests keep busy.
    url = (await p.waitForOutput(/^receiver: listening on (\S+)/m, 60_000))[1]!;
    // A receiver with kiosks paired prints no code, only how to mint one.
    pairingCode = (await p.waitForOutput(/^receiver: (?:pairing code: (\S+)|\d+ kiosk\(s\) paired;)/m))[1] ?? '';
  } catch (e) {
    await p.stop(); // never leave a receiver running behind a failed start
    throw e;
  }
  return {
    ...p,
    url,
    port: Number(new URL(url).port),
    pairingCode,
    adminToken: newAdminToken(p.output()),
    logLines: () =>
      p
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface Mosquitto {
  url: string;
  /** The CA that issued the broker's certificate (secure brokers only). */
  caFile?: string;
  stop: () => Promise<void>;
}

/** Runs a command, throwing with its stderr when it fails. */
function must(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/**
 * Issues a leaf certificate with Debian's openssl under a CA whose files are in `dir`: a new P-256 key
 * `<name>.key`, and `<name>.pem` for `subject` with subjectAltName `san` (serverAuth only when asked). Throws with
 * openssl's stderr when a step fails; what a verifier then makes of the leaf is the caller's test.
 */
export function issueLeaf(
  dir: string,
  o: { ca: string; caKey: string; name: string; subject: string; san: string; serverAuth?: boolean },
): string {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const csr = `${o.name}.csr`;
  must('openssl', ['req', '-new', ...ec, '-keyout', `${o.name}.key`, '-out', csr, '-subj', o.subject], dir);
  const ext = `${o.name}-ext.cnf`;
  writeFileSync(
    join(dir, ext),
    `subjectAltName=${o.san}\nbasicConstraints=CA:FALSE\n${o.serverAuth ? 'extendedKeyUsage=serverAuth\n' : ''}`,
  );
  const pem = `${o.name}.pem`;
  const sign = ['x509', '-req', '-in', csr, '-CA', o.ca, '-CAkey', o.caKey, '-CAcreateserial', '-days', '2'];
  must('openssl', [...sign, '-extfile', ext, '-out', pem], dir);
  return join(dir, pem);
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1/localhost it issued, made with Debian's openssl (test
 * fixtures only; the receiver makes its own site CA in Node). Files: ca.pem, server.pem, server.key.
 */
export function makeTestCa(dir: string): { ca: string; cert: string; key: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  must(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=test-ca', '-days', '2'],
    dir,
  );
  const subject = '/CN=127.0.0.1';
  issueLeaf(dir, { ca: 'ca.pem', caKey: 'ca.key', name: 'server', subject, san: 'IP:127.0.0.1,DNS:localhost' });
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

/**
 * Starts Debian's Mosquitto on a free loopback port with a throwaway config (no persistence). Without `secure`:
 * anonymous, plain MQTT. With it: TLS only (a CA made here), no anonymous clients, these users (hashed with
 * mosquitto_passwd) and this ACL file text.
 */
export async function startMosquitto(secure?: { users: Record<string, string>; acl: string }): Promise<Mosquitto> {
  const port = await freePort();
  const dir = tempDir('mosquitto-');
  const conf = join(dir.path, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr'];
  let caFile: string | undefined;
  if (secure) {
    // Mosquitto started as root drops to its own user: the throwaway files must be readable by it.
    chmodSync(dir.path, 0o755);
    const tls = makeTestCa(dir.path);
    caFile = tls.ca;
    const passwd = join(dir.path, 'passwd');
    for (const [i, [user, password]] of Object.entries(secure.users).entries())
      must('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwd, user, password]);
    writeFileSync(join(dir.path, 'acl'), secure.acl);
    for (const f of ['passwd', 'acl', 'server.key', 'server.pem', 'ca.pem']) chmodSync(join(dir.path, f), 0o644);
    lines.push(
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${join(dir.path, 'acl')}`,
      `cafile ${tls.ca}`,
      `certfile ${tls.cert}`,
      `keyfile ${tls.key}`,
    );
  } else lines.push('allow_anonymous true');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    await waitForPort(port);
  } catch (e) {
    child.kill('SIGTERM');
    dir.remove();
    throw new Error(`mosquitto did not start: ${err}`, { cause: e });
  }
  return {
    url: `${secure ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    ...(caFile === undefined ? {} : { caFile }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      dir.remove();
    },
  };
}

/** Debian's PostgreSQL server binaries live in a versioned folder; the newest installed one. */
export function postgresBinDir(): string | undefined {
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions)
      if (existsSync(`/usr/lib/postgresql/${v}/bin/postgres`)) return `/usr/lib/postgresql/${v}/bin`;
  } catch {
    /* not installed */
  }
  return undefined;
}

export interface Postgres {
  /** postgres://receiver:…@127.0.0.1:PORT/receiver */
  url: string;
  stop: () => Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL server from Debian's packages on a free loopback port: a fresh cluster in a temp
 * folder (initdb), password authentication only, run as the unprivileged `postgres` user when the tests run as
 * root (PostgreSQL refuses to run as root), with one database and one login for the receiver.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("PostgreSQL server not installed (scripts/test.mjs installs Debian's postgresql)");
  const dir = tempDir('postgres-');
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? {
        uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
        gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
      }
    : {};
  const password = createHash('sha256').update(dir.path).digest('hex').slice(0, 24);
  writeFileSync(join(dir.path, 'pw'), `${password}\n`);
  if (asRoot) {
    chownSync(dir.path, ids.uid!, ids.gid!);
    chownSync(join(dir.path, 'pw'), ids.uid!, ids.gid!);
  }
  const initdb = spawnSync(
    join(bin, 'initdb'),
    [
      '-D',
      join(dir.path, 'data'),
      '-U',
      'receiver',
      '--auth=scram-sha-256',
      `--pwfile=${join(dir.path, 'pw')}`,
      '-E',
      'UTF8',
    ],
    { ...ids, encoding: 'utf8' },
  );
  if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.stderr}`);
  const port = await freePort();
  const child = spawn(
    join(bin, 'postgres'),
    ['-D', join(dir.path, 'data'), '-h', '127.0.0.1', '-p', String(port), '-k', dir.path, '-c', 'fsync=off'],
    { ...ids, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const url = `postgres://receiver:${password}@127.0.0.1:${port}`;
  const pg = (await import('pg')).default;
  const end = Date.now() + 20_000;
  for (;;) {
    const c = new pg.Client({ connectionString: `${url}/postgres` });
    try {
      await c.connect();
      await c.query('CREATE DATABASE receiver');
      await c.end();
      break;
    } catch (e) {
      await c.end().catch(() => {});
      if (child.exitCode !== null || Date.now() > end) {
        child.kill('SIGTERM');
        throw new Error(`postgres did not start: ${err}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: `${url}/receiver`,
    stop: async () => {
      // SIGINT: PostgreSQL's "fast shutdown" (disconnect clients, stop now).
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
      dir.remove();
    },
  };
}

/** The receiver's log output: one signed order envelope per line, as written (none yet: empty). */
export function orderLines(dataDir: string): string[] {
  try {
    return readFileSync(join(dataDir, 'decisions.jsonl'), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The orders in the receiver's log output, unwrapped from their envelopes ({"order":"<text>","sig","kid"}). */
export function loggedOrders(dataDir: string): Record<string, unknown>[] {
  return orderLines(dataDir).map(
    (l) => JSON.parse((JSON.parse(l) as { order: string }).order) as Record<string, unknown>,
  );
}

/**
 * GET `path` over TLS from 127.0.0.1:`port` presenting host `name` (SNI and Host), trusting `ca` only (the system
 * store when undefined). Resolves the status, or the TLS error code when the certificate is refused.
 */
export function httpsGetAs(port: number, name: string, path: string, ca: string | undefined): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, servername: name, headers: { host: name }, ...(ca ? { ca } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

export interface NodeKiosk {
  id: string;
  keys: CryptoKeyPair;
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  kid: string;
}

export async function makeKiosk(id: string): Promise<NodeKiosk> {
  const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const full = await subtle.exportKey('jwk', keys.publicKey);
  const jwk = { kty: 'EC' as const, crv: 'P-256' as const, x: full.x!, y: full.y! };
  // Node's own hash, not the receiver's helper: the key id must agree across implementations.
  const kid = createHash('sha256')
    .update(`{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`, 'utf8')
    .digest('base64url');
  return { id, keys, jwk, kid };
}

/** P-256 group order: (r, s) and (r, n - s) both verify; the receiver accepts only s <= n/2. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Raw r||s with s in the half asked for (spelled out here, independent of the kiosk's and receiver's code). */
function sForm(raw: Buffer, high: boolean): Buffer {
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  if (s > P256_N >> 1n === high) return raw;
  return Buffer.concat([raw.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
}

/** A kiosk's signature (low-s, as the kiosk sends it); `high: true` gives its valid-but-refused twin. */
export async function sign(key: CryptoKey, text: string, high = false): Promise<string> {
  const raw = Buffer.from(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(text, 'utf8')));
  return sForm(raw, high).toString('base64url');
}

export const NONCE = 'AAECAwQFBgcICQoLDA0ODw';

/** A canonical payload text, spelled out key by key (the order the schema fixes). */
export function payloadText(p: {
  kiosk: string;
  seq: number;
  ts: number;
  decision: 'grant' | 'deny';
  door?: string;
  nonce?: string;
  stale?: true;
  sub?: string;
  manual?: true;
}): string {
  let t = `{"v":1,"kiosk":"${p.kiosk}","seq":${p.seq},"ts":${p.ts},"decision":"${p.decision}"`;
  if (p.door !== undefined) t += `,"door":"${p.door}"`;
  t += `,"nonce":"${p.nonce ?? NONCE}"`;
  if (p.stale) t += ',"stale":true';
  if (p.sub !== undefined) t += `,"sub":"${p.sub}"`;
  if (p.manual) t += ',"manual":true';
  return `${t}}`;
}

export async function decisionBody(
  kiosk: NodeKiosk,
  p: Omit<Parameters<typeof payloadText>[0], 'kiosk'>,
): Promise<string> {
  const payload = payloadText({ kiosk: kiosk.id, ...p });
  return JSON.stringify({ payload, sig: await sign(kiosk.keys.privateKey, payload) });
}

export async function pairBody(kiosk: NodeKiosk, code: string, ts = Date.now()): Promise<string> {
  const normalised = code.replace(/-/g, '').toUpperCase();
  const proof = createHmac('sha256', normalised)
    .update(`entrance-kiosk/pair/v1\n${kiosk.id}\n${kiosk.kid}`)
    .digest('base64url');
  const payload = `{"v":1,"kiosk":"${kiosk.id}","key":{"kty":"EC","crv":"P-256","x":"${kiosk.jwk.x}","y":"${kiosk.jwk.y}"},"ts":${ts},"proof":"${proof}"}`;
  return JSON.stringify({ payload, sig: await sign(kiosk.keys.privateKey, payload) });
}

export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* non-JSON answer */
  }
  return { status: res.status, json, headers: res.headers };
}

export interface JournalEntry {
  id: number;
  route: string;
  status: number;
  result: 'accepted' | 'rejected';
  reason?: string;
  field?: string;
  kiosk?: string;
  seq?: number;
  stale?: boolean;
  actuate?: boolean;
  manual?: boolean;
  body?: string;
}

/** `Authorization` header for the receiver's admin routes. */
export function bearer(token: string | undefined): Record<string, string> {
  if (token === undefined) throw new Error('no admin token (printed only at the first start on a data folder)');
  return { authorization: `Bearer ${token}` };
}

/** The receiver's decision log (admin endpoint, needs the admin token). */
export async function journal(url: string, token: string | undefined, since = 0): Promise<JournalEntry[]> {
  const res = await fetch(`${url}/decisions/log?since=${since}`, { headers: bearer(token) });
  if (!res.ok) throw new Error(`log endpoint answered ${res.status}`);
  return ((await res.json()) as { entries: JournalEntry[] }).entries;
}

export async function until<T>(fn: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RecordedRequest {
  method: string;
  url: string;
  body: string | null;
}

/**
 * Records every request a Playwright page makes (service worker and workers included, via the context), so a test
 * can prove where the page sent what: e.g. every body sent to the receiver passes `checkDecisionBody`.
 */
export function recordRequests(context: import('playwright-core').BrowserContext): RecordedRequest[] {
  const seen: RecordedRequest[] = [];
  context.on('request', (req) => seen.push({ method: req.method(), url: req.url(), body: req.postData() }));
  return seen;
}
