/**
 * Labels that end in a colon, joined to their value the way each language writes it (the ZH hand check, stop 31,
 * read "已添加： AB12CD" with a space after the full-width colon).
 */
import { describe, expect, it } from 'vitest';
import { labelled, t } from '../../src/ui/i18n';

describe('labelled', () => {
  it('puts a space after an English colon and none after a full-width one', () => {
    expect(labelled(t('added', 'en'), 'AB12CD', 'en')).toBe('Added: AB12CD');
    expect(labelled(t('added', 'zh'), 'AB12CD', 'zh')).toBe('已添加：AB12CD');
    expect(labelled(t('paired', 'zh'), 'ab:cd', 'zh')).toBe('已配对。密钥指纹：ab:cd');
  });

  it('keeps the space for a Chinese label without a colon', () => {
    expect(labelled('当前', 'x', 'zh')).toBe('当前 x');
  });
});
