import type pg from 'pg';
import type { PartitionSnapshots } from './ports.js';
import type { Tables } from './postgres-schema.js';
import { snapshotHeadOf, snapshotsKept } from './snapshot-heads.js';

type HeadRow = {
  partition: number;
  seq: number;
  hash: string;
  format: string;
  digest: string;
  bytes: number;
};

/**
 * The snapshot port of the PostgreSQL ledger: the `snapshots` table in the ledger's schema, written
 * on a pool connection of its own transaction (no ownership: a reader checks a snapshot against the
 * chain). `run` maps a failure to the ledger's typed errors, MW_LEDGER_CLOSED once it is closed.
 */
export function postgresSnapshots(
  pool: pg.Pool,
  t: Tables,
  run: <T>(action: string, query: () => Promise<T>) => Promise<T>,
): PartitionSnapshots {
  const COLUMNS = 'partition, seq::float8 AS seq, hash, format, digest, bytes::float8 AS bytes';
  return {
    putSnapshot: (s, opts = {}) =>
      run('store a snapshot', async () => {
        const head = snapshotHeadOf(s);
        const keep = snapshotsKept(opts);
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query(
            `INSERT INTO ${t.snapshots} (partition, seq, hash, format, digest, bytes, body)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (partition, seq) DO UPDATE SET hash = $3, format = $4, digest = $5, bytes = $6, body = $7`,
            [s.partition, s.seq, s.hash, s.format, head.digest, head.bytes, s.body],
          );
          await client.query(
            `DELETE FROM ${t.snapshots} WHERE partition = $1 AND seq NOT IN
(SELECT seq FROM ${t.snapshots} WHERE partition = $1 ORDER BY seq DESC LIMIT $2)`,
            [s.partition, keep],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        } finally {
          client.release();
        }
        return head;
      }),
    snapshots: (partition) =>
      run('read its snapshots', async () => {
        const sql = `SELECT ${COLUMNS} FROM ${t.snapshots} WHERE partition = $1 ORDER BY seq DESC`;
        return (await pool.query<HeadRow>(sql, [partition])).rows.map((r) => ({ ...r }));
      }),
    snapshotBody: (partition, seq) =>
      run('read a snapshot', async () => {
        const sql = `SELECT body FROM ${t.snapshots} WHERE partition = $1 AND seq = $2`;
        const row = (await pool.query<{ body: string }>(sql, [partition, seq])).rows[0];
        return row?.body;
      }),
  };
}
