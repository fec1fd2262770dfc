import { describe, expect, it } from 'vitest';
import { EXPORT_HEADER_BYTES, openExportFile, sealExportFile } from '../../src/crypto/export-file';
import { isKioskError } from '../../src/shared/errors';

const pass = 'Export-Only 4 Auditors';

describe('encrypted export file (format v1)', () => {
  it('round-trips and has the documented header', async () => {
    const payload = new TextEncoder().encode(JSON.stringify({ entries: [1, 2, 3] }));
    const file = await sealExportFile(payload, pass, 600_000);
    expect([...file.slice(0, 4)]).toEqual([0x45, 0x4b, 0x41, 0x58]);
    expect(file[4]).toBe(1);
    expect(file[5]).toBe(1);
    expect(new DataView(file.buffer).getUint32(6, false)).toBe(600_000);
    expect(file.byteLength).toBe(EXPORT_HEADER_BYTES + payload.byteLength + 16);
    expect(new TextDecoder().decode(await openExportFile(file, pass))).toBe('{"entries":[1,2,3]}');
  });

  it('wrong passphrase and a tampered header both fail authentication', async () => {
    const file = await sealExportFile(new TextEncoder().encode('x'), pass, 600_000);
    await expect(openExportFile(file, pass + '!')).rejects.toSatisfy((e) => isKioskError(e, 'EXPORT_FILE_NOT_OPENED'));
    const tampered = file.slice();
    tampered[12] = (tampered[12] ?? 0) ^ 1; // a salt byte: covered by the additional data and the KDF
    await expect(openExportFile(tampered, pass)).rejects.toSatisfy((e) => isKioskError(e, 'EXPORT_FILE_NOT_OPENED'));
  });

  it('refuses files that are not exports, and iteration counts below the floor', async () => {
    await expect(openExportFile(new Uint8Array(100), pass)).rejects.toSatisfy((e) => isKioskError(e, 'INPUT_INVALID'));
    const file = await sealExportFile(new TextEncoder().encode('x'), pass, 600_000);
    new DataView(file.buffer).setUint32(6, 1000, false);
    await expect(openExportFile(file, pass)).rejects.toSatisfy((e) => isKioskError(e, 'INPUT_INVALID'));
  });
});
