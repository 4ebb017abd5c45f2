import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import { entryOfBody } from './hash.js';
import type { ScanOptions } from './ports.js';
import { NEXT_PARTITION } from './schema.js';
import { hasIndex } from './subject-lookup.js';
import type { LedgerEntry } from './types.js';
import { walkImpact, walkLineage } from './walks.js';

export { QUERY_CAP } from './walks.js';

// Only the hashed body and the two hashes are read: the body holds every field of the entry.
const ENTRY = 'SELECT body, prev, hash FROM entries';
export const QUERIES = {
  byMessage: `${ENTRY} WHERE msg_id = ? ORDER BY partition, seq`,
  firstOf: `${ENTRY} WHERE msg_id = ? ORDER BY partition, seq LIMIT 1`,
  byCausation: `${ENTRY} WHERE causation_id = ? ORDER BY partition, seq`,
  consequences:
    'SELECT msg_id FROM entries WHERE causation_id = ? AND msg_id IS NOT NULL ORDER BY partition, seq',
  // Newest first so LIMIT keeps the most recent; the caller reverses.
  byAgent: `${ENTRY} WHERE agent = ? ORDER BY partition DESC, seq DESC LIMIT ?`,
  // A range over the agent index: every actor whose name starts with the prefix (`pilot:`).
  byAgentPrefix: `${ENTRY} WHERE agent >= ? AND agent < ? ORDER BY partition DESC, seq DESC LIMIT ?`,
  // The same within one partition: with several, each partition's newest are merged by time.
  byAgentIn: `${ENTRY} WHERE agent = ? AND partition = ? ORDER BY seq DESC LIMIT ?`,
  byAgentPrefixIn: `${ENTRY} WHERE agent >= ? AND agent < ? AND partition = ? ORDER BY seq DESC LIMIT ?`,
  // A subject's entries in one partition (subject-lookup.ts): those past the lookup's mark, found
  // through the tail's index (by the primary key in a file without it), then those in the lookup
  // (the join checks the subject too: a key is only a hint). `+s.seq` keeps SQLite from carrying
  // `s.seq <= ?` over to `e` as a range, which it did once the tail's index was there: a range scan
  // of the partition for every key, in place of one seek.
  subjectsFilledTo: 'SELECT seq FROM subject_filled WHERE partition = ?',
  bySubjectPast: `${ENTRY} WHERE partition = ? AND seq > ? AND subject = ? ORDER BY seq DESC LIMIT ?`,
  bySubjectUpTo:
    'SELECT e.body, e.prev, e.hash FROM subject_entries s JOIN entries e ON e.partition = s.partition AND e.seq = +s.seq ' +
    'WHERE s.subject = ? AND s.partition = ? AND s.seq <= ? AND e.subject = s.subject ORDER BY s.seq DESC LIMIT ?',
  // The partitions that hold entries, one seek each (this connection's writer may not be the only one).
  nextPartition: NEXT_PARTITION,
  // One seek down the (partition, seq) key.
  newestSeq: 'SELECT seq FROM entries WHERE partition = ? ORDER BY seq DESC LIMIT 1',
} as const;

/**
 * `bySubjectPast` through the tail's index (subject-lookup.ts), for a file that has it: it reads a
 * subject's tail without reading the other entries' rows, where SQLite alone takes the primary key.
 */
export const BY_SUBJECT_PAST_TAIL =
  `${ENTRY} INDEXED BY entries_subject_tail WHERE partition = ? AND seq > ? AND subject = ? ` +
  'ORDER BY seq DESC LIMIT ?';

export type Queries = {
  byMessage(msgId: string): LedgerEntry[];
  firstOfEach(msgIds: readonly string[]): Map<string, LedgerEntry>;
  byCausation(msgId: string): LedgerEntry[];
  bySubject(subject: string, limit: number): LedgerEntry[];
  byAgent(agent: string, limit: number): LedgerEntry[];
  byAgentPrefix(prefix: string, limit: number): LedgerEntry[];
  lineage(msgId: string): Promise<LedgerEntry[]>;
  impact(msgId: string): Promise<LedgerEntry[]>;
  /** Entries in (partition, seq) order, after `after` when given; `last` is kept at the key read last. */
  scan(opts: ScanOptions, after?: EntryKey, last?: EntryKey): IterableIterator<LedgerEntry>;
  newestSeq(partition: number): number;
};

/**
 * An entry's (partition, seq) columns, where a long read goes on from in a new statement (the SQLite
 * reader's pages); NaN for a value that is not a safe integer, which only tampering writes.
 */
export type EntryKey = { partition: number; seq: number };

/** A key column's value as an EntryKey holds it: a safe integer (number or bigint), else NaN. */
export function keyPart(value: unknown): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : Number.NaN;
  if (typeof value === 'bigint')
    return value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : Number.NaN;
  return Number.NaN;
}

/**
 * `partitions` lists the partitions that hold entries: with more than one, the most recent entries
 * of a subject or agent are each partition's most recent, merged by time (a partition's sequence
 * says nothing of another's).
 */
