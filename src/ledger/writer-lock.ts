import { closeSync, openSync, readSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { MeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';

/** A held writer lock; `release` is idempotent and resolves once the lock is free for another writer. */
export type WriterLock = {
  readonly release: () => Promise<void>;
  /** PostgreSQL: the backend pid of the session that holds the lock (so a count of holders leaves it out). */
  readonly session?: number;
};

/** The lock file of a SQLite ledger: `ledger.db.lock` beside `ledger.db`. */
export function lockFileOf(file: string): string {
  return `${file}.lock`;
}

/**
 * Takes the one-writer lock of the SQLite ledger `file`, or says who holds it. The lock is an
 * exclusive OS lock on a small SQLite file beside the ledger, held by a connection in
 * `locking_mode = EXCLUSIVE` until `release` (or the process ends: the OS drops it, so a crash
 * never leaves a stale lock). The ledger's own connections are untouched, so readers (why, audit)
 * read while a mesh writes. The holder writes its pid in the file's header (`user_version`, bytes
 * 60–63), which stays readable under the lock: SQLite locks bytes far past the header.
 */
export function lockSqliteWriter(file: string): WriterLock | MeshwardenError {
  const lockFile = lockFileOf(file);
  let db: DatabaseSync;
  try {
    // Owner-only like the ledger's other files (SQLite would make it with the umask's mode).
    closeSync(openSync(lockFile, 'a', 0o600));
    db = new DatabaseSync(lockFile, { timeout: 0 });
  } catch (err) {
    return ledgerError('MW_LEDGER_IO', { file: lockFile, action: 'be opened', cause: causeText(err) });
  }
  try {
    // Its content is only the pid: no fsync is worth waiting for.
    db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF');
    db.exec('BEGIN EXCLUSIVE');
    db.exec(`PRAGMA user_version = ${process.pid}`);
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if (!/locked|busy/i.test(causeText(err))) {
      return ledgerError('MW_LEDGER_IO', { file: lockFile, action: 'be locked', cause: causeText(err) });
    }
    return writerBusy(file, holderPid(lockFile));
  }
  let held = true;
  return {
    release: async () => {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

/** MW_LEDGER_LOCKED for `location`, naming the holder's pid when known. */
export function writerBusy(location: string, holder: string | undefined): MeshwardenError {
  const named = holder === undefined ? 'another process' : holder;
  return ledgerError('MW_LEDGER_LOCKED', { location, holder: named }, { details: { holder: named } });
}

/** The pid the holder wrote in the lock file's header, if it can be read. */
function holderPid(lockFile: string): string | undefined {
  try {
    const fd = openSync(lockFile, 'r');
    try {
      const header = Buffer.alloc(4);
      if (readSync(fd, header, 0, 4, 60) !== 4) return undefined;
      const pid = header.readUInt32BE(0);
      return pid === 0 ? undefined : `process ${pid}`;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
