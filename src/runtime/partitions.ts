import type { Logger } from 'pino';
import { errorText, type MeshwardenError, parseSource } from '../envelope/index.js';
import { partnerReach } from '../gate/index.js';
import type { LedgerReader, LedgerWriter } from '../ledger/index.js';
import { createMemoryState, type StateStore } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import { type Admission, createAdmission, type Rejection, type RootMessage } from './admission.js';
import type { Outgoing } from './agent-runner.js';
import type { BusHandler, BusReceipt } from './bus.js';
import type { Delivery } from './delivery.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import { createFailureBreakers, type FailureBreakers } from './failures.js';
import { isFrozen } from './freezes.js';
import { createHolds, type Holds } from './holds.js';
import type { IdClaims } from './id-claims.js';
import type { WorkTracker } from './work.js';

/**
 * One partition of a mesh: the subjects that hash to it (`partitionOf`), its state, its admission
 * (the only caller of the gate for them), its holds' timers and its failure breakers. Its records go
 * in its own hash chain. Embedded mode runs P of them in one process; distributed mode will run each
 * on the node that holds its lease, with the same parts.
 */
export type Partition = {
  readonly index: number;
  readonly state: StateStore;
  readonly admission: Admission;
  readonly holds: Holds;
  readonly failures: FailureBreakers;
};

/**
 * What travels on a partition's bus: a root message from an ingress, what one handler emitted for
 * this partition, or input refused before it became an envelope (bounded; partition 0 records it). `ticket` names the promise its sender waits on (in distributed mode, a reply
 * subject).
 */
export type PartitionItem =
  | {
      readonly kind: 'root';
      readonly ticket: number;
      readonly ingress: string;
      readonly message: RootMessage;
    }
  | { readonly kind: 'emitted'; readonly ticket: number; readonly emitted: readonly Outgoing[] }
  | { readonly kind: 'rejected'; readonly ticket: number; readonly rejection: Rejection };

/** Builds partition `index`, over a state of its own. */
export function createPartition(
  index: number,
  deps: {
    active: ActivePolicy;
    ledger: LedgerWriter & Pick<LedgerReader, 'byMessage'>;
    clock: Clock;
    factory: EnvelopeFactory;
    counts: RunCounts;
    work: WorkTracker;
    log: Logger;
    publish: (event: MeshEvent) => void;
    listening: () => boolean;
    dispatch: Delivery['dispatch'];
  },
): Partition {
  const { active, clock, log } = deps;
  const state = createMemoryState({
    echoWindowMs: active.policy.guards.loop.echoWindowMs,
    dedupeWindowMs: active.policy.guards.envelope.dedupeWindowMs,
  });
  const admission = createAdmission({
    ...deps,
    state,
    partition: index,
    armHold: (msgId) => holds.arm(msgId),
    reach: (hold) =>
      partnerReach(active.policy, hold.envelope, parseSource(hold.envelope.source)?.name ?? ''),
  });
  const holds = createHolds({
    active,
    state,
    clock,
    log,
    isFrozen: (subject, now) => isFrozen(active.policy, state, subject, now),
    release: admission.release,
  });
  const failures = createFailureBreakers({ active, state, commit: admission.commit, clock, log });
  return { index, state, admission, holds, failures };
}

/** The promises `inject` and `admitAll` return, kept by ticket until their partition handled them. */
export type Tickets = {
  issue<T>(): { readonly ticket: number; readonly promise: Promise<T> };
  /** Settles a ticket with the outcome of its item (a decision entry, a durable group). */
  settle(ticket: number, outcome: Promise<unknown>): void;
  /** Tickets issued and not yet settled: items on the bus that no partition handled yet. */
  open(): number;
};

export function createTickets(): Tickets {
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let next = 0;
  return {
    issue<T>() {
      const ticket = next++;
      const promise = new Promise<T>((resolve, reject) => {
        waiting.set(ticket, { resolve: resolve as (v: unknown) => void, reject });
      });
      return { ticket, promise };
    },
    settle(ticket, outcome) {
      const w = waiting.get(ticket);
      if (w === undefined) return;
      waiting.delete(ticket);
      outcome.then(w.resolve, w.reject);
    },
    open: () => waiting.size,
  };
}

