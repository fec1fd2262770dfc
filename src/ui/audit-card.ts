/**
 * The audit card of the admin console: the newest entries as a table in the chosen language, an encrypted export
 * to a passphrase (rules shown before typing), and reading an exported file back into the same table.
 *
 * Owns only this card's DOM; it calls the audit service (src/app/audit-service.ts), which names the file and
 * decrypts. It never reaches storage or crypto itself. The log holds ids, never names: the card shows the name of a
 * guard or person who still exists on this tablet (looked up in the current lists), and the id of one who does not.
 */
import { AUDIT_EXPORT_EXTENSION } from '../app/audit-file';
import { readChangeReason, type DataExport, type LoginFailure, type Maintenance } from '../app/change-audit';
import { readSyncAuditReason } from '../app/sync-service';
import { KioskError } from '../shared/errors';
import type { AuditEntry } from '../shared/types';
import { card, field, filePicker, outLine, passphraseRules, run, save, word } from './card-kit';
import { h } from './dom';
import { fieldName } from './error-text';
import { formatDateTime, formatDuration, lang, t, tf, type StringKey } from './i18n';
import { reasonText } from './reasons';

export interface AuditActions {
  readAudit(limit: number): Promise<AuditEntry[]>;
  exportAudit(passphrase: string): Promise<{ blob: Blob; fileName: string; mime: string }>;
  readAuditFile(file: Blob, exportPassphrase: string): Promise<AuditEntry[]>;
  /** Guard accounts, to name the guard behind an override or an account change. */
  listGuards(): Promise<{ id: string; name: string }[]>;
  /** People enrolled, to name the person a change is about (ids only when left out). */
  listPeople?(): readonly { id: string; label: string }[];
}

/** Current names by id: guards and people on this tablet now (the log itself holds none). */
interface Names {
  guards: ReadonlyMap<string, string>;
  people: ReadonlyMap<string, string>;
}

/** Settings whose label in the settings card is not a `field_` word (src/ui/settings-card.ts uses the same keys). */
const SETTING_WORDS: Readonly<Record<string, StringKey>> = {
  role: 'deviceRole',
  mode: 'mode',
  lang: 'language',
  showNames: 'showNames',
  subjectRefs: 'subjectRefs',
  pad: 'padPolicy',
  cameraDeviceId: 'camera',
  faces: 'auditFaces',
  subjectKey: 'auditSubjectKey',
};

/** Field names as words ("label,plates" → "Name, Plates"); a name with no word is shown as written. */
function fieldWords(fields: readonly string[]): string {
  const words = fields.map((f) => (Object.hasOwn(SETTING_WORDS, f) ? t(SETTING_WORDS[f]!) : (fieldName(f, lang()) ?? f)));
  return words.join(lang() === 'zh' ? '、' : ', ');
}

/** A person or guard by current name, or by id once they are gone. */
function who(kind: 'person' | 'guard', id: string, names: Names): string {
  const name = (kind === 'person' ? names.people : names.guards).get(id);
  return tf(kind === 'person' ? 'auditPerson' : 'auditGuard', { name: name ?? id });
}

function loginWords(f: LoginFailure): string {
  if (f.kind === 'disabled') return t(`auditLoginDisabled_${f.via}`);
  if (f.kind === 'passkey' && f.problem === 'counter') return t('auditLoginPasskeyCounter');
  if (f.kind === 'passkey') return tf('auditLoginPasskey', { problem: f.problem });
  const wrong = tf(`auditLoginWrong_${f.via}`, { failures: f.failures });
  return f.lockoutMs > 0 ? `${wrong}${lang() === 'zh' ? '；' : '; '}${tf(`auditLockout_${f.via}`, { wait: formatDuration(f.lockoutMs) })}` : wrong;
}

function maintenanceWords(m: Maintenance): string {
  if (m.action === 'unattended') return t(m.on ? 'auditUnattended_on' : 'auditUnattended_off');
  if (m.action === 'guard-lockout-cleared') return tf('auditGuardLockoutCleared', { failures: m.failures });
  if (m.action === 'audit-key-repaired') return t('auditKeyRepaired');
  return m.action === 'index-rebuilt' ? tf('auditIndexRebuilt', { people: m.people }) : tf('auditQuarantineCleared', { records: m.records });
}

function exportWords(x: DataExport): string {
  if (x.what === 'audit') return t('auditExportedAudit');
  const to = x.kiosks === 0 ? t('auditExportToPassphrase') : tf(x.passphrase ? 'auditExportToBoth' : 'auditExportToKiosks', { kiosks: x.kiosks });
  return x.what === 'watchlist'
    ? tf('auditExportedWatchlist', { version: x.version, people: x.people, to })
    : tf('auditExportedChanges', { version: x.version, base: x.base, people: x.people, deleted: x.deleted, to });
}

