/**
 * Chinese is complete: every error code, every UI key, every status/outcome/mode word the screens build from a
 * value, and every decision reason a policy can write has a Chinese text. The lists come from the code (the error
 * table, the string tables, the union types and the policy sources), not from a list kept by hand, so a new code,
 * key, status or reason without Chinese fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_MESSAGES, KioskError, type ErrorCode } from '../../src/shared/errors';
import { QUALITY_REASONS } from '../../src/shared/face-protocol';
import { AUDIT_MODES, AUDIT_OUTCOMES } from '../../src/shared/types';
import { TABLE_KEYS, ZH_ERROR_CODES, errorText, formatDateTime, formatDuration, formatTime, hasKey, t } from '../../src/ui/i18n';
import { knownReason, reasonText } from '../../src/ui/reasons';
import { describeError } from '../../src/ui/error-text';

const ROOT = join(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const CJK = /[\u3400-\u9fff]/;
/** Texts that are the same in every language: symbols, an acronym, a product name. */
const SAME_IN_BOTH = new Set(['reasonDecisionNone', 'pin']);

/** The string members of a union type `export type Name = 'a' | 'b' …;` read from a source file. */
function unionMembers(file: string, name: string): string[] {
  const m = new RegExp(`export type ${name} =([^;]+);`).exec(read(file));
  if (!m) throw new Error(`${name} not found in ${file}`);
  return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!);
}

