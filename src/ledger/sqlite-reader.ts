import type { DatabaseSync } from 'node:sqlite';
import { setImmediate as turn } from 'node:timers/promises';
import { isMeshwardenError } from '../envelope/index.js';
import { type Chainer, partitionHeads } from './chain.js';
import type { LedgerReader } from './ports.js';
import { type EntryKey, QUERY_CAP, type Queries } from './queries.js';
import { readHeads } from './schema.js';
import type { LedgerLife } from './sqlite-life.js';
import { readCheckpoints, selectStoredRows } from './stored.js';
import { hasIndex } from './subject-lookup.js';
import type { Writer } from './writer.js';

/** What the SQLite ledger's reads need: the reading connection, and what makes them see every append. */
export type SqliteReadDeps = {
  /** The reading connection. */
  readonly db: DatabaseSync;
  /** Its prepared queries. */
  readonly queries: Queries;
  /** Counts the entries appended, durable or not (a read is durable once `ready`). */
  readonly chain: Pick<Chainer, 'count'>;
  readonly writer: Pick<Writer, 'flush'>;
  readonly life: Pick<LedgerLife, 'open' | 'closedError'>;
};

/**
 * Reads see every append made before them: they await the writer's flush (the worker reports each
 * commit through its port, so nothing blocks the thread), then query the reading connection.
 */
export async function readsReady(deps: SqliteReadDeps): Promise<Queries> {
  const { life } = deps;
  if (life.open) {
    try {
      await deps.writer.flush();
    } catch {
      // A failed commit has closed the ledger by now; the check below says so.
    }
  }
  if (!life.open) throw life.closedError();
  return deps.queries;
}

/** The SQLite adapter's reader port, over the reading connection. */
export function createSqliteReader(deps: SqliteReadDeps): LedgerReader {
  const { db, queries, chain } = deps;
  const ready = () => readsReady(deps);
  return {
    count: async () => {
      await ready();
      return chain.count();
    },
    byMessage: async (msgId) => (await ready()).byMessage(msgId),
    firstOfEach: async (msgIds) => (await ready()).firstOfEach(msgIds),
    byCausation: async (msgId) => (await ready()).byCausation(msgId),
    bySubject: async (subject, o) => (await ready()).bySubject(subject, o?.limit ?? QUERY_CAP),
    byAgent: async (agent, o) => (await ready()).byAgent(agent, o?.limit ?? QUERY_CAP),
    byAgentPrefix: async (prefix, o) => (await ready()).byAgentPrefix(prefix, o?.limit ?? QUERY_CAP),
    lineage: async (msgId) => (await ready()).lineage(msgId),
    impact: async (msgId) => (await ready()).impact(msgId),
    scan: (o = {}) => inPages(deps, (after, last) => queries.scan(o, after, last)),
    newestSeq: async (partition) => (await ready()).newestSeq(partition),
    storedHeads: async () => {
      await ready();
      return partitionHeads(readHeads(db));
    },
    async checkpoints() {
      await ready();
      const stored = readCheckpoints(db);
      if (isMeshwardenError(stored)) throw stored;
      return stored;
    },
    storedRows: () => inPages(deps, (after, last) => selectStoredRows(db, after, last)),
  };
}

/**
 * Rows a long read takes in one statement before the event loop turns. SQLite hands rows over
 * synchronously, and an async generator over them runs on microtasks alone: read in one go, a
 * verify or a scan of millions of entries held the loop for as long as it took (about a minute for
 * 10,000,000 entries), with no hop, API call, timer or signal served meanwhile. So a long read is
 * pages of 4,096 rows (about 30 ms of reading), each a statement of its own going on from the last
 * key read: between pages no read transaction is open, so the other reads of this connection see
 * every commit (an open statement would hold them all at its snapshot), and the WAL can be
 * checkpointed and restarted. A verify of 1,500,000 entries took 10.3 s in pages against 10.0 s.
 */
const ROWS_PER_PAGE = 4_096;

/** The index SQLite makes for `entries`' PRIMARY KEY (partition, seq). */
const PRIMARY_KEY_INDEX = 'sqlite_autoindex_entries_1';

/**
 * Yields what `page` reads, page after page, while the ledger is open; a close during the read ends
 * it with MW_LEDGER_CLOSED. `page(after, last)` reads in (partition, seq) order past `after` and
 * keeps `last` at the key of the row it read last. A page ends only at a key that is a safe integer
 * pair (one that is not, which only tampering writes, is read on in the same statement: no row is
 * skipped or read twice), and only while the primary key is there to make keys unique and pages
 * cheap: a table rebuilt without it (tampering again) could hold a forged second row of a key a page
 * ended at, which the next page would pass over, and each page would sort the table anew. Such a
 * table is read in one statement, as every read was before pages.
 */
async function* inPages<T>(
  deps: SqliteReadDeps,
  page: (after: EntryKey | undefined, last: EntryKey) => Iterator<T>,
): AsyncGenerator<T, void, undefined> {
  const { life } = deps;
  await readsReady(deps);
  // The primary key's unique index (SQLite names it; no one else may take a `sqlite_` name).
  const paged = hasIndex(deps.db, PRIMARY_KEY_INDEX);
  let after: EntryKey | undefined;
  for (;;) {
    const last: EntryKey = { partition: Number.NaN, seq: Number.NaN };
    const it = page(after, last);
    try {
      for (let read = 1; ; read++) {
        if (!life.open) throw life.closedError();
        const r = it.next();
        if (r.done) return;
        yield r.value;
        if (
          paged &&
          read >= ROWS_PER_PAGE &&
          Number.isSafeInteger(last.partition) &&
          Number.isSafeInteger(last.seq)
        )
          break;
      }
    } finally {
      // Ends the statement, and its read transaction with it: at a page's end, or at a consumer's
      // `break`. Closing the database finalized it already.
      if (life.open) it.return?.();
    }
    after = { partition: last.partition, seq: last.seq };
    await turn();
    if (!life.open) throw life.closedError();
  }
}
