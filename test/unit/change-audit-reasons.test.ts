/**
 * The reason grammar of the audit entries src/app/change-audit.ts writes for stored-data maintenance, pairing and
 * exports: what each writer produces reads back to what was recorded (round trip), nothing outside the grammar is
 * copied in (a receiver's odd word, a malformed fingerprint or origin, negative or fractional counts), and a reason
 * that is not one this module writes reads back as undefined (the audit card then shows it as written), as the
 * older outcomes' reasons do.
 */
import { describe, expect, it } from 'vitest';
import {
  exportedReason,
  maintainedReason,
  pairedReason,
  pairingFailedReason,
  readChangeReason,
  settingsReason,
  type DataExport,
  type Maintenance,
} from '../../src/app/change-audit';

const FP = 'Ab-d-EfGh-Ij_l-MnOp'; // base64url groups may hold '-' and '_' themselves

describe('change-audit reasons: stored data, pairing, exports', () => {
  it('stored-data maintenance round-trips', () => {
    const cases: [Maintenance, string][] = [
      [{ action: 'index-rebuilt', people: 12 }, 'index-rebuilt 12'],
      [{ action: 'index-rebuilt', people: 0 }, 'index-rebuilt 0'],
      [{ action: 'quarantine-cleared', records: 3 }, 'quarantine-cleared 3'],
      [{ action: 'guard-lockout-cleared', failures: 7 }, 'guard-lockout-cleared 7'],
      [{ action: 'unattended', on: true }, 'unattended on'],
      [{ action: 'unattended', on: false }, 'unattended off'],
    ];
    for (const [m, reason] of cases) {
      expect(maintainedReason(m)).toBe(reason);
      expect(readChangeReason('vault-maintained', reason)).toEqual({ outcome: 'vault-maintained', maintenance: m });
    }
    // A count that is not a whole non-negative number is written as 0, never as what was handed over.
    expect(maintainedReason({ action: 'quarantine-cleared', records: -2 })).toBe('quarantine-cleared 0');
    expect(maintainedReason({ action: 'index-rebuilt', people: 1.5 })).toBe('index-rebuilt 0');
  });

  it('a pairing round-trips: fingerprint, and the origin when it is one', () => {
    expect(pairedReason(FP, 'https://receiver.example:8443')).toBe(`${FP} https://receiver.example:8443`);
    expect(readChangeReason('receiver-paired', `${FP} https://receiver.example:8443`)).toEqual({
      outcome: 'receiver-paired',
      fingerprint: FP,
      origin: 'https://receiver.example:8443',
    });
    expect(pairedReason(FP, undefined)).toBe(FP);
    expect(readChangeReason('receiver-paired', FP)).toEqual({
      outcome: 'receiver-paired',
      fingerprint: FP,
      origin: null,
    });
    // What is not an origin (a path, a user, another scheme) or would not fit is left out; a bad fingerprint is not copied.
    expect(pairedReason(FP, 'https://receiver.example/decisions')).toBe(FP);
    expect(pairedReason(FP, 'https://user:secret@receiver.example')).toBe(FP);
    expect(pairedReason(FP, 'javascript:alert(1)')).toBe(FP);
    expect(pairedReason(FP, `https://${'a'.repeat(190)}.example`)).toBe(FP);
    expect(pairedReason('not a fingerprint', undefined)).toBe('unknown');
  });

  it('a failed pairing round-trips: the error code and the check word, nothing else', () => {
    expect(pairingFailedReason('UPSTREAM_PAIRING_FAILED', 'bad_code')).toBe('UPSTREAM_PAIRING_FAILED bad_code');
    expect(readChangeReason('pairing-failed', 'UPSTREAM_PAIRING_FAILED bad_code')).toEqual({
      outcome: 'pairing-failed',
      code: 'UPSTREAM_PAIRING_FAILED',
      problem: 'bad_code',
    });
    expect(pairingFailedReason('CONFIG_INVALID', undefined)).toBe('CONFIG_INVALID');
    expect(readChangeReason('pairing-failed', 'CONFIG_INVALID')).toEqual({
      outcome: 'pairing-failed',
      code: 'CONFIG_INVALID',
      problem: null,
    });
    // A receiver's word that is not one of ours (spaces, capitals, a code-like string) is 'other'; a bad code INTERNAL.
    expect(pairingFailedReason('UPSTREAM_PAIRING_FAILED', 'ABCDE-12345 was wrong')).toBe(
      'UPSTREAM_PAIRING_FAILED other',
    );
    expect(pairingFailedReason('UPSTREAM_PAIRING_FAILED', 42)).toBe('UPSTREAM_PAIRING_FAILED other');
    expect(pairingFailedReason('not a code', 'network')).toBe('INTERNAL network');
  });

  it('exports round-trip: kind, version, people, kiosk keys and whether a site passphrase', () => {
    const cases: [DataExport, string][] = [
      [
        { what: 'watchlist', version: 1765000000, people: 12, kiosks: 2, passphrase: false },
        'watchlist v1765000000 people 12 kiosks 2 no-passphrase',
      ],
      [
        { what: 'watchlist', version: 7, people: 0, kiosks: 0, passphrase: true },
        'watchlist v7 people 0 kiosks 0 passphrase',
      ],
      [
        { what: 'changes', version: 9, base: 7, people: 3, deleted: 1, kiosks: 1, passphrase: true },
        'changes v9 base v7 people 3 deleted 1 kiosks 1 passphrase',
      ],
      [{ what: 'audit' }, 'audit'],
    ];
    for (const [x, reason] of cases) {
      expect(exportedReason(x)).toBe(reason);
      expect(readChangeReason('data-exported', reason)).toEqual({ outcome: 'data-exported', export: x });
    }
  });

  it('the subject-reference key renewed is a settings change by name', () => {
    expect(settingsReason(['subjectKey'])).toBe('subjectKey');
    expect(readChangeReason('settings-changed', 'subjectKey')).toEqual({
      outcome: 'settings-changed',
      fields: ['subjectKey'],
    });
  });

  it('reads what it does not write as undefined', () => {
    const malformed: [Parameters<typeof readChangeReason>[0], string | undefined][] = [
      ['vault-maintained', undefined],
      ['vault-maintained', ''],
      ['vault-maintained', 'unattended'],
      ['vault-maintained', 'unattended maybe'],
      ['vault-maintained', 'index-rebuilt'],
      ['vault-maintained', 'index-rebuilt -1'],
      ['vault-maintained', 'index-rebuilt 01'],
      ['vault-maintained', 'index-rebuilt 3 extra'],
      ['vault-maintained', 'quarantine-cleared x'],
      ['vault-maintained', 'guard-lockout-cleared'],
      ['vault-maintained', 'guard-lockout-cleared 5 by-visitor'],
      ['vault-maintained', 'wiped 3'],
      ['receiver-paired', undefined],
      ['receiver-paired', ''],
      ['receiver-paired', 'AbCd-EfGh'],
      ['receiver-paired', `${FP} `],
      ['receiver-paired', `${FP} not-an-origin`],
      ['receiver-paired', `${FP} https://receiver.example/path`],
      ['receiver-paired', `${FP} https://receiver.example extra`],
      ['pairing-failed', undefined],
      ['pairing-failed', ''],
      ['pairing-failed', 'upstream_pairing_failed'],
      ['pairing-failed', 'UPSTREAM_PAIRING_FAILED Bad Code'],
      ['pairing-failed', 'UPSTREAM_PAIRING_FAILED bad_code extra'],
      ['pairing-failed', 'ABCDE-12345'],
      ['data-exported', undefined],
      ['data-exported', ''],
      ['data-exported', 'audit log'],
      ['data-exported', 'watchlist v1 people 2 kiosks 3'],
      ['data-exported', 'watchlist v1 people 2 kiosks 3 yes'],
      ['data-exported', 'watchlist v1 people -2 kiosks 3 passphrase'],
      ['data-exported', 'watchlist 1 people 2 kiosks 3 passphrase'],
      ['data-exported', 'changes v2 people 2 deleted 0 kiosks 1 passphrase'],
      ['data-exported', 'changes v2 base v1 people 2 deleted 0 kiosks 1 passphrase Alice'],
    ];
    for (const [outcome, reason] of malformed)
      expect(readChangeReason(outcome, reason), `${outcome} ${String(reason)}`).toBeUndefined();
    // Each grammar is its own outcome's: a reason read under another outcome is not one.
    expect(readChangeReason('data-exported', 'unattended on')).toBeUndefined();
    expect(readChangeReason('vault-maintained', 'audit')).toBeUndefined();
    expect(readChangeReason('grant', 'audit')).toBeUndefined();
  });
});
