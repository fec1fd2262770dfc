/**
 * A picked file the browser can no longer read (changed, moved or removed after it was chosen: NotReadableError /
 * NotFoundError) is worded as FILE_UNREADABLE in both languages instead of the browser's raw text; other browser
 * errors read as INTERNAL with their text in the details line only; a screen's own plain Error is shown as it is.
 * The audit file reader refuses a file larger than any export before reading a byte, and maps a failed read.
 */
import { describe, expect, it } from 'vitest';
import { AUDIT_FILE_MAX_BYTES, readAuditFileBytes } from '../../src/app/audit-file';
import { isKioskError } from '../../src/shared/errors';
import { describeError } from '../../src/ui/error-text';

const fail = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

describe('file read errors', () => {
  it('NotReadableError and NotFoundError read as FILE_UNREADABLE, EN and ZH', () => {
    for (const name of ['NotReadableError', 'NotFoundError']) {
      const e = new DOMException('The requested file could not be read, typically due to permission problems that have occurred after a reference to a file was acquired.', name);
      const en = describeError(e, 'en');
      expect(en.code).toBe('FILE_UNREADABLE');
      expect(en.text).toBe('The file could not be read: it was changed, moved or removed after it was chosen, or the drive it is on was unplugged. Choose it again.');
      expect(describeError(e, 'zh').text).toBe('无法读取该文件：选择之后它被修改、移动或删除，或其所在的存储设备已拔出。请重新选择。');
      expect(en.details).toContain(name);
    }
  });

  it('another browser error is INTERNAL, its raw text only in the details; a plain Error is the screen’s own sentence', () => {
    const d = describeError(new RangeError('Array buffer allocation failed'), 'en');
    expect(d.code).toBe('INTERNAL');
    expect(d.text).toBe('An unexpected error occurred.');
    expect(d.details).toContain('RangeError: Array buffer allocation failed');
    expect(describeError(new Error('Choose the CSV file.'), 'en').text).toBe('Choose the CSV file.');
  });

  it('the audit file reader: too large refused before reading, a failed read typed', async () => {
    let read = false;
    const huge = { size: AUDIT_FILE_MAX_BYTES + 1, arrayBuffer: () => ((read = true), Promise.resolve(new ArrayBuffer(0))) } as unknown as Blob;
    const e1 = await fail(readAuditFileBytes(huge));
    expect(isKioskError(e1, 'AUDIT_FILE_INVALID') && e1.details?.['part']).toBe('size');
    expect(read).toBe(false);
    const gone = { size: 100, arrayBuffer: () => Promise.reject(new DOMException('gone', 'NotReadableError')) } as unknown as Blob;
    const e2 = await fail(readAuditFileBytes(gone));
    expect(isKioskError(e2, 'FILE_UNREADABLE') && e2.details?.['reason']).toBe('NotReadableError');
    expect(await readAuditFileBytes(new Blob([new Uint8Array([1, 2, 3])]))).toEqual(new Uint8Array([1, 2, 3]));
  });
});
