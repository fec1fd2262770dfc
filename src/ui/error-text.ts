/**
 * What a person reads when something is refused: the error's text in the chosen language, then which field, which
 * rule and (for a CSV) which row, built from the error's details. The code and raw details go to a separate small
 * "details" line for support, never into the message. Owns wording only; it never decides whether something is an
 * error, and it never echoes a value an admin typed (a name, a plate, a passphrase): only field names, limits,
 * counts and row numbers, which is all a KioskError's details may carry.
 */
import { PASSPHRASE_RULE } from '../app/input-rules';
import { KioskError, isKioskError, type ErrorCode } from '../shared/errors';
import { colon, formatDuration, hasKey, t, tf, errorText, type Lang, type StringKey } from './i18n';

export interface ErrorDescription {
  /** The sentence to show. */
  text: string;
  /** "CODE · key=value …" for support; '' for errors that are not KioskErrors. */
  details: string;
  code: ErrorCode | null;
}

/**
 * The field a details.field names, in words: "face.thresholds.fr_feature.accept" → the accept threshold. null for
 * an internal name no screen shows (that stays in the details line rather than reading like code in the message).
 */
export function fieldName(field: string, lng: Lang): string | null {
  const parts = field.split('.');
  for (let i = parts.length - 1; i >= 0; i--) {
    const key = `field_${parts[i]}`;
    if (hasKey(key)) return t(key, lng);
  }
  return null;
}

type Details = Readonly<Record<string, string | number | boolean>>;

function num(d: Details, k: string): number | undefined {
  const v = d[k];
  return typeof v === 'number' ? v : undefined;
}

function str(d: Details, k: string): string | undefined {
  const v = d[k];
  return typeof v === 'string' ? v : undefined;
}

/** The rule behind a refusal, from the details the raising module attached ('' when there is nothing to add). */
function rule(code: ErrorCode, d: Details, lng: Lang): string {
  const r = str(d, 'rule');
  const vars = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, String(v)]));
  if (r && hasKey(`rule_${r}`)) return tf(`rule_${r}` as StringKey, vars, lng);
  switch (code) {
    case 'INPUT_REQUIRED':
      return t('rule_required', lng);
    case 'INPUT_TOO_LONG':
      return tf('rule_tooLong', vars, lng);
    case 'INPUT_CONFIRMATION':
      return tf('rule_wipeWord', vars, lng);
    case 'STORE_WEAK_PASSPHRASE': {
      const reasons = (str(d, 'reasons') ?? '').split(',').filter((x) => hasKey(`passRule_${x}`));
      if (reasons.length === 0) return '';
      const list = reasons.map((x) => tf(`passRule_${x}` as StringKey, { ...PASSPHRASE_RULE, ...vars }, lng)).join(lng === 'zh' ? '；' : '; ');
      return `${t('passRulesMissing', lng)} ${list}`;
    }
    case 'STORE_LOCKED_OUT':
    case 'GUARD_LOCKED_OUT': {
      const wait = num(d, 'waitMs');
      return wait !== undefined && wait > 0 ? tf('lockoutRemaining', { time: formatDuration(wait, lng) }, lng) : '';
    }
    case 'CONFIG_INVALID':
      return num(d, 'min') !== undefined && num(d, 'max') !== undefined ? tf('rule_range', vars, lng) : t('rule_choice', lng);
    default:
      return '';
  }
}

/**
 * A refusal already put in words on the admin's own screen with context only that screen may show (which file, the
 * name of the person a face or plate collides with): shown as it is, its code still only in the details line.
 */
export class WordedError extends Error {
  constructor(readonly described: ErrorDescription) {
    super(described.text);
    this.name = 'WordedError';
  }
}

/**
 * `e` described, with words before its text (a file name and a colon) and after it (the colliding person): the
 * sentence as the describer writes it, so "photo.jpg: No face was found." and "…签名的。持有人：某某".
 */
export function worded(e: unknown, lng: Lang, around: { before?: string; after?: string }): WordedError {
  const d = describeError(e, lng);
  const after = around.after ? `${lng === 'zh' ? '' : ' '}${around.after}` : '';
  return new WordedError({ ...d, text: `${around.before ?? ''}${d.text}${after}` });
}

/**
 * A browser error that is not the kiosk's own, as one of its codes: a picked file that can no longer be read
 * (changed, moved or removed after it was chosen; the USB stick pulled) is FILE_UNREADABLE, anything else INTERNAL
 * with the browser's name and text for the details line only. A plain Error is a screen's own sentence (t(...)) and
 * is shown as it is.
 */
function asKioskError(e: unknown): KioskError | null {
  if (!(e instanceof Error) || e.name === 'Error') return null;
  if (e.name === 'NotReadableError' || e.name === 'NotFoundError') return new KioskError('FILE_UNREADABLE', { reason: e.name }, { cause: e });
  return new KioskError('INTERNAL', { reason: `${e.name}: ${e.message}`.slice(0, 200) }, { cause: e });
}

export function describeError(e: unknown, lng: Lang): ErrorDescription {
  if (e instanceof WordedError) return e.described;
  if (!isKioskError(e)) {
    const k = asKioskError(e);
    if (k) return describeError(k, lng);
    return { text: e instanceof Error ? e.message : String(e), details: '', code: null };
  }
  const d = e.details ?? {};
  const sep = colon(lng);
  const where: string[] = [];
  const row = num(d, 'row');
  if (row !== undefined) where.push(tf('csvRow', { row }, lng));
  const field = str(d, 'field');
  const named = field ? fieldName(field, lng) : null;
  if (named) where.push(row !== undefined ? tf('csvColumn', { column: named }, lng) : named);
  const why = rule(e.code, d, lng);
  // With no field to name, the rule is a sentence of its own: capitalised ("… not valid. Must be between …").
  const specific = where.length > 0 ? `${where.join(lng === 'zh' ? '，' : ', ')}${why ? `${sep}${why}` : ''}` : why.charAt(0).toUpperCase() + why.slice(1);
  const base = errorText(e.code, e.message, lng);
  const extra = Object.entries(d)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return { text: specific ? `${base}${lng === 'zh' ? '' : ' '}${specific}${/[.。]$/.test(specific) ? '' : lng === 'zh' ? '。' : '.'}` : base, details: extra ? `${e.code} · ${extra}` : e.code, code: e.code };
}
