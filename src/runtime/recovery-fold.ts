import type { Envelope, GatedKind } from '../envelope/index.js';
import type { Verdict } from '../gate/index.js';
import type { LedgerEntry, LedgerReader } from '../ledger/index.js';
import {
  holdOpen,
  holdRelease,
  parseBreakerCountKey,
  type StateDelta,
  type StateStore,
  windowIsNeutral,
} from '../state/index.js';
import { workerName } from './failures.js';
import { ENTRY } from './records.js';

// What recovery folds a chain into, one entry at a time: the state deltas, the work admitted and not
// finished, the failures failure breakers remember. `foldEntry` is the one reading of an entry;
// recovery.ts folds a whole ledger with it, `createPartitionFold` one partition's chain (what a
// snapshot keeps, partition-snapshot.ts).

type DecisionData = {
  gated?: GatedKind;
  verdict?: Verdict;
  envelope?: Envelope;
  deltas?: StateDelta[];
  consumers?: string[];
  partner?: true;
};

/** What an entry tells besides its state deltas, which `foldEntry` applies itself. */
export type FoldHooks = {
  /** A message or effect admitted (or released from a hold) for `consumers`. */
  admitted(id: string, envelope: Envelope, gated: GatedKind, consumers: readonly string[]): void;
  /** `agent` is done with message `id` (it emitted, dead-lettered, was delivered or executed). */
  done(id: string, agent: string): void;
  /** A failure entry whose failure-breaker deltas were just applied. */
  failure(entry: LedgerEntry, deltas: readonly StateDelta[]): void;
};

/** Folds one entry: its deltas into `state`, the rest to `hooks`. */
export function foldEntry(entry: LedgerEntry, state: StateStore, hooks: FoldHooks): void {
  if (entry.kind === ENTRY.pilotAction) {
    const { deltas } = entry.data as { deltas?: StateDelta[] };
    if (deltas !== undefined) state.apply(deltas);
    return;
  }
  const id = entry.msgId;
  if (id === undefined) return;
  if (entry.kind === ENTRY.decision) {
    const data = entry.data as DecisionData;
    const { deltas, verdict, envelope, gated, consumers } = data;
    if (deltas !== undefined) state.apply(deltas);
    // What a handler emitted proves the handler ran: the delivery to that agent is done.
    if (entry.causationId !== undefined && entry.agent !== undefined)
      hooks.done(entry.causationId, entry.agent);
    if (envelope === undefined || gated === undefined || verdict === undefined) return;
    if (verdict.decision === 'deliver') hooks.admitted(id, envelope, gated, consumers ?? []);
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
      hooks.admitted(id, hold.envelope, hold.gated, consumers ?? []);
  } else if (entry.kind === ENTRY.deliveryFailed || entry.kind === ENTRY.deadLetter) {
    // A failure counted by failure breakers carries their deltas (counts, and a breaker it opened).
    const { deltas } = entry.data as { deltas?: StateDelta[] };
    if (deltas !== undefined) {
      state.apply(deltas);
      hooks.failure(entry, deltas);
    }
    if (entry.kind === ENTRY.deadLetter && entry.agent !== undefined) hooks.done(id, entry.agent);
  } else if (entry.kind === ENTRY.delivered || entry.kind === ENTRY.effectExecuted) {
    // An executed effect's reply token (effect.executed) is state too.
    const { deltas } = entry.data as { deltas?: StateDelta[] };
    if (deltas !== undefined) state.apply(deltas);
    if (entry.agent !== undefined) hooks.done(id, entry.agent);
  }
}

/**
 * Whether a held decision carries its `hold-open` delta. A ledger written before holds were state
 * has none: recovery opens the hold from the decision itself, as that runtime did.
 */
function opensHold(deltas: readonly StateDelta[] | undefined): boolean {
  return deltas?.some((d) => d.kind === 'hold-open') === true;
}

/** Admitted work not finished yet: who must still handle it (agent names, or `effect:<type>`). */
export type PendingWork = {
  readonly envelope: Envelope;
  readonly gated: GatedKind;
  readonly waiting: Set<string>;
};

