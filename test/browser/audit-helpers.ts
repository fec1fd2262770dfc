/**
 * Reading a kiosk's audit log back in browser tests: its 'system' entries (what an admin did, what was refused), what
 * each says without its time, the audit card's rows as the console mounts it (in the language set), and a check
 * that nothing typed — a name, a plate, a PIN, a passphrase, a pairing code — is in any entry.
 */
import { expect, vi } from 'vitest';
import type { AdminOps } from '../../src/app/admin-ops';
import type { AuditEntry } from '../../src/shared/types';
import { auditCard } from '../../src/ui/audit-card';

const mounted: HTMLElement[] = [];

/** Removes the cards auditRows mounted (call in afterEach). */
export function unmountAuditCards(): void {
  for (const el of mounted.splice(0)) el.remove();
}

/** The 'system' entries, oldest first. */
export async function systemEntries(ops: AdminOps): Promise<AuditEntry[]> {
  return (await ops.audit.readAudit(1000)).filter((e) => e.mode === 'system').reverse();
}

/** What each entry says, without time and id: [outcome, subjectId, reason, actor]. */
export const said = (es: readonly AuditEntry[]) =>
  es.map((e) => [e.outcome, e.subjectId, e.reason ?? '', e.actor ?? '']);

/** The 'system' entries written since `before` of them were there. */
export async function since(ops: AdminOps, before: number): Promise<AuditEntry[]> {
  return (await systemEntries(ops)).slice(before);
}

/** The audit card as the console mounts it: its rows after "show" as [outcome, outcome word, reason words]. */
export async function auditRows(ops: AdminOps): Promise<string[][]> {
  const card = auditCard({
    readAudit: (n) => ops.audit.readAudit(n),
    exportAudit: (p) => ops.audit.exportAudit(p),
    readAuditFile: (f, p) => ops.audit.readAuditFile(f, p),
    listGuards: () => ops.listGuards(),
    listPeople: () => ops.people.list(),
  });
  document.body.append(card);
  mounted.push(card);
  const out = card.querySelector<HTMLElement>('[data-testid="audit-message"]')!;
  card.querySelector<HTMLButtonElement>('[data-testid="audit-show"]')!.click();
  await vi.waitFor(() => expect(out.dataset['tone']).toBe('ok'));
  return [...card.querySelectorAll<HTMLTableRowElement>('[data-testid="audit-entries"] tbody tr')].map((tr) => [
    tr.dataset['outcome']!,
    tr.cells[1]!.textContent!,
    tr.cells[4]!.textContent!,
  ]);
}

/** Nothing an admin or guard typed is in the log (compared case-insensitively, over every field). */
export function expectNothingTyped(entries: readonly AuditEntry[], typed: readonly string[]): void {
  const text = JSON.stringify(entries).toLowerCase();
  for (const s of typed) expect(text, s).not.toContain(s.toLowerCase());
}
