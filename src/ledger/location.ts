import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { ledgerError, redacted } from './errors.js';
import type { Durability, Ledger } from './ports.js';
import { openPostgresLedger } from './postgres.js';
import { parsePostgresLocation } from './postgres-location.js';
import { lockPostgresWriter } from './postgres-writer-lock.js';
import { openLedger } from './sqlite.js';
import { lockSqliteWriter, type WriterLock } from './writer-lock.js';

export type OpenLedgerOptions = {
  /** Names this ledger in its checkpoints (the mesh name); readers leave it out and get the stored one. */
  readonly origin?: string;
  readonly durability?: Durability;
  /**
   * The checkpoint key. SQLite's default is `ledger.key` next to the file; a PostgreSQL ledger has
   * no file to sit next to, so its shells pass one (in their data directory) to take checkpoints.
   */
  readonly keyFile?: string;
  /**
   * False for readers of an existing ledger: a PostgreSQL schema without one is MW_LEDGER_LOCATION.
   * Otherwise the opener is the ledger's one writer: it takes the writer lock (writer-lock.ts), and a
   * ledger another process writes is MW_LEDGER_LOCKED.
   */
  readonly create?: boolean;
  /**
   * Distributed mode: several processes write this ledger, each the partitions it holds a lease on,
   * fenced by chain position (docs/ledger.md, "Fencing"); they hold the writer lock shared (an
   * embedded writer meanwhile is MW_LEDGER_CLUSTERED, as they are MW_LEDGER_LOCKED while one
   * writes), and another mesh's ledger (written by it, or open to one of its nodes) is
   * MW_LEDGER_OTHER_MESH. PostgreSQL only: a SQLite file has one writer (MW_LEDGER_LOCATION).
   */
  readonly shared?: boolean;
  /** SQLite: told when the writer's open begins to move the file from an older schema version. */
  readonly onUpgradeStart?: (from: string, to: string, entries: number) => void;
  /** SQLite: told when the writer's open moved the file from an older schema version. */
  readonly onUpgrade?: (from: string, to: string) => void;
};

// A scheme of two or more characters and a colon: `postgres:…`, `file:…`. A Windows drive (`C:\…`)
// is one letter, so it stays a path; so does anything without a colon before its first `/`.
const URL_SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

/** The URL scheme a ledger location starts with (lower case), or nothing for a file path. */
export function locationScheme(location: string): string | undefined {
  return URL_SCHEME.exec(location)?.[1]?.toLowerCase();
}

/**
 * The SQLite file a location names: a path, `file:` and a path relative to the working directory
 * (`file:ledger.db`, percent-decoded as a URL's path is; a URL parser would put it at the root of
 * the disk), or a `file:///abs` URL.
 * Nothing for another scheme's location; an MW_LEDGER_LOCATION error value for a `file:` that names
 * no file.
 */
export function sqliteFileOf(location: string): string | MeshwardenError | undefined {
  const scheme = locationScheme(location);
  if (scheme === undefined) return location;
  if (scheme !== 'file') return undefined;
  const rest = location.slice('file:'.length);
  if (rest === '') return ledgerError('MW_LEDGER_LOCATION', { location, reason: 'file: names no file' });
  try {
    // Percent-escapes mean in a relative one what they mean in a file:/// URL (`file:my%20ledger.db`).
    if (!rest.startsWith('/')) return decodeURIComponent(rest);
    return fileURLToPath(location);
  } catch (err) {
    return ledgerError('MW_LEDGER_LOCATION', { location, reason: (err as Error).message });
  }
}

/**
 * The one place a ledger adapter is chosen, by where the ledger lives: a file path (or a `file:`
 * URL) opens the SQLite adapter, `postgres://…` or `postgresql://…` (with `?schema=name`) the
 * PostgreSQL one, which connects and reads its heads before it resolves. Any other URL, or a
 * location its adapter cannot read, is an MW_LEDGER_LOCATION error value (a password in it masked);
 * a writer refused is an MW_LEDGER_LOCKED one (MW_LEDGER_CLUSTERED while a mesh's nodes write it), a
 * mesh's node at another mesh's an MW_LEDGER_OTHER_MESH one.
 * I/O failures of the adapter itself (MW_LEDGER_IO: an unreachable server, an unreadable file) are
 * thrown, as the adapter throws them.
 */
