import { describe, expect, it } from 'vitest';
import { checkPassphrase } from '../../src/crypto/passphrase';

describe('passphrase strength rule', () => {
  it.each([
    ['correct horse battery staple tuesday', []],
    ['Tr4m-Lift-Quay', []],
    ['blue Giraffe 7 lanterns', []],
    ['Zürich-Bahnhof-1848', []],
    // A listed word inside a passphrase of its own is fine.
    ['Kiosk by the blue Ferry 7', []],
    ['Lantern orbit 7 quiet river', []],
  ])('accepts %j', (p, reasons) => {
    expect(checkPassphrase(p)).toEqual({ ok: true, reasons });
  });

  it.each([
    ['Sh0rt!pw', 'too-short'],
    ['alllowercaseletters', 'too-few-kinds'],
    ['Aa1!Aa1!Aa1!Aa1!', 'too-repetitive'],
    ['Abcdefghijk1', 'sequence'],
    ['Password123!', 'common'],
    ['P@ssw0rd2024!', 'common'],
    ['!!Dragon99?#', 'common'],
    ['Correcthorsebatterystaple1!', 'common'],
    ['Qwerty123456!', 'common'],
    // Listed words run together, with a year and a character or two (hand check, stop 29: these were accepted).
    ['Kioskdoor2024!x', 'common'],
    ['Adminadmin2024!', 'common'],
    ['Door-Gate-Kiosk-2025', 'common'],
    ['Secur1ty0ff1ce2024', 'common'],
  ])('refuses %j (%s)', (p, reason) => {
    const r = checkPassphrase(p);
    expect(r.ok).toBe(false);
    expect(r.reasons).toContain(reason);
  });

  it('normalises to NFKC before counting (composed and decomposed forms agree)', () => {
    const composed = 'Zürich-Bahnhof-1848';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(checkPassphrase(decomposed)).toEqual(checkPassphrase(composed));
  });

  it('never echoes the passphrase in its reasons', () => {
    const r = checkPassphrase('Password123!');
    expect(JSON.stringify(r)).not.toMatch(/password/i);
  });
});