describe('Chinese is complete', () => {
  it('has a Chinese text for every ErrorCode, and it is not the English one', () => {
    const codes = Object.keys(ERROR_MESSAGES) as ErrorCode[];
    expect(codes.length).toBeGreaterThan(60);
    expect([...ZH_ERROR_CODES].sort()).toEqual([...codes].sort());
    for (const c of codes) {
      const zh = errorText(c, ERROR_MESSAGES[c], 'zh');
      expect(zh, c).toMatch(CJK);
      expect(errorText(c, ERROR_MESSAGES[c], 'en'), c).toBe(ERROR_MESSAGES[c]);
    }
  });

  it('has the same UI keys in English and Chinese, each Chinese text in Chinese', () => {
    expect([...TABLE_KEYS.zh].sort()).toEqual([...TABLE_KEYS.en].sort());
    for (const k of TABLE_KEYS.en) {
      if (!hasKey(k)) throw new Error(k);
      const zh = t(k, 'zh');
      expect(zh.trim(), k).not.toBe('');
      if (!SAME_IN_BOTH.has(k)) expect(zh, `${k}: ${zh}`).toMatch(CJK);
    }
  });

  it('has every key the screens look up, literal or built from a value', () => {
    const ui = [...readdirSync(join(ROOT, 'src/ui')).filter((f) => f.endsWith('.ts')).map((f) => read(`src/ui/${f}`)), read('src/main.ts')];
    const literal = ui.flatMap((src) => [...src.matchAll(/\bt[f]?\('([A-Za-z_-]+)'/g)].map((m) => m[1]!));
    expect(literal.length).toBeGreaterThan(150);
    for (const k of literal) expect(hasKey(k), k).toBe(true);
    // Words built from a value at run time: word('outcome', …), word('vault', …), t(`camera_${status}`).
    const built: [string, string[]][] = [
      // Every audit outcome (decisions, overrides and the 'system' entries) has its word in the audit table.
      ['outcome', [...new Set([...unionMembers('src/shared/types.ts', 'Outcome'), ...AUDIT_OUTCOMES])]],
      ['vault', unionMembers('src/store/core.ts', 'VaultStatus')],
      ['mode', [...AUDIT_MODES]],
      ['upstream', [...read('src/decisions/sender.ts').match(/state: ('[a-z]+'(?: \| '[a-z]+')+);/)![1]!.matchAll(/'([a-z]+)'/g)].map((m) => m[1]!)],
      ['camera', [...read('src/app/controller.ts').match(/camera: \{ status: ('[a-z]+'(?: \| '[a-z]+')+)/)![1]!.matchAll(/'([a-z]+)'/g)].map((m) => m[1]!)],
    ];
    for (const [prefix, values] of built) {
      expect(values.length, prefix).toBeGreaterThan(1);
      for (const v of values) {
        expect(hasKey(`${prefix}_${v}`), `${prefix}_${v}`).toBe(true);
        expect(t(`${prefix}_${v}` as never, 'zh'), `${prefix}_${v}`).toMatch(CJK);
      }
    }
  });

  it('writes no English words straight into a screen', () => {
    const allowed = new Set(['English', 'fr_feature (512-D)']);
    for (const f of [...readdirSync(join(ROOT, 'src/ui')).filter((x) => x.endsWith('.ts')).map((x) => `src/ui/${x}`), 'src/main.ts']) {
      const src = read(f);
      // h('tag', {…}, 'Some words') and field('Words', …): text children must come from t().
      const hits = [
        ...src.matchAll(/h\('\w+', \{[^}]*\}, '([^']*[A-Za-z]{3,}[^']*)'/g),
        ...src.matchAll(/field\('([^']+)'/g),
        ...src.matchAll(/'aria-label': '([^']+)'/g),
        ...src.matchAll(/placeholder: '([^']*[a-z]{3,}[^']*)'/g),
      ]
        .map((m) => m[1]!)
        .filter((x) => !allowed.has(x));
      expect(hits, f).toEqual([]);
    }
  });

  it('translates every decision reason the policies can write', () => {
    // Reason literals: out('<outcome>', '<reason>' …) in the policies, reason: `…` in the liveness gate and the
    // controller, and the quality gates' words. Template placeholders get sample values.
    const sources = ['src/matching/face/decision-policy.ts', 'src/matching/plates/decide.ts', 'src/app/liveness-gate.ts', 'src/app/controller.ts'];
    const samples: Record<string, string> = {
      'minSpoof.toFixed(3)': '0.123',
      'summary.identities[id]': '3',
      'frames.length': '5',
      'consensus.support': '1',
      close: '2',
      failure: 'timeout',
      what: 'turn-left + blink',
      'grant.reason': 'matched 3 of 5 frames',
    };
    const fill = (s: string) =>
      s.replace(/\$\{([^}]+)\}/g, (_, expr: string) => {
        if (!(expr in samples)) throw new Error(`no sample value for \${${expr}} in a reason`);
        return samples[expr]!;
      });
    const reasons = new Set<string>(Object.values(QUALITY_REASONS));
    for (const f of sources) {
      const src = read(f);
      for (const m of src.matchAll(/out\(\s*'[a-z-]+',\s*(['`])((?:(?!\1).)+)\1/g)) reasons.add(fill(m[2]!));
      for (const m of src.matchAll(/reason: (['`])((?:(?!\1).)+)\1/g)) if (m[1] === '`' || f.includes('controller') || f.includes('plates/decide')) reasons.add(fill(m[2]!));
    }
    // The face policy's fall-backs ("?? 'low quality'") and its chosen "why" words ("? 'frames disagree'").
    const policy = read('src/matching/face/decision-policy.ts');
    for (const m of policy.matchAll(/\?\? '([a-z][a-z ]+)'/g)) reasons.add(m[1]!);
    for (const m of policy.matchAll(/[?:] '([a-z][a-z ]+)'\n/g)) reasons.add(m[1]!);
    expect(reasons.size).toBeGreaterThan(25);
    for (const r of reasons) {
      expect(knownReason(r), r).toBe(true);
      const zh = reasonText(r, 'zh');
      expect(zh, r).toMatch(CJK);
      expect(zh.replace(/[\d.]+/g, ''), r).not.toMatch(/[A-Za-z]{3,}/);
      expect(reasonText(r, 'en')).toBe(r);
    }
    // A guard's own words are shown as written.
    expect(reasonText('delivery van, driver known', 'zh')).toBe('delivery van, driver known');
  });

  it('formats times and dates with Intl in the chosen language, never as "2:08:23 AM"', () => {
    const at = Date.UTC(2026, 11, 4, 2, 8, 23);
    for (const lng of ['en', 'zh'] as const) {
      expect(formatTime(at, lng)).not.toMatch(/AM|PM|上午|下午/);
      expect(formatTime(at, lng)).toMatch(/\d\d:08:23/);
    }
    expect(formatDateTime(at, 'zh')).toMatch(/2026年12月\d+日/);
    expect(formatDateTime(at, 'en')).toMatch(/Dec 2026/);
    expect(formatDuration(65_000, 'zh')).toBe('1 分钟 05 秒');
    expect(formatDuration(65_000, 'en')).toBe('1 min 05 s');
  });

  it('describes a refusal in Chinese with its field and rule, the code only in the details line', () => {
    const d = describeError(new KioskError('INPUT_TOO_LONG', { field: 'label', max: 200, length: 5000 }), 'zh');
    expect(d.text).toBe('内容超过允许的长度。未截断，也未保存。姓名：最多 200 个字符（当前 5000 个）。');
    expect(d.text).not.toContain('INPUT_TOO_LONG');
    expect(d.details).toBe('INPUT_TOO_LONG · field=label max=200 length=5000');
  });
});