/**
 * The bus handler of every partition. Per batch: the duplicate-id reads of the ids from outside it
 * names (its root messages' own, its remote agents' events'), all at once (the ledger reader is
 * asynchronous); then each item in bus order, synchronously, through the partition's admission
 * (gate → deltas → record → append → settle once durable). The batch is handled once appended, and
 * acked (its receipt) once its records are durable: the next batch is decided while this one
 * commits, and its duplicate-id reads still see this one (the reader reads its own writes).
 * Settling (delivery, hold timers) never holds up the next gate. `claims` is shared by every
 * partition's handler (id-claims.ts): an id judged here counts as taken for every partition until
 * every read can see its record, so two messages with one id on subjects of different partitions,
 * whose reads both came before either was appended, are not both admitted.
 */
export function partitionHandler(
  partitions: readonly Partition[],
  tickets: Tickets,
  claims: IdClaims,
): BusHandler<PartitionItem> {
  return (items, p) => {
    const { admission } = partitions[p]!;
    const ids = outsideIds(items);
    if (ids === undefined) return admitBatch(admission, items, undefined, tickets, claims);
    const used = claims.reading(ids);
    // Each read answers for its own candidate: one that fails fails that candidate alone.
    const reads = ids.map((id) => admission.idTaken(id).catch((cause: unknown) => idReadFailed(id, cause)));
    return Promise.all(reads).then((taken) => {
      try {
        return admitBatch(admission, items, taken, tickets, claims);
      } finally {
        used();
      }
    });
  };
}

/** A duplicate-id read that failed (the ledger could not be read): its candidate cannot be judged. */
function idReadFailed(id: string, cause: unknown): MeshwardenError {
  return runtimeError('MW_RUNTIME_ID_READ', { id, cause: errorText(cause) }, { cause });
}

/** The ids from outside a batch names, in item order, if any: what its duplicate-id reads look up. */
function outsideIds(items: readonly PartitionItem[]): string[] | undefined {
  let ids: string[] | undefined;
  for (const item of items) {
    if (item.kind === 'root') {
      if (item.message.id === undefined) continue;
      ids ??= [];
      ids.push(item.message.id);
    } else if (item.kind === 'emitted') {
      for (const out of item.emitted) {
        if (out.external !== true) continue;
        ids ??= [];
        ids.push(out.envelope.id);
      }
    }
  }
  return ids;
}

/**
 * Admits a batch in order; `taken` answers the ids `outsideIds` found, in order, when there are any.
 * An item whose read failed is not judged: its sender gets the read's error (a handler's emissions
 * to this partition are one atomic group, so one failed read among them fails the group).
 */
function admitBatch(
  admission: Admission,
  items: readonly PartitionItem[],
  taken: readonly (boolean | MeshwardenError)[] | undefined,
  tickets: Tickets,
  claims: IdClaims,
): BusReceipt {
  let read = 0;
  /** Whether the next id from outside names another message (in the ledger, or claimed), or why not known. */
  const isTaken = (id: string): boolean | MeshwardenError => {
    const answer = taken?.[read++];
    return typeof answer === 'object' ? answer : answer === true || claims.has(id);
  };
  const durables: Promise<unknown>[] = [];
  for (const item of items) {
    let durable: Promise<unknown>;
    try {
      if (item.kind === 'root') {
        const id = item.message.id;
        const idTaken = id === undefined ? false : isTaken(id);
        if (typeof idTaken === 'object') durable = Promise.reject(idTaken);
        else {
          durable = admission.ingest(item.ingress, item.message, idTaken).durable;
          if (id !== undefined && !idTaken) claims.claim(id, durable);
        }
      } else if (item.kind === 'emitted') {
        let refused: Set<Outgoing> | undefined;
        let failed: MeshwardenError | undefined;
        for (const out of item.emitted) {
          if (out.external !== true) continue;
          const idTaken = isTaken(out.envelope.id);
          if (typeof idTaken === 'object') failed ??= idTaken;
          else if (idTaken) {
            refused ??= new Set();
            refused.add(out);
          }
        }
        if (failed !== undefined) durable = Promise.reject(failed);
        else {
          durable = admission.admitAll(item.emitted, refused);
          for (const out of item.emitted) {
            if (out.external === true && refused?.has(out) !== true) claims.claim(out.envelope.id, durable);
          }
        }
      } else {
        durable = admission.reject(item.rejection);
      }
    } catch (err) {
      // A bug in judging one item must not leave its sender waiting, nor the rest of the batch.
      durable = Promise.reject(err);
    }
    tickets.settle(item.ticket, durable);
    durables.push(durable);
  }
  // Settles once every decision settled; rejects if one did not become durable, so that a bus that
  // can redeliver (JetStream) hands the batch back instead of acking it. The senders hear of it too.
  return { done: Promise.allSettled(durables).then(firstFailure) };
}

function firstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}
