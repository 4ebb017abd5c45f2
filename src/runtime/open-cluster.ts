import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { MeshwardenError } from '../envelope/index.js';
import { ledgerName, locationScheme, postgresLocationProblem } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { identityOf, identityParts } from './cluster-identity.js';
import { partitionsChanged, runtimeError } from './errors.js';
import { openJetStreamBus } from './jetstream-bus.js';
import { streamNameOf } from './jetstream-names.js';
import { streamInfoOf } from './jetstream-stream.js';
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
  /**
   * How many items the bus packs into one JetStream message at most: ITEMS_PER_MESSAGE, or 1 on a
   * stream made before packing (jetstream-stream.ts, WIRE).
   */
  readonly itemsPerMessage: number;
  /** What `createMesh` takes as `cluster`. */
  readonly router: Omit<RouterCluster, 'newId' | 'lookup'>;
  /**
   * Joins the partition leases for `mesh`: from then on the node takes its share of the partitions
   * over (`mesh.node`) and gives them up as the leases say.
   */
  join(mesh: Mesh): Promise<PartitionLeases>;
  /** Closes the bus's connection (after the mesh closed its bus). */
  close(): Promise<void>;
  /**
   * Closes for a node refused because its ledger is another mesh's: the mesh's stream, when this
   * link made it and it holds nothing, is deleted too, so the refusal leaves no trace on NATS.
   */
  abandon(): Promise<void>;
};

/**
 * The id of an item for the broker's dedupe: one this node made, so that only a resend of the same
 * item is dropped. A root's id given by its node before it travels; a handler's group's first id of
 * the warden's own. Not an id from outside: the broker would drop a second message that reuses it
 * (whole, with the warden's own emissions beside it) where the gate records it as a duplicate.
 */
function idOf(item: PartitionItem): string | undefined {
  if (item.kind === 'root') return item.assigned === true ? item.message.id : undefined;
  if (item.kind === 'emitted') return item.emitted.find((out) => out.external !== true)?.envelope.id;
  return undefined;
}

/** What a node packs into one JetStream message at most (jetstream-pack.ts). */
export const ITEMS_PER_MESSAGE = 64;

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A stream that records this ledger with another partition count: the mesh's count was changed in
 * the file, which is refused as in embedded mode, at the line of `partitions:`.
 */
function countChanged(err: unknown, policy: Policy, ledgerAt: string): MeshwardenError | undefined {
  if ((err as MeshwardenError).code !== 'MW_RUNTIME_CLUSTER_MISMATCH') return undefined;
  const recorded = identityParts(String((err as MeshwardenError).details?.recorded ?? ''));
  if (recorded?.ledger !== ledgerName(ledgerAt) || recorded.partitions === policy.partitions)
    return undefined;
  return partitionsChanged(policy, recorded.partitions, 'postgres');
}

/**
 * Why a cluster node cannot use this ledger location, if it cannot: it must be a PostgreSQL ledger
 * every node shares, and one that can be opened as written (a typo in its schema or `lanes`).
 * Checked before the node touches NATS, so a refused start leaves no stream behind naming it.
 */
export function sharedLedgerProblem(ledgerAt: string): MeshwardenError | undefined {
  if (!locationScheme(ledgerAt)?.startsWith('postgres')) {
    const what = 'a PostgreSQL ledger every node shares (--ledger postgres://…)';
    return runtimeError('MW_RUNTIME_NOT_CLUSTERED', { what });
  }
  return postgresLocationProblem(ledgerAt);
}

/**
 * Connects a node to the mesh's NATS: the JetStream bus (stream `MW_<mesh>`) and the replies on one
 * connection; the leases on a connection of their own, so a flood of items never delays a renewal
 * (both go to the same servers, so a cut cuts both). Rejects with `MW_RUNTIME_BUS_*` errors.
 */
