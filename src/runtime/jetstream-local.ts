import { setTimeout as sleep } from 'node:timers/promises';
import { isMeshwardenError } from '../envelope/index.js';
import { runtimeError } from './errors.js';

/** A publish that failed is tried again after this long, doubling up to REPUBLISH_MAX_MS. */
const REPUBLISH_FIRST_MS = 100;
const REPUBLISH_MAX_MS = 2_000;
/** An item the stream has not taken after this long is given up (reported dropped). */
const REPUBLISH_GIVE_UP_MS = 30_000;

/**
 * Where the JetStream bus's items that came in process (its `local` option) go when the lane that
 * took them cannot finish them: to the stream after all (not durable here, or the partition given
 * up), or, once the bus has stopped, reported as dropped. Nothing else holds such an item, so it
 * waits in its partition's queue here, and goes out in order, each acked before the next; a publish
 * that fails is tried again for up to 30 s, then the item is reported dropped, so that drain and
 * close (which wait for the queues) never wait forever on a broker that refuses it.
 */
export function createLocalHandover<T>(deps: {
  readonly toStream: (partition: number, item: T) => Promise<void>;
  readonly report: (error: Error, partition: number, items: readonly T[]) => void;
  readonly isShut: () => boolean;
  /** Counts items waiting here (+n), and those that reached the stream or were dropped (-n). */
  readonly republishing: (delta: number) => void;
}) {
  const queues = new Map<number, T[]>();

  const reportDropped = (partition: number) => (items: readonly T[]) =>
    deps.report(
      runtimeError('MW_RUNTIME_BUS_LOCAL_DROPPED', { partition, count: items.length }),
      partition,
      items,
    );

  /** Tries one item until the stream takes it; false when it was given up. */
  const send = async (partition: number, item: T): Promise<boolean> => {
    const giveUpAt = performance.now() + REPUBLISH_GIVE_UP_MS;
    for (let wait = REPUBLISH_FIRST_MS, told = false; ; wait = Math.min(wait * 2, REPUBLISH_MAX_MS)) {
      if (deps.isShut() || performance.now() > giveUpAt) return false;
      try {
        await deps.toStream(partition, item);
        return true;
      } catch (err) {
        // An item that is not JSON never will be: reported, and not tried again.
        const unwritable = isMeshwardenError(err) && err.code === 'MW_RUNTIME_BUS_ENCODE';
        if (!told || unwritable) deps.report(err as Error, partition, [item]);
        told = true;
        if (unwritable) return true;
        await sleep(wait);
      }
    }
  };

  const pump = async (partition: number, queue: T[]) => {
    while (queue.length > 0) {
      const item = queue[0]!;
      if (!(await send(partition, item))) reportDropped(partition)([item]);
      queue.shift();
      deps.republishing(-1);
    }
    queues.delete(partition);
  };

  return {
    reportDropped,
    /** Queues items for the stream behind what waits for their partition; they go in this order. */
    republish: (partition: number) => (items: readonly T[]) => {
      if (items.length === 0) return;
      deps.republishing(items.length);
      const queue = queues.get(partition);
      if (queue !== undefined) return void queue.push(...items);
      const fresh = [...items];
      queues.set(partition, fresh);
      void pump(partition, fresh);
    },
    /** Whether items for the partition wait here: a later item must queue behind them. */
    waiting: (partition: number) => queues.has(partition),
  };
}
