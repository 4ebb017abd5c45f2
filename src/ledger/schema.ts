import { DatabaseSync } from 'node:sqlite';
import { isMeshwardenError } from '../envelope/index.js';
import { causeText, ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import { createPrivateFile, databaseFiles, tightenModes } from './modes.js';
import type { Durability } from './ports.js';
import {
  SUBJECT_LOOKUP_SCHEMA,
  SUBJECT_TAIL_INDEX,
  trimSubjectLookup,
  upgradeSubjectLookup,
} from './subject-lookup.js';

/**
 * The SQLite ledger's schema version. 2: the lookup by subject is a table (subject-lookup.ts), not
 * an index; a file of version 1 is moved to 2 by its writer's open, and a version that knows only 1
 * refuses it (it would build the index again inside its open, holding the write lock that long).
 */
export const SCHEMA_VERSION = '2';

export type { Durability } from './ports.js';

// A rowid table on purpose: entries run to kilobytes, and WITHOUT ROWID b-trees slow down sharply
// once rows pass about 1/20 of a page (measured: 3x slower appends with 2 KB bodies).
// Lookup indexes end in (partition, seq) so that results come out in chain order and a LIMIT reads
// only what it returns. The nullable ones are partial: `col = ?` implies `col IS NOT NULL`, so SQLite
// still uses them, and appends without the column skip that index. Every index costs each append
// (about 2 µs here), so there is one per lookup a query makes and none for scans: no index on `at`
// or `kind`, which only full scans filter on. `snapshots` is a cache beside the chains (ports.ts,
// PartitionSnapshots): not hashed, not verified, added without a schema version of its own because
// a ledger without the table gets it on open and an older reader never looks at it.
// The lookup by subject is two tables of its own (subject-lookup.ts), not an index on `entries`.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  partition INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  msg_id TEXT,
  causation_id TEXT,
  correlation_id TEXT,
  subject TEXT,
  agent TEXT,
  body TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (partition, seq)
);
CREATE INDEX IF NOT EXISTS entries_msg_id ON entries (msg_id, partition, seq) WHERE msg_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_causation_id ON entries (causation_id, partition, seq)
  WHERE causation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_agent ON entries (agent, partition, seq) WHERE agent IS NOT NULL;
${SUBJECT_LOOKUP_SCHEMA}CREATE TABLE IF NOT EXISTS checkpoints (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
  partition INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  format TEXT NOT NULL,
  digest TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (partition, seq)
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '${SCHEMA_VERSION}');
`;

/** The entry columns in the order `INSERT_ENTRY` binds them. */
export const ENTRY_COLUMNS = 12;
export const INSERT_ENTRY =
  'INSERT INTO entries (partition, seq, kind, at, msg_id, causation_id, correlation_id, subject, agent, body, prev, hash) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** How long a connection waits for another one's lock before failing. */
export const BUSY_TIMEOUT_MS = 5_000;

/** Per-connection settings: the main (reading) connection and the commit worker's both run them. */
export function connectionPragmas(durability: Durability): string[] {
  return [
    // Takes effect only on a new file: bigger pages measured ~30% faster group commits for
    // kilobyte entries. An existing file keeps its page size.
    'PRAGMA page_size = 16384',
    'PRAGMA journal_mode = WAL',
    // A 64 MB page cache and a 64 MB WAL between checkpoints measured ~40% more appends/s than the
    // defaults (2 MB, 16 MB), when the subject lookup was an index that every batch dirtied.
    'PRAGMA cache_size = -65536',
    'PRAGMA wal_autocheckpoint = 4000',
    // In WAL mode NORMAL survives a process crash; FULL also survives an OS crash or power loss.
    `PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`,
  ];
}

/**
 * Opens (creating when missing) the ledger database: WAL, the chosen sync level, schema checked. The
 * file is created 0600 (so are the -wal and -shm SQLite makes next to it); existing ones with looser
 * modes are tightened first.
 */
export function openDatabase(file: string, durability: Durability, upgrade: SchemaUpgrade): DatabaseSync {
  let db: DatabaseSync;
  try {
    createPrivateFile(file);
    tightenModes(databaseFiles(file));
    // A second process (the CLI next to a running mesh) waits for the lock instead of failing.
    db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw ledgerError('MW_LEDGER_IO', { file, action: 'be opened', cause: causeText(err) }, { cause: err });
  }
  try {
    for (const pragma of connectionPragmas(durability)) db.exec(pragma);
    db.exec(`BEGIN IMMEDIATE; ${SCHEMA}`);
    const found = (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get()?.value ?? '') as string;
    if (found !== '1' && found !== SCHEMA_VERSION) {
      throw ledgerError('MW_LEDGER_SCHEMA', {
        file,
        found: found || 'none',
        expected: `1 and ${SCHEMA_VERSION}`,
      });
    }
    // Only the ledger's writer moves a version-1 file: a reader leaves it at version 1 (its lookup
    // by subject then finds nothing in the table, and every entry through the old index).
    const moved = upgrade.allowed && found === '1';
    const heads = readHeads(db);
    if (moved) upgradeSubjectLookup(db, heads);
    // Only a writer builds it: on a ledger made before it, that reads every entry once, and a reader
    // would hold the write lock that long. Derived, like the lookup: no schema version of its own.
    if (upgrade.allowed) db.exec(SUBJECT_TAIL_INDEX);
    // On every open, whoever appends next: marks past a chain cut short would hide what follows.
    trimSubjectLookup(db, heads);
    db.exec('COMMIT');
    if (moved) upgrade.told?.('1', SCHEMA_VERSION);
    return db;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    db.close();
    if (isMeshwardenError(err)) throw err;
    throw ledgerError('MW_LEDGER_IO', { file, action: 'be prepared', cause: causeText(err) }, { cause: err });
  }
}

/** Whether an open may move an older file to this version, and who hears that it did. */
export type SchemaUpgrade = {
  readonly allowed: boolean;
  readonly told?: (from: string, to: string) => void;
};

/** The first partition past `?` that holds entries: one seek; a loop of them lists the partitions. */
export const NEXT_PARTITION = 'SELECT partition FROM entries WHERE partition > ? ORDER BY partition LIMIT 1';

/** The mutable head of one partition's chain. */
export type Head = { seq: number; hash: string };

/**
 * Each partition's last seq and hash, found by index seeks (one pair per partition, no scan), so
 * appends continue the chains across restarts.
 */
export function readHeads(db: DatabaseSync): Map<number, Head> {
  const nextPartition = db.prepare(NEXT_PARTITION);
  const lastOf = db.prepare('SELECT seq, hash FROM entries WHERE partition = ? ORDER BY seq DESC LIMIT 1');
  nextPartition.setReadBigInts(true);
  lastOf.setReadBigInts(true);
  const heads = new Map<number, Head>();
  let after: bigint = -1n;
  for (;;) {
    const row = nextPartition.get(after);
    if (row === undefined) return heads;
    after = row.partition as bigint;
    const last = lastOf.get(after);
    if (last !== undefined) {
      heads.set(Number(after), {
        seq: Number(last.seq),
        hash: typeof last.hash === 'string' ? last.hash : GENESIS,
      });
    }
  }
}
