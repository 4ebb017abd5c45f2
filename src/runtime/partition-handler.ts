import { errorText, type MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { Admission } from './admission.js';
import type { Outgoing } from './agent-runner.js';
import type { BusHandler, BusReceipt } from './bus.js';
import { runtimeError } from './errors.js';
import type { IdClaims } from './id-claims.js';
import type { Partition, PartitionItem } from './partitions.js';

/** Tells an item's sender its outcome: its ticket here, or a reply to the node that sent it. */
export type SettleItem = (item: PartitionItem, outcome: Promise<unknown>) => void;

export type PartitionHandlerOptions = {
  /**
   * Items may come again after their owner recorded them (distributed mode: JetStream redelivers
   * what was not acked when its owner died). Each handler's emissions are then looked up by their
   * first id of the warden's own: found, the group was recorded, and is not admitted twice.
   */
  readonly redelivered?: boolean;
};

/** What a batch's ledger reads answered, in read order: the message's first entry, or why unknown. */
type Answer = LedgerEntry | undefined | MeshwardenError;

/**
 * The bus handler of every partition. Per batch: the ledger reads of the ids it names (its root
 * messages' own, its remote agents' events', and with `redelivered` the first own id of each
 * handler's emissions), all at once (the ledger reader is asynchronous); then each item in bus order,
 * synchronously, through the partition's admission (gate → deltas → record → append → settle once
 * durable). The batch is handled once appended, and acked (its receipt) once its records are
 * durable: the next batch is decided while this one commits, and its reads still see this one (the
 * reader reads its own writes). Settling (delivery, hold timers) never holds up the next gate.
 * `claims` is shared by every partition's handler (id-claims.ts): an id judged here counts as taken
 * for every partition until every read can see its record, so two messages with one id on subjects
 * of different partitions, whose reads both came before either was appended, are not both admitted.
 */
export function partitionHandler(
  partitions: readonly Partition[],
  settle: SettleItem,
  claims: IdClaims,
  opts: PartitionHandlerOptions = {},
): BusHandler<PartitionItem> {
  const probing = opts.redelivered === true;
  return (items, p) => {
    const { admission } = partitions[p]!;
    const ids = idsToRead(items, probing);
    if (ids === undefined) return admitBatch(admission, items, undefined, { settle, claims, probing });
    const used = claims.reading(ids);
    // One read for the batch; if it fails, each candidate that needed it fails with it.
    const reads = admission.decisionsOf(ids).then(
      (found): Answer[] => ids.map((id) => found.get(id)),
      (cause: unknown): Answer[] => ids.map((id) => idReadFailed(id, cause)),
    );
    return reads.then((answers) => {
      try {
        return admitBatch(admission, items, answers, { settle, claims, probing });
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

/** The first emission whose id is the warden's own: what tells a group recorded already. */
function ownIdOf(emitted: readonly Outgoing[]): string | undefined {
  for (const out of emitted) if (out.external !== true) return out.envelope.id;
  return undefined;
}

/** The ids a batch's reads look up, in item order (for a group: its own id first), if any. */
function idsToRead(items: readonly PartitionItem[], probing: boolean): string[] | undefined {
  let ids: string[] | undefined;
  const read = (id: string) => {
    ids ??= [];
    ids.push(id);
  };
  for (const item of items) {
    if (item.kind === 'root') {
      if (item.message.id !== undefined) read(item.message.id);
    } else if (item.kind === 'emitted') {
      if (probing) {
        const own = ownIdOf(item.emitted);
        if (own !== undefined) read(own);
      }
      for (const out of item.emitted) if (out.external === true) read(out.envelope.id);
    }
  }
  return ids;
}

/**
 * Admits a batch in order; `answers` answers the ids `idsToRead` found, in order, when there are any.
 * An item whose read failed is not judged: its sender gets the read's error (a handler's emissions
 * to this partition are one atomic group, so one failed read among them fails the group). An item
 * recorded already (delivered again) is not judged again: its sender gets what was recorded.
 */
function admitBatch(
  admission: Admission,
  items: readonly PartitionItem[],
  answers: readonly Answer[] | undefined,
  ctx: { settle: SettleItem; claims: IdClaims; probing: boolean },
): BusReceipt {
  const { settle, claims } = ctx;
  let read = 0;
  const next = (): Answer => answers?.[read++];
  /** Whether an id from outside names another message (in the ledger, or claimed), or why not known. */
  const isTaken = (id: string, answer: Answer): boolean | MeshwardenError =>
    answer instanceof Error ? answer : answer !== undefined || claims.has(id);
  const durables: Promise<unknown>[] = [];
  for (const item of items) {
    let durable: Promise<unknown>;
    try {
      if (item.kind === 'root') durable = admitRoot(admission, item, next, isTaken, claims);
      else if (item.kind === 'emitted') durable = admitGroup(admission, item.emitted, next, isTaken, ctx);
      else durable = admission.reject(item.rejection);
    } catch (err) {
      // A bug in judging one item must not leave its sender waiting, nor the rest of the batch.
      durable = Promise.reject(err);
    }
    settle(item, durable);
    durables.push(durable);
  }
  // Settles once every decision settled; rejects if one did not become durable, so that a bus that
  // can redeliver (JetStream) hands the batch back instead of acking it. The senders hear of it too.
  return { done: Promise.allSettled(durables).then(firstFailure) };
}

type Next = () => Answer;
type IsTaken = (id: string, answer: Answer) => boolean | MeshwardenError;

function admitRoot(
  admission: Admission,
  item: Extract<PartitionItem, { kind: 'root' }>,
  next: Next,
  isTaken: IsTaken,
  claims: IdClaims,
): Promise<unknown> {
  const id = item.message.id;
  if (id === undefined) return admission.ingest(item.ingress, item.message, false).durable;
  const answer = next();
  // An id its sending node gave it, found in the ledger: this is the same item again, recorded.
  if (item.assigned === true && answer !== undefined && !(answer instanceof Error))
    return Promise.resolve(answer);
  const taken = isTaken(id, answer);
  if (typeof taken === 'object') return Promise.reject(taken);
  const durable = admission.ingest(item.ingress, item.message, taken, item.assigned === true).durable;
  if (!taken) claims.claim(id, durable);
  return durable;
}

function admitGroup(
  admission: Admission,
  emitted: readonly Outgoing[],
  next: Next,
  isTaken: IsTaken,
  ctx: { claims: IdClaims; probing: boolean },
): Promise<unknown> {
  let recorded = false;
  let failed: MeshwardenError | undefined;
  const own = ctx.probing ? ownIdOf(emitted) : undefined;
  if (own !== undefined) {
    const answer = next();
    if (answer instanceof Error) failed = answer;
    // Claimed: a copy of this group was judged in a batch whose record the read could not see yet.
    else recorded = answer !== undefined || ctx.claims.has(own);
  }
  let refused: Set<Outgoing> | undefined;
  for (const out of emitted) {
    if (out.external !== true) continue;
    const taken = isTaken(out.envelope.id, next());
    if (typeof taken === 'object') failed ??= taken;
    else if (taken) {
      refused ??= new Set();
      refused.add(out);
    }
  }
  if (failed !== undefined) return Promise.reject(failed);
  // The group is one atomic ledger write: one of its own ids recorded means all of it was.
  if (recorded) return Promise.resolve([]);
  const durable = admission.admitAll(emitted, refused);
  for (const out of emitted) {
    if (out.external === true && refused?.has(out) !== true) ctx.claims.claim(out.envelope.id, durable);
  }
  if (own !== undefined) ctx.claims.claim(own, durable);
  return durable;
}

function firstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}