/** A change entry (src/app/change-audit.ts) in words; undefined if its reason is not one that module writes. */
function changeReason(e: AuditEntry, names: Names): string | undefined {
  const c = readChangeReason(e.outcome, e.reason);
  if (!c) return undefined;
  const person = who('person', e.subjectId, names);
  switch (c.outcome) {
    case 'person-enrolled':
      return tf('auditPersonEnrolled', { who: person, via: t(`auditEnrolVia_${c.via}`), list: t(`auditList_${c.list}`) });
    case 'person-edited':
      return tf('auditPersonEdited', { who: person, via: t(`auditEditVia_${c.via}`), fields: fieldWords(c.fields) });
    case 'person-deleted':
      return c.list ? tf('auditPersonDeletedFrom', { who: person, list: t(`auditList_${c.list}`) }) : tf('auditPersonDeleted', { who: person });
    case 'people-merged':
      return tf('auditMerged', { from: who('person', c.from, names), who: person });
    case 'guard-changed':
      return tf(`auditGuard_${c.change}`, { who: who('guard', e.subjectId, names) });
    case 'login-failed':
      return loginWords(c.failure);
    case 'settings-changed':
      return tf('auditSettingsChanged', { fields: fieldWords(c.fields) });
    case 'admin-unlocked':
      return t(`auditUnlocked_${c.how}`);
    case 'vault-maintained':
      return maintenanceWords(c.maintenance);
    case 'receiver-paired':
      return c.origin ? tf('auditPairedAt', { origin: c.origin, fingerprint: c.fingerprint }) : tf('auditPaired', { fingerprint: c.fingerprint });
    case 'pairing-failed':
      return c.problem ? tf('auditPairingFailedWhy', { code: c.code, problem: c.problem }) : tf('auditPairingFailed', { code: c.code });
    case 'data-exported':
      return exportWords(c.export);
  }
}

/**
 * What a 'system' entry records, in the chosen language: a repaired setting names its field; an installed bundle
 * its version, kind and signing key; a key trusted or removed its kind and fingerprint (the reason as
 * src/app/sync-service.ts writes it); a change to people, guards or settings, an admin login or a refused login,
 * stored-data maintenance, a pairing (or a failed one) and an export what src/app/change-audit.ts wrote. Anything else is shown as written rather than worded wrongly.
 */
function systemReason(e: AuditEntry, names: Names): string {
  const reason = e.reason ?? '';
  const change = changeReason(e, names);
  if (change !== undefined) return change;
  if (e.outcome === 'config-repaired') return `${t('configRepairedAudit')}: ${reason}`;
  const sync = readSyncAuditReason(reason);
  if (e.outcome === 'watchlist-installed' && sync && 'version' in sync)
    return `${tf('auditInstalled', { version: sync.version, kind: t(`auditKind_${sync.kind}`), issuer: sync.issuer })}${sync.keptRevoked ? ` · ${tf('keptRevoked', { n: sync.keptRevoked })}` : ''}`;
  if (e.outcome === 'key-trusted' && sync && 'key' in sync) return tf(`auditKeyTrusted_${sync.key}`, { fingerprint: sync.fingerprint });
  if (e.outcome === 'key-removed' && sync && 'key' in sync) return tf(`auditKeyRemoved_${sync.key}`, { fingerprint: sync.fingerprint });
  return reason;
}

/** A manual override's reason is the guard's own words; a system entry says what was done; policy reasons are translated. */
function auditReason(e: AuditEntry, names: Names): string {
  if (e.mode === 'manual') return e.reason ?? '';
  if (e.mode === 'system') return systemReason(e, names);
  return reasonText(e.reason ?? '', lang());
}

/** Audit entries as a table in the chosen language: local date and time, outcome and mode words, reasons. */
function auditTable(entries: readonly AuditEntry[], names: Names): HTMLElement {
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
          h('td', {}, e.actor ? (e.actor === 'admin' ? t('admin') : (names.guards.get(e.actor) ?? e.actor)) : ''),
          h('td', {}, auditReason(e, names)),
        ),
      ),
    ),
  );
}

async function currentNames(actions: AuditActions): Promise<Names> {
  const guards = await actions.listGuards();
  const people = actions.listPeople?.() ?? [];
  return { guards: new Map(guards.map((g) => [g.id, g.name])), people: new Map(people.map((p) => [p.id, p.label])) };
}

export function auditCard(actions: AuditActions): HTMLElement {
  const pass = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'audit-passphrase' });
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
      const [entries, names] = await Promise.all([actions.readAudit(50), currentNames(actions)]);
      table.replaceChildren(auditTable(entries, names));
      return `${entries.length} ${t('auditEntries')}`;
    }),
  );
  // Reading an exported file back: the same table, from the file, with the passphrase it was exported with.
  const file = h('input', { type: 'file', accept: AUDIT_EXPORT_EXTENSION, 'data-testid': 'audit-read-file' });
  const filePass = h('input', { type: 'password', autocomplete: 'new-password', 'data-testid': 'audit-read-passphrase' });
  const readBtn = h('button', { type: 'button', 'data-testid': 'audit-read' }, t('auditRead'));
  const readOut = outLine('audit-read-message');
  const readTable = h('div', { 'data-testid': 'audit-read-entries' });
  readBtn.addEventListener('click', () =>
    void run(readBtn, readOut, async () => {
      const f = file.files?.[0];
      if (!f) throw new KioskError('INPUT_REQUIRED', { field: 'file' });
      readTable.replaceChildren();
      const [entries, names] = await Promise.all([actions.readAuditFile(f, filePass.value), currentNames(actions)]);
      readTable.replaceChildren(auditTable(entries, names));
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
