/**
 * What a delivery attempt's result means, and when to try again. Pure functions, no I/O.
 *
 * Only answers that judge the message itself are permanent (bad schema, bad signature, replayed sequence, too
 * large, impossible timestamp): sending the same signed bytes again cannot change them, so the entry leaves the
 * outbox and the guard is told. Everything about the path or the server (network, timeouts, 5xx, 429, unknown
 * endpoint, not yet paired) is retryable: the entry stays where it was and is tried again with backoff, because
 * dropping a record on a misconfiguration would lose it. A 409 `duplicate` means the receiver already accepted
 * this exact decision (our earlier attempt's answer was lost), so it counts as delivered: idempotent by sequence.
 */
import type { ErrorCode } from '../shared/errors';

export type DeliveryResult =
  | {
      kind: 'delivered';
      duplicate: boolean;
      stale: boolean;
      actuate: boolean | undefined;
      /** The receiver's clock when it accepted the decision (its answer's `now`), when it said. */
      receiverNow?: number;
    }
  | { kind: 'rejected'; code: 'UPSTREAM_REJECTED'; reason: string; status: number }
  | { kind: 'retry'; code: ErrorCode; reason: string; status?: number; retryAfterMs?: number };

/** Statuses by which the receiver passes judgement on the message itself. */
const PERMANENT = new Set([400, 401, 409, 413, 415, 422]);

function reasonOf(body: unknown, status: number): string {
  const r = (body as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' && /^[a-z_]{1,40}$/.test(r) ? r : `http_${status}`;
}

/** Retry-After as delta-seconds or HTTP date → milliseconds from now (undefined if absent or unreadable). */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function classifyResponse(
  status: number,
  body: unknown,
  retryAfter: string | null,
  now = Date.now(),
): DeliveryResult {
  const reason = reasonOf(body, status);
  if (status >= 200 && status < 300) {
    const b = (body ?? {}) as { stale?: unknown; actuate?: unknown; now?: unknown };
    const receiverNow = typeof b.now === 'number' && Number.isSafeInteger(b.now) && b.now > 0 ? b.now : undefined;
    return {
      kind: 'delivered',
      duplicate: false,
      stale: b.stale === true,
      actuate: typeof b.actuate === 'boolean' ? b.actuate : undefined,
      ...(receiverNow === undefined ? {} : { receiverNow }),
    };
  }
  if (status === 409 && reason === 'duplicate')
    return { kind: 'delivered', duplicate: true, stale: false, actuate: false };
  if (PERMANENT.has(status)) return { kind: 'rejected', code: 'UPSTREAM_REJECTED', reason, status };
  const retryAfterMs = parseRetryAfter(retryAfter, now);
  const base = { kind: 'retry' as const, reason, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 429) return { ...base, code: 'UPSTREAM_BUSY' };
  if (status === 403 && reason === 'not_paired') return { ...base, code: 'UPSTREAM_NOT_PAIRED' };
  if (status >= 500) return { ...base, code: 'UPSTREAM_SERVER_ERROR' };
  return { ...base, code: 'UPSTREAM_UNREACHABLE' };
}

/** fetch rejected: network down, receiver down, CORS refused, or our timeout fired. */
export function classifyFetchError(e: unknown): DeliveryResult {
  const name = (e as { name?: unknown } | null)?.name;
  const reason = name === 'TimeoutError' ? 'timeout' : name === 'AbortError' ? 'aborted' : 'network';
  return { kind: 'retry', code: 'UPSTREAM_UNREACHABLE', reason };
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/**
 * Delay before retry number `failures` (1 = after the first failure): exponential, capped, with jitter in
 * [50%, 100%] so a fleet of kiosks does not hammer a receiver that just came back in lockstep. A server's
 * Retry-After wins when it asks for longer (capped at 5 minutes so a bad header cannot park the queue).
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  retryAfterMs?: number,
  random = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  const jittered = Math.round(exp * (0.5 + 0.5 * random()));
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, 300_000));
}
