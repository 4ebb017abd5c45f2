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
 * an index; a version that knows only 1 refuses it (it would build the index again inside its open,
 * holding the write lock that long). 3: the lookup's tail has an index of its own; a version that
 * knows at most 2 refuses it (its join of the lookup to the entries, planned by SQLite as a range
 * once that index is there, would take seconds a lookup). A writer's open moves a file of 1 or 2 to
 * 3; a reader's leaves it as it is, and reads it as that version wrote it.
 */
export const SCHEMA_VERSION = '3';
/** The versions this one reads: every one it moves to its own. */
const READS = ['1', '2', SCHEMA_VERSION];

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
    // defaults (2 MB, 16 MB), when the subject lookup was an index that every batch dirtied. Once it
    // left the commits, the 64 MB WAL gave a mesh with a grown ledger about 5 % fewer hops/s than
    // 16 MB (each checkpoint a longer stall of the commit worker) and bare appends nothing more, so
    // the WAL is checkpointed every 1,000 pages again (docs/performance.md, sixth pass).
    'PRAGMA cache_size = -65536',
    'PRAGMA wal_autocheckpoint = 1000',
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
    if (!READS.includes(found)) {
      throw ledgerError('MW_LEDGER_SCHEMA', {
        file,
        found: found || 'none',
        expected: `1 to ${SCHEMA_VERSION}`,
      });
    }
    // Only the ledger's writer moves an older file: a reader leaves it as it is (a version-1 file's
    // lookup by subject then finds nothing in the table, and every entry through the old index; a
    // version-2 file's tail is read by the primary key).
    const moved = upgrade.allowed && found !== SCHEMA_VERSION;
    const heads = readHeads(db);
    if (moved)
      upgrade.starting?.(
        found,
        SCHEMA_VERSION,
        [...heads.values()].reduce((n, h) => n + h.seq, 0),
      );
    if (moved && found === '1') upgradeSubjectLookup(db, heads);
    // A new file's writer makes it here too. On a ledger made before it, the build reads every
    // entry once (about half a second a million), holding the write lock: a reader that opens
    // meanwhile waits for it up to BUSY_TIMEOUT_MS.
    if (upgrade.allowed) db.exec(SUBJECT_TAIL_INDEX);
    if (moved) db.exec(`UPDATE meta SET value = '${SCHEMA_VERSION}' WHERE key = 'schema'`);
    // On every open, whoever appends next: marks past a chain cut short would hide what follows.
    trimSubjectLookup(db, heads);
    db.exec('COMMIT');
    if (moved) upgrade.told?.(found, SCHEMA_VERSION);
    return db;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    db.close();
    if (isMeshwardenError(err)) throw err;
    // Another connection held the write lock past BUSY_TIMEOUT_MS: a writer's first open moving
    // the file to a new schema version, or a long commit. Worth trying again, and said so.
    if ((err as { errcode?: unknown } | undefined)?.errcode === SQLITE_BUSY) {
      const cause = `${causeText(err)}: another process held it for more than ${BUSY_TIMEOUT_MS / 1000} s (a new version's first start moving it to its schema version, or a long commit); run the command again in a moment`;
      throw ledgerError(
        'MW_LEDGER_IO',
        { file, action: 'be prepared', cause },
        { cause: err, details: { locked: true, waitedMs: BUSY_TIMEOUT_MS } },
      );
    }
    throw ledgerError('MW_LEDGER_IO', { file, action: 'be prepared', cause: causeText(err) }, { cause: err });
  }
}

/** SQLite's result code when a lock is held by another connection. */
const SQLITE_BUSY = 5;

/** Whether an open may move an older file to this version, and who hears that it begins and did. */
export type SchemaUpgrade = {
  readonly allowed: boolean;
  /** Before the move, with the entries it reads (a move builds an index over them). */
  readonly starting?: (from: string, to: string, entries: number) => void;
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
