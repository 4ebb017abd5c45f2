import { setTimeout as sleep } from 'node:timers/promises';
import { runtimeError } from './errors.js';
import { type PackedMessage, packMessage } from './jetstream-pack.js';

/** A publish that failed is tried again after this long, doubling up to REPUBLISH_MAX_MS. */
const REPUBLISH_FIRST_MS = 100;
const REPUBLISH_MAX_MS = 2_000;
/** A message the stream has not taken after this long is given up, with all that waits behind it. */
const REPUBLISH_GIVE_UP_MS = 30_000;

/** An item's JSON and its `Nats-Msg-Id`. */
type Encoded = { readonly data: string; readonly id: string | undefined };

/**
 * An item waiting for the stream: one that came in process (nothing else holds it), or one published
 * while items of its partition waited here (`sent` settles its publish: stored, or why not).
 */
type Outbound<T> = { readonly item: T; readonly sent?: PromiseWithResolvers<undefined> };

/**
 * A partition's items for the stream, in order. `holds`: its lanes being given up that still have
 * items in process, in the order given up, each with what it had once done (`release`); nothing is
 * sent until every one is done, then theirs go first, in that order.
 */
type Queue<T> = { entries: Outbound<T>[]; holds: Map<object, T[] | undefined>; pumping: boolean };

const itemsOf = <T>(entries: readonly Outbound<T>[]) => entries.map((e) => e.item);

const tooBig = (partition: number, bytes: number, max: number) =>
  runtimeError('MW_RUNTIME_BUS_PUBLISH', {
    partition,
    cause: `its JSON is ${bytes.toLocaleString('en')} bytes, more than the broker takes in a message (${max.toLocaleString('en')})`,
  });

/** What a lane being given up is told to hand back with (`release`). */
export type HandoverHold = object;

/**
 * Where the JetStream bus's items wait for the stream, per partition: those that came in process
 * (its `local` option) when the lane that took them cannot finish them (not durable here, or the
 * partition given up), and everything published for the partition while such items wait, so that
 * it goes out behind them. Once the bus has stopped, what waits is reported dropped (in process) or
 * its publish refused.
 *
 * A partition given up while its lane has items in process is held (`hold`): what is published for
 * it from then on waits here until the lane is done and has put what it still had first (`release`).
 * So the next owner gets the lane's items, then what was published meanwhile, in order. The queue
 * goes out in order, up to a message's worth of items at a time (one packed message when the bus
 * packs), each message acked before the next; a message that fails is tried again for up to 30 s,
 * then it and everything queued behind it are given up, so that drain and close (which wait for the
 * queues) never wait long on a broker that refuses them.
 */
