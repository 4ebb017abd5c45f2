import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** Every file the ledger keeps (database, -wal, -shm, checkpoint key) is the owner's alone. */
export const PRIVATE_FILE = 0o600;

/** The database and the two files SQLite keeps next to it in WAL mode. */
export function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`];
}

/**
 * Creates `file` empty with mode 0600 when it is missing. SQLite takes an empty file for a new
 * database, and gives the -wal and -shm it creates the database file's mode.
 */
export function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Removes the group and other permission bits of each of `files` that exists (0644 becomes 0600).
 * A file this process may not change (another user's, on a read-only mount) is left as it is: a
 * reader such as an auditor's `audit verify` must still be able to open it.
 */
export function tightenModes(files: readonly string[]): void {
  for (const file of files) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue; // missing: nothing to tighten
    }
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(file, mode & 0o700);
    } catch {
      // Not ours to change; see above.
    }
  }
}
