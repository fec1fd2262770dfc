/**
 * Start-up trace: the kiosk's cold start as named User Timing entries (`cold:<phase>`) on the page's performance
 * timeline — page script, service worker, store open and unlock, camera, each model's bytes and session, every
 * wasm compile, first analysed frame, first decision — so `npm run bench:coldstart` (and DevTools) can say where the
 * time to the first decision goes (issue 19, cold start).
 *
 * Owns the names and the clock conversion: a worker times its steps with a SpanLog on its own clock and hands the
 * spans over in wall-clock terms (timeOrigin + now); the page records them on its own timeline. Only the first
 * occurrence of a name is recorded (a later re-initialisation is not a cold start). It never changes what starts
 * when, never sends anything off the device, and holds no image, template or identity: names and times only.
 */

/** One timed step, in wall-clock milliseconds (performance.timeOrigin + performance.now() of the realm that ran it). */
export interface TraceSpan {
  name: string;
  start: number;
  end: number;
}

export const TRACE_PREFIX = 'cold:';

export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Spans kept before they are taken: a realm nobody reads (a plate worker) must not grow without bound. */
const MAX_SPANS = 100;

/** Collects spans in a worker until they are handed to the page (take()). */
export class SpanLog {
  private spans: TraceSpan[] = [];

  /** Times `fn` as `name` (also when it throws: a failed step took time too). */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = wallNow();
    try {
      return await fn();
    } finally {
      this.add({ name, start, end: wallNow() });
    }
  }

  add(span: TraceSpan): void {
    if (this.spans.length < MAX_SPANS) this.spans.push(span);
  }

  /** The spans collected since the last take (the log is emptied). */
  take(): TraceSpan[] {
    return this.spans.splice(0);
  }
}

/** This realm's log: the worker entry hands it to the page; the runtimes it loads (ort-runtime.ts) add to it. */
export const realmTrace = new SpanLog();


/**
 * Times every streaming wasm instantiation of this realm (MediaPipe's runtime) as `wasm:<file>`, so the trace shows
 * whether a compile came from V8's code cache or was compiled afresh. ORT's runtime is compiled by the ORT layer
 * from verified bytes and timed there under the same name. Wraps WebAssembly.instantiateStreaming once; the wrapped
 * call is the browser's own, with the same arguments and result.
 */
export function traceWasmCompiles(log: SpanLog): void {
  const wasm = WebAssembly as typeof WebAssembly & { __traced?: boolean };
  if (wasm.__traced || typeof wasm.instantiateStreaming !== 'function') return;
  wasm.__traced = true;
  const original = wasm.instantiateStreaming.bind(wasm);
  wasm.instantiateStreaming = async (source, imports) => {
    const start = wallNow();
    const res = await source;
    const file = res.url.slice(res.url.lastIndexOf('/') + 1) || 'module';
    try {
      return await original(res, imports);
    } finally {
      log.add({ name: `wasm:${file}`, start, end: wallNow() });
    }
  };
}

const recorded = new Set<string>();

function canMeasure(): boolean {
  return typeof performance !== 'undefined' && typeof performance.measure === 'function';
}

/** Records a span (from any realm) on this page's timeline as `cold:<name>`; only the first of each name. */
export function recordSpan(span: TraceSpan): void {
  if (!canMeasure() || recorded.has(span.name)) return;
  recorded.add(span.name);
  const start = Math.max(0, span.start - performance.timeOrigin);
  const end = Math.max(start, span.end - performance.timeOrigin);
  performance.measure(`${TRACE_PREFIX}${span.name}`, { start, end });
}

export function recordSpans(spans: readonly TraceSpan[] | undefined): void {
  for (const s of spans ?? []) recordSpan(s);
}

/** A point in time on this page's timeline (now), as `cold:<name>`; only the first of each name. */
export function markOnce(name: string): void {
  if (!canMeasure() || recorded.has(name)) return;
  recorded.add(name);
  performance.mark(`${TRACE_PREFIX}${name}`);
}

/** Times `fn` on this page as `cold:<name>` (first occurrence only). */
export async function traced<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = wallNow();
  try {
    return await fn();
  } finally {
    recordSpan({ name, start, end: wallNow() });
  }
}
