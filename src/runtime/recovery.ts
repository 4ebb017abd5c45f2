import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import type { LedgerEntry, LedgerReader } from '../ledger/index.js';
import { holdOpen, holdRelease, type StateDelta, type StateStore } from '../state/index.js';
import { runtimeError } from './errors.js';
import { workerName } from './failures.js';
import type { Partition } from './partitions.js';
import { ENTRY } from './records.js';

type Pending = { readonly envelope: Envelope; readonly gated: GatedKind; readonly waiting: Set<string> };
type DecisionData = {
  gated?: GatedKind;
  verdict?: Verdict;
  envelope?: Envelope;
  deltas?: StateDelta[];
  consumers?: string[];
  partner?: true;
};

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
  ledger: Pick<LedgerReader, 'scan' | 'byCausation'>,
  states: readonly StateStore[],
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void,
  armHolds: () => void,
  /** A failure entry whose failure-breaker deltas were just applied. */
  onFailure: (entry: LedgerEntry, deltas: readonly StateDelta[]) => void = () => {},
  /**
   * Reads this partition's chain only (a node taking one partition over). What proves a handler
   * ran may then sit in a partition not read: the work still pending is checked against its
   * consequences (`byCausation`), one read per unfinished message.
   */
  only?: number,
): Promise<number> {
  const pending = new Map<string, Pending>();
  const admitted = (id: string, envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => {
    const waiting = gated === 'effect' ? [`effect:${envelope.type}`] : consumers;
    if (waiting.length > 0) pending.set(id, { envelope, gated, waiting: new Set(waiting) });
  };
  // Who is done with what, applied once the scan is over: the scan goes partition by partition, and
  // a handler's emissions, which prove it ran, may sit in a partition read before its message's.
  const finished = new Map<string, Set<string>>();
  const done = (id: string, agent: string) => {
    const workers = finished.get(id);
    if (workers === undefined) finished.set(id, new Set([workerName(agent)]));
    else workers.add(workerName(agent));
  };

  for await (const entry of ledger.scan(only === undefined ? {} : { partition: only })) {
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
    if (entry.kind === ENTRY.pilotAction) {
      const { deltas } = entry.data as { deltas?: StateDelta[] };
      if (deltas !== undefined) state.apply(deltas);
      continue;
    }
    const id = entry.msgId;
    if (id === undefined) continue;
    if (entry.kind === ENTRY.decision) {
      const data = entry.data as DecisionData;
      const { deltas, verdict, envelope, gated, consumers } = data;
      if (deltas !== undefined) state.apply(deltas);
      // What a handler emitted proves the handler ran: the delivery to that agent is done.
      if (entry.causationId !== undefined && entry.agent !== undefined) done(entry.causationId, entry.agent);
      if (envelope === undefined || gated === undefined || verdict === undefined) continue;
      if (verdict.decision === 'deliver') admitted(id, envelope, gated, consumers ?? []);
      else if (verdict.decision === 'hold' && !opensHold(deltas))
        state.apply([holdOpen(envelope, gated, verdict, entry.at, data.partner === true)]);
    } else if (entry.kind === ENTRY.holdReleased) {
      const { outcome, consumers, deltas } = entry.data as {
        outcome?: string;
        consumers?: string[];
        deltas?: StateDelta[];
      };
      const hold = state.hold(id);
      // A ledger written before holds were state has no `hold-release` delta: the entry closes it.
      if (!deltas?.some((d) => d.kind === 'hold-release')) state.apply([holdRelease(id)]);
      if (deltas !== undefined) state.apply(deltas);
      if (hold !== undefined && outcome === 'deliver')
        admitted(id, hold.envelope, hold.gated, consumers ?? []);
    } else if (entry.kind === ENTRY.deliveryFailed || entry.kind === ENTRY.deadLetter) {
      // A failure counted by failure breakers carries their deltas (counts, and a breaker it opened).
      const { deltas } = entry.data as { deltas?: StateDelta[] };
      if (deltas !== undefined) {
        state.apply(deltas);
        onFailure(entry, deltas);
      }
      if (entry.kind === ENTRY.deadLetter && entry.agent !== undefined) done(id, entry.agent);
    } else if (entry.kind === ENTRY.delivered || entry.kind === ENTRY.effectExecuted) {
      // An executed effect's reply token (effect.executed) is state too.
      const { deltas } = entry.data as { deltas?: StateDelta[] };
      if (deltas !== undefined) state.apply(deltas);
      if (entry.agent !== undefined) done(id, entry.agent);
    }
  }
  if (only !== undefined) {
    for (const id of pending.keys()) {
      for (const entry of await ledger.byCausation(id)) {
        if (entry.kind === ENTRY.decision && entry.agent !== undefined) done(id, entry.agent);
      }
    }
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
  ledger: Pick<LedgerReader, 'scan' | 'byCausation'>,
  partitions: readonly Pick<Partition, 'state' | 'holds' | 'failures'>[],
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void,
): Promise<number> {
  return recoverFromLedger(
    ledger,
    partitions.map((p) => p.state),
    dispatch,
    () => {
      for (const p of partitions) p.holds.armAll();
    },
    (entry, deltas) => partitions[entry.partition]!.failures.remember(entry, deltas),
  );
}

/**
 * Whether a held decision carries its `hold-open` delta. A ledger written before holds were state
 * has none: recovery opens the hold from the decision itself, as that runtime did.
 */
function opensHold(deltas: readonly StateDelta[] | undefined): boolean {
  return deltas?.some((d) => d.kind === 'hold-open') === true;
}

/**
 * Rebuilds one partition from its own chain (a node that takes the partition over): its state, its
 * holds' timers, its failure breakers' memory, and the work it admitted and did not finish, which is
 * dispatched again. Returns how much work was resumed.
 */
export function recoverPartition(
  ledger: Pick<LedgerReader, 'scan' | 'byCausation'>,
  partition: Pick<Partition, 'index' | 'state' | 'holds' | 'failures'>,
  dispatch: (envelope: Envelope, gated: GatedKind, consumers: readonly string[]) => void,
): Promise<number> {
  const states: StateStore[] = [];
  states[partition.index] = partition.state;
  return recoverFromLedger(
    ledger,
    states,
    dispatch,
    () => partition.holds.armAll(),
    (entry, deltas) => partition.failures.remember(entry, deltas),
    partition.index,
  );
}
