/**
 * Delivers signed decisions from the persisted outbox to the receiver, oldest first, one at a time.
 *
 * The workbox background-sync model: every decision is in the outbox before the first attempt; a pass sends the
 * oldest entry, waits for the answer, removes it only once the receiver accepted it (or said it already had it),
 * and only then looks at the next, so order holds and nothing is sent twice concurrently. A retryable failure
 * leaves the entry where it was and schedules the next pass with backoff; passes also start on `start()`, on the
 * browser's `online` event and whenever a new decision is queued. Entries past the retention limit are dropped
 * unsent. An entry older than the freshness window is re-signed with `stale: true` before sending, so the record
 * says it came late and no door acts on it. "Older" is asked of both clocks: the wall clock alone let a grant queued
 * while the kiosk's clock ran an hour fast go out unmarked an hour later, once the clock was corrected, and the
 * receiver (which checks only the signed time) opened the door (attacker review, session 23); the monotonic clock
 * alone stands still while the tablet sleeps. An entry queued before this page started (a reload, a restart) has no
 * monotonic reading and is always sent as stale. Cross-tab exclusion uses a Web Lock when the runtime has one.
 * This module never holds key material (re-signing is a callback) and never sends anything but outbox bodies.
 */
import { type ErrorCode, isKioskError } from '../shared/errors';
import type { OutboxBackend, OutboxEntry } from '../shared/outbox';
import {
  type BackoffPolicy,
  type DeliveryResult,
  DEFAULT_BACKOFF,
  backoffDelay,
  classifyFetchError,
  classifyResponse,
} from './delivery-policy';

export interface SenderOptions {
  /** The receiver's decisions endpoint (e.g. http://127.0.0.1:8787/decisions). */
  url: string;
  outbox: OutboxBackend;
  /** Re-signs an envelope with `stale: true` (same seq, ts, nonce). */
  restamp: (body: string) => Promise<string>;
  /** Older than this when sent → marked stale. Default 5000 ms. */
  freshnessMs?: number;
  /** Entries older than this are dropped unsent. Default 7 days. */
  retentionMs?: number;
  /** One attempt may take this long before it counts as unreachable. Default 10 000 ms. */
  requestTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Web Lock name that keeps two tabs from delivering at once. */
  lockName?: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** A clock that never jumps (performance.now()), read at enqueue and at sending. */
  monotonic?: () => number;
}

export interface UpstreamProblem {
  code: ErrorCode;
  /** The receiver's reason code or a local one (network, timeout, http_NNN). */
  reason: string;
  status?: number;
  seq?: number;
  at: number;
}

export interface UpstreamStatus {
  state: 'idle' | 'sending' | 'waiting' | 'stopped';
  /** Decisions waiting in the outbox. */
  depth: number;
  /** The problem delivery is stuck on right now (cleared by the next successful delivery). */
  problem?: UpstreamProblem;
  /** The most recent problem of any kind, including rejections and stale deliveries (never cleared by itself). */
  lastError?: UpstreamProblem;
  /** The most recent permanent rejection, until `clearRejection()`; a guard must see these. */
  lastRejection?: UpstreamProblem;
  lastDelivered?: { seq: number; at: number; stale: boolean; actuate?: boolean };
  /**
   * The receiver's clock minus this kiosk's (the clock decisions are stamped with), measured at the last delivery
   * whose answer said the receiver's time and came back within CLOCK_RTT_MAX_MS (so the midpoint is within about a
   * second). A kiosk clock behind the receiver's by more than its freshness window makes every decision stale: the
   * receiver records it and no door opens, with nothing else on screen saying why.
   */
  clock?: { offsetMs: number; at: number };
  nextAttemptAt?: number;
  counts: { delivered: number; duplicates: number; stale: number; rejected: number; expired: number };
}

export type StatusListener = (status: UpstreamStatus) => void;

/** A clock reading from an answer slower than this round trip is not kept (its midpoint could be off by half). */
export const CLOCK_RTT_MAX_MS = 2000;

