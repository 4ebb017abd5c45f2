import type { DatabaseSync } from 'node:sqlite';

// The SQLite ledger's lookup by subject: two tables of its own, not an index on `entries`. A
// subject's entries go to the end of its range, so such an index had nearly every leaf page dirtied,
// and written to the WAL, by every commit (about 45 % of the bytes the ledger wrote;
// docs/performance.md, fourth pass). `subject_entries` holds the same keys, filled by the commit
// worker in the transaction of the commit that takes `SUBJECT_FILL_EVERY` entries past it, and
// `subject_filled` says up to which seq each partition is in it; a lookup (queries.ts) reads the
// entries past that through the tail's index. Derived data, like an index: not hashed, not verified.

export const SUBJECT_LOOKUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS subject_entries (
  subject TEXT NOT NULL,
  partition INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (subject, partition, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subject_filled (partition INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
`;

/**
 * The tail's index: `(partition, seq, subject)`. Its keys go to the end of it, as the entries do, so
 * a commit dirties only its last pages (about 40 bytes an entry). A lookup finds a subject's entries
 * past the mark through it, and a fill reads them from it, neither reading the bodies of the others,
 * which lets the fills wait for many more entries: each fill dirties about a page of
 * `subject_entries` per subject it touches, so rarer fills write less per entry (a fill of many
 * subjects takes longer, in the commit that brings it), and the ledger's appends do not slow down as
 * the table grows
 * (docs/performance.md, sixth pass). Built by a writer's open, which moves a file made before it to
 * schema version 3 (schema.ts); a reader's lookup in a file without it reads the tail by the
 * primary key, as before.
 */
export const SUBJECT_TAIL_INDEX =
  'CREATE INDEX IF NOT EXISTS entries_subject_tail ON entries (partition, seq, subject) WHERE subject IS NOT NULL';
/** Whether the file has the index `name` (the tail's, or version 1's `entries_subject`). */
export function hasIndex(db: DatabaseSync, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) !== undefined;
}

/** Entries committed, all partitions together, at most between two fills (by default). */
export const SUBJECT_FILL_EVERY = 131_072;
/** Puts a partition's entries past a seq into `subject_entries` (binds: partition, seq). */
export const FILL_SUBJECTS =
  'INSERT OR IGNORE INTO subject_entries (subject, partition, seq) ' +
  'SELECT subject, partition, seq FROM entries WHERE partition = ? AND seq > ? AND subject IS NOT NULL';
/** Records up to which seq a partition is in `subject_entries` (binds: partition, seq). */
export const MARK_SUBJECTS = 'INSERT OR REPLACE INTO subject_filled (partition, seq) VALUES (?, ?)';

/** Each partition's last seq, as the ledger's open reads its heads. */
export type HeadSeqs = ReadonlyMap<number, { readonly seq: number }>;

/**
 * A file of schema version 1: its index `entries_subject`, when it has one, is moved into the table
 * in one pass in the index's order, every partition is marked as filled up to its head, and the
 * index is dropped. Runs in the open's transaction, which then marks the file with its new version.
 */
export function upgradeSubjectLookup(db: DatabaseSync, heads: HeadSeqs): void {
  if (hasIndex(db, 'entries_subject')) {
    db.exec(
      'INSERT OR IGNORE INTO subject_entries (subject, partition, seq) ' +
        'SELECT subject, partition, seq FROM entries INDEXED BY entries_subject WHERE subject IS NOT NULL',
    );
    const mark = db.prepare(MARK_SUBJECTS);
    for (const [partition, head] of heads) mark.run(partition, head.seq);
    db.exec('DROP INDEX entries_subject');
  }
}

/**
 * A partition whose entries end before its mark (rows removed from the end of its chain, which
 * `verify` reports when a checkpoint covered them): its keys past the end are removed and its mark
 * lowered to it, so the entries appended from there are filled, and a key never names an entry about
 * another subject. One seek a partition on every open; the removal, a scan, only when needed.
 */
export function trimSubjectLookup(db: DatabaseSync, heads: HeadSeqs): void {
  const marks = db.prepare('SELECT partition, seq FROM subject_filled').all();
  const remove = db.prepare('DELETE FROM subject_entries WHERE partition = ? AND seq > ?');
  const mark = db.prepare(MARK_SUBJECTS);
  for (const row of marks) {
    const partition = Number(row.partition);
    const end = heads.get(partition)?.seq ?? 0;
    if (Number(row.seq) <= end) continue;
    remove.run(partition, end);
    mark.run(partition, end);
  }
}