export function createHandoverQueue<T>(deps: {
  readonly encode: (partition: number, item: T) => Encoded | Error;
  /** Publishes one message; resolves on the stream's ack. */
  readonly send: (partition: number, message: PackedMessage) => Promise<unknown>;
  /** The most items, and bytes of JSON, a message holds (as the bus packs). */
  readonly maxItems: number;
  readonly maxBytes: number;
  /** The broker's largest message: an item bigger than that never goes (`nextMessage`). */
  readonly maxPayload: () => number;
  readonly report: (error: Error, partition: number, items: readonly T[]) => void;
  readonly isShut: () => boolean;
  /** Counts items waiting here (+n), and those that reached the stream or were dropped (-n). */
  readonly republishing: (delta: number) => void;
}) {
  const queues = new Map<number, Queue<T>>();

  const reportDropped = (partition: number) => (items: readonly T[]) =>
    deps.report(
      runtimeError('MW_RUNTIME_BUS_LOCAL_DROPPED', { partition, count: items.length }),
      partition,
      items,
    );
  /** The items that came in process: what `onError` is told of (a publish is told by its promise). */
  const inProcess = (entries: readonly Outbound<T>[]) => itemsOf(entries.filter((e) => e.sent === undefined));

  /** Items done with here: stored, or given up (`failure`): dropped, or their publish refused. */
  const finish = (partition: number, entries: readonly Outbound<T>[], failure?: Error) => {
    deps.republishing(-entries.length);
    for (const entry of entries) {
      if (failure === undefined) entry.sent?.resolve(undefined);
      else entry.sent?.reject(failure);
    }
    const dropped = failure === undefined ? [] : inProcess(entries);
    if (dropped.length > 0) reportDropped(partition)(dropped);
  };

  /** An item that can never go (no JSON, or more than the broker takes) is taken out, and told. */
  const refuse = (partition: number, entry: Outbound<T>, error: Error) => {
    deps.republishing(-1);
    if (entry.sent !== undefined) entry.sent.reject(error);
    else deps.report(error, partition, [entry.item]);
  };

  /**
   * The next message from the head of the queue: as many items as one message holds, and the
   * message. An item that never will go is taken out alone (`refuse`), not tried for 30 s with
   * what waits behind it: an item kept in process met neither JSON nor the broker's size until now.
   */
  const nextMessage = (partition: number, queue: Queue<T>) => {
    const entries: Outbound<T>[] = [];
    const data: string[] = [];
    const ids: (string | undefined)[] = [];
    let bytes = 1; // `[`, then each item and the `,` or `]` after it
    while (queue.entries.length > 0 && entries.length < deps.maxItems) {
      const entry = queue.entries[0]!;
      const encoded = deps.encode(partition, entry.item);
      const size = encoded instanceof Error ? 0 : Buffer.byteLength(encoded.data) + 1;
      if (encoded instanceof Error || size > deps.maxPayload()) {
        queue.entries.shift();
        refuse(
          partition,
          entry,
          encoded instanceof Error ? encoded : tooBig(partition, size, deps.maxPayload()),
        );
        continue;
      }
      if (entries.length > 0 && bytes + size > deps.maxBytes) break;
      queue.entries.shift();
      entries.push(entry);
      data.push(encoded.data);
      ids.push(encoded.id);
      bytes += size;
    }
    return { entries, message: entries.length === 0 ? undefined : packMessage(data, ids) };
  };

  /** Sends one message until the stream takes it; the last error if it was given up. */
  const sendUntilStored = async (
    partition: number,
    message: PackedMessage,
    entries: readonly Outbound<T>[],
  ) => {
    const giveUpAt = performance.now() + REPUBLISH_GIVE_UP_MS;
    let last: Error = runtimeError('MW_RUNTIME_BUS_CLOSED');
    for (let wait = REPUBLISH_FIRST_MS, told = false; ; wait = Math.min(wait * 2, REPUBLISH_MAX_MS)) {
      if (deps.isShut() || performance.now() > giveUpAt) return last;
      try {
        await deps.send(partition, message);
        return undefined;
      } catch (err) {
        last = err as Error;
        const items = inProcess(entries);
        if (!told && items.length > 0) deps.report(last, partition, items);
        told = true;
        await sleep(wait);
      }
    }
  };

  const pump = async (partition: number, queue: Queue<T>) => {
    queue.pumping = true;
    while (queue.entries.length > 0 && queue.holds.size === 0) {
      const { entries, message } = nextMessage(partition, queue);
      if (message === undefined) continue;
      const failure = await sendUntilStored(partition, message, entries);
      finish(partition, entries, failure);
      // Given up: what waits behind it would wait as long, and go out of order if it went.
      if (failure !== undefined) finish(partition, queue.entries.splice(0), failure);
    }
    queue.pumping = false;
    if (queue.entries.length === 0 && queue.holds.size === 0) queues.delete(partition);
  };

  const queueOf = (partition: number): Queue<T> => {
    let queue = queues.get(partition);
    if (queue === undefined) {
      queue = { entries: [], holds: new Map(), pumping: false };
      queues.set(partition, queue);
    }
    return queue;
  };
  const goOn = (partition: number, queue: Queue<T>) => {
    if (queue.holds.size > 0 || queue.pumping) return;
    if (queue.entries.length > 0) void pump(partition, queue);
    else queues.delete(partition);
  };
  /** Queues items behind (or, for a lane's leftovers, ahead of) what waits; no spread: they may be many. */
  const enqueue = (partition: number, entries: Outbound<T>[], first = false) => {
    const queue = queueOf(partition);
    deps.republishing(entries.length);
    if (first) queue.entries = entries.concat(queue.entries);
    else for (const entry of entries) queue.entries.push(entry);
    goOn(partition, queue);
  };

  return {
    reportDropped,
    /** Queues items that came in process for the stream, behind what waits for their partition. */
    republish: (partition: number) => (items: readonly T[]) => {
      if (items.length > 0)
        enqueue(
          partition,
          items.map((item) => ({ item })),
        );
    },
    /**
     * Queues an item published for a partition whose items wait here, behind them; resolves once the
     * stream stored it. Undefined when nothing waits: publish it as usual.
     */
    queueBehind(partition: number, item: T): Promise<undefined> | undefined {
      if (!queues.has(partition)) return undefined;
      const sent = Promise.withResolvers<undefined>();
      enqueue(partition, [{ item, sent }]);
      return sent.promise;
    },
    /** A lane of the partition with items in process is being given up: what comes waits for it. */
    hold(partition: number): HandoverHold {
      const hold = {};
      queueOf(partition).holds.set(hold, undefined);
      return hold;
    },
    /** That lane is done: what it still had goes ahead of what waited, once every hold is done. */
    release(partition: number, hold: HandoverHold, items: readonly T[]) {
      // Looked up, not made: a hold released twice must not leave an empty queue behind.
      const queue = queues.get(partition);
      if (queue === undefined || !queue.holds.has(hold)) return;
      queue.holds.set(hold, [...items]);
      const lefts = [...queue.holds.values()];
      if (lefts.some((left) => left === undefined)) return;
      queue.holds.clear();
      const first = lefts.flatMap((left) => left!.map((item) => ({ item })));
      if (first.length > 0) enqueue(partition, first, true);
      else goOn(partition, queue);
    },
    /** Whether items for the partition wait here: a later item must queue behind them. */
    waiting: (partition: number) => queues.has(partition),
  };
}
