import type { Logger } from 'pino';
import { isMeshwardenError, partitionOf } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { RootMessage } from './admission.js';
import type { Outgoing } from './agent-runner.js';
import type { Bus } from './bus.js';
import { createIdClaims } from './id-claims.js';
import { createInProcessBus } from './in-process-bus.js';
import { watchLostReplies } from './lost-replies.js';
import { partitionHandler, type SettleItem } from './partition-handler.js';
import type { Partition, PartitionItem } from './partitions.js';
import { type RejectedInput, rejection } from './rejected.js';
import type { ReplyChannel } from './replies.js';
import { createTickets, type Tickets } from './tickets.js';

/**
 * How work reaches the partition that owns it: over the bus, to the partition of its subject, each
 * item with a ticket its sender waits on. Embedded mode runs the in-process bus and handles every
 * partition; distributed mode hands this a JetStream bus, and handles only the partitions this node
 * holds (`take`, `give`): the rest is published for their owners, whose outcome comes back as a reply.
 */
export type PartitionRouter = {
  /** The partition that owns a subject; input without a string subject goes to 0. */
  owner(subject: unknown): number;
  /** A root message: resolves with its decision entry once durable. */
  ingest(ingress: string, message: RootMessage): Promise<LedgerEntry>;
  /** One handler's emissions: one item (one atomic group) per partition they go to. */
  admitAll(emitted: readonly Outgoing[]): Promise<unknown>;
  /** Input that never became an envelope, bounded here, recorded by partition 0 in call order. */
  reject(input: RejectedInput): Promise<LedgerEntry>;
  /**
   * Starts handling a partition's items (distributed mode: this node took its lease, and its former
   * owner is fenced), what that owner held unacked included, at once.
   */
  take(partition: number): void;
  /** Stops handling a partition: resolves once the batches in flight were acked or handed back. */
  give(partition: number): Promise<void>;
  /** Resolves once every item published so far was handled; `open()` says whether more came meanwhile. */
  drain(): Promise<void>;
  /** Items published and not yet handled (their tickets are open). */
  open(): number;
  close(): Promise<void>;
};

/**
 * What distributed mode hands the router: the mesh's bus, where this process's replies come (`node`:
 * the node's id and an incarnation of this process, so that a restarted node, whose tickets count
 * from 0 again, never takes a reply meant for its former process), and its replies.
 */
export type RouterCluster = {
  readonly bus: Bus<PartitionItem>;
  readonly node: string;
  /** Opened over the tickets this router keeps (`settle`), by the shell that owns the connection. */
  readonly replies: (settle: Tickets['settle']) => ReplyChannel;
  /** A fresh message id: a root message gets one before it travels, so a redelivery is known. */
  readonly newId: () => string;
  /** The first entry the ledger holds for each message id: where lost replies' outcomes are found. */
  readonly lookup: (ids: readonly string[]) => Promise<ReadonlyMap<string, LedgerEntry>>;
};

export function createPartitionRouter(
  partitions: readonly Partition[],
  log: Logger,
  cluster?: RouterCluster,
): PartitionRouter {
  const count = partitions.length;
  const owner = (subject: unknown): number =>
    count === 1 || typeof subject !== 'string' ? 0 : partitionOf(subject, count);
  const tickets = createTickets();
  // A batch that did not become durable told each of its senders so through their tickets, and the
  // ledger's failure is logged where it closed the ledger: not said again here, once per batch.
  const bus: Bus<PartitionItem> =
    cluster?.bus ??
    createInProcessBus<PartitionItem>({
      onError: (err, failed) => {
        if (isMeshwardenError(err) && err.code === 'MW_RUNTIME_BUS_NOT_DURABLE') return;
        log.error({ err, partition: failed.partition }, 'partition handler failed');
      },
    });
  const node = cluster?.node;
  const replies = cluster?.replies(tickets.settle);
  const settle: SettleItem = (item, outcome) => {
    if (item.from === undefined || item.from === node) tickets.settle(item.ticket, outcome);
    else replies!.send(item.from, item.ticket, outcome, item.batchReply === true);
  };
  const handler = partitionHandler(partitions, settle, createIdClaims(), {
    redelivered: cluster !== undefined,
  });
  if (cluster === undefined) for (let p = 0; p < count; p++) bus.subscribe(p, handler);
  const lost = cluster === undefined ? undefined : watchLostReplies(tickets, cluster.lookup);

  /** Publishes an item to its partition; resolves as its ticket is settled there. */
  const send = <T>(partition: number, item: (ticket: number) => PartitionItem): Promise<T> => {
    const { ticket, promise } = tickets.issue<T>();
    const built = item(ticket);
    const refused = (err: unknown) => tickets.settle(ticket, Promise.reject(err));
    if (lost === undefined) {
      bus.publish(partition, built).catch(refused);
      return promise;
    }
    lost.watch(built, promise);
    bus.publish(partition, { ...built, from: node, batchReply: true }).then(
      // A resend the broker dropped (a handler run again after a restart): its first copy's reply
      // went to whoever sent that, so its outcome is looked up in the ledger now, not in 20 s.
      (published) => {
        if (published === 'duplicate') lost.lookUpNow(ticket);
      },
      refused,
    );
    return promise;
  };

  return {
    owner,
    ingest(ingress, message) {
      const p = owner(message.subject);
      if (cluster === undefined || message.id !== undefined)
        return send(p, (ticket) => ({ kind: 'root', ticket, ingress, message }));
      const assigned = { ...message, id: cluster.newId() };
      return send(p, (ticket) => ({ kind: 'root', ticket, ingress, message: assigned, assigned: true }));
    },
    admitAll(emitted) {
      if (count === 1) return send(0, (ticket) => ({ kind: 'emitted', ticket, emitted }));
      const byPartition = new Map<number, Outgoing[]>();
      for (const out of emitted) {
        const p = owner(out.envelope.subject);
        const group = byPartition.get(p);
        if (group === undefined) byPartition.set(p, [out]);
        else group.push(out);
      }
      return Promise.all(
        [...byPartition].map(([p, group]) =>
          send(p, (ticket) => ({ kind: 'emitted', ticket, emitted: group })),
        ),
      );
    },
    // Bounded before it travels: a hostile body must not grow the ledger, nor the bus.
    reject: (input) => send(0, (ticket) => ({ kind: 'rejected', ticket, rejection: rejection(input) })),
    take: (p) => bus.subscribe(p, handler, { takeOver: true }),
    give: (p) => bus.unsubscribe(p),
    drain: () => bus.drain(),
    open: () => tickets.open(),
    async close() {
      await bus.close();
      await replies?.close();
      lost?.stop();
    },
  };
}
