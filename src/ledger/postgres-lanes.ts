import type { PostgresCommitter } from './postgres-commit.js';

/**
 * Several group-commit loops as one committer: partition `p` commits on lane `p mod n`. A loop
 * runs one commit at a time, so one loop is one PostgreSQL backend, one core, whatever the
 * server has; a chain needs order only within its partition, so lanes that share no partition
 * commit side by side. What spans every partition waits for every lane: `flush` (what a read
 * waits for) and `between` (nothing commits on any lane while its step runs: a checkpoint's read of
 * every head); `betweenOn` (adopting one partition) waits for its lane alone.
 */
export function commitLanes(lanes: readonly PostgresCommitter[]): PostgresCommitter {
  if (lanes.length === 1) return lanes[0]!;
  // A partition that is no non-negative integer is refused further on (the chainer's check): lane 0.
  const of = (partition: number) =>
    lanes[Number.isSafeInteger(partition) && partition > 0 ? partition % lanes.length : 0]!;
  return {
    push: (entry, body) => of(entry.partition).push(entry, body),
    pushGroup: (entries, bodies) => of(entries[0]!.partition).pushGroup(entries, bodies),
    async flush() {
      // Every lane's, even when one fails: the failure is the ledger's, the others still commit.
      const settled = await Promise.allSettled(lanes.map((lane) => lane.flush()));
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    },
    between(step) {
      // Each lane stops at its point in the queue; the step runs once all have, then all go on.
      const reached = lanes.map(() => Promise.withResolvers<void>());
      const { promise: done, resolve: goOn } = Promise.withResolvers<void>();
      for (const [i, lane] of lanes.entries()) {
        lane
          .between(async () => {
            reached[i]!.resolve();
            await done;
          })
          .catch((err: unknown) => reached[i]!.reject(err));
      }
      const result = Promise.all(reached.map((r) => r.promise)).then(step);
      void result.finally(goOn).catch(() => {});
      return result;
    },
    betweenOn: (partition, step) => of(partition).between(step),
    fenceOf: (partition) => of(partition).fenceOf(partition),
    fence: (partition, err) => of(partition).fence(partition, err),
    lift: (partition, head) => of(partition).lift(partition, head),
    get held() {
      return new Set(lanes.flatMap((lane) => [...lane.held]));
    },
  };
}
