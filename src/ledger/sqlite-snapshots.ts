import type { DatabaseSync } from 'node:sqlite';
import { causeText, ledgerError } from './errors.js';
import type { PartitionSnapshots, SnapshotHead } from './ports.js';
import { snapshotHeadOf, snapshotsKept } from './snapshot-heads.js';

type HeadRow = {
  partition: number | bigint;
  seq: number | bigint;
  hash: string;
  format: string;
  digest: string;
  bytes: number | bigint;
};

const headOf = (r: HeadRow): SnapshotHead => ({
  partition: Number(r.partition),
  seq: Number(r.seq),
  hash: r.hash,
  format: r.format,
  digest: r.digest,
  bytes: Number(r.bytes),
});

/**
 * The snapshot port of the SQLite ledger, on its reading connection (as checkpoints are stored): a
 * short write transaction of its own, which waits for the commit worker's lock like any writer.
 * `ready` throws MW_LEDGER_CLOSED once the ledger is closed.
 */
export function sqliteSnapshots(
  db: DatabaseSync,
  file: string,
  ready: () => Promise<unknown>,
): PartitionSnapshots {
  const io = (action: string, err: unknown) =>
    ledgerError('MW_LEDGER_IO', { file, action, cause: causeText(err) }, { cause: err });
  return {
    async putSnapshot(s, opts = {}) {
      await ready();
      const head = snapshotHeadOf(s);
      const keep = snapshotsKept(opts);
      try {
        db.exec('BEGIN IMMEDIATE');
        try {
          db.prepare(
            'INSERT OR REPLACE INTO snapshots (partition, seq, hash, format, digest, bytes, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
          ).run(s.partition, s.seq, s.hash, s.format, head.digest, head.bytes, s.body);
          db.prepare(
            'DELETE FROM snapshots WHERE partition = ? AND seq NOT IN (SELECT seq FROM snapshots WHERE partition = ? ORDER BY seq DESC LIMIT ?)',
          ).run(s.partition, s.partition, keep);
          db.exec('COMMIT');
        } catch (err) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw err;
        }
      } catch (err) {
        throw io('store a snapshot', err);
      }
      return head;
    },
    async snapshots(partition) {
      await ready();
      try {
        const rows = db
          .prepare(
            'SELECT partition, seq, hash, format, digest, bytes FROM snapshots WHERE partition = ? ORDER BY seq DESC',
          )
          .all(partition) as HeadRow[];
        return rows.map(headOf);
      } catch (err) {
        throw io('read its snapshots', err);
      }
    },
    async snapshotBody(partition, seq) {
      await ready();
      try {
        const row = db
          .prepare('SELECT body FROM snapshots WHERE partition = ? AND seq = ?')
          .get(partition, seq);
        return typeof row?.body === 'string' ? row.body : undefined;
      } catch (err) {
        throw io('read a snapshot', err);
      }
    },
  };
}
