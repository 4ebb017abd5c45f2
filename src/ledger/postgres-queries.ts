import type pg from 'pg';
import { isMeshwardenError, type MeshwardenError } from '../envelope/index.js';
import { partitionHeads } from './chain.js';
import { parseCheckpoint } from './checkpoint.js';
import { ledgerError } from './errors.js';
import { entryOfBody } from './hash.js';
import type { LedgerReader, ScanOptions } from './ports.js';
import { type EntryRow, postgresPages } from './postgres-pages.js';
import { readHeads, type Tables } from './postgres-schema.js';
import type { Checkpoint, LedgerEntry, PartitionHead, StoredRow } from './types.js';
import { QUERY_CAP, walkImpact, walkLineage } from './walks.js';

/** The reads of a PostgreSQL ledger, each straight to the pool (the adapter awaits the writer first). */
export type PostgresQueries = {
  count(): Promise<number>;
  byMessage(msgId: string): Promise<LedgerEntry[]>;
  firstOfEach(msgIds: readonly string[]): Promise<Map<string, LedgerEntry>>;
  byCausation(msgId: string): Promise<LedgerEntry[]>;
  bySubject(subject: string, limit: number): Promise<LedgerEntry[]>;
  byAgent(agent: string, limit: number): Promise<LedgerEntry[]>;
  byAgentPrefix(prefix: string, limit: number): Promise<LedgerEntry[]>;
  lineage(msgId: string): Promise<LedgerEntry[]>;
  impact(msgId: string): Promise<LedgerEntry[]>;
  /** Entries in (partition, seq) order, a page per query. */
  scan(opts: ScanOptions): AsyncGenerator<LedgerEntry, void, undefined>;
  newestSeq(partition: number): Promise<number>;
  storedHeads(): Promise<PartitionHead[]>;
  /** Every row column for column, in (partition, seq) order, a page per query. */
  storedRows(): AsyncGenerator<StoredRow, void, undefined>;
  checkpoints(): Promise<Checkpoint[]>;
};