export function prepareQueries(db: DatabaseSync, partitions: () => readonly number[]): Queries {
  const s = Object.fromEntries(Object.entries(QUERIES).map(([k, sql]) => [k, db.prepare(sql)])) as Record<
    keyof typeof QUERIES,
    StatementSync
  >;
  // A file whose writer has not opened it since the index came (a reader opens it) reads by the key.
  const bySubjectPast = hasIndex(db, 'entries_subject_tail')
    ? db.prepare(BY_SUBJECT_PAST_TAIL)
    : s.bySubjectPast;
  /** The `limit` most recent matches, oldest first. */
  const newest = (
    all: StatementSync,
    inPartition: StatementSync,
    args: readonly string[],
    limit: number,
  ): LedgerEntry[] => {
    const held = partitions();
    if (held.length <= 1)
      return all
        .all(...args, limit)
        .map(toEntry)
        .reverse();
    return mergedNewest(held, (p) => inPartition.all(...args, p, limit).map(toEntry), limit);
  };
  /**
   * A subject's `limit` most recent entries in one partition, newest first. The lookup's mark is read
   * once: rows up to it are in the lookup (the worker marks in the transaction that fills), rows past
   * it are in `entries`, so a fill between the two reads neither hides nor repeats one.
   */
  const subjectIn = (subject: string, partition: number, limit: number): LedgerEntry[] => {
    const to = Number(s.subjectsFilledTo.get(partition)?.seq ?? 0);
    const past = bySubjectPast.all(partition, to, subject, limit).map(toEntry);
    if (past.length >= limit || to === 0) return past;
    return past.concat(s.bySubjectUpTo.all(subject, partition, to, limit - past.length).map(toEntry));
  };
  const first = (msgId: string): LedgerEntry | undefined => {
    const row = s.firstOf.get(msgId);
    return row === undefined ? undefined : toEntry(row);
  };
  return {
    byMessage: (msgId) => s.byMessage.all(msgId).map(toEntry),
    // One indexed lookup each, on this thread: SQLite has no round trip to save.
    firstOfEach(msgIds) {
      const found = new Map<string, LedgerEntry>();
      for (const id of msgIds) {
        const entry = first(id);
        if (entry !== undefined) found.set(id, entry);
      }
      return found;
    },
    byCausation: (msgId) => s.byCausation.all(msgId).map(toEntry),
    bySubject(subject, limit) {
      const held: number[] = [];
      for (let row = s.nextPartition.get(-1); row !== undefined; row = s.nextPartition.get(held.at(-1)!))
        held.push(Number(row.partition));
      if (held.length <= 1) return held.length === 0 ? [] : subjectIn(subject, held[0]!, limit).reverse();
      return mergedNewest(held, (p) => subjectIn(subject, p, limit), limit);
    },
    byAgent: (agent, limit) => newest(s.byAgent, s.byAgentIn, [agent], limit),
    byAgentPrefix: (prefix, limit) =>
      newest(s.byAgentPrefix, s.byAgentPrefixIn, [prefix, prefixEnd(prefix)], limit),
    lineage: (msgId) => walkLineage(msgId, first),
    impact: (msgId) =>
      walkImpact(msgId, first, (id) => s.consequences.all(id).map((row) => row.msg_id as string)),
    scan: (opts, after, last) => scanEntries(db, opts, after, last),
    newestSeq: (partition) => Number(s.newestSeq.get(partition)?.seq ?? 0),
  };
}

/** Each partition's most recent entries merged by time: the `limit` most recent, oldest first. */
function mergedNewest(
  partitions: readonly number[],
  newestIn: (partition: number) => LedgerEntry[],
  limit: number,
): LedgerEntry[] {
  const merged = partitions.flatMap(newestIn);
  merged.sort((a, b) => b.at - a.at || b.partition - a.partition || b.seq - a.seq);
  return merged.slice(0, limit).reverse();
}

/**
 * Builds the scan statement for the given filters, after the key `after` when given; the (partition,
 * seq) key gives the order.
 */
export function scanQuery(opts: ScanOptions, after?: EntryKey): { sql: string; params: (number | string)[] } {
  const where: string[] = [];
  const params: (number | string)[] = [];
  if (opts.partition !== undefined) {
    where.push('partition = ?');
    params.push(opts.partition);
  }
  // Within one partition a page goes on from its seq: SQLite plans `seq > ?` as a range of the key,
  // where it would only filter on a row value, from the partition's start, page after page.
  const fromSeq =
    after !== undefined && opts.partition !== undefined
      ? Math.max(after.seq, opts.afterSeq ?? Number.NEGATIVE_INFINITY)
      : opts.afterSeq;
  if (fromSeq !== undefined) {
    where.push('seq > ?');
    params.push(fromSeq);
  }
  if (after !== undefined && opts.partition === undefined) {
    where.push('(partition, seq) > (?, ?)');
    params.push(after.partition, after.seq);
  }
  if (opts.kinds !== undefined) {
    where.push(`kind IN (${opts.kinds.map(() => '?').join(', ')})`);
    params.push(...opts.kinds);
  }
  const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  return {
    sql: `SELECT partition, seq, body, prev, hash FROM entries${filter} ORDER BY partition, seq`,
    params,
  };
}

function* scanEntries(
  db: DatabaseSync,
  opts: ScanOptions,
  after?: EntryKey,
  last?: EntryKey,
): Generator<LedgerEntry, void, undefined> {
  if (opts.kinds !== undefined && opts.kinds.length === 0) return;
  const { sql, params } = scanQuery(opts, after);
  const select = db.prepare(sql);
  // A tampered key past 2^53 is read, not thrown on (keyPart makes it no key to go on from).
  select.setReadBigInts(true);
  const rows = select.iterate(...params);
  try {
    for (const row of rows) {
      if (last !== undefined) {
        last.partition = keyPart(row.partition);
        last.seq = keyPart(row.seq);
      }
      yield toEntry(row);
    }
  } finally {
    // A consumer's `break` lands here: resetting the statement releases its read snapshot.
    rows.return?.();
  }
}

/** An entry from its stored body (every record field, partition and seq) plus its chain hashes. */
export function toEntry(row: Record<string, SQLOutputValue>): LedgerEntry {
  return entryOfBody(row.body as string, row.prev as string, row.hash as string);
}

/** The smallest string above every string that starts with `prefix`: its last code unit plus one. */
function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}