/** A failure a failure breaker remembers, to name it when the breaker opens. */
export type RememberedFailure = { readonly msgId: string; readonly at: number };

/**
 * Failures remembered per breaker count key, whatever the policy: as many as any breaker names (its
 * `over` plus one, at most 100; failures.ts trims to the rule in force when they are recalled).
 */
export const REMEMBERED_PER_KEY = 100;

/** One partition's chain folded up to entry `seq`: all that recovery rebuilds for the partition. */
export type PartitionFold = {
  readonly partition: number;
  readonly state: StateStore;
  /** Work admitted in this partition and not finished as far as the entries folded tell, in admission order. */
  readonly pending: Map<string, PendingWork>;
  /** Failure breakers' memory, per breaker count key, oldest first. */
  readonly failures: Map<string, RememberedFailure[]>;
  /** The last entry folded (0 and '' before any): its seq, hash and time. */
  readonly last: { seq: number; hash: string; at: number };
  /** Folds the next entry of the partition's chain. */
  apply(entry: LedgerEntry): void;
};

/**
 * A fold of one partition's chain into `state`, as a node taking the partition over rebuilds it.
 * Unlike a fold of the whole ledger, a finished message is settled at once: its own chain records
 * its admission before anything that proves it was handled (write-ahead), and what proves it in
 * another partition is asked for at the end (`settleElsewhere`). So the fold is a value at every
 * entry, which a snapshot keeps.
 */
export function createPartitionFold(partition: number, state: StateStore): PartitionFold {
  const pending = new Map<string, PendingWork>();
  const failures = new Map<string, RememberedFailure[]>();
  const last = { seq: 0, hash: '', at: 0 };
  const hooks: FoldHooks = {
    admitted(id, envelope, gated, consumers) {
      const waiting = gated === 'effect' ? [`effect:${envelope.type}`] : consumers;
      // Re-admitted under the same id: the new admission is what is waited on (pending.set replaces
      // the value, not the place, so delete first to keep admission order).
      pending.delete(id);
      if (waiting.length > 0) pending.set(id, { envelope, gated, waiting: new Set(waiting) });
    },
    done(id, agent) {
      const p = pending.get(id);
      if (p === undefined) return;
      p.waiting.delete(workerName(agent));
      if (p.waiting.size === 0) pending.delete(id);
    },
    failure(entry, deltas) {
      if (entry.msgId === undefined) return;
      for (const d of deltas) {
        if (d.kind !== 'window' || parseBreakerCountKey(d.key) === undefined) continue;
        const list = failures.get(d.key) ?? [];
        list.push({ msgId: entry.msgId, at: entry.at });
        if (list.length > REMEMBERED_PER_KEY) list.shift();
        failures.set(d.key, list);
      }
    },
  };
  return {
    partition,
    state,
    pending,
    failures,
    last,
    apply(entry) {
      foldEntry(entry, state, hooks);
      last.seq = entry.seq;
      last.hash = entry.hash;
      last.at = entry.at;
    },
  };
}

/**
 * Settles pending work whose handlers' emissions went to other partitions (one `byCausation` read
 * per pending message): what a partition's own chain cannot tell.
 */
export async function settleElsewhere(
  fold: PartitionFold,
  ledger: Pick<LedgerReader, 'byCausation'>,
): Promise<void> {
  for (const [id, p] of [...fold.pending]) {
    for (const entry of await ledger.byCausation(id)) {
      if (entry.kind === ENTRY.decision && entry.agent !== undefined)
        p.waiting.delete(workerName(entry.agent));
    }
    if (p.waiting.size === 0) fold.pending.delete(id);
  }
}

/**
 * Drops what is back to neutral at `now` (state.evict, and the remembered failures of counts back
 * to zero, as failures.ts forgets them): a snapshot keeps live state, not history.
 */
export function evictFold(fold: PartitionFold, now: number): void {
  fold.state.evict(now);
  for (const key of [...fold.failures.keys()]) {
    if (windowIsNeutral(fold.state.window(key), now)) fold.failures.delete(key);
  }
}
