/**
 * Moving bundle bytes: saving a file (download or share sheet), reading one from a file input or a drop, and
 * pulling the latest bundle from the reference receiver on the LAN.
 *
 * Transport is untrusted by design — a bundle is verified and decrypted by openBundle, never here — so this module
 * only guarantees bounded, clearly failing reads: every read is capped (MAX_BUNDLE_BYTES by default) while it
 * streams, so a huge or endless file cannot exhaust memory, and every failure is a KioskError the UI can name.
 * The LAN pull goes only to the build-time upstream origin (the one CSP's connect-src allows), signed by the kiosk's
 * decision key (the receiver serves paired, unrevoked kiosks only), and sends no cookies or referrer.
 */
import { KioskError } from '../shared/errors';
import { UPSTREAM_ORIGIN } from '../config/upstream';
import type { BundleKind } from './types';
import { MAX_BUNDLE_BYTES } from './format';
import { toHex } from './bytes';

export const BUNDLE_MIME = 'application/vnd.entrance-kiosk.watchlist-bundle';
export const BUNDLE_EXTENSION = '.kwb';
/** Path of the reference receiver's bundle endpoint on the upstream origin (see docs/sync.md). */
export const BUNDLE_PULL_PATH = '/watchlist/bundle';

export interface ReadOptions {
  /** Refuse anything larger (default MAX_BUNDLE_BYTES, 256 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** "watchlist-v12.kwb" or "watchlist-v12-from-v10.kwb": sorts by version and says what a delta needs. */
export function bundleFileName(b: { kind: BundleKind; version: number; baseVersion?: number }): string {
  const from = b.kind === 'delta' ? `-from-v${b.baseVersion ?? 0}` : '';
  return `watchlist-v${b.version}${from}${BUNDLE_EXTENSION}`;
}

export function bundleBlob(bytes: Uint8Array<ArrayBuffer>): Blob {
  return new Blob([bytes], { type: BUNDLE_MIME });
}

/** Save through the browser's download (USB stick, Files app). The object URL is revoked after the click. */
export function downloadBundle(bytes: Uint8Array<ArrayBuffer>, fileName: string, doc: Document = document): void {
  const url = URL.createObjectURL(bundleBlob(bytes));
  const a = doc.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  doc.body.append(a);
  try {
    a.click();
  } finally {
    a.remove();
    // Revoking synchronously can cancel the download in some browsers; a tick later it has been handed over.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

/** Offer the file to the share sheet (tablets). Resolves false when the platform cannot share files. */
export async function shareBundle(bytes: Uint8Array<ArrayBuffer>, fileName: string): Promise<boolean> {
  const file = new File([bytes], fileName, { type: BUNDLE_MIME });
  const data: ShareData = { files: [file], title: fileName };
  if (typeof navigator.share !== 'function' || typeof navigator.canShare !== 'function' || !navigator.canShare(data))
    return false;
  try {
    await navigator.share(data);
    return true;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError')
      throw new KioskError('WORKER_ABORTED', { reason: 'share-cancelled' });
    throw new KioskError('BUNDLE_UNREADABLE', { reason: 'share-failed' }, { cause: e });
  }
}

function capOf(opts: ReadOptions): number {
  const max = opts.maxBytes ?? MAX_BUNDLE_BYTES;
  if (!Number.isInteger(max) || max < 1 || max > MAX_BUNDLE_BYTES)
    throw new KioskError('INPUT_INVALID', { reason: 'max-bytes' });
  return max;
}

/** Read a stream into one buffer, refusing it as soon as it passes `max` bytes. */
async function readCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw new KioskError('WORKER_ABORTED');
      const { done, value } = await reader.read();
      if (signal?.aborted) throw new KioskError('WORKER_ABORTED');
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        throw new KioskError('BUNDLE_TOO_LARGE', { max });
      }
      chunks.push(value);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Read a bundle file chosen by the user. BUNDLE_TOO_LARGE before reading anything if the file says it is too big,
 * BUNDLE_INVALID for an empty file, BUNDLE_UNREADABLE when the medium fails (USB stick pulled, file moved).
 */
export async function readBundleFile(file: Blob, opts: ReadOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const max = capOf(opts);
  if (file.size > max) throw new KioskError('BUNDLE_TOO_LARGE', { size: file.size, max });
  if (file.size === 0) throw new KioskError('BUNDLE_INVALID', { reason: 'empty' });
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readCapped(file.stream(), max, opts.signal);
  } catch (e) {
    if (e instanceof KioskError) throw e;
    throw new KioskError('BUNDLE_UNREADABLE', { reason: e instanceof DOMException ? e.name : 'read' }, { cause: e });
  }
  if (bytes.length !== file.size) throw new KioskError('BUNDLE_UNREADABLE', { reason: 'size-changed' });
  return bytes;
}

/** The one file of a file input or a drop; a bundle import takes exactly one. */
export function singleFile(files: FileList | readonly File[] | null | undefined): File {
  const list = files ? Array.from(files) : [];
  if (list.length !== 1) throw new KioskError('INPUT_INVALID', { reason: 'expected-one-file', count: list.length });
  return list[0]!;
}

/** Read the bundle from a file input's selection. */
export async function readBundleFromInput(
  input: HTMLInputElement,
  opts: ReadOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  return readBundleFile(singleFile(input.files), opts);
}

/**
 * Read the bundle from a drop event. Call it from the `drop` listener (the DataTransfer's files are only readable
 * during the event); the listener should also preventDefault on `dragover` so the browser does not open the file.
 */
export async function readBundleFromDrop(event: DragEvent, opts: ReadOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  event.preventDefault();
  // Taken synchronously, before the first await: the drop's file list is only readable during the event.
  const file = singleFile(event.dataTransfer?.files);
  return readBundleFile(file, opts);
}

/** A pull's signature by the kiosk's decision key (src/decisions: DecisionService.signPull). */
export interface PullSignature {
  kiosk: string;
  ts: number;
  sig: string;
}

export interface PullOptions extends ReadOptions {
  /**
   * Signs this pull: the receiver serves bundles only to a paired, unrevoked kiosk (docs/sync.md). Rejecting with a
   * KioskError (e.g. UPSTREAM_NOT_PAIRED) stops the pull before anything is sent.
   */
  sign: (since: number, receivingKeyHex: string | undefined) => Promise<PullSignature>;
  /** The version the kiosk has installed: the receiver answers 204 when it has nothing newer. */
  installedVersion: number;
  /** This kiosk's receiving key id (SHA-256 of its SPKI), so a receiver holding per-kiosk bundles can pick one. */
  kioskKeyId?: Uint8Array;
  /** Defaults to the build-time UPSTREAM_ORIGIN; anything else is blocked by CSP in the deployed app anyway. */
  upstreamOrigin?: string;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

/** The `reason` of a small JSON refusal body (read at most 4 KiB of it), or undefined. */
async function refusalReason(res: Response, signal: AbortSignal): Promise<string | undefined> {
  if (!res.body) return undefined;
  try {
    const bytes = await readCapped(res.body, 4096, signal);
    const reason: unknown = (JSON.parse(new TextDecoder().decode(bytes)) as { reason?: unknown } | null)?.reason;
    return typeof reason === 'string' && /^[a-z_]{1,40}$/.test(reason) ? reason : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fetch the newest bundle from the reference receiver on the LAN:
 * GET <upstream>/watchlist/bundle?since=N[&kiosk=key id]&id=<kiosk>&ts=<ms>&sig=<pull signature>.
 * Resolves with the raw bytes (still to be verified by openBundle) or undefined when the receiver has nothing newer
 * (204) or nothing at all (404). Rejects with UPSTREAM_UNREACHABLE, UPSTREAM_BUSY, UPSTREAM_SERVER_ERROR,
 * UPSTREAM_NOT_PAIRED, UPSTREAM_REJECTED (its `reason`: kiosk_revoked, pull_expired, …), BUNDLE_TOO_LARGE or
 * WORKER_ABORTED, or with whatever `sign` rejects with.
 */
export async function pullBundle(opts: PullOptions): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const max = capOf(opts);
  if (!Number.isSafeInteger(opts.installedVersion) || opts.installedVersion < 0) {
    throw new KioskError('INPUT_INVALID', { reason: 'installed-version' });
  }
  const origin = new URL(opts.upstreamOrigin ?? UPSTREAM_ORIGIN).origin;
  const url = new URL(BUNDLE_PULL_PATH, origin);
  const keyHex = opts.kioskKeyId ? toHex(opts.kioskKeyId) : undefined;
  const signed = await opts.sign(opts.installedVersion, keyHex);
  url.searchParams.set('since', String(opts.installedVersion));
  if (keyHex) url.searchParams.set('kiosk', keyHex);
  url.searchParams.set('id', signed.kiosk);
  url.searchParams.set('ts', String(signed.ts));
  url.searchParams.set('sig', signed.sig);

  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const why = (): KioskError =>
    opts.signal?.aborted
      ? new KioskError('WORKER_ABORTED')
      : new KioskError('UPSTREAM_UNREACHABLE', { reason: 'timeout' });

  let res: Response;
  try {
    res = await fetch(url, {
      method: 'GET',
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      // A redirect could only lead off the allowed origin; refuse rather than follow.
      redirect: 'error',
      referrerPolicy: 'no-referrer',
      signal,
    });
  } catch (e) {
    if (signal.aborted) throw why();
    throw new KioskError('UPSTREAM_UNREACHABLE', { reason: 'network' }, { cause: e });
  }
  if (res.status === 204 || res.status === 404) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.status !== 200) {
    if (res.status === 429 || res.status === 503) {
      await res.body?.cancel().catch(() => undefined);
      throw new KioskError('UPSTREAM_BUSY', { status: res.status });
    }
    if (res.status >= 500) {
      await res.body?.cancel().catch(() => undefined);
      throw new KioskError('UPSTREAM_SERVER_ERROR', { status: res.status });
    }
    // The receiver's reason says what the admin must do (pair this kiosk, re-pair a revoked one, set its clock).
    const reason = await refusalReason(res, signal);
    if (res.status === 403 && reason === 'not_paired')
      throw new KioskError('UPSTREAM_NOT_PAIRED', { status: 403, reason });
    throw new KioskError('UPSTREAM_REJECTED', { status: res.status, ...(reason ? { reason } : {}) });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new KioskError('BUNDLE_TOO_LARGE', { size: declared, max });
  }
  if (!res.body) throw new KioskError('BUNDLE_INVALID', { reason: 'empty' });
  try {
    const bytes = await readCapped(res.body, max, signal);
    if (bytes.length === 0) throw new KioskError('BUNDLE_INVALID', { reason: 'empty' });
    return bytes;
  } catch (e) {
    if (e instanceof KioskError) {
      if (e.code === 'WORKER_ABORTED') throw why();
      throw e;
    }
    if (signal.aborted) throw why();
    throw new KioskError('UPSTREAM_UNREACHABLE', { reason: 'body' }, { cause: e });
  }
}