export async function openLedgerAt(
  location: string,
  opts: OpenLedgerOptions = {},
): Promise<Ledger | MeshwardenError> {
  const scheme = locationScheme(location);
  const { create: _create, shared, ...sqlite } = opts;
  const writer = opts.create !== false;
  if (shared === true && scheme !== 'postgres' && scheme !== 'postgresql') {
    const reason = 'nodes of one mesh share a PostgreSQL ledger (postgres://…); a SQLite file has one writer';
    return ledgerError('MW_LEDGER_LOCATION', { location: redacted(location), reason });
  }
  const file = sqliteFileOf(location);
  if (file !== undefined) return isMeshwardenError(file) ? file : openSqliteAt(file, sqlite, writer);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!location.slice(scheme.length + 1).startsWith('//')) {
      const reason = `a PostgreSQL location is ${scheme}://[user@]host[:port]/database[?schema=name]`;
      return ledgerError('MW_LEDGER_LOCATION', { location: redacted(location), reason });
    }
    const at = parsePostgresLocation(location);
    if (isMeshwardenError(at)) return at;
    // A mesh's nodes hold the writer's key shared: together, and never with an embedded writer.
    const lock = writer ? await lockPostgresWriter(at, shared === true ? 'shared' : 'only') : undefined;
    if (isMeshwardenError(lock)) return lock;
    try {
      const pgOpts = {
        location,
        ...sqlite,
        ...(opts.create === undefined ? {} : { create: opts.create }),
        ...(shared === true ? { shared } : {}),
        ...(lock?.session === undefined ? {} : { lockSession: lock.session }),
      };
      return heldUntilClosed(await openPostgresLedger(pgOpts), lock);
    } catch (err) {
      // Released before the answer, so a caller that tries again at once does not meet its own lock.
      await lock?.release();
      // What the location holds (no ledger, another mesh's) is a value; I/O failures are thrown.
      if (
        isMeshwardenError(err) &&
        (err.code === 'MW_LEDGER_LOCATION' || err.code === 'MW_LEDGER_OTHER_MESH')
      )
        return err;
      throw err;
    }
  }
  const reason = `no ledger adapter reads ${scheme}: locations; use a SQLite file path, file:, or postgres://`;
  return ledgerError('MW_LEDGER_LOCATION', { location: redacted(location), reason });
}

/** Opens a SQLite ledger; a writer holds the file's writer lock first, so a second one never writes. */
function openSqliteAt(
  file: string,
  opts: Omit<OpenLedgerOptions, 'create'>,
  writer: boolean,
): Ledger | MeshwardenError {
  // A reader never makes the file it was pointed at (a mistyped path would become an empty ledger).
  if (!writer && !existsSync(file)) {
    const reason = 'no ledger file is there';
    return ledgerError(
      'MW_LEDGER_LOCATION',
      { location: file, reason },
      { details: { file, missing: true } },
    );
  }
  const lock = writer ? lockSqliteWriter(file) : undefined;
  if (isMeshwardenError(lock)) return lock;
  try {
    // Only the writer moves an older file to this version (readers read it as it is).
    return heldUntilClosed(openLedger({ file, ...opts, upgrade: writer }), lock);
  } catch (err) {
    void lock?.release();
    throw err;
  }
}

/**
 * Releases the writer lock once the ledger is closed, by its owner or by a failure; the owner's
 * `close()` resolves only once the lock is free, so a writer opened right after it is not refused.
 */
function heldUntilClosed(ledger: Ledger, lock: WriterLock | undefined): Ledger {
  if (lock === undefined) return ledger;
  void ledger.closed.then(lock.release, lock.release);
  const close = async () => {
    await ledger.close();
    await lock.release();
  };
  return { ...ledger, close, [Symbol.asyncDispose]: close };
}

/**
 * What names a ledger across processes whatever host alias reaches it: a PostgreSQL location's
 * database and schema (`postgres:test/retention`), a file's path otherwise. Nodes of one cluster
 * must share it (a node on another schema would split the mesh's chains).
 */
export function ledgerName(location: string): string {
  const scheme = locationScheme(location);
  if (scheme !== 'postgres' && scheme !== 'postgresql') return location;
  const at = parsePostgresLocation(location);
  // A name is shown and recorded (a cluster's stream keeps it): never a password.
  if (isMeshwardenError(at)) return redacted(location);
  const db = new URL(at.connectionString).pathname.replace(/^\//, '');
  return `postgres:${db}/${at.schema}`;
}

/** The database and schema a PostgreSQL ledger's name (`ledgerName`) says; none for another name. */
export function postgresNameParts(
  name: string,
): { readonly database: string; readonly schema: string } | undefined {
  const m = /^postgres:([^/]+)\/(.+)$/.exec(name);
  return m === null ? undefined : { database: m[1]!, schema: m[2]! };
}

/**
 * Why a PostgreSQL location cannot be opened, read from its text alone (a bad schema name, a bad
 * `lanes`): checked before a cluster node touches NATS, so a typo creates nothing there.
 */
export function postgresLocationProblem(location: string): MeshwardenError | undefined {
  const at = parsePostgresLocation(location);
  return isMeshwardenError(at) ? at : undefined;
}
