// @ts-check
/**
 * The data folder's lock: one receiver process per data folder. Two receivers on one folder would each keep their
 * own copy of the sequence numbers and both actuate the same decision; the second one must refuse to start.
 *
 * Node has no flock(2), so the lock is a file created with O_EXCL holding the owner's pid, with the host's boot id
 * and the owner's start time where the kernel says them (Linux /proc). A lock whose owner no longer runs (a crash, a
 * power cut) is taken over; one whose owner runs is refused with a message naming it. "Runs" means that process,
 * not just that pid: after a power cut the pid is often reused (in a container the receiver is pid 1 on every start,
 * so its own pid looked "held" and it never started again: attacker review, session 23). So a lock from another
 * boot, or whose pid now belongs to a process started at another time, is stale; a second receiver in this process
 * is caught by the locks this process holds, not by comparing pids. The lock is per host: a data folder on a network
 * share is not supported (several receivers for one site share a PostgreSQL database instead). Never reads or
 * writes anything but the lock file and /proc.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

/** Lock paths this process holds (a second receiver in one process is refused by this, not by its pid). */
const heldHere = new Set();

/** @param {string} file @returns {string | null} */
function readOr(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** This boot of the host (Linux), or null where the kernel does not say. */
const bootId = () => readOr('/proc/sys/kernel/random/boot_id')?.trim() || null;

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat, read after the command name,
 * which may hold spaces and parentheses), or null where the kernel does not say.
 * @param {number} pid
 */
function startedAt(pid) {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return /^\d+$/.test(fields[19] ?? '') ? /** @type {string} */ (fields[19]) : null;
}

/** The lock file's text for this process. */
function ownLine() {
  return `${process.pid} ${bootId() ?? '-'} ${startedAt(process.pid) ?? '-'}`;
}

/**
 * Whether the lock `text` (as written by ownLine, or a bare pid from an older receiver) names a live owner.
 * @param {string} path @param {string} text
 */
function ownerLives(path, text) {
  const [pidText, boot, start] = text.trim().split(/\s+/);
  const pid = Number.parseInt(pidText ?? '', 10);
  if (pid === process.pid) return heldHere.has(path);
  if (!running(pid)) return false;
  const nowBoot = bootId();
  if (boot && boot !== '-' && nowBoot && boot !== nowBoot) return false;
  const nowStart = startedAt(pid);
  if (start && start !== '-' && nowStart && start !== nowStart) return false;
  return true;
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
  const path = resolve(join(dataDir, LOCK_FILE));
  // The pid is written before the lock appears (link(2) of a finished file never replaces): no other starter can
  // see a half-written lock and take it for stale.
  const tmp = `${path}.${process.pid}.tmp`;
  const line = ownLine();
  writeFileSync(tmp, `${line}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (e) {
        if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EEXIST' || attempt >= 2) throw e;
      }
      const text = readFileSync(path, 'utf8');
      // The same process holds it too (heldHere): a second receiver in one process is as wrong as one in another.
      if (ownerLives(path, text)) throw new DataDirLockedError(path, Number.parseInt(text, 10));
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
  heldHere.add(path);
  return () => {
    if (!held) return;
    held = false;
    heldHere.delete(path);
    try {
      if (readFileSync(path, 'utf8').trim() === line) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
}
