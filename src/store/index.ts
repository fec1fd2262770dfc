/**
 * Public surface of the vault (src/store). Everything else in this folder is private to it; only this folder
 * opens IndexedDB and only it uses src/crypto.
 */
export { Vault, WIPE_CONFIRMATION, type SetupOptions, type QuarantineSummary } from './vault';
export type { VaultEvent, VaultOptions, VaultState, VaultStatus, ChangedStore } from './core';
export { DEFAULT_AUDIT_RETENTION_MS } from './core';
export type { SubjectInput } from './codec';
export type { LoadReport, WatchlistLoad, WatchlistPlanLike } from './subjects';
export { loadIncomplete } from './subjects';
export type { SecretsApi } from './secrets';
export type { SettingsValues } from './settings';
export type { AuditQuery, AuditExportPayload } from './audit';
export { MIN_RETENTION_MS, MAX_RETENTION_MS } from './audit';
export { DEFAULT_LOCKOUT_POLICY, type LockoutPolicy } from './lockout';
export type { GuardSummary } from './guards';
export { DEFAULT_DB_NAME } from './schema';
export { checkPassphrase, type PassphraseCheck, type WeakReason } from '../crypto/passphrase';
export { openExportFile } from '../crypto/export-file';
