import type { Logger } from 'pino';
import type { LedgerReader, LedgerWriter, PartitionSnapshots } from '../ledger/index.js';
import type { ActivePolicy } from './active.js';
import type { Delivery } from './delivery.js';
import type { Clock } from './envelopes.js';
import type { RunCounts } from './events.js';
import type { PartitionRouter } from './partition-router.js';
import type { Partition } from './partitions.js';
import { partitionOwnedRecord } from './records.js';
import { type Recovered, recoverPartition } from './recovery.js';
import { stateWindows } from './snapshot-codec.js';
import { createSnapshotKeeper } from './snapshot-keeper.js';
import type { Takeovers } from './telemetry.js';
import { within } from './within.js';

/**
 * Which partitions this node decides for (distributed mode), and the two moves the partition leases
 * call: take one over, give one up. A partition this node does not own has an empty state here and
 * no subscriber on the bus; what is sent to it is published for its owner.
 */
export type PartitionOwnership = {
  /**
   * Takes a partition over, with the lease epoch that grants it: adopts its chain from the stored
   * head, appends `partition.owned` (node, epoch) as its first write there (a former owner's next
   * append is fenced from then on), rebuilds its state from its chain, dispatches again the work it
   * admitted and did not finish, then handles its items. Resolves with how much work was resumed and
   * how many entries the rebuild folded after the newest snapshot (1, its own `partition.owned`,
   * when a hand-off's snapshot covered the former owner's head) and whether it came from a lapsed
   * lease (`isLapsed`, `how` the lease was found), or undefined when the partition was given up
   * before it was taken.
   */
  acquire(
    partition: number,
    epoch: number,
    how?: { readonly handedOff: boolean | undefined },
  ): Promise<TakeOver | undefined>;
  /**
   * Gives a partition up: from the call on (synchronously) nothing more is decided for it here;
   * resolves once its items in flight were acked or handed back, and its state is forgotten. A
   * hand-off (`handOff`: the lease is still held, the next owner waits) writes the partition's
   * snapshot first, so that the next owner's rebuild folds almost nothing.
   */
  release(partition: number, handOff?: boolean): Promise<void>;
  /** Stops the background snapshots (the node is leaving). */
  stop(): void;
  /** Partitions taken over since start (rebuilt and handling): lapsed ones (`isLapsed`), the rest. */
  takeovers(): Takeovers;
  owns(partition: number): boolean;
  /** The partitions owned now, in order. */
  owned(): number[];
};

/** How long giving a partition up waits for its lane's batches in flight. */
const GIVE_UP_MS = 10_000;

