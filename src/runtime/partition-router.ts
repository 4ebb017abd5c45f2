import type { Logger } from 'pino';
import { isMeshwardenError, partitionOf } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import type { RootMessage } from './admission.js';
import type { Outgoing } from './agent-runner.js';
import type { Bus } from './bus.js';
import { createIdClaims } from './id-claims.js';
import { createInProcessBus } from './in-process-bus.js';
import { createTickets, type Partition, type PartitionItem, partitionHandler } from './partitions.js';
import { type RejectedInput, rejection } from './rejected.js';

/**
 * How work reaches the partition that owns it: over the bus, to the partition of its subject, each
 * item with a ticket its sender waits on. Embedded mode runs the in-process bus; distributed mode
 * will hand this a NATS JetStream bus and subscribe only the partitions this node holds.
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
  /** Resolves once every item published so far was handled; `open()` says whether more came meanwhile. */
  drain(): Promise<void>;
  /** Items published and not yet handled (their tickets are open). */
  open(): number;
  close(): Promise<void>;
};

export function createPartitionRouter(partitions: readonly Partition[], log: Logger): PartitionRouter {
  const count = partitions.length;
  const owner = (subject: unknown): number =>
    count === 1 || typeof subject !== 'string' ? 0 : partitionOf(subject, count);
  const tickets = createTickets();
  // A batch that did not become durable told each of its senders so through their tickets, and the
  // ledger's failure is logged where it closed the ledger: not said again here, once per batch.
  const bus: Bus<PartitionItem> = createInProcessBus<PartitionItem>({
    onError: (err, failed) => {
      if (isMeshwardenError(err) && err.code === 'MW_RUNTIME_BUS_NOT_DURABLE') return;
      log.error({ err, partition: failed.partition }, 'partition handler failed');
    },
  });
  const handler = partitionHandler(partitions, tickets, createIdClaims());
  for (let p = 0; p < count; p++) bus.subscribe(p, handler);

  /** Publishes an item to its partition; resolves as its ticket is settled there. */
  const send = <T>(partition: number, item: (ticket: number) => PartitionItem): Promise<T> => {
    const { ticket, promise } = tickets.issue<T>();
    bus.publish(partition, item(ticket)).catch((err: unknown) => tickets.settle(ticket, Promise.reject(err)));
    return promise;
  };

  return {
    owner,
    ingest: (ingress, message) =>
      send(owner(message.subject), (ticket) => ({ kind: 'root', ticket, ingress, message })),
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
    drain: () => bus.drain(),
    open: () => tickets.open(),
    close: () => bus.close(),
  };
}
