/**
 * Which receiver answers are final and which are retried, and how long the sender waits.
 */
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  classifyFetchError,
  classifyResponse,
  parseRetryAfter,
} from '../../src/decisions/delivery-policy';

describe('classifyResponse', () => {
  it('treats 2xx as delivered and reads stale/actuate', () => {
    expect(classifyResponse(200, { ok: true, stale: true, actuate: false }, null)).toEqual({
      kind: 'delivered',
      duplicate: false,
      stale: true,
      actuate: false,
    });
    expect(classifyResponse(204, null, null)).toEqual({
      kind: 'delivered',
      duplicate: false,
      stale: false,
      actuate: undefined,
    });
  });

  it('treats a 409 duplicate as already delivered (idempotent by sequence)', () => {
    expect(classifyResponse(409, { reason: 'duplicate' }, null)).toMatchObject({ kind: 'delivered', duplicate: true });
  });

  it.each([
    [400, 'extra_field'],
    [401, 'bad_signature'],
    [409, 'replay'],
    [413, 'too_large'],
    [415, 'unsupported_media_type'],
    [422, 'future_timestamp'],
  ])('is final for %i %s', (status, reason) => {
    expect(classifyResponse(status, { reason }, null)).toEqual({
      kind: 'rejected',
      code: 'UPSTREAM_REJECTED',
      reason,
      status,
    });
  });

  it.each([
    [429, 'rate_limited', 'UPSTREAM_BUSY'],
    [403, 'not_paired', 'UPSTREAM_NOT_PAIRED'],
    [500, 'internal', 'UPSTREAM_SERVER_ERROR'],
    [503, 'whatever', 'UPSTREAM_SERVER_ERROR'],
    [404, 'not_found', 'UPSTREAM_UNREACHABLE'],
    [403, 'origin_not_allowed', 'UPSTREAM_UNREACHABLE'],
  ])('retries %i %s as %s', (status, reason, code) => {
    expect(classifyResponse(status, { reason }, null)).toMatchObject({ kind: 'retry', code, reason, status });
  });

  it('does not echo arbitrary text from a foreign server as a reason', () => {
    expect(classifyResponse(400, { reason: '<script>alert(1)</script>' }, null)).toMatchObject({ reason: 'http_400' });
    expect(classifyResponse(502, 'Bad Gateway', null)).toMatchObject({ reason: 'http_502' });
  });

  it('reads Retry-After in seconds and as a date', () => {
    expect(classifyResponse(429, { reason: 'rate_limited' }, '3')).toMatchObject({ retryAfterMs: 3000 });
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('classifyFetchError', () => {
  it('names timeouts apart from other network failures; all are retried', () => {
    expect(classifyFetchError(new DOMException('x', 'TimeoutError'))).toEqual({
      kind: 'retry',
      code: 'UPSTREAM_UNREACHABLE',
      reason: 'timeout',
    });
    expect(classifyFetchError(new TypeError('Failed to fetch'))).toEqual({
      kind: 'retry',
      code: 'UPSTREAM_UNREACHABLE',
      reason: 'network',
    });
  });
});

describe('backoffDelay', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };
  it('doubles per failure, stays within [50%, 100%] of the step, caps', () => {
    expect(backoffDelay(1, policy, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(1, policy, undefined, () => 0)).toBe(500);
    expect(backoffDelay(4, policy, undefined, () => 1)).toBe(8000);
    expect(backoffDelay(30, policy, undefined, () => 1)).toBe(60_000);
  });
  it('honours a longer Retry-After, capped at 5 minutes', () => {
    expect(backoffDelay(1, policy, 20_000, () => 1)).toBe(20_000);
    expect(backoffDelay(6, policy, 1000, () => 1)).toBe(32_000);
    expect(backoffDelay(1, policy, 3_600_000, () => 1)).toBe(300_000);
  });
});