export function createPartitionOwnership(deps: {
  readonly node: string;
  /** The mesh's partitions: a slot is replaced by a fresh partition on each take-over and give-up. */
  readonly partitions: Partition[];
  readonly build: (partition: number) => Partition;
  readonly router: Pick<PartitionRouter, 'take' | 'give'>;
  readonly ledger: LedgerWriter & Pick<LedgerReader, 'scan' | 'byCausation'> & Partial<PartitionSnapshots>;
  readonly active: ActivePolicy;
  readonly clock: Clock;
  readonly dispatch: Delivery['dispatch'];
  readonly counts: RunCounts;
  readonly log: Logger;
  /** On each take-over, once the partition is owned and rebuilt, before its lane starts. */
  readonly onTaken?: (partition: number) => void;
}): PartitionOwnership {
  const { partitions, router, ledger, log } = deps;
  const windows = () => stateWindows(deps.active.policy);
  const putSnapshot = ledger.putSnapshot?.bind(ledger);
  const keeper =
    putSnapshot === undefined
      ? undefined
      : createSnapshotKeeper({ ledger: { ...pick(ledger), putSnapshot }, windows, log });
  /** Owned now: the epoch each was taken with. */
  const owned = new Map<number, number>();
  /** The epoch of the last `partition.owned` this node wrote, per partition. */
  const recorded = new Map<number, number>();
  /** Wanted now (acquire called, release not since): an acquire that finds it gone stops. */
  const wanted = new Map<number, number>();
  /** One move at a time per partition: a give-up waits for the take-over it follows. */
  const moves = new Map<number, Promise<unknown>>();
  const serial = <T>(p: number, move: () => Promise<T>): Promise<T> => {
    const done = (moves.get(p) ?? Promise.resolve()).then(move, move);
    moves.set(
      p,
      done.catch(() => {}),
    );
    return done;
  };

  const fresh = (p: number): Partition => {
    partitions[p]!.holds.close();
    const built = deps.build(p);
    partitions[p] = built;
    return built;
  };

  const take = async (p: number, epoch: number): Promise<Recovered | undefined> => {
    if (wanted.get(p) !== epoch) return undefined;
    const partition = fresh(p);
    await ledger.adopt(p);
    const { policy } = deps.active;
    // Once per epoch: a take-over tried again after its entry was written does not write it twice.
    if (recorded.get(p) !== epoch) {
      await partition.admission.commit(
        [partitionOwnedRecord(deps.clock(), { node: deps.node, epoch }, policy, ledger.durability)],
        [],
      );
      recorded.set(p, epoch);
    }
    // After partition.owned is durable: it fences the former owner, so nothing lands behind the fold.
    // Resumed work starts only while the partition is still wanted: one given up meanwhile leaves it
    // to the next owner, which would start it too.
    const dispatch: Delivery['dispatch'] = (envelope, gated, consumers) => {
      if (wanted.get(p) === epoch) deps.dispatch(envelope, gated, consumers);
    };
    const recovered = await recoverPartition(ledger, partition, dispatch, { log, windows: windows() });
    deps.counts.recovered += recovered.resumed;
    // Given up while it was being rebuilt: its items stay for the next owner.
    if (wanted.get(p) !== epoch) return undefined;
    owned.set(p, epoch);
    deps.onTaken?.(p);
    keeper?.track(p);
    router.take(p);
    // Another writer moved the chain on (this lease lapsed unnoticed): stop deciding for it here.
    void ledger.fenced(p).then((err) => {
      if (owned.get(p) !== epoch || partitions[p] !== partition) return;
      log.warn({ err, partition: p }, 'fenced on a partition this node thought it owned; giving it up');
      void release(p);
    });
    return recovered;
  };

  /**
   * Hands the partition's lane back; waits for its batches in flight at most GIVE_UP_MS, so that a
   * lane that cannot settle (NATS cut: its acks cannot go) does not keep this node from taking the
   * partition again once it heals. What it still held is redelivered to the next owner.
   */
  const handBack = async (p: number): Promise<void> => {
    if (!(await within(GIVE_UP_MS, router.give(p))))
      log.warn({ partition: p }, 'the partition’s lane did not settle in time; moving on');
  };

  const release = (p: number, handOff = false): Promise<void> => {
    wanted.delete(p);
    const was = owned.get(p);
    owned.delete(p);
    keeper?.untrack(p);
    // Its hold timers stop now: a hold's timeout is the next owner's to release.
    if (was !== undefined) partitions[p]!.holds.close();
    return serial(p, async () => {
      if (was !== undefined) await handBack(p);
      if (was !== undefined && handOff) await keeper?.handOff(p);
      if (!wanted.has(p)) fresh(p);
    });
  };

  /** A take-over that failed (the ledger could not be read or written) is tried again while wanted. */
  const takeUntilDone = async (p: number, epoch: number): Promise<Recovered | undefined> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await take(p, epoch);
      } catch (err) {
        if (wanted.get(p) !== epoch) return undefined;
        log.error({ err, partition: p, attempt }, 'could not take the partition over; trying again in 1 s');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        if (wanted.get(p) !== epoch) return undefined;
      }
    }
  };

  const taken = { routine: 0, lapsed: 0 };
  return {
    acquire(p, epoch, how) {
      wanted.set(p, epoch);
      return serial(p, () => takeUntilDone(p, epoch)).then((took) => {
        if (took === undefined) return undefined;
        const lapsed = isLapsed(took, how?.handedOff);
        taken[lapsed ? 'lapsed' : 'routine']++;
        return { ...took, lapsed };
      });
    },
    takeovers: () => ({ ...taken }),
    release,
    stop: () => keeper?.stop(),
    owns: (p) => owned.has(p),
    owned: () => [...owned.keys()].sort((a, b) => a - b),
  };
}

/** A take-over done: its recovery, and whether it came from a lapsed lease (`isLapsed`). */
export type TakeOver = Recovered & { readonly lapsed: boolean };

/**
 * A take-over from a lease that lapsed (not released by its holder, as far as the broker
 * remembers) with work to rebuild (more than its own `partition.owned` after the newest snapshot):
 * its former owner died or was cut off. What an operator hears of at warn. Routine: a released
 * lease, one not known (its read failed), or nothing to rebuild (a lease never held before, or one
 * whose hand-off snapshot covered its head, however long ago it was released).
 */
export function isLapsed(took: Recovered, handedOff: boolean | undefined): boolean {
  return handedOff === false && took.folded > 1;
}

/** The reads a snapshot needs, bound to the ledger (its methods may use `this`). */
function pick(
  ledger: Pick<LedgerReader, 'scan' | 'byCausation'> &
    Partial<PartitionSnapshots> &
    Pick<LedgerWriter, 'heads'>,
) {
  return {
    scan: ledger.scan.bind(ledger),
    byCausation: ledger.byCausation.bind(ledger),
    heads: ledger.heads.bind(ledger),
    ...(ledger.snapshots === undefined ? {} : { snapshots: ledger.snapshots.bind(ledger) }),
    ...(ledger.snapshotBody === undefined ? {} : { snapshotBody: ledger.snapshotBody.bind(ledger) }),
  };
}
