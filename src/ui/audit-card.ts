/**
 * The audit card of the admin console: the newest entries as a table in the chosen language, an encrypted export
 * to a passphrase (rules shown before typing), and reading an exported file back into the same table.
 *
 * Owns only this card's DOM; it calls the audit service (src/app/audit-service.ts), which names the file and
 * decrypts. It never reaches storage or crypto itself, and shows guard names, never guard ids where a name is known.
 */
import { AUDIT_EXPORT_EXTENSION } from '../app/audit-file';
import { readSyncAuditReason } from '../app/sync-service';
import { KioskError } from '../shared/errors';
import type { AuditEntry } from '../shared/types';
import { card, field, filePicker, outLine, passphraseRules, run, save, word } from './card-kit';
import { h } from './dom';
import { formatDateTime, lang, t, tf } from './i18n';
import { reasonText } from './reasons';

export interface AuditActions {
  readAudit(limit: number): Promise<AuditEntry[]>;
  exportAudit(passphrase: string): Promise<{ blob: Blob; fileName: string; mime: string }>;
  readAuditFile(file: Blob, exportPassphrase: string): Promise<AuditEntry[]>;
  /** Guard accounts, to name the guard behind an override. */
  listGuards(): Promise<{ id: string; name: string }[]>;
}

/**
 * What a 'system' entry records, in the chosen language: a repaired setting names its field; an installed bundle
 * its version, kind and signing key; a key trusted or removed its kind and fingerprint (the reason as
 * src/app/sync-service.ts writes it; anything else is shown as written rather than worded wrongly).
 */
function systemReason(e: AuditEntry): string {
  const reason = e.reason ?? '';
  if (e.outcome === 'config-repaired') return `${t('configRepairedAudit')}: ${reason}`;
  const sync = readSyncAuditReason(reason);
  if (e.outcome === 'watchlist-installed' && sync && 'version' in sync) return tf('auditInstalled', { version: sync.version, kind: t(`auditKind_${sync.kind}`), issuer: sync.issuer });
  if (e.outcome === 'key-trusted' && sync && 'key' in sync) return tf(`auditKeyTrusted_${sync.key}`, { fingerprint: sync.fingerprint });
  if (e.outcome === 'key-removed' && sync && 'key' in sync) return tf(`auditKeyRemoved_${sync.key}`, { fingerprint: sync.fingerprint });
  return reason;
}

/** A manual override's reason is the guard's own words; a system entry says what was done; policy reasons are translated. */
function auditReason(e: AuditEntry): string {
  if (e.mode === 'manual') return e.reason ?? '';
  if (e.mode === 'system') return systemReason(e);
  return reasonText(e.reason ?? '', lang());
}

/** Audit entries as a table in the chosen language: local date and time, outcome and mode words, reasons. */
function auditTable(entries: readonly AuditEntry[], names: ReadonlyMap<string, string>): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...[t('time'), t('outcome'), t('modeCol'), t('colBy'), t('reason')].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...entries.map((e) =>
        h(
          'tr',
          { 'data-outcome': e.outcome, 'data-actor': e.actor ?? '', 'data-at': e.at },
          h('td', {}, formatDateTime(e.at)),
          h('td', {}, word('outcome', e.outcome)),
          h('td', {}, word('mode', e.mode)),
          h('td', {}, e.actor ? (e.actor === 'admin' ? t('admin') : (names.get(e.actor) ?? e.actor)) : ''),
          h('td', {}, auditReason(e)),
        ),
      ),
    ),
  );
}

export function auditCard(actions: AuditActions): HTMLElement {
  const pass = h('input', { type: 'password', autocomplete: 'off', 'data-testid': 'audit-passphrase' });
  const btn = h('button', { type: 'button', 'data-testid': 'audit-export' }, t('exportAudit'));
  const out = outLine('audit-message');
  btn.addEventListener('click', () =>
    void run(btn, out, async () => {
      const r = await actions.exportAudit(pass.value);
      save(r.blob, r.fileName, r.mime);
      return `${t('exported')}: ${r.fileName}`;
    }),
  );
  const show = h('button', { type: 'button', 'data-testid': 'audit-show' }, t('auditShow'));
  const table = h('div', { 'data-testid': 'audit-entries' });
  show.addEventListener('click', () =>
    void run(show, out, async () => {
      const [entries, guards] = await Promise.all([actions.readAudit(50), actions.listGuards()]);
      table.replaceChildren(auditTable(entries, new Map(guards.map((g) => [g.id, g.name]))));
      return `${entries.length} ${t('auditEntries')}`;
    }),
  );
  // Reading an exported file back: the same table, from the file, with the passphrase it was exported with.
  const file = h('input', { type: 'file', accept: AUDIT_EXPORT_EXTENSION, 'data-testid': 'audit-read-file' });
  const filePass = h('input', { type: 'password', autocomplete: 'off', 'data-testid': 'audit-read-passphrase' });
  const readBtn = h('button', { type: 'button', 'data-testid': 'audit-read' }, t('auditRead'));
  const readOut = outLine('audit-read-message');
  const readTable = h('div', { 'data-testid': 'audit-read-entries' });
  readBtn.addEventListener('click', () =>
    void run(readBtn, readOut, async () => {
      const f = file.files?.[0];
      if (!f) throw new KioskError('INPUT_REQUIRED', { field: 'file' });
      readTable.replaceChildren();
      const [entries, guards] = await Promise.all([actions.readAuditFile(f, filePass.value), actions.listGuards()]);
      readTable.replaceChildren(auditTable(entries, new Map(guards.map((g) => [g.id, g.name]))));
      filePass.value = '';
      return `${entries.length} ${t('auditEntries')}`;
    }),
  );
  return card(
    t('audit'),
    'section-audit',
    h('p', { class: 'help' }, t('auditHelp')),
    field(t('exportPassphrase'), pass, 'audit-pass'),
    passphraseRules(pass, 'audit-rules'),
    btn,
    show,
    out,
    table,
    h('h3', {}, t('auditReadTitle')),
    h('p', { class: 'help' }, t('auditReadHelp')),
    field(t('auditFile'), filePicker(file), 'audit-read-file-in'),
    field(t('exportPassphrase'), filePass, 'audit-read-pass'),
    readBtn,
    readOut,
    readTable,
  );
}
