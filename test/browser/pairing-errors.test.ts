/**
 * What the admin reads when pairing fails, in both languages, from the real pairing request in Chromium: a receiver
 * that cannot be reached (a closed loopback port, real fetch) is a pairing failure that says the receiver was not
 * reached — it used to be UPSTREAM_UNREACHABLE, "the door controller cannot be reached, decisions are queued",
 * while nothing is queued before pairing (hand check, stop 29); a malformed code says what a code looks like.
 */
import { describe, expect, it } from 'vitest';
import { pairWithReceiver } from '../../src/decisions/pairing';
import { generateSigningKey } from '../../src/decisions/signer';
import { isKioskError } from '../../src/shared/errors';
import { describeError } from '../../src/ui/error-text';

async function failure(code: string): Promise<unknown> {
  // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
  return pairWithReceiver({ decisionsUrl: 'http://127.0.0.1:9/decisions', kiosk: 'lobby-1', keyPair: await generateSigningKey(), code, timeoutMs: 5_000 }).then(
    () => null,
    (e: unknown) => e,
  );
}

describe('pairing errors', () => {
  it('an unreachable receiver is a pairing failure that says so, not a queued delivery', async () => {
    const e = await failure('ABCDE-12345');
    expect(isKioskError(e, 'UPSTREAM_PAIRING_FAILED')).toBe(true);
    const en = describeError(e, 'en').text;
    expect(en).toContain('not paired');
    expect(en).toContain('not paired. The receiver could not be reached');
    expect(en).not.toMatch(/queued|check the code/i);
    const zh = describeError(e, 'zh').text;
    expect(zh).toContain('无法连接接收端');
    expect(zh.replace('--origin', '')).not.toMatch(/[A-Za-z]{3,}/); // the receiver's option name stays as typed
  });

  it('a malformed code says what a code looks like, before anything is sent', async () => {
    const e = await failure('nope');
    expect(isKioskError(e, 'UPSTREAM_PAIRING_FAILED')).toBe(true);
    expect(describeError(e, 'en').text).toContain('not paired. A pairing code is 10 letters or digits');
  });
});
