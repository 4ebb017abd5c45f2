// Shared by the partition lease tests: an event log of who owned what when. (The TCP proxy that cuts
// a node off is in tcp-cut-test-kit.ts.)
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach } from 'vitest';
import { leaseBucketOf } from './lease-names.js';
import type { LeaseLossReason, PartitionLeaseOptions } from './partition-leases.js';

export const NATS = 'nats://127.0.0.1:4222';

/** Short leases keep the tests quick: 3 s leases, renewed every 250 ms, given up 1 s early. */
export const SHORT_LEASES = { leaseMs: 3_000, tickMs: 250, marginMs: 1_000 };

/** A maker of fresh mesh names whose lease buckets are dropped after each test. */
export function meshesDroppedAfterEach(): () => string {
  const meshes: string[] = [];
  afterEach(async () => {
    for (const mesh of meshes.splice(0)) await dropLeaseBucket(mesh);
  });
  return () => {
    const mesh = uniqueMesh();
    meshes.push(mesh);
    return mesh;
  };
}

export function uniqueMesh(): string {
  return `lease-${randomUUID().slice(0, 8)}`;
}

/** Deletes the mesh's lease bucket. */
export async function dropLeaseBucket(mesh: string): Promise<void> {
  const nc = await connect({ servers: NATS });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`KV_${leaseBucketOf(mesh)}`).catch(() => {});
  } finally {
    await nc.close();
  }
}

export type LeaseEvent = {
  /** `Date.now()` where it happened: the one clock every process on this machine shares. */
  readonly at: number;
  readonly node: string;
  readonly kind: 'acquire' | 'lose';
  readonly partition: number;
  readonly epoch?: number;
  /** An acquire's: its former holder had released it. */
  readonly handedOff?: boolean;
  /** `killed`: the last moment a SIGKILLed node could still decide, as it last reported. */
  readonly reason?: LeaseLossReason | 'killed';
};

/**
 * Records every acquire and loss of every node, this process's and (through `record`) a child's
 * sent over IPC, in each node's own order.
 */
export function createLeaseLog() {
  const events: LeaseEvent[] = [];
  return {
    events,
    record(event: LeaseEvent): void {
      events.push(event);
    },
    callbacks(node: string, loseDelayMs = 0): Pick<PartitionLeaseOptions, 'onAcquire' | 'onLose'> {
      return {
        onAcquire: (partition, epoch, { handedOff }) =>
          events.push({ at: Date.now(), node, kind: 'acquire', partition, epoch, handedOff }),
        onLose: async (partition, reason) => {
          // A hand-off drains first; the loss counts from when the node stopped, i.e. after.
          if (loseDelayMs > 0 && (reason === 'rebalance' || reason === 'closed')) await sleep(loseDelayMs);
          events.push({ at: Date.now(), node, kind: 'lose', partition, reason });
        },
      };
    },
    /** Who owns each partition after replaying the log. */
    owners(): Map<number, string> {
      return replay(events).owners;
    },
    /** Every moment a partition had two owners, by replaying the log in order (none expected). */
    overlaps(): string[] {
      return replay(events).overlaps;
    },
  };
}

function replay(events: readonly LeaseEvent[]) {
  const owners = new Map<number, string>();
  const overlaps: string[] = [];
  const lastEpoch = new Map<number, number>();
  // A stable sort: events of one node at the same ms keep that node's order.
  for (const event of [...events].sort((a, b) => a.at - b.at)) {
    if (event.kind === 'lose') {
      if (owners.get(event.partition) === event.node) owners.delete(event.partition);
      continue;
    }
    const owner = owners.get(event.partition);
    if (owner !== undefined) overlaps.push(`p${event.partition}: ${event.node} took it from live ${owner}`);
    if ((event.epoch ?? 0) <= (lastEpoch.get(event.partition) ?? 0))
      overlaps.push(`p${event.partition}: epoch not raised`);
    lastEpoch.set(event.partition, event.epoch ?? 0);
    owners.set(event.partition, event.node);
  }
  return { owners, overlaps };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
