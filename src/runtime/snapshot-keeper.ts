import type { Logger } from 'pino';
import type { LedgerWriter, PartitionSnapshots } from '../ledger/index.js';
import { type FoldSource, SNAPSHOT_EVERY, snapshotPartition } from './partition-snapshot.js';
import type { StateWindows } from './snapshot-codec.js';
import { within } from './within.js';

/** How often an owner looks whether one of its partitions grew enough for a new snapshot. */
const LOOK_EVERY_MS = 5_000;
/** How long a hand-off waits for its snapshot (it goes on being written after, for no one). */
const HAND_OFF_MS = 5_000;

/**
 * Keeps the snapshots of the partitions a node owns (distributed mode; docs/distributed.md, "State
 * on takeover"): in the background, one partition at a time, each time a chain has grown by
 * SNAPSHOT_EVERY entries since the last snapshot this node wrote (a partition just taken over
 * counts from 0, so a big one without a recent snapshot gets one soon); and once on a hand-off,
 * after its last append is durable, so the next owner folds almost nothing. A snapshot that cannot
 * be written is logged and skipped: it is a cache, and a rebuild without it folds more of the chain.
 */
export type SnapshotKeeper = {
  /** This node owns `partition` from now on. */
  track(partition: number): void;
  /** It does not any more. */
  untrack(partition: number): void;
  /** Writes the partition's snapshot now (a hand-off), then stops tracking it. */
  handOff(partition: number): Promise<void>;
  stop(): void;
};

export function createSnapshotKeeper(deps: {
  readonly ledger: FoldSource & Pick<PartitionSnapshots, 'putSnapshot'> & Pick<LedgerWriter, 'heads'>;
  readonly windows: () => StateWindows;
  readonly log: Logger;
}): SnapshotKeeper {
  const { ledger, log } = deps;
  /** Owned partitions: the head size their last snapshot here covered. */
  const covered = new Map<number, number>();
  let running: Promise<void> | undefined;

  const write = async (p: number): Promise<void> => {
    try {
      const written = await snapshotPartition(ledger, p, { log, windows: deps.windows() });
      if (written !== undefined && covered.has(p)) covered.set(p, written.seq);
    } catch (err) {
      log.warn({ err, partition: p }, 'could not write the partition’s snapshot; a rebuild folds more');
    }
  };

  const timer = setInterval(() => {
    if (running !== undefined) return;
    const sizes = new Map(ledger.heads().map((h) => [h.partition, h.size]));
    for (const [p, seq] of covered) {
      if ((sizes.get(p) ?? 0) - seq < SNAPSHOT_EVERY) continue;
      running = write(p).finally(() => {
        running = undefined;
      });
      return;
    }
  }, LOOK_EVERY_MS);
  timer.unref();

  return {
    track: (p) => void covered.set(p, 0),
    untrack: (p) => void covered.delete(p),
    // Bounded: the next owner waits for this hand-off, and a snapshot is only a cache.
    async handOff(p) {
      covered.delete(p);
      await within(HAND_OFF_MS, write(p));
    },
    stop: () => clearInterval(timer),
  };
}
