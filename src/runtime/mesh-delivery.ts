import type { Logger } from 'pino';
import type { StateDelta } from '../state/index.js';
import type { ActivePolicy } from './active.js';
import type { RootMessage } from './admission.js';
import { createDelivery, type Delivery, type RetryOptions } from './delivery.js';
import type { Clock, EnvelopeFactory } from './envelopes.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { PartitionRouter } from './partition-router.js';
import type { Partition } from './partitions.js';
import type { MeshTelemetry } from './telemetry.js';
import type { WorkTracker } from './work.js';

/**
 * Delivery (agents and effects) over a mesh's partitions: what handlers emit goes through the router;
 * a failure is counted, and a runner's record (delivered, executed, dead letter) committed, by the
 * partition that owns its subject; what an effect's reply ingests goes in through `inject`.
 */
export function deliveryOverPartitions(deps: {
  readonly active: ActivePolicy;
  readonly partitions: readonly Pick<Partition, 'failures' | 'admission'>[];
  readonly router: Pick<PartitionRouter, 'owner' | 'admitAll'>;
  /** The mesh's own door: refuses once the mesh closes. */
  readonly inject: (ingress: string, input: RootMessage) => Promise<unknown>;
  readonly log: Logger;
  readonly clock: Clock;
  readonly factory: EnvelopeFactory;
  readonly work: WorkTracker;
  readonly counts: RunCounts;
  readonly publish: (event: MeshEvent) => void;
  readonly listening: () => boolean;
  readonly retry: Partial<RetryOptions> | undefined;
  readonly telemetry?: MeshTelemetry;
}): Delivery {
  const { partitions, inject, log } = deps;
  const owner = deps.router.owner;
  const failed: Partition['failures']['record'] = (kind, msg, ...rest) =>
    partitions[owner(msg.subject)]!.failures.record(kind, msg, ...rest);
  return createDelivery({
    active: deps.active,
    failed,
    log,
    clock: deps.clock,
    factory: deps.factory,
    work: deps.work,
    counts: deps.counts,
    publish: deps.publish,
    listening: deps.listening,
    admitAll: deps.router.admitAll,
    record: (record) =>
      partitions[owner(record.subject)]!.admission.commit(
        [record],
        (record.data as { deltas?: StateDelta[] }).deltas ?? [],
      ),
    ingest: (ingress, message) => {
      inject(ingress, message).catch((err: unknown) =>
        log.warn({ err, ingress }, 'ingest after close dropped'),
      );
    },
    ...(deps.retry === undefined ? {} : { retry: deps.retry }),
    ...(deps.telemetry === undefined ? {} : { telemetry: deps.telemetry }),
  });
}
