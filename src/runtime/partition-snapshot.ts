import type { Logger } from 'pino';
import { sha256 } from '../envelope/index.js';
import type { LedgerReader, PartitionSnapshots, SnapshotHead } from '../ledger/index.js';
import { createMemoryState, type StateStore } from '../state/index.js';
import { runtimeError } from './errors.js';
import { createPartitionFold, evictFold, type PartitionFold, settleElsewhere } from './recovery-fold.js';
import {
  DEFAULT_WINDOWS,
  decodeFold,
  encodeFold,
  SNAPSHOT_FORMAT,
  type StateWindows,
} from './snapshot-codec.js';

// Partition snapshots: what the fold of one partition's chain holds after entry `seq`, stored beside
// the chain (the ledger's snapshot port), so that a node taking the partition over folds only the
// entries after it. A cache, never the truth: one whose entry the chain no longer holds with that
// hash, whose body does not match its digest or does not decode, or that kept state for shorter
// windows than the policy asks, is ignored with a warning, and the chain is folded without it.

/** What a rebuild reads: the chain, and the snapshots beside it when the ledger keeps them. */
export type FoldSource = Pick<LedgerReader, 'scan' | 'byCausation'> &
  Partial<Pick<PartitionSnapshots, 'snapshots' | 'snapshotBody'>>;

export type FoldOptions = {
  /** Where an ignored snapshot is reported (a warning); without one, a process warning. */
  readonly log?: Logger;
  /** The state's echo and dedupe windows (`stateWindows(policy)`); default 24 h each. */
  readonly windows?: StateWindows;
  /** False: fold the whole chain, whatever snapshots there are. Default true. */
  readonly snapshots?: boolean;
  /** The empty store to fold into (a partition's own); default a fresh one kept for `windows`. */
  readonly state?: StateStore;
};

/** A fold of a partition's chain, and where it started: the snapshot's entry, or 0. */
export type LoadedFold = { readonly fold: PartitionFold; readonly from: number; readonly folded: number };

const warn = (log: Logger | undefined, head: SnapshotHead, reason: string) => {
  const err = runtimeError('MW_RUNTIME_SNAPSHOT', { partition: head.partition, seq: head.seq, reason });
  if (log !== undefined)
    log.warn({ err, partition: head.partition, seq: head.seq }, 'partition snapshot ignored');
  else process.emitWarning(err.message, { code: err.code });
};

/** Whether the chain holds entry `head.seq` with `head.hash` (one entry read). */
async function onChain(ledger: FoldSource, head: SnapshotHead): Promise<boolean> {
  for await (const entry of ledger.scan({ partition: head.partition, afterSeq: head.seq - 1 })) {
    return entry.seq === head.seq && entry.hash === head.hash;
  }
  return false;
}

/** The newest usable snapshot of the partition, decoded; each one passed over is warned about. */
async function latestSnapshot(
  ledger: FoldSource,
  partition: number,
  windows: StateWindows,
  state: StateStore,
  log: Logger | undefined,
): Promise<PartitionFold | undefined> {
  if (ledger.snapshots === undefined || ledger.snapshotBody === undefined) return undefined;
  for (const head of await ledger.snapshots(partition)) {
    if (head.format !== SNAPSHOT_FORMAT) {
      warn(log, head, `its format ${head.format} is not ${SNAPSHOT_FORMAT}`);
      continue;
    }
    if (!(await onChain(ledger, head))) {
      warn(log, head, `the chain does not hold entry ${head.seq} with hash ${head.hash}`);
      continue;
    }
    const body = await ledger.snapshotBody(partition, head.seq);
    if (body === undefined) continue;
    if (sha256(body) !== head.digest) {
      warn(log, head, 'its body does not match its digest');
      continue;
    }
    const fold = decodeFold(body, head, windows, state);
    if (typeof fold === 'string') {
      warn(log, head, fold);
      continue;
    }
    return fold;
  }
  return undefined;
}

/**
 * Folds partition `partition`'s chain: from its newest usable snapshot, the entries after it; else
 * all of it. The fold's state is fresh (kept for `windows`); pending work is not yet settled against
 * other partitions (`settleElsewhere`).
 */
export async function loadPartitionFold(
  ledger: FoldSource,
  partition: number,
  opts: FoldOptions = {},
): Promise<LoadedFold> {
  const windows = opts.windows ?? DEFAULT_WINDOWS;
  const state = opts.state ?? createMemoryState(windows);
  const snapshot =
    opts.snapshots === false ? undefined : await latestSnapshot(ledger, partition, windows, state, opts.log);
  const fold = snapshot ?? createPartitionFold(partition, state);
  const from = fold.last.seq;
  let folded = 0;
  for await (const entry of ledger.scan({ partition, afterSeq: from })) {
    fold.apply(entry);
    folded++;
  }
  return { fold, from, folded };
}

export type SnapshotWritten = {
  /** The entry the new snapshot covers up to. */
  readonly seq: number;
  readonly bytes: number;
  /** The snapshot it started from (0: the chain's start), and how many entries it folded since. */
  readonly from: number;
  readonly folded: number;
};

/**
 * Writes a snapshot of partition `partition` as of its chain's current head: folds the entries after
 * the newest usable snapshot (or the whole chain), settles pending work against other partitions,
 * drops what is back to neutral at the last entry's time, and stores it (the ledger keeps the newest
 * two). Resolves with undefined when the chain has nothing new since that snapshot (or is empty).
 *
 * Who calls it: the partition's owner, in the background, once its chain has grown by
 * `SNAPSHOT_EVERY` entries since the last snapshot, and once more when it hands the partition over
 * (after its last append is durable). Any node may call it: a snapshot is deterministic in the
 * chain, and a stale one is only ignored. It reads the ledger, never the live partition, so what it
 * stores is exactly what a rebuild would fold.
 */
export async function snapshotPartition(
  ledger: FoldSource & Pick<PartitionSnapshots, 'putSnapshot'>,
  partition: number,
  opts: FoldOptions & { readonly keep?: number } = {},
): Promise<SnapshotWritten | undefined> {
  const windows = opts.windows ?? DEFAULT_WINDOWS;
  const { state: _given, ...rest } = opts;
  const { fold, from, folded } = await loadPartitionFold(ledger, partition, { ...rest, windows });
  if (folded === 0) return undefined;
  await settleElsewhere(fold, ledger);
  evictFold(fold, fold.last.at);
  const body = encodeFold(fold, windows);
  const { seq, hash } = fold.last;
  const stored = await ledger.putSnapshot(
    { partition, seq, hash, format: SNAPSHOT_FORMAT, body },
    opts.keep === undefined ? {} : { keep: opts.keep },
  );
  return { seq, bytes: stored.bytes, from, folded };
}

/** Entries a partition's chain grows by between two background snapshots (see docs/distributed.md). */
export const SNAPSHOT_EVERY = 100_000;
