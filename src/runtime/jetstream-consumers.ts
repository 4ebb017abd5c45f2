import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { errorText } from '../envelope/index.js';
import { runtimeError } from './errors.js';
import type { JetStreamLane } from './jetstream-lane.js';
import { consumerNameOf, partitionSubject } from './jetstream-names.js';
import { isApiError } from './jetstream-stream.js';

// A JetStream bus lane's consumer: binding it (and binding it again when it stops), keeping what it
// holds from being redelivered while it works, and giving it up when its owner loses the partition.

/** What binding a lane's consumer needs of its bus. */
export type BindContext<T> = {
  readonly mesh: string;
  readonly parts: { readonly jsm: JetStreamManager; readonly js: JetStreamClient; readonly stream: string };
  /** Messages per pull. */
  readonly maxBatch: number;
  /** The consumer's `max_ack_pending`, in messages. */
  readonly maxAckPending: number;
  readonly ackWaitMs: number;
  readonly report: (error: Error, partition: number, items: readonly T[]) => void;
  readonly isShut: () => boolean;
  readonly check: () => void;
  readonly takeOver: boolean;
};

/**
 * Stops a partition's lane (its owner lost it): it pulls no more, what waits goes back, and this
 * resolves once its batches in flight were acked or handed back. Gone from the map first, so a new
 * subscriber binds a fresh lane on the same durable consumer.
 */
export async function unsubscribeLane<T>(
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
export async function bindLane<T>(lane: JetStreamLane<T>, ctx: BindContext<T>): Promise<void> {
  const { parts, maxBatch, report, isShut } = ctx;
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
      filter_subject: partitionSubject(ctx.mesh, lane.partition),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ctx.ackWaitMs),
      max_ack_pending: ctx.maxAckPending,
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

/**
 * Sends `+WPI` for every held message each third of the ack wait: a slow batch, and the items queued
 * behind it, are not redelivered while this process still works on them.
 */
export function keepWorking(lanes: ReadonlyMap<number, JetStreamLane>, ackWaitMs: number) {
  const timer = setInterval(
    () => {
      for (const lane of lanes.values()) lane.extend();
    },
    Math.max(100, Math.floor(ackWaitMs / 3)),
  );
  timer.unref();
  return timer;
}

function consumerError(partition: number, cause: unknown): Error {
  return runtimeError('MW_RUNTIME_BUS_CONSUMER', { partition, cause: errorText(cause) }, { cause });
}