export class DecisionSender {
  private readonly opts: Required<Omit<SenderOptions, 'fetch' | 'now' | 'monotonic'>> & {
    fetch: typeof fetch;
    now: () => number;
    monotonic: () => number;
  };
  /** seq → monotonic time it was queued, for entries queued by this page (see the header: freshness). */
  private readonly queuedAt = new Map<number, number>();
  private statusValue: UpstreamStatus = {
    state: 'stopped',
    depth: 0,
    counts: { delivered: 0, duplicates: 0, stale: 0, rejected: 0, expired: 0 },
  };
  private readonly listeners = new Set<StatusListener>();
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: AbortController | undefined;
  private readonly onOnline = (): void => {
    this.failures = 0;
    void this.flush();
  };

  constructor(options: SenderOptions) {
    this.opts = {
      freshnessMs: 5000,
      retentionMs: 7 * 24 * 3600_000,
      requestTimeoutMs: 10_000,
      backoff: DEFAULT_BACKOFF,
      lockName: 'entrance-kiosk-outbox',
      ...options,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      now: options.now ?? Date.now,
      monotonic: options.monotonic ?? (() => performance.now()),
    };
  }

  get status(): UpstreamStatus {
    return structuredClone(this.statusValue);
  }

  /** Called with a snapshot on every change; returns the unsubscribe function. */
  subscribe(listener: StatusListener): () => void {
    this.listeners.add(listener);
    listener(this.status);
    return () => this.listeners.delete(listener);
  }

  /** Starts delivering: replays whatever the outbox holds, then follows `online` events and its own timer. */
  start(): Promise<void> {
    if (!this.stopped) return this.running ?? Promise.resolve();
    this.stopped = false;
    globalThis.addEventListener?.('online', this.onOnline);
    this.update({ state: 'idle' });
    return this.flush();
  }

  /** Stops timers and aborts an attempt in flight (its entry stays queued). Resolves when the pass has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    globalThis.removeEventListener?.('online', this.onOnline);
    clearTimeout(this.timer);
    this.inflight?.abort();
    await this.running?.catch(() => undefined);
    this.update({ state: 'stopped', nextAttemptAt: undefined });
  }

  /** Persists a new decision, then starts a pass at once (a waiting grant should not sit out a backoff). */
  async enqueue(entry: Pick<OutboxEntry, 'seq' | 'createdAt' | 'body'>): Promise<void> {
    this.queuedAt.set(entry.seq, this.opts.monotonic());
    await this.opts.outbox.put({ seq: entry.seq, createdAt: entry.createdAt, body: entry.body, attempts: 0 });
    this.update({ depth: await this.opts.outbox.count() });
    void this.flush();
  }

