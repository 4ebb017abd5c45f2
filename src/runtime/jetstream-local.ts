import { setTimeout as sleep } from 'node:timers/promises';
import { runtimeError } from './errors.js';
import { type PackedMessage, packMessage } from './jetstream-pack.js';

/** A publish that failed is tried again after this long, doubling up to REPUBLISH_MAX_MS. */
const REPUBLISH_FIRST_MS = 100;
const REPUBLISH_MAX_MS = 2_000;
/** Items the stream has not taken after this long are given up (reported dropped, or refused). */
const REPUBLISH_GIVE_UP_MS = 30_000;

/** An item's JSON and its `Nats-Msg-Id`. */
type Encoded = { readonly data: string; readonly id: string | undefined };

/**
 * An item waiting for the stream: one that came in process (nothing else holds it), or one published
 * while its partition was being handed over (`sent` settles its publish: stored, or why not).
 */
type Outbound<T> = { readonly item: T; readonly sent?: PromiseWithResolvers<void> };

const itemsOf = <T>(entries: readonly Outbound<T>[]) => entries.map((e) => e.item);

/** A partition's items for the stream, in order; `held` while its lane still finishes what it has. */
type Queue<T> = { entries: Outbound<T>[]; held: boolean; pumping: boolean };

/**
 * Where the JetStream bus's items go while a partition is handed over, and those that came in
 * process (its `local` option) when the lane that took them cannot finish them: to the stream (not
 * durable here, or the partition given up), or, once the bus has stopped, reported as dropped.
 *
 * A partition being given up is `hold`: everything published for it from then on (in process or
 * not) waits here, behind what its lane still has in flight, which the lane puts first when it is
 * done (`release`). So a subject's messages reach the next owner in the order they were published.
 * The queue goes out in order, up to a message's worth of items at a time (one packed message when
 * the stream packs), each message acked before the next; a publish that fails is tried again for up
 * to 30 s, then its items are reported dropped (those in process) or their publish refused, so that
 * drain and close (which wait for the queues) never wait forever on a broker that refuses them.
 */
export function createLocalHandover<T>(deps: {
  readonly encode: (partition: number, item: T) => Encoded | Error;
  /** Publishes one message; resolves on the stream's ack. */
  readonly send: (partition: number, message: PackedMessage) => Promise<void>;
  /** The most items, and bytes of JSON, a message holds (as the bus packs). */
  readonly maxItems: number;
  readonly maxBytes: number;
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

  /** A message's items are done with here: stored, or given up (`failure`): dropped, or refused. */
  const finish = (partition: number, entries: readonly Outbound<T>[], failure?: Error) => {
    deps.republishing(-entries.length);
    for (const entry of entries) {
      if (failure === undefined) entry.sent?.resolve();
      else entry.sent?.reject(failure);
    }
    const dropped = failure === undefined ? [] : itemsOf(entries.filter((e) => e.sent === undefined));
    if (dropped.length > 0) reportDropped(partition)(dropped);
  };

  /**
   * The next message's items from the head of the queue, and their JSON and ids: as many as one
   * message holds. An item that is no JSON never will be: it is taken out and reported (or its
   * publish refused).
   */
  const nextGroup = (partition: number, queue: Queue<T>) => {
    const entries: Outbound<T>[] = [];
    const data: string[] = [];
    const ids: (string | undefined)[] = [];
    let bytes = 1; // `[`, then each item and the `,` or `]` after it
    while (queue.entries.length > 0 && entries.length < deps.maxItems) {
      const entry = queue.entries[0]!;
      const encoded = deps.encode(partition, entry.item);
      if (encoded instanceof Error) {
        queue.entries.shift();
        deps.republishing(-1);
        if (entry.sent !== undefined) entry.sent.reject(encoded);
        else deps.report(encoded, partition, [entry.item]);
        continue;
      }
      const size = Buffer.byteLength(encoded.data) + 1;
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
  const send = async (partition: number, message: PackedMessage, entries: readonly Outbound<T>[]) => {
    const giveUpAt = performance.now() + REPUBLISH_GIVE_UP_MS;
    let last: Error = runtimeError('MW_RUNTIME_BUS_CLOSED');
    for (let wait = REPUBLISH_FIRST_MS, told = false; ; wait = Math.min(wait * 2, REPUBLISH_MAX_MS)) {
      if (deps.isShut() || performance.now() > giveUpAt) return last;
      try {
        await deps.send(partition, message);
        return undefined;
      } catch (err) {
        last = err as Error;
        if (!told) deps.report(last, partition, itemsOf(entries));
        told = true;
        await sleep(wait);
      }
    }
  };

  const pump = async (partition: number, queue: Queue<T>) => {
    queue.pumping = true;
    while (queue.entries.length > 0 && !queue.held) {
      const { entries, message } = nextGroup(partition, queue);
      if (message !== undefined) finish(partition, entries, await send(partition, message, entries));
    }
    queue.pumping = false;
    if (queue.entries.length === 0 && !queue.held) queues.delete(partition);
  };

  const queueOf = (partition: number): Queue<T> => {
    let queue = queues.get(partition);
    if (queue === undefined) {
      queue = { entries: [], held: false, pumping: false };
      queues.set(partition, queue);
    }
    return queue;
  };
  const enqueue = (partition: number, entries: readonly Outbound<T>[], first = false) => {
    const queue = queueOf(partition);
    deps.republishing(entries.length);
    if (first) queue.entries.unshift(...entries);
    else queue.entries.push(...entries);
    if (!queue.held && !queue.pumping) void pump(partition, queue);
  };

  return {
    reportDropped,
    /** Queues items for the stream behind what waits for their partition; they go in this order. */
    republish: (partition: number) => (items: readonly T[]) => {
      if (items.length > 0)
        enqueue(
          partition,
          items.map((item) => ({ item })),
        );
    },
    /**
     * Queues an item published while its partition is handed over, behind what waits for it; resolves
     * once the stream stored it. Undefined when nothing waits: publish it as usual.
     */
    behind(partition: number, item: T): Promise<void> | undefined {
      if (!queues.has(partition)) return undefined;
      const sent = Promise.withResolvers<void>();
      enqueue(partition, [{ item, sent }]);
      return sent.promise;
    },
    /** The partition's lane is being given up: what comes for it waits until `release`. */
    hold(partition: number) {
      queueOf(partition).held = true;
    },
    /** The lane is done: what it still had goes first, then what waited, in order. */
    release: (partition: number) => (items: readonly T[]) => {
      const queue = queueOf(partition);
      queue.held = false;
      if (items.length > 0)
        enqueue(
          partition,
          items.map((item) => ({ item })),
          true,
        );
      else if (queue.entries.length > 0 && !queue.pumping) void pump(partition, queue);
      else if (queue.entries.length === 0 && !queue.pumping) queues.delete(partition);
    },
    /** Whether items for the partition wait here: a later item must queue behind them. */
    waiting: (partition: number) => queues.has(partition),
  };
}
