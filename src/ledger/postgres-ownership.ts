import type pg from 'pg';
import type { MeshwardenError } from '../envelope/index.js';
import { ledgerError } from './errors.js';
import { GENESIS } from './hash.js';
import { fencedError } from './postgres-batch.js';
import type { PostgresCommitter } from './postgres-commit.js';
import type { PostgresLocation } from './postgres-location.js';
import { type Head, readHead, type Tables } from './postgres-schema.js';
import type { PartitionHead } from './types.js';

export type OwnershipOptions = {
  readonly committer: PostgresCommitter;
  readonly pool: pg.Pool;
  readonly tables: Tables;
  readonly at: PostgresLocation;
  /** The durable heads the committer moves. */
  readonly heads: Map<number, Head>;
  /** The chainer's numbering, per partition: adopting moves it to the stored head. */
  readonly numbered: Map<number, { seq: number }>;
};

/**
 * What a PostgreSQL writer does about owning partitions, one at a time: refusing appends to a
 * fenced or adopting partition, adopting one from its stored head, telling who waits for a fence,
 * and finding the partitions it holds that moved on without it (before a checkpoint).
 */
export function partitionOwnership(o: OwnershipOptions) {
  const { committer, heads } = o;
  /** Who waits for a partition's next fence (`fenced()`); resolved and forgotten when it comes. */
  const fenceWaiters = new Map<number, PromiseWithResolvers<MeshwardenError>>();
  /** Partitions whose adopt() has not resolved yet: appends to them are refused meanwhile. */
  const adopting = new Set<number>();

  return {
    /** The committer's report of a fence. */
    onFenced(partition: number, err: MeshwardenError): void {
      fenceWaiters.get(partition)?.resolve(err);
      fenceWaiters.delete(partition);
    },
    /** Why an append to `partition` is refused before it is numbered, if it is. */
    refusal(partition: number): MeshwardenError | undefined {
      const fence = committer.fenceOf(partition);
      if (fence !== undefined) return fence;
      if (adopting.has(partition)) return ledgerError('MW_LEDGER_ADOPTING', { partition: String(partition) });
      return undefined;
    },
    /** The port's `adopt`; a failed read rejects with the driver's error, for the ledger to type. */
    async adopt(partition: number): Promise<PartitionHead> {
      if (!Number.isSafeInteger(partition) || partition < 0) {
        const problem = `partition ${partition} is not a non-negative integer`;
        throw ledgerError('MW_LEDGER_RECORD', { problem });
      }
      adopting.add(partition);
      try {
        // In the commit loop, after what was appended to it so far: nothing commits meanwhile.
        const head = await committer.betweenOn(partition, async () => {
          const stored = await readHead(o.pool, o.tables, partition);
          committer.lift(partition, stored);
          o.numbered.set(partition, { seq: stored.seq });
          return stored;
        });
        return { partition, size: head.seq, head: head.hash };
      } finally {
        adopting.delete(partition);
      }
    },
    /** The port's `fenced`. */
    fenced(partition: number): Promise<MeshwardenError> {
      const fence = committer.fenceOf(partition);
      if (fence !== undefined) return Promise.resolve(fence);
      let waiter = fenceWaiters.get(partition);
      if (waiter === undefined) {
        waiter = Promise.withResolvers<MeshwardenError>();
        fenceWaiters.set(partition, waiter);
      }
      return waiter.promise;
    },
    /**
     * A checkpoint signs every partition's head as stored, other writers' partitions included, so
     * one checkpoint covers the whole mesh. But a partition this writer holds (committed to or
     * adopted, not fenced) must be stored as this writer left it: read between two commits, any
     * difference is another writer's. Each such partition is fenced now; the first fence is returned.
     */
    movedOn(stored: Map<number, Head>): MeshwardenError | undefined {
      let first: MeshwardenError | undefined;
      for (const partition of [...committer.held]) {
        const mine = heads.get(partition) ?? { seq: 0, hash: GENESIS };
        const theirs = stored.get(partition) ?? { seq: 0, hash: GENESIS };
        if (mine.seq === theirs.seq && mine.hash === theirs.hash) continue;
        const err = fencedError(o.at, partition, mine.seq + 1);
        committer.fence(partition, err);
        first ??= err;
      }
      return first;
    },
  };
}
