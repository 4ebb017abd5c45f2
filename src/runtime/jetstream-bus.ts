import { AsyncLocalStorage } from 'node:async_hooks';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorText, isMeshwardenError } from '../envelope/index.js';
import type { Bus, BusHandler, BusOptions, BusValue, Published } from './bus.js';
import { runtimeError } from './errors.js';
import { bindLane, keepWorking, unsubscribeLane } from './jetstream-consumers.js';
import { createDrainWatch } from './jetstream-drain.js';
import { createHandoverQueue, type HandoverHold } from './jetstream-handover.js';
import { createJetStreamLane, type JetStreamLane } from './jetstream-lane.js';
import { partitionSubject, streamNameOf } from './jetstream-names.js';
import { createPublishPacker, type PackedMessage } from './jetstream-pack.js';
import { ackFloorOf, ensureStream } from './jetstream-stream.js';
import { connectNats, halfMaxPayload, maxPayload } from './nats-connect.js';

export type JetStreamBusOptions<T> = BusOptions<T> & {
  /** NATS servers, e.g. `nats://127.0.0.1:4222`; ignored when `connection` is given. */
  readonly servers?: string | readonly string[];
  /**
   * A connection to use instead of opening one. The bus does not close it; if it closes, the bus
   * ends as after a lost connection.
   */
  readonly connection?: NatsConnection;
  /** The mesh: its stream is `MW_<mesh>`, its subjects `mw.<mesh>.p.<partition>`. */
  readonly mesh: string;
  /** The mesh's partition count (fixed for its life): partitions are 0 to partitions - 1. */
  readonly partitions: number;
  /** An item's id (the envelope id), sent as `Nats-Msg-Id`: the broker drops a resend of it. */
  readonly idOf?: (item: T) => string | undefined;
  /**
   * Which items may skip the broker (default: none, every item travels). Such an item, for a
   * partition this bus consumes, goes straight to its lane once everything this bus published there
   * through the stream has arrived (so order holds): no publish, delivery or ack. It is held in this
   * process only, as embedded mode holds everything: if it is not durable, or the partition is given
   * up first, it is published to the stream then; if the process dies first, it is lost, so name
   * only items something else makes again (cluster nodes name a handler's emissions, which recovery
   * runs again). The broker's duplicate check does not see it (the partition handler's does).
   */
  readonly local?: (item: T) => boolean;
  /**
   * The most items one message holds (default 1: a message each). More packs what is published to a
   * partition in one turn of the event loop into one message (jetstream-pack.ts), on a stream that
   * allows it: one this bus made (recorded as `wire 2`, which older nodes refuse), or that records it.
   */
  readonly maxItemsPerMessage?: number;
  /** The most items one handler call gets (default 1024). */
  readonly maxBatch?: number;
  /**
   * Messages delivered and not yet acked, per partition, at most: bounds what a lane holds. Default
   * 8192, one item each; on a stream whose messages may be packed (wire 2), 1024, of up to 64 items.
   */
  readonly maxAckPending?: number;
  /** How long the broker waits for an ack before redelivering (default 30 s); `+WPI` extends it. */
  readonly ackWaitMs?: number;
  /** How long a batch whose receipt rejected (not durable) waits to be redelivered (default 1 s). */
  readonly redeliverDelayMs?: number;
  /** How long the broker remembers an id to drop a resend (default 2 min, as NATS). */
  readonly duplicateWindowMs?: number;
  /** How often drain asks the broker about partitions handled elsewhere (default 50 ms). */
  readonly drainPollMs?: number;
  /**
   * What every bus of the mesh must agree on (a cluster node's partition count and ledger), kept as
   * the stream's description by the first: a bus whose identity differs is refused
   * (`MW_RUNTIME_CLUSTER_MISMATCH`), rather than join a mesh it would split.
   */
  readonly identity?: string;
};

/** The JetStream bus, and how many items it packs into a message at most on its stream (1: none). */
export type JetStreamBus<T extends BusValue> = Bus<T> & { readonly itemsPerMessage: number };

/**
 * The bus of distributed mode, on NATS JetStream: one work-queue stream per mesh, a durable pull
 * consumer per subscribed partition, explicit acks once a batch is handled (or its receipt settled),
 * at least once. docs/distributed.md ("Transport") gives the reasons. Rejects with
 * `MW_RUNTIME_BUS_CONNECT` or `MW_RUNTIME_BUS_STREAM` when NATS or the stream cannot be reached.
 */
export async function openJetStreamBus<T extends BusValue>(
  opts: JetStreamBusOptions<T>,
): Promise<JetStreamBus<T>> {
  if (opts.mesh === '') throw runtimeError('MW_RUNTIME_BUS_OPTIONS', { detail: 'the mesh name is empty' });
  const ownConnection = opts.connection === undefined;
  const nc =
    opts.connection ?? (await connectNats(opts.servers, `meshwarden ${opts.mesh}`, 'MW_RUNTIME_BUS_CONNECT'));
  const stream = streamNameOf(opts.mesh);
  try {
    const jsm = await jetstreamManager(nc);
    const packs = itemsPerMessage(opts) > 1;
    const wire = await ensureStream(jsm, opts, packs);
    return createJetStreamBus(opts, { nc, jsm, js: jetstream(nc), stream, ownConnection, wire });
  } catch (cause) {
    if (ownConnection) await nc.close().catch(() => {});
    if (isMeshwardenError(cause)) throw cause;
    throw runtimeError('MW_RUNTIME_BUS_STREAM', { stream, cause: errorText(cause) }, { cause });
  }
}

