import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { MeshwardenError } from '../envelope/index.js';
import type { Policy } from '../policy/index.js';
import { openJetStreamBus } from './jetstream-bus.js';
import type { Mesh } from './mesh.js';
import { connectNats } from './nats-connect.js';
import { joinPartitionLeases, type PartitionLeases } from './partition-leases.js';
import type { RouterCluster } from './partition-router.js';
import type { PartitionItem } from './partitions.js';
import { openNatsReplies } from './replies.js';

/** How a process joins a mesh's cluster (`up --cluster`, `run --cluster`). */
export type ClusterOptions = {
  /** NATS servers, e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string;
  /** This node's id, unique in the mesh: letters, digits, `-` and `_`. */
  readonly node: string;
  /** The partition lease time (default 5,000 ms; one value per mesh). */
  readonly leaseMs?: number;
};

/** A node's connections to the cluster: the bus and replies on one connection, leases on another. */
export type ClusterLink = {
  readonly node: string;
  /** The bus's connection, which replies and the control channel share. */
  readonly connection: NatsConnection;
  /** What `createMesh` takes as `cluster`. */
  readonly router: Omit<RouterCluster, 'newId' | 'lookup'>;
  /**
   * Joins the partition leases for `mesh`: from then on the node takes its share of the partitions
   * over (`mesh.node`) and gives them up as the leases say.
   */
  join(mesh: Mesh): Promise<PartitionLeases>;
  /** Closes the bus's connection (after the mesh closed its bus). */
  close(): Promise<void>;
};

/** The id of an item for the broker's dedupe: its message's (a root's is given before it travels). */
function idOf(item: PartitionItem): string | undefined {
  if (item.kind === 'root') return item.message.id;
  if (item.kind === 'emitted') return item.emitted[0]?.envelope.id;
  return undefined;
}

/**
 * Connects a node to the mesh's NATS: the JetStream bus (stream `MW_<mesh>`) and the replies on one
 * connection; the leases on a connection of their own, so a flood of items never delays a renewal
 * (both go to the same servers, so a cut cuts both). Rejects with `MW_RUNTIME_BUS_*` errors.
 */
export async function linkCluster(policy: Policy, opts: ClusterOptions, log: Logger): Promise<ClusterLink> {
  const mesh = policy.mesh;
  const nc: NatsConnection = await connectNats(
    opts.servers,
    `meshwarden ${mesh} ${opts.node}`,
    'MW_RUNTIME_BUS_CONNECT',
  );
  let bus: Awaited<ReturnType<typeof openJetStreamBus<PartitionItem>>>;
  try {
    bus = await openJetStreamBus<PartitionItem>({
      connection: nc,
      mesh,
      partitions: policy.partitions,
      idOf,
      onError: (err, failed) => {
        // A batch that did not become durable told its senders; the ledger logs why it failed.
        if ((err as MeshwardenError).code === 'MW_RUNTIME_BUS_NOT_DURABLE') return;
        log.error({ err, partition: failed.partition }, 'bus');
      },
    });
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
  return {
    node: opts.node,
    connection: nc,
    router: {
      bus,
      node: opts.node,
      replies: (settle) =>
        openNatsReplies({
          connection: nc,
          mesh,
          node: opts.node,
          settle,
          onError: (err) => log.warn({ err }, 'reply'),
        }),
    },
    join(meshRuntime) {
      const ownership = meshRuntime.node!;
      return joinPartitionLeases({
        servers: opts.servers,
        mesh,
        node: opts.node,
        partitions: policy.partitions,
        ...(opts.leaseMs === undefined ? {} : { leaseMs: opts.leaseMs }),
        onAcquire: (partition, epoch) => {
          ownership.acquire(partition, epoch).then(
            (resumed) => log.info({ partition, epoch, resumed }, 'partition taken over'),
            (err: unknown) => log.error({ err, partition }, 'partition take-over failed'),
          );
        },
        onLose: (partition, reason) => {
          log.info({ partition, reason }, 'partition given up');
          const handOff = reason === 'rebalance' || reason === 'closed';
          const released = ownership.release(partition, handOff);
          // A hand-off waits for the partition's items in flight; a lapsed lease stops at once.
          return handOff ? released : undefined;
        },
        onError: (err) => log.warn({ err }, 'lease'),
      });
    },
    async close() {
      await nc.close().catch(() => {});
    },
  };
}
