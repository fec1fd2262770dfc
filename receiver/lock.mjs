// @ts-check
/**
 * The data folder's lock: one receiver process per data folder. Two receivers on one folder would each keep their
 * own copy of the sequence numbers and both actuate the same decision; the second one must refuse to start.
 *
 * Node has no flock(2), so the lock is a file created with O_EXCL holding the owner's pid. A lock whose pid no
 * longer runs (a crash, a power cut) is taken over; one whose pid runs is refused with a message naming it. The
 * lock is per host: a data folder on a network share is not supported (several receivers for one site share a
 * PostgreSQL database instead). Never reads or writes anything but the lock file.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'receiver.lock';

export class DataDirLockedError extends Error {
  /** @param {string} path @param {number} pid */
  constructor(path, pid) {
    super(
      `${path} is held by another receiver (pid ${pid}); two receivers on one data folder would both actuate the same ` +
        `decision. Stop that one, or give this one its own --data folder (if pid ${pid} is not a receiver, delete ` +
        `${path}).`,
    );
    this.name = 'DataDirLockedError';
    this.code = 'data_dir_locked';
    this.pid = pid;
  }
}

/** @param {number} pid */
function running(pid) {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM';
  }
}

/**
 * Takes the lock on `dataDir` or throws DataDirLockedError. The returned function releases it (idempotent).
 * @param {string} dataDir
 * @returns {() => void}
 */
export function lockDataDir(dataDir) {
  const path = join(dataDir, LOCK_FILE);
  // The pid is written before the lock appears (link(2) of a finished file never replaces): no other starter can
  // see a half-written lock and take it for stale.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (e) {
        if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST' || attempt >= 2) throw e;
      }
      const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      // The same process holds it too: a second receiver in one process is as wrong as one in another.
      if (running(pid)) throw new DataDirLockedError(path, pid);
      // Stale (the owner is gone): remove and retry. Only two starters racing within the same instant after a
      // crash could both get here; then the later unlink removes the earlier one's fresh lock (documented).
      try {
        unlinkSync(path);
      } catch {
        /* the other starter removed it first */
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
}
