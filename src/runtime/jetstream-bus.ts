import { AsyncLocalStorage } from 'node:async_hooks';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { errorText, isMeshwardenError } from '../envelope/index.js';
import type { Bus, BusHandler, BusOptions, BusValue } from './bus.js';
import { runtimeError } from './errors.js';
import { createDrainWatch } from './jetstream-drain.js';
import { createJetStreamLane, type JetStreamLane } from './jetstream-lane.js';
import { createLocalHandover } from './jetstream-local.js';
import { consumerNameOf, partitionSubject, streamNameOf } from './jetstream-names.js';
import { ackFloorOf, ensureStream, isApiError } from './jetstream-stream.js';
import { connectNats } from './nats-connect.js';

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
  /** The most items one handler call gets (default 1024). */
  readonly maxBatch?: number;
  /** Delivered and not yet acked, per partition, at most (default 8192): bounds what a lane holds. */
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

/**
 * The bus of distributed mode, on NATS JetStream: one work-queue stream per mesh, a durable pull
 * consumer per subscribed partition, explicit acks once a batch is handled (or its receipt settled),
 * at least once. docs/distributed.md ("Transport") gives the reasons. Rejects with
 * `MW_RUNTIME_BUS_CONNECT` or `MW_RUNTIME_BUS_STREAM` when NATS or the stream cannot be reached.
 */
export async function openJetStreamBus<T extends BusValue>(opts: JetStreamBusOptions<T>): Promise<Bus<T>> {
  if (opts.mesh === '') throw runtimeError('MW_RUNTIME_BUS_OPTIONS', { detail: 'the mesh name is empty' });
  const ownConnection = opts.connection === undefined;
  const nc =
    opts.connection ?? (await connectNats(opts.servers, `meshwarden ${opts.mesh}`, 'MW_RUNTIME_BUS_CONNECT'));
  const stream = streamNameOf(opts.mesh);
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, opts);
    return createJetStreamBus(opts, { nc, jsm, js: jetstream(nc), stream, ownConnection });
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
};

function createJetStreamBus<T extends BusValue>(opts: JetStreamBusOptions<T>, parts: Parts): Bus<T> {
  const { nc, jsm, js, stream } = parts;
  const maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? 1024));
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

  /** Publishes an item to the stream; resolves with the stream's ack. */
  const toStream = (partition: number, item: T): Promise<void> => {
    const encoded = encode(partition, item, opts.idOf);
    if (encoded instanceof Error) return Promise.reject(encoded);
    const { data, id } = encoded;
    watch.publishing(partition, +1);
    return js
      .publish(partitionSubject(opts.mesh, partition), data, id === undefined ? {} : { msgID: id })
      .then(
        (ack) => watch.accepted(partition, ack.seq),
        (cause: unknown) => {
          watch.publishing(partition, -1);
          throw runtimeError('MW_RUNTIME_BUS_PUBLISH', { partition, cause: errorText(cause) }, { cause });
        },
      );
  };
  const handover = createLocalHandover<T>({
    toStream,
    report,
    isShut: () => shut,
    republishing: watch.republishing,
  });

  /**
   * Takes an item in process (`local`) when it can, behind this bus's own items for the partition that
   * are still held in process, so that they keep their order: a lane being given up takes it for the
   * stream after what it holds; else the partition's queue for the stream; else its live lane, once
   * everything this bus published there through the stream has arrived. False: publish it.
   */
  const handOver = (partition: number, item: T): boolean => {
    for (const lane of retiring) {
      if (lane.partition === partition) {
        lane.arriveLocal(item);
        return true;
      }
    }
    if (handover.waiting(partition)) {
      handover.republish(partition)([item]);
      return true;
    }
    const lane = lanes.get(partition);
    if (lane?.state !== 'live' || !watch.caughtUp(partition, lane)) return false;
    lane.arriveLocal(item);
    return true;
  };

  const bus: Bus<T> = {
    publish(partition, item) {
      if (shut || (closing !== undefined && handling.getStore() !== true))
        return Promise.reject(runtimeError('MW_RUNTIME_BUS_CLOSED'));
      const bad = partitionError(partition, opts.partitions);
      if (bad !== undefined) return Promise.reject(bad);
      if (opts.local?.(item) === true && handOver(partition, item)) return Promise.resolve();
      return toStream(partition, item);
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
        reportDropped: handover.reportDropped(partition),
      });
      lanes.set(partition, lane);
      const takeOver = subscribeOpts?.takeOver === true;
      void bindLane(lane, { opts, parts, maxBatch, ackWaitMs, report, isShut: () => shut, check, takeOver });
    },
    unsubscribe: (partition) => unsubscribeLane(lanes, retiring, partition, watch.check),
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
 * Stops a partition's lane (its owner lost it): it pulls no more, what waits goes back, and this
 * resolves once its batches in flight were acked or handed back. Gone from the map first, so a new
 * subscriber binds a fresh lane on the same durable consumer.
 */
