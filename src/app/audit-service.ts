/**
 * The audit log, the admin's side: read the newest entries, export them encrypted to a passphrase (a `.ekaudit`
 * file named here), and read such a file back.
 *
 * Owns these three operations; the vault keeps and seals the log (src/store/audit.ts), src/app/audit-file.ts owns
 * the file format. Every operation asks the authority for `export` first. An export is audited ('data-exported'
 * `audit`, by the admin; src/app/change-audit.ts) once the file is made, best effort: on a full disk exporting the
 * log is how an admin keeps it before making room, so an entry that cannot be written does not refuse it. It never
 * renders anything.
 */
import type { AuditEntry } from '../shared/types';
import { auditExportFileName, AUDIT_EXPORT_MIME, readAuditExport, readAuditFileBytes } from './audit-file';
import type { Capability } from './authority';
import { exportedReason, recordChange } from './change-audit';
import type { KioskController } from './controller';

export class AuditService {
  constructor(private readonly app: KioskController) {}

  private get vault() {
    return this.app.vault;
  }

  /** The newest audit entries, decrypted (admin). */
  async readAudit(limit = 50): Promise<AuditEntry[]> {
    this.require('export');
    const { entries } = await this.vault.audit.read();
    return entries.slice(-limit).reverse();
  }

  /** The log encrypted to `exportPassphrase`, with the file name and type to save it under. */
  async exportAudit(exportPassphrase: string): Promise<{ blob: Blob; fileName: string; mime: string }> {
    this.require('export');
    const blob = await this.vault.audit.exportEncrypted(exportPassphrase);
    await recordChange(this.app, {
      outcome: 'data-exported',
      reason: exportedReason({ what: 'audit' }),
      actor: 'admin',
    });
    return { blob, fileName: auditExportFileName(this.app.clock.wall()), mime: AUDIT_EXPORT_MIME };
  }

  /** Reads an audit export file back (any file the kiosk exported, with its export passphrase); entries newest first. */
  async readAuditFile(file: Blob, exportPassphrase: string): Promise<AuditEntry[]> {
    this.require('export');
    return (await readAuditExport(await readAuditFileBytes(file), exportPassphrase)).entries;
  }

  private require(cap: Capability): void {
    this.app.authority.require(cap);
  }
}
