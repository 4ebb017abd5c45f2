// What a cluster bench reads from the shared PostgreSQL ledger: decisions and their `at` (the
// deciding node's clock: every node runs on this machine, so one clock), and `partition.owned`
// (its agent column is `node:<node>`).
import pg from 'pg';
import type { Feeder } from './cluster-feed.ts';

export type LedgerProbe = {
  /**
   * Decisions recorded at or after `since` (ms since the epoch): of how many messages, how many
   * entries (a message delivered again after its owner died is recorded again, as a duplicate), the
   * last one's `at`.
   */
  decisions(since: number): Promise<{ count: number; entries: number; last: number }>;
  /**
   * Hop latency of decisions at or after `since`: for each decision with a consequence (a decision
   * whose causation is its message), the consequence's `at` minus its own, in ms.
   */
  hopLatency(since: number, until: number): Promise<{ pairs: number; p50: number; p99: number }>;
  /**
   * Pipelines (correlation ids) with a first decision at or after `since`: how many have all three
   * steps decided, how many have more decisions than steps (a step that ran twice, with new ids).
   */
  pipelines(since: number): Promise<{ complete: number; overfull: number }>;
  /** `partition.owned` entries at or after `since`: the partition, the node, when. */
  owned(since: number): Promise<{ partition: number; node: string; at: number }[]>;
  /**
   * The PostgreSQL process that serves the probe's queries: a CPU meter leaves it out, as its counts
   * scan the whole entries table and are the bench's cost, not the node's.
   */
  backendPid(): Promise<number>;
  /** Drops the schema and closes. */
  drop(): Promise<void>;
  /** Closes, the schema kept (MW_BENCH_KEEP_SCHEMA). */
  close(): Promise<void>;
};

export function openLedgerProbe(connectionString: string, schema: string): LedgerProbe {
  // One connection (queries wait their turn), so that one PostgreSQL process serves them all.
  const pool = new pg.Pool({ connectionString, max: 1, idleTimeoutMillis: 0 });
  pool.on('error', () => {});
  const entries = `"${schema}".entries`;
  return {
    async decisions(since) {
      const { rows } = await pool.query(
        `SELECT count(DISTINCT msg_id)::int AS count, count(*)::int AS entries, coalesce(max(at), 0) AS last
         FROM ${entries} WHERE kind = 'decision' AND at >= $1`,
        [since],
      );
      return { count: rows[0].count, entries: rows[0].entries, last: rows[0].last };
    },
    async hopLatency(since, until) {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS pairs,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY c.at - m.at) AS p50,
           percentile_disc(0.99) WITHIN GROUP (ORDER BY c.at - m.at) AS p99
         FROM ${entries} m JOIN ${entries} c ON c.causation_id = m.msg_id AND c.kind = 'decision'
         WHERE m.kind = 'decision' AND m.at >= $1 AND m.at <= $2`,
        [since, until],
      );
      return { pairs: rows[0].pairs, p50: rows[0].p50 ?? Number.NaN, p99: rows[0].p99 ?? Number.NaN };
    },
    async pipelines(since) {
      const { rows } = await pool.query(
        `SELECT count(*) FILTER (WHERE n >= 3)::int AS complete, count(*) FILTER (WHERE n > 3)::int AS overfull
         FROM (SELECT count(DISTINCT msg_id) AS n FROM ${entries} WHERE kind = 'decision'
               GROUP BY correlation_id HAVING min(at) >= $1) AS p`,
        [since],
      );
      return rows[0] as { complete: number; overfull: number };
    },
    async owned(since) {
      const { rows } = await pool.query(
        `SELECT partition, substr(agent, 6) AS node, at FROM ${entries}
         WHERE kind = 'partition.owned' AND at >= $1 ORDER BY at`,
        [since],
      );
      return rows as { partition: number; node: string; at: number }[];
    },
    async backendPid() {
      return (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    },
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    },
    close: () => pool.end(),
  };
}

/**
 * Waits until `expected` decisions since `since` are in the ledger, or `timeoutMs` passed; gives the
 * last count. The count scans the entries table, so it is asked every 200 ms only once the feeder
 * has `replies` replies (each root's own decision), and every 2 s before (a reply can be lost).
 */
export async function waitDecided(
  probe: LedgerProbe,
  feeder: Feeder,
  want: { since: number; expected: number; replies: number; timeoutMs: number },
  progress: (line: string) => void = () => {},
): Promise<{ count: number; entries: number; last: number }> {
  const deadline = Date.now() + want.timeoutMs;
  let nextCount = Date.now() + 2_000;
  let nextNote = Date.now() + 5_000;
  for (;;) {
    const repliesIn = feeder.decided() >= want.replies;
    if (repliesIn || Date.now() >= nextCount) {
      nextCount = Date.now() + 2_000;
      const d = await probe.decisions(want.since);
      if (d.count >= want.expected || Date.now() > deadline) return d;
      if (Date.now() > nextNote) {
        nextNote = Date.now() + 5_000;
        progress(`  … ${d.count.toLocaleString('en')} of ${want.expected.toLocaleString('en')} hops decided`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, repliesIn ? 200 : 20));
  }
}