type Parts = {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly ownConnection: boolean;
  /** What the stream's consumers read (jetstream-stream.ts, WIRE): 1, so this bus packs nothing. */
  readonly wire: number;
};

/** The most items a message of this bus may hold, as asked (the stream's wire may allow only 1). */
const itemsPerMessage = (opts: { readonly maxItemsPerMessage?: number; readonly maxBatch?: number }) =>
  Math.max(1, Math.min(opts.maxBatch ?? 1024, Math.floor(opts.maxItemsPerMessage ?? 1)));

function createJetStreamBus<T extends BusValue>(opts: JetStreamBusOptions<T>, parts: Parts): JetStreamBus<T> {
  const { nc, jsm, js, stream } = parts;
  const maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? 1024));
  const packing = parts.wire >= 2 ? itemsPerMessage(opts) : 1;
  // In messages, from the stream's wire (not this bus's packing), so every node of a mesh asks the
  // broker for the same consumer: a message of a wire-2 stream may hold up to 64 items.
  const maxAckPending = Math.max(maxBatch, opts.maxAckPending ?? (parts.wire >= 2 ? 1024 : 8192));
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const lanes = new Map<number, JetStreamLane<T>>();
  // Unsubscribed, with batches still in flight: out of `lanes` (a new subscriber binds afresh), still
  // watched by drain and stopped with the bus.
  const retiring = new Set<JetStreamLane<T>>();
  const handling = new AsyncLocalStorage<true>();
  const watch = createDrainWatch(lanes, retiring, {
    pollMs: opts.drainPollMs ?? 50,
    ackFloor: (partition) => ackFloorOf(jsm, stream, partition),
  });
  let closing: Promise<void> | undefined;
  let shut = false;
  let ended: Error | undefined;
  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  const report = reporter(opts.onError);

  const working = keepWorking(lanes, ackWaitMs);
  const stopAll = () => {
    clearInterval(working);
    for (const lane of [...lanes.values(), ...retiring]) lane.stop();
  };

  // The connection closed without close(): the bus ends; what it held is redelivered after ack wait.
  void nc.closed().then((cause) => {
    if (shut) return;
    shut = true;
    ended = connectionLost(cause);
    stopAll();
    watch.fail(ended);
    resolveClosed(ended);
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Follow-ups published while it drains keep it open; one may come as the last batch is acked.
      while (ended === undefined && !shut) {
        await watch.until(false).catch(() => {});
        if (watch.quiet()) break;
      }
      if (!shut) {
        shut = true;
        stopAll();
        await Promise.all([...lanes.values()].map((lane) => lane.messages?.close().catch(() => {})));
        if (parts.ownConnection) await nc.drain().catch(() => {});
        resolveClosed();
      }
    })();
    return closing;
  };

  /**
   * Publishes one message (`publishing` counted its items already); resolves once the stream stored
   * it, with `'duplicate'` when the stream had it already (a resend within the duplicate window).
   */
  const sendMessage = (partition: number, message: PackedMessage) =>
    js
      .publish(partitionSubject(opts.mesh, partition), message.data, {
        ...(message.id === undefined ? {} : { msgID: message.id }),
        ...(message.headers === undefined ? {} : { headers: message.headers }),
      })
      .then(
        (ack): Published => {
          watch.accepted(partition, ack.seq, message.count);
          return ack.duplicate ? 'duplicate' : undefined;
        },
        (cause: unknown) => {
          watch.publishing(partition, -message.count);
          throw runtimeError('MW_RUNTIME_BUS_PUBLISH', { partition, cause: errorText(cause) }, { cause });
        },
      );
  const maxBytes = Math.min(MAX_PACKED_BYTES, halfMaxPayload(nc));
  const packer = createPublishPacker({ maxItems: packing, maxBytes, send: sendMessage });
  /** Publishes an item to the stream (packed with others of its partition); resolves with the stream's ack. */
  const toStream = (partition: number, item: T): Promise<Published> => {
    const encoded = encode(partition, item, opts.idOf);
    if (encoded instanceof Error) return Promise.reject(encoded);
    watch.publishing(partition, +1);
    return packer.add(partition, encoded.data, encoded.id);
  };
  const handover = createHandoverQueue<T>({
    encode: (partition, item) => encode(partition, item, opts.idOf),
    send: (partition, message) => {
      watch.publishing(partition, +message.count);
      return sendMessage(partition, message);
    },
    maxItems: packing,
    maxBytes,
    maxPayload: () => maxPayload(nc),
    report,
    isShut: () => shut,
    republishing: watch.republishing,
  });

  /** Lanes given up with items in process: what is published for their partition waits for them. */
  const holds = new Map<JetStreamLane<T>, HandoverHold>();
  /** A lane given up is done: what it had in process goes to the stream first, then what waited. */
  const handedOver = (lane: JetStreamLane<T>, items: readonly T[]) => {
    const hold = holds.get(lane);
    holds.delete(lane);
    if (hold !== undefined) handover.release(lane.partition, hold, items);
    else handover.republish(lane.partition)(items);
  };

  /**
   * Takes an item in process (`local`) when it can, behind this bus's own items for the partition:
   * behind what waits for the stream (a hand-off, or what a lane could not finish); else in its live
   * lane, once everything this bus published there through the stream has arrived. False: publish it.
   */
  const takeInProcess = (partition: number, item: T): boolean => {
    if (handover.waiting(partition)) {
      handover.republish(partition)([item]);
      return true;
    }
    const lane = lanes.get(partition);
    if (lane?.state !== 'live' || !watch.caughtUp(partition, lane)) return false;
    lane.arriveLocal(item);
    return true;
  };

  const bus: JetStreamBus<T> = {
    itemsPerMessage: packing,
    publish(partition, item) {
      if (shut || (closing !== undefined && handling.getStore() !== true))
        return Promise.reject(runtimeError('MW_RUNTIME_BUS_CLOSED'));
      const bad = partitionError(partition, opts.partitions);
      if (bad !== undefined) return Promise.reject(bad);
      if (opts.local?.(item) === true && takeInProcess(partition, item)) return Promise.resolve(undefined);
      // Behind what waits for the stream (a hand-off's items in process), in publish order.
      return handover.queueBehind(partition, item) ?? toStream(partition, item);
    },
    subscribe(partition, handler: BusHandler<T>, subscribeOpts) {
      if (closing !== undefined || shut) throw runtimeError('MW_RUNTIME_BUS_CLOSED');
      const bad = partitionError(partition, opts.partitions);
      if (bad !== undefined) throw bad;
      if (lanes.has(partition)) throw runtimeError('MW_RUNTIME_BUS_SUBSCRIBED', { partition });
      const check = watch.check;
      const redeliverDelayMs = opts.redeliverDelayMs ?? 1_000;
      const laneDeps = { partition, handler, maxBatch, handling, report, redeliverDelayMs };
      const lane = createJetStreamLane({
        ...laneDeps,
        settled: check,
        republish: handover.republish(partition),
        handedOver: (items) => handedOver(lane, items),
        reportDropped: handover.reportDropped(partition),
      });
      lanes.set(partition, lane);
      const takeOver = subscribeOpts?.takeOver === true;
      const bind = { mesh: opts.mesh, parts, maxBatch, maxAckPending, ackWaitMs, report, check, takeOver };
      void bindLane(lane, { ...bind, isShut: () => shut });
    },
    unsubscribe(partition) {
      // Its items in process go to the stream first; what is published meanwhile waits behind them.
      const lane = lanes.get(partition);
      if (lane !== undefined && lane.local > 0) holds.set(lane, handover.hold(partition));
      return unsubscribeLane(lanes, retiring, partition, watch.check);
    },
    drain() {
      if (ended !== undefined) return Promise.reject(ended);
      return shut ? Promise.resolve() : watch.until(true);
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
  return bus;
}

/**
 * A packed message stays under this many bytes, and under half the broker's payload limit: well
 * within it, and small enough that one message does not hold a partition's whole burst.
 */
const MAX_PACKED_BYTES = 256 * 1024;

function reporter<T>(onError: BusOptions<T>['onError']) {
  return (error: Error, partition: number, items: readonly T[]) => {
    try {
      onError(error, { partition, items });
    } catch {
      // onError must not throw; swallowing keeps the partition going.
    }
  };
}

/** An item's JSON and its id; an item that cannot be written, or whose id cannot be read, is refused. */
function encode<T extends BusValue>(
  partition: number,
  item: T,
  idOf: ((item: T) => string | undefined) | undefined,
): { readonly data: string; readonly id: string | undefined } | Error {
  try {
    return { data: JSON.stringify(item), id: idOf?.(item) };
  } catch (cause) {
    return runtimeError('MW_RUNTIME_BUS_ENCODE', { partition, cause: errorText(cause) }, { cause });
  }
}

function connectionLost(cause: Error | void): Error {
  return cause === undefined
    ? runtimeError('MW_RUNTIME_BUS_CONNECTION', { cause: 'the connection was closed' })
    : runtimeError('MW_RUNTIME_BUS_CONNECTION', { cause: errorText(cause) }, { cause });
}

function partitionError(partition: number, partitions: number): Error | undefined {
  if (!Number.isSafeInteger(partition) || partition < 0)
    return runtimeError('MW_RUNTIME_BUS_PARTITION', { partition });
  if (partition >= partitions)
    return runtimeError('MW_RUNTIME_BUS_PARTITION_RANGE', { partition, partitions });
  return undefined;
}
