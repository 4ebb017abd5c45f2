import type pg from 'pg';
import type { Tables } from './postgres-schema.js';

/** Rows per page of a scan: a page is one query, so nothing holds a connection between pages. */
const PAGE = 2000;

export type EntryRow = { body: string; prev: string; hash: string };

/** The paged reads of a PostgreSQL ledger's table: whole-table keyset pages, and one partition's ranges. */
export function postgresPages(pool: pg.Pool, t: Tables) {
  /**
   * Pages through the table by the (partition, seq) key, `filter` ANDed in. The next page is asked
   * for as soon as a full one arrives, so the server reads it while the consumer works on this one;
   * after a `break` that query just finishes unread.
   */
  async function* pages<R extends { partition: number; seq: number }>(
    columns: string,
    filter: string[],
    params: unknown[],
  ): AsyncGenerator<R, void, undefined> {
    const page = (after: readonly [number, number] | undefined) => {
      const where = [...filter];
      const args = [...params];
      if (after !== undefined) {
        where.push(`(e.partition, e.seq) > ($${args.length + 1}, $${args.length + 2})`);
        args.push(...after);
      }
      // Ordered by the table's columns, named as such: a bare `seq` would be the output's float8
      // copy, which the primary key cannot give in order (a sort of the whole rest, every page).
      const sql = `SELECT ${columns} FROM ${t.entries} e${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY e.partition, e.seq LIMIT ${PAGE}`;
      const rows = pool.query<R>(sql, args).then((r) => r.rows);
      rows.catch(() => {});
      return rows;
    };
    let next = page(undefined);
    for (;;) {
      const rows = await next;
      const last = rows[rows.length - 1];
      if (rows.length === PAGE && last !== undefined) next = page([last.partition, last.seq]);
      for (const row of rows) yield row;
      if (rows.length < PAGE) return;
    }
  }

  /**
   * One partition's entries after `afterSeq`, up to its head when the scan starts, a page per range
   * of PAGE seqs (`seq > lo AND seq <= lo + PAGE`). A keyset page (`seq > last … LIMIT`) is what
   * `pages` does, and on a table the planner has no statistics for (a chain just written, before
   * autovacuum analyzes it) PostgreSQL takes a bitmap scan of the whole rest of the partition and
   * sorts it, every page: a million-entry chain read that way took minutes. A bounded range reads
   * its page whatever the plan; a gap left by a deleted row only makes a page shorter.
   */
  async function* partitionPages(
    partition: number,
    afterSeq: number,
    kinds: readonly string[] | undefined,
  ): AsyncGenerator<EntryRow, void, undefined> {
    const headSql = `SELECT max(seq)::float8 AS seq FROM ${t.entries} WHERE partition = $1`;
    const head = (await pool.query<{ seq: number | null }>(headSql, [partition])).rows[0]?.seq ?? 0;
    const kindFilter = kinds === undefined ? '' : ' AND kind = ANY($4::text[])';
    const sql = `SELECT body, prev, hash FROM ${t.entries} e WHERE partition = $1 AND seq > $2 AND seq <= $3${kindFilter} ORDER BY e.partition, e.seq`;
    const page = (lo: number) => {
      const args: unknown[] = [partition, lo, lo + PAGE];
      if (kinds !== undefined) args.push(kinds);
      const rows = pool.query<EntryRow>(sql, args).then((r) => r.rows);
      rows.catch(() => {});
      return rows;
    };
    // The next page is asked for before this one is yielded, as `pages` does.
    let lo = Math.max(0, afterSeq);
    let next = lo < head ? page(lo) : undefined;
    while (next !== undefined) {
      const rows = await next;
      lo += PAGE;
      next = lo < head ? page(lo) : undefined;
      for (const row of rows) yield row;
    }
  }

  return { pages, partitionPages };
}