  /** Runs a delivery pass now (or joins the running one and asks for another after it). */
  flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    clearTimeout(this.timer);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const pass = this.withLock(() => this.pass())
      .catch((e: unknown) => {
        // A storage failure (a locked vault, a full disk) must not end delivery for good: report it, come back later.
        this.fail({ kind: 'retry', code: isKioskError(e) ? e.code : 'INTERNAL', reason: 'outbox' });
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.flush();
        }
      });
    this.running = pass;
    return pass;
  }

  /** The guard acknowledged the last rejection. */
  clearRejection(): void {
    this.update({ lastRejection: undefined });
  }

  private async withLock(fn: () => Promise<void>): Promise<void> {
    const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
    if (!locks) return fn();
    await locks.request(this.opts.lockName, fn);
  }

  private async pass(): Promise<void> {
    const { outbox, now } = this.opts;
    const expired = await outbox.purgeOlderThan(this.opts.retentionMs, now());
    // Entries dropped unsent leave the enqueue times of this page with them (no map growing over a week offline).
    for (const [seq, at] of this.queuedAt) if (this.opts.monotonic() - at > this.opts.retentionMs) this.queuedAt.delete(seq);
    if (expired > 0) {
      const problem = { code: 'UPSTREAM_EXPIRED' as const, reason: 'retention', at: now() };
      this.update({
        counts: { ...this.statusValue.counts, expired: this.statusValue.counts.expired + expired },
        lastError: problem,
      });
    }
    for (;;) {
      if (this.stopped) return;
      const [entry] = await outbox.list(1);
      if (!entry) {
        this.failures = 0;
        this.update({ state: 'idle', depth: 0, problem: undefined, nextAttemptAt: undefined });
        return;
      }
      this.update({ state: 'sending', depth: await outbox.count(), nextAttemptAt: undefined });
      const result = await this.attempt(entry);
      if (this.stopped && result.kind === 'retry' && result.reason === 'aborted') return;
      if (result.kind === 'retry') {
        await outbox.update({ ...entry, attempts: entry.attempts + 1, lastError: result.code });
        this.fail(result, entry.seq);
        return;
      }
      await outbox.remove(entry.seq);
      this.queuedAt.delete(entry.seq);
      this.failures = 0;
      this.record(result, entry.seq);
      this.update({ depth: await outbox.count() });
    }
  }

  /**
   * Whether an entry may still go out as it was signed: queued by this page, and within the freshness window on the
   * monotonic clock and on the wall clock (its signed time neither older than the window nor ahead of now).
   */
  private fresh(entry: OutboxEntry): boolean {
    const { now, monotonic, freshnessMs } = this.opts;
    const queued = this.queuedAt.get(entry.seq);
    if (queued === undefined || monotonic() - queued > freshnessMs) return false;
    const age = now() - entry.createdAt;
    return age >= 0 && age <= freshnessMs;
  }

  private async attempt(entry: OutboxEntry): Promise<DeliveryResult> {
    const { now, requestTimeoutMs } = this.opts;
    let body = entry.body;
    if (!this.fresh(entry)) body = await this.opts.restamp(body);
    const ctl = new AbortController();
    this.inflight = ctl;
    const sentAt = now();
    try {
      const res = await this.opts.fetch(this.opts.url, {
        method: 'POST',
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([ctl.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const reply: unknown = await res.json().catch(() => null);
      const answeredAt = now();
      const result = classifyResponse(res.status, reply, res.headers.get('retry-after'), answeredAt);
      if (result.kind === 'delivered' && result.receiverNow !== undefined && answeredAt - sentAt <= CLOCK_RTT_MAX_MS)
        this.update({ clock: { offsetMs: Math.round(result.receiverNow - (sentAt + answeredAt) / 2), at: answeredAt } });
      return result;
    } catch (e) {
      return classifyFetchError(e);
    } finally {
      this.inflight = undefined;
    }
  }

  private record(result: Exclude<DeliveryResult, { kind: 'retry' }>, seq: number): void {
    const at = this.opts.now();
    const counts = { ...this.statusValue.counts };
    if (result.kind === 'rejected') {
      counts.rejected++;
      const problem: UpstreamProblem = { code: result.code, reason: result.reason, status: result.status, seq, at };
      this.update({ counts, lastError: problem, lastRejection: problem, problem: undefined });
      return;
    }
    counts.delivered++;
    if (result.duplicate) counts.duplicates++;
    const patch: Partial<UpstreamStatus> = {
      counts,
      problem: undefined,
      lastDelivered: {
        seq,
        at,
        stale: result.stale,
        ...(result.actuate === undefined ? {} : { actuate: result.actuate }),
      },
    };
    if (result.stale) {
      counts.stale++;
      patch.lastError = { code: 'UPSTREAM_STALE', reason: 'stale', seq, at };
    }
    this.update(patch);
  }

  private fail(result: Extract<DeliveryResult, { kind: 'retry' }>, seq?: number): void {
    this.failures++;
    const at = this.opts.now();
    const delay = backoffDelay(this.failures, this.opts.backoff, result.retryAfterMs);
    const problem: UpstreamProblem = {
      code: result.code,
      reason: result.reason,
      at,
      ...(result.status === undefined ? {} : { status: result.status }),
      ...(seq === undefined ? {} : { seq }),
    };
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => void this.flush(), delay);
    this.update({
      state: this.stopped ? 'stopped' : 'waiting',
      problem,
      lastError: problem,
      nextAttemptAt: at + delay,
    });
  }

  private update(patch: Partial<UpstreamStatus>): void {
    const next = { ...this.statusValue, ...patch };
    for (const key of Object.keys(patch) as (keyof UpstreamStatus)[]) {
      if (patch[key] === undefined) delete next[key];
    }
    this.statusValue = next;
    const snapshot = this.status;
    for (const l of this.listeners) l(snapshot);
  }
}