export function postgresQueries(pool: pg.Pool, t: Tables): PostgresQueries {
  // Only the hashed body and the two hashes are read: the body holds every field of the entry.
  const ENTRY = `SELECT body, prev, hash FROM ${t.entries}`;
  // PostgreSQL text cannot hold a NUL (the writer refuses such records), so a key holding one matches
  // nothing: answered as SQLite answers it, instead of the server's "invalid byte sequence".
  const select = async (sql: string, params: unknown[]): Promise<LedgerEntry[]> =>
    params.some(holdsNul) ? [] : (await pool.query<EntryRow>(sql, params)).rows.map(toEntry);
  // The partitions that hold entries, by index seeks (see readHeads).
  const partitionsSql = `
WITH RECURSIVE p (partition) AS (
  SELECT min(partition) FROM ${t.entries}
  UNION ALL
  SELECT (SELECT min(partition) FROM ${t.entries} WHERE partition > p.partition) FROM p
  WHERE p.partition IS NOT NULL
) SELECT partition FROM p WHERE partition IS NOT NULL`;

  /**
   * The `limit` most recent matches of `where` (binding $1…$k to `args`), oldest first. With several
   * partitions, each partition's most recent, merged by time, as the SQLite adapter does.
   */
  const newest = async (where: string, args: unknown[], limit: number): Promise<LedgerEntry[]> => {
    const held = (await pool.query<{ partition: number }>(partitionsSql)).rows.map((r) => r.partition);
    const n = args.length;
    if (held.length <= 1) {
      const sql = `${ENTRY} WHERE ${where} ORDER BY partition DESC, seq DESC LIMIT $${n + 1}`;
      return (await select(sql, [...args, limit])).reverse();
    }
    const sql = `SELECT e.body, e.prev, e.hash FROM unnest($${n + 2}::int[]) AS p (partition)
CROSS JOIN LATERAL (SELECT body, prev, hash, at, partition, seq FROM ${t.entries}
  WHERE ${where} AND partition = p.partition ORDER BY seq DESC LIMIT $${n + 1}) e
ORDER BY e.at DESC, e.partition DESC, e.seq DESC LIMIT $${n + 1}`;
    return (await select(sql, [...args, limit, held])).reverse();
  };

  const first = async (msgId: string): Promise<LedgerEntry | undefined> =>
    (await select(`${ENTRY} WHERE msg_id = $1 ORDER BY partition, seq LIMIT 1`, [msgId]))[0];
  const consequences = async (msgId: string): Promise<string[]> => {
    if (holdsNul(msgId)) return [];
    const sql = `SELECT msg_id FROM ${t.entries} WHERE causation_id = $1 AND msg_id IS NOT NULL ORDER BY partition, seq`;
    return (await pool.query<{ msg_id: string }>(sql, [msgId])).rows.map((r) => r.msg_id);
  };

  const { pages, partitionPages } = postgresPages(pool, t);

  return {
    async count() {
      return (await pool.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${t.entries}`)).rows[0]!.n;
    },
    byMessage: (msgId) => select(`${ENTRY} WHERE msg_id = $1 ORDER BY partition, seq`, [msgId]),
    // One round trip for a batch's ids (a query each was the largest cost of a cluster node's hop).
    // One index probe per id, whatever the table's statistics say: `msg_id = ANY($1)` on a table not
    // analyzed yet (a new mesh's first minute) was planned as a sequential scan of the whole table
    // for every batch, most of PostgreSQL's time in the cluster bench.
    async firstOfEach(msgIds) {
      const found = new Map<string, LedgerEntry>();
      if (msgIds.length === 0) return found;
      for (const entry of await select(firstOfEachSql(t), [msgIds])) found.set(entry.msgId!, entry);
      return found;
    },
    byCausation: (msgId) => select(`${ENTRY} WHERE causation_id = $1 ORDER BY partition, seq`, [msgId]),
    bySubject: (subject, limit) => newest('subject = $1', [subject], limit),
    byAgent: (agent, limit) => newest('agent = $1', [agent], limit),
    // An empty prefix matches nothing, as in SQLite (its range end would be a NUL, which text refuses).
    byAgentPrefix: async (prefix, limit) =>
      prefix === '' ? [] : newest('agent >= $1 AND agent < $2', [prefix, prefixEnd(prefix)], limit),
    lineage: (msgId) => walkLineage(msgId, first),
    impact: (msgId) => walkImpact(msgId, first, consequences),
    async *scan(opts) {
      if (opts.kinds !== undefined && opts.kinds.length === 0) return;
      if (opts.partition !== undefined) {
        for await (const row of partitionPages(opts.partition, opts.afterSeq ?? 0, opts.kinds))
          yield toEntry(row);
        return;
      }
      const where: string[] = [];
      const params: unknown[] = [];
      if (opts.afterSeq !== undefined) {
        params.push(opts.afterSeq);
        where.push(`seq > $${params.length}`);
      }
      if (opts.kinds !== undefined) {
        params.push(opts.kinds);
        where.push(`kind = ANY($${params.length}::text[])`);
      }
      const columns = 'body, prev, hash, partition, seq::float8 AS seq';
      for await (const row of pages<EntryRow & { partition: number; seq: number }>(columns, where, params)) {
        yield toEntry(row);
      }
    },
    storedHeads: async () => partitionHeads(await readHeads(pool, t)),
    async newestSeq(partition) {
      // One seek down the (partition, seq) key.
      const sql = `SELECT seq::float8 AS seq FROM ${t.entries} WHERE partition = $1 ORDER BY seq DESC LIMIT 1`;
      return (await pool.query<{ seq: number }>(sql, [partition])).rows[0]?.seq ?? 0;
    },
    async *storedRows() {
      // Tampered values still fit the column types (integer, bigint, float8, text): numbers as numbers.
      const columns =
        'partition, seq::float8 AS seq, kind, at, msg_id, causation_id, correlation_id, subject, agent, body, prev, hash';
      yield* pages<StoredRow>(columns, [], []);
    },
    async checkpoints() {
      const sql = `SELECT id::text AS id, body FROM ${t.checkpoints} ORDER BY id`;
      const list: Checkpoint[] = [];
      for (const row of (await pool.query<{ id: string; body: unknown }>(sql)).rows) {
        const cp = parseCheckpoint(typeof row.body === 'string' ? row.body : null);
        if (isMeshwardenError(cp)) {
          const problem = `stored checkpoint ${row.id}: ${cp.message}`;
          throw ledgerError('MW_LEDGER_CHECKPOINT', { problem });
        }
        list.push(cp);
      }
      return list;
    },
  };
}

/** What the reader port asks of the ledger around every query. */
export type ReadGate = {
  /** Resolves once the writer's appends so far are durable; rejects MW_LEDGER_CLOSED once closed. */
  ready(): Promise<void>;
  isOpen(): boolean;
  closedError(): MeshwardenError;
  /** The typed error of a failed query (MW_LEDGER_CLOSED once closed, else MW_LEDGER_IO). */
  readError(err: unknown): MeshwardenError;
};

/**
 * The reader port over the queries: every read waits for the writer first (read-your-writes), and
 * its failures are typed. Streams end with MW_LEDGER_CLOSED when the ledger closes under them.
 */
export function gatedReader(queries: PostgresQueries, gate: ReadGate): LedgerReader {
  const read = async <T>(run: (q: PostgresQueries) => Promise<T>): Promise<T> => {
    await gate.ready();
    try {
      return await run(queries);
    } catch (err) {
      throw gate.readError(err);
    }
  };
  async function* whileOpen<T>(rows: (q: PostgresQueries) => AsyncGenerator<T>): AsyncGenerator<T, void> {
    await gate.ready();
    const it = rows(queries);
    try {
      for (;;) {
        if (!gate.isOpen()) throw gate.closedError();
        let r: IteratorResult<T>;
        try {
          r = await it.next();
        } catch (err) {
          throw gate.readError(err);
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // A consumer's `break` lands here; no page holds a connection, so this only ends the paging.
      await it.return(undefined);
    }
  }
  return {
    count: () => read((q) => q.count()),
    byMessage: (msgId) => read((q) => q.byMessage(msgId)),
    firstOfEach: (msgIds) => read((q) => q.firstOfEach(msgIds)),
    byCausation: (msgId) => read((q) => q.byCausation(msgId)),
    bySubject: (subject, o) => read((q) => q.bySubject(subject, o?.limit ?? QUERY_CAP)),
    byAgent: (agent, o) => read((q) => q.byAgent(agent, o?.limit ?? QUERY_CAP)),
    byAgentPrefix: (prefix, o) => read((q) => q.byAgentPrefix(prefix, o?.limit ?? QUERY_CAP)),
    lineage: (msgId) => read((q) => q.lineage(msgId)),
    impact: (msgId) => read((q) => q.impact(msgId)),
    scan: (o = {}) => whileOpen((q) => q.scan(o)),
    newestSeq: (partition) => read((q) => q.newestSeq(partition)),
    storedHeads: () => read((q) => q.storedHeads()),
    checkpoints: () => read((q) => q.checkpoints()),
    storedRows: () => whileOpen((q) => q.storedRows()),
  };
}

/** An entry from its stored body (every record field, partition and seq) plus its chain hashes. */
function toEntry(row: EntryRow): LedgerEntry {
  return entryOfBody(row.body, row.prev, row.hash);
}

/** The smallest string above every string that starts with `prefix`: its last code unit plus one. */
function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

/** The first entry of each id of `$1` (a text array), one index probe per id; ids not found give no row. */
export const firstOfEachSql = (t: Tables) =>
  `SELECT e.body, e.prev, e.hash FROM unnest($1::text[]) AS i (id) CROSS JOIN LATERAL (SELECT body, prev, hash FROM ${t.entries} WHERE msg_id = i.id ORDER BY partition, seq LIMIT 1) AS e`;

function holdsNul(value: unknown): boolean {
  return typeof value === 'string' && value.includes('\u0000');
}
