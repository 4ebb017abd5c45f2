import type { Envelope, GatedKind } from '../envelope/index.js';
import { type LedgerEntry, type LedgerReader, type LedgerWriter, sizeOf } from '../ledger/index.js';
import type { StateDelta, StateStore } from '../state/index.js';
import { runtimeError } from './errors.js';
import { workerName } from './failures.js';
import { type FoldOptions, type FoldSource, loadPartitionFold } from './partition-snapshot.js';
import type { Partition } from './partitions.js';
import { foldEntry, settleElsewhere } from './recovery-fold.js';

type Pending = { readonly envelope: Envelope; readonly gated: GatedKind; readonly waiting: Set<string> };

/**
 * Told as a recovery reads the ledger: once before the first entry (`read` 0, `total` the entries
 * the ledger holds), then every `RECOVERY_PROGRESS_EVERY` entries. A million entries take seconds.
 */
export type RecoveryProgress = (progress: { readonly read: number; readonly total: number }) => void;

export const RECOVERY_PROGRESS_EVERY = 65_536;

/**
 * Reads the ledger once from the start: replays every entry's state deltas into the state of the
 * entry's partition (`states[entry.partition]`; so guards continue
 * where they stopped, and holds nobody released are open again), and finds admitted work that is
 * not finished. Who must still handle a message comes from its decision entry (the consumers at
 * admission), not from the policy now in force, so a new policy never re-delivers old traffic.
 * `armHolds` then gives the open holds their timers; the work is dispatched again (at-least-once,
 * the envelope id is the idempotency key). Returns how much work was resumed.
 */
export async function recoverFromLedger(
  ledger: Pick<LedgerReader, 'scan' | 'byCausation'> & Partial<Pick<LedgerWriter, 'heads'>>,
  states: readonly StateStore[],
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void,
  armHolds: () => void,
  /** A failure entry whose failure-breaker deltas were just applied. */
  onFailure: (entry: LedgerEntry, deltas: readonly StateDelta[]) => void = () => {},
  onProgress?: RecoveryProgress,
): Promise<number> {
  const pending = new Map<string, Pending>();
  // Who is done with what that was not pending when read, applied once the scan is over: the scan
  // goes partition by partition, and a handler's emissions, which prove it ran, may sit in a
  // partition read before its message's. With one partition, a message's admission is always read
  // before what proves it handled (write-ahead), so what is not pending is finished already.
  const finished = new Map<string, Set<string>>();
  const partitioned = states.length > 1;
  const hooks = {
    admitted(id: string, envelope: Envelope, gated: GatedKind, consumers: readonly string[]) {
      const waiting = gated === 'effect' ? [`effect:${envelope.type}`] : consumers;
      if (waiting.length > 0) pending.set(id, { envelope, gated, waiting: new Set(waiting) });
    },
    done(id: string, agent: string) {
      // Settled as read, so a million finished messages are not kept to the end of the scan.
      const p = pending.get(id);
      if (p !== undefined) {
        p.waiting.delete(workerName(agent));
        if (p.waiting.size === 0) pending.delete(id);
        return;
      }
      if (!partitioned) return;
      const workers = finished.get(id);
      if (workers === undefined) finished.set(id, new Set([workerName(agent)]));
      else workers.add(workerName(agent));
    },
    failure: onFailure,
  };

  // The total is what progress is measured against: a ledger without heads (a test's) has none to say.
  const total = ledger.heads === undefined ? 0 : sizeOf(ledger.heads());
  onProgress?.({ read: 0, total });
  let read = 0;
  for await (const entry of ledger.scan({})) {
    if (++read % RECOVERY_PROGRESS_EVERY === 0) onProgress?.({ read, total });
    // Open and reload refuse a partition count the ledger was not written with; a ledger whose
    // entries say otherwise all the same (one with no policy.loaded entry) is refused here.
    const state = states[entry.partition];
    if (state === undefined) {
      const partitions = states.length;
      throw runtimeError('MW_RUNTIME_PARTITIONS_CHANGED', {
        recorded: `${entry.partition + 1} or more`,
        partitions,
      });
    }
    foldEntry(entry, state, hooks);
  }
  for (const [id, workers] of finished) {
    const p = pending.get(id);
    if (p === undefined) continue;
    for (const worker of workers) p.waiting.delete(worker);
    if (p.waiting.size === 0) pending.delete(id);
  }
  armHolds();
  for (const p of pending.values()) dispatch(p.envelope, p.gated, [...p.waiting]);
  return pending.size;
}

/**
 * `recoverFromLedger` over a mesh's partitions (`Mesh.recover`): each entry's deltas go to its
 * partition's state, every partition's holds are armed, and a failure entry is remembered by the
 * failure breakers of the partition that recorded it.
 */
export function recoverPartitions(
  ledger: Pick<LedgerReader, 'scan' | 'byCausation'> & Pick<LedgerWriter, 'heads'>,
  partitions: readonly Pick<Partition, 'state' | 'holds' | 'failures'>[],
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void,
  onProgress?: RecoveryProgress,
): Promise<number> {
  return recoverFromLedger(
    ledger,
    partitions.map((p) => p.state),
    dispatch,
    () => {
      for (const p of partitions) p.holds.armAll();
    },
    (entry, deltas) => partitions[entry.partition]!.failures.remember(entry, deltas),
    onProgress,
  );
}

/**
 * Rebuilds one partition from its own chain (a node that takes the partition over): its state, its
 * holds' timers, its failure breakers' memory, and the work it admitted and did not finish, which is
 * dispatched again. When the ledger keeps snapshots (partition-snapshot.ts), it starts from the
 * newest usable one and folds only the entries after it; `opts` names the log an ignored snapshot
 * is reported to and the state's windows (`stateWindows(policy)`). `partition.state` must be empty.
 * Returns how much work was resumed, and how many entries were folded after the snapshot.
 */
export async function recoverPartition(
  ledger: FoldSource,
  partition: Pick<Partition, 'index' | 'state' | 'holds' | 'failures'>,
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void,
  opts: Omit<FoldOptions, 'state'> = {},
): Promise<Recovered> {
  const { fold, folded } = await loadPartitionFold(ledger, partition.index, {
    ...opts,
    state: partition.state,
  });
  await settleElsewhere(fold, ledger);
  for (const [key, failures] of fold.failures) {
    for (const f of failures) partition.failures.recall(key, f.msgId, f.at);
  }
  partition.holds.armAll();
  for (const p of fold.pending.values()) dispatch(p.envelope, p.gated, [...p.waiting]);
  return { resumed: fold.pending.size, folded };
}

/** A partition's recovery: the work it resumed, and the entries it folded after its snapshot. */
export type Recovered = { readonly resumed: number; readonly folded: number };