export async function linkCluster(
  policy: Policy,
  opts: ClusterOptions,
  /** Where the shared ledger is: nodes of one mesh must name the same one. */
  ledgerAt: string,
  log: Logger,
): Promise<ClusterLink> {
  const mesh = policy.mesh;
  // Checked before anything subscribes: the id is a subject token (replies, the control channel).
  if (!NODE_ID.test(opts.node)) {
    const detail = `the node id "${opts.node}" must be 1 to 64 letters, digits, - or _`;
    throw runtimeError('MW_RUNTIME_LEASE_OPTIONS', { detail });
  }
  // This process's replies: a restarted node (same id) must not get its former process's.
  const incarnation = `${opts.node}.${randomUUID().slice(0, 8)}`;
  const nc: NatsConnection = await connectNats(
    opts.servers,
    `meshwarden ${mesh} ${opts.node}`,
    'MW_RUNTIME_BUS_CONNECT',
  );
  let bus: Awaited<ReturnType<typeof openJetStreamBus<PartitionItem>>>;
  const stream = streamNameOf(mesh);
  const jsm = await jetstreamManager(nc).catch(() => undefined);
  // Unknown (the broker not answering) counts as not made here: abandon() then keeps it.
  const madeHere = jsm !== undefined && (await streamInfoOf(jsm, stream).catch(() => true)) === undefined;
  try {
    bus = await openJetStreamBus<PartitionItem>({
      connection: nc,
      mesh,
      partitions: policy.partitions,
      idOf,
      // A handler's emissions to this node's own partitions (most of a case's hops: they keep their
      // subject) skip the broker: if the node dies first, recovery runs the handler again. Root
      // messages always travel: an effect's ingest is waited on by no one, and its effect's outcome
      // is recorded apart, so only the stream keeps it through a crash.
      local: (item) => item.kind === 'emitted',
      maxItemsPerMessage: ITEMS_PER_MESSAGE,
      // The first node records them; a node with another count or ledger is refused, not joined.
      identity: identityOf(policy.partitions, ledgerAt),
      onError: (err, failed) => {
        // A batch that did not become durable told its senders; the ledger logs why it failed.
        if ((err as MeshwardenError).code === 'MW_RUNTIME_BUS_NOT_DURABLE') return;
        log.error({ err, partition: failed.partition }, 'bus');
      },
    });
  } catch (err) {
    await nc.close().catch(() => {});
    throw countChanged(err, policy, ledgerAt) ?? err;
  }
  return {
    node: opts.node,
    connection: nc,
    itemsPerMessage: bus.itemsPerMessage,
    router: {
      bus,
      node: incarnation,
      replies: (settle) =>
        openNatsReplies({
          connection: nc,
          mesh,
          node: incarnation,
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
        onAcquire: (partition, epoch, { handedOff }) => {
          ownership.acquire(partition, epoch, { handedOff }).then(
            (took) => {
              if (took === undefined) return; // given up before it was taken
              const { lapsed, ...recovered } = took;
              const line = { partition, epoch, handOff: handedOff, ...recovered };
              // Its former owner died or was cut off: what an operator hears of.
              if (lapsed) log.warn(line, 'partition taken over without a hand-off');
              else log.info(line, 'partition taken over');
            },
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
        // A node that died or was cut off is the event an operator hears of first, at warn.
        onMemberGone: (peer, { lapsed }) =>
          lapsed
            ? log.warn({ peer, lapsed }, 'node gone: its membership lapsed (it died or was cut off)')
            : log.info({ peer, lapsed }, 'node left'),
        onError: (err) => log.warn({ err }, 'lease'),
        // A restart under the same id soon after a kill waits here, its port answering 503 meanwhile.
        onWaitingForMembership: (ms) =>
          log.warn(
            { ms }, // the node's log names it already
            "waiting for this node id's former membership to lapse (its last process died or was cut off less than a lease ago, or another process runs under this id)",
          ),
      });
    },
    async close() {
      await nc.close().catch(() => {});
    },
    async abandon() {
      if (madeHere && jsm !== undefined) {
        const info = await streamInfoOf(jsm, stream).catch(() => undefined);
        if (info?.state.messages === 0) await jsm.streams.delete(stream).catch(() => {});
      }
      await nc.close().catch(() => {});
    },
  };
}