async function unsubscribeLane<T>(
  lanes: Map<number, JetStreamLane<T>>,
  retiring: Set<JetStreamLane<T>>,
  partition: number,
  check: () => void,
): Promise<void> {
  const lane = lanes.get(partition);
  if (lane === undefined) return;
  lanes.delete(partition);
  retiring.add(lane);
  const retired = lane.retire();
  await lane.messages?.close().catch(() => {}); // pulls no more
  await retired;
  retiring.delete(lane);
  lane.state = 'gone';
  await lane.messages?.close().catch(() => {}); // bound meanwhile
  check();
}

/**
 * Creates (or binds) the partition's durable pull consumer and starts consuming it. A failure is
 * reported and leaves the lane gone: its items wait in the stream for the partition's next owner.
 */
async function bindLane<T extends BusValue>(
  lane: JetStreamLane,
  ctx: {
    readonly opts: JetStreamBusOptions<T>;
    readonly parts: Parts;
    readonly maxBatch: number;
    readonly ackWaitMs: number;
    readonly report: (error: Error, partition: number, items: readonly T[]) => void;
    readonly isShut: () => boolean;
    readonly check: () => void;
    readonly takeOver: boolean;
  },
): Promise<void> {
  const { opts, parts, maxBatch, report, isShut } = ctx;
  const name = consumerNameOf(lane.partition);
  // Reported, and bound again a moment later while the lane is still subscribed: a partition whose
  // owner keeps its lease must not stay unserved (the broker restarted, the consumer was deleted).
  const gone = (cause: unknown) => {
    report(consumerError(lane.partition, cause), lane.partition, []);
    if (isGone(lane)) return;
    lane.state = 'binding';
    lane.messages = undefined;
    ctx.check();
    setTimeout(() => {
      if (!isShut() && !isGone(lane)) void bindLane(lane, { ...ctx, takeOver: false });
    }, REBIND_MS).unref();
  };
  try {
    // On a work queue the stream holds exactly what was not acked: a new consumer delivers all of
    // it from the start, where the old one would wait out the ack wait of what its last owner held.
    if (ctx.takeOver) {
      await parts.jsm.consumers.delete(parts.stream, name).catch((err: unknown) => {
        if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
      });
    }
    await parts.jsm.consumers.add(parts.stream, {
      durable_name: name,
      filter_subject: partitionSubject(opts.mesh, lane.partition),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ctx.ackWaitMs),
      max_ack_pending: Math.max(maxBatch, opts.maxAckPending ?? 8192),
    });
    const consumer = await parts.js.consumers.get(parts.stream, name);
    if (isShut() || isGone(lane)) return;
    // Ends (and binds again, below) if the consumer is deleted: by default the client waits for it to
    // come back, which nothing would do, and the partition would stall unsaid.
    const messages = await consumer.consume({
      max_messages: maxBatch,
      abort_on_missing_resource: true,
      callback: (msg) => lane.arrive(msg),
    });
    if (isShut() || isGone(lane)) {
      await messages.close();
      return;
    }
    lane.messages = messages;
    lane.state = 'live';
    void messages.closed().then((cause) => {
      if (cause !== undefined && !isShut()) gone(cause);
    });
  } catch (cause) {
    if (!isShut()) gone(cause);
  }
}

/** How long a lane whose consumer stopped or could not be made waits before it binds again. */
const REBIND_MS = 1_000;

/** Unsubscribed meanwhile: a read through a function, as the state changes across awaits. */
function isGone(lane: JetStreamLane): boolean {
  return lane.state === 'gone';
}

function reporter<T>(onError: BusOptions<T>['onError']) {
  return (error: Error, partition: number, items: readonly T[]) => {
    try {
      onError(error, { partition, items });
    } catch {
      // onError must not throw; swallowing keeps the partition going.
    }
  };
}

/**
 * Sends `+WPI` for every held message each third of the ack wait: a slow batch, and the items queued
 * behind it, are not redelivered while this process still works on them.
 */
function keepWorking(lanes: ReadonlyMap<number, JetStreamLane>, ackWaitMs: number) {
  const timer = setInterval(
    () => {
      for (const lane of lanes.values()) lane.extend();
    },
    Math.max(100, Math.floor(ackWaitMs / 3)),
  );
  timer.unref();
  return timer;
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

function consumerError(partition: number, cause: unknown): Error {
  return runtimeError('MW_RUNTIME_BUS_CONSUMER', { partition, cause: errorText(cause) }, { cause });
}

function partitionError(partition: number, partitions: number): Error | undefined {
  if (!Number.isSafeInteger(partition) || partition < 0)
    return runtimeError('MW_RUNTIME_BUS_PARTITION', { partition });
  if (partition >= partitions)
    return runtimeError('MW_RUNTIME_BUS_PARTITION_RANGE', { partition, partitions });
  return undefined;
}
