import { AsyncLocalStorage } from 'node:async_hooks';
import { errorText } from '../envelope/index.js';
import type { Bus, BusHandler, BusOptions, BusReceipt, BusValue } from './bus.js';
import { runtimeError } from './errors.js';

export type InProcessBusOptions<T> = BusOptions<T> & {
  /** The most items one handler call gets (default 1024): bounds how long one batch holds the thread. */
  readonly maxBatch?: number;
};

/** One partition's FIFO queue. A head index, not Array#shift, which copies the queue on every call. */
type Lane<T> = {
  readonly partition: number;
  handler: BusHandler<T> | undefined;
  queue: T[];
  head: number;
  /** A batch is scheduled or running: the next one waits for it. */
  busy: boolean;
};

// One settled promise for every accepted publish: the hot path allocates none per item.
const ACCEPTED: Promise<void> = Promise.resolve();

/**
 * The bus of embedded mode: per-partition FIFO queues in this process. Items are passed as they are
 * (no copy, no serialisation), so handlers treat them as read-only. Costs per item: one array push and
 * a counter; per batch: one microtask, an AsyncLocalStorage scope (so close can tell follow-ups) and,
 * for an asynchronous handler, its promise. No timers.
 */
export function createInProcessBus<T extends BusValue>(opts: InProcessBusOptions<T>): Bus<T> {
  const maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? 1024));
  const lanes = new Map<number, Lane<T>>();
  // Accepted and not yet handled and acked, over every partition: drain waits for it to reach 0.
  let pending = 0;
  let drained: (() => void)[] = [];
  let closing: Promise<void> | undefined;
  // Set once close has drained: from then on nothing is accepted, follow-ups included.
  let shut = false;
  // The async context of this bus's handlers (their own code, and what they await or chain): what is
  // published from it while close drains is a follow-up of work in flight, and is accepted.
  const handling = new AsyncLocalStorage<true>();
  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  const report = (error: Error, partition: number, items: readonly T[]) => {
    try {
      opts.onError(error, { partition, items });
    } catch {
      // onError must not throw; swallowing keeps the partition going (its items were reported).
    }
  };

  const handled = (count: number) => {
    pending -= count;
    if (pending === 0 && drained.length > 0) {
      const ready = drained;
      drained = [];
      for (const resolve of ready) resolve();
    }
  };

  const take = (lane: Lane<T>): T[] | undefined => {
    const { queue } = lane;
    const left = queue.length - lane.head;
    if (left === 0) return undefined;
    if (lane.head === 0 && left <= maxBatch) {
      lane.queue = []; // the whole queue is the batch: handed over, not copied
      return queue;
    }
    const end = Math.min(queue.length, lane.head + maxBatch);
    const batch = queue.slice(lane.head, end);
    lane.head = end;
    if (end === queue.length) {
      lane.queue = [];
      lane.head = 0;
    } else if (lane.head > 4096 && lane.head * 2 > queue.length) {
      lane.queue = queue.slice(lane.head);
      lane.head = 0;
    }
    return batch;
  };

  const failed = (lane: Lane<T>, batch: readonly T[], cause: unknown) =>
    report(
      runtimeError(
        'MW_RUNTIME_BUS_HANDLER',
        { partition: lane.partition, count: batch.length, cause: errorText(cause) },
        { cause },
      ),
      lane.partition,
      batch,
    );

  /** Runs one batch; the next is scheduled once it settles, so a partition's batches never overlap. */
  const pump = (lane: Lane<T>): void => {
    const batch = lane.handler === undefined ? undefined : take(lane);
    if (batch === undefined) {
      lane.busy = false;
      return;
    }
    let result: ReturnType<BusHandler<T>>;
    try {
      result = handling.run(true, lane.handler!, batch, lane.partition);
    } catch (cause) {
      failed(lane, batch, cause);
      result = undefined;
    }
    if (isPromise(result)) {
      result.then(
        (receipt) => next(lane, batch, receipt),
        (cause: unknown) => {
          failed(lane, batch, cause);
          next(lane, batch, undefined);
        },
      );
    } else {
      next(lane, batch, result);
    }
  };

  // A microtask between batches, not a loop: other partitions' batches interleave with this one's.
  // A batch with a receipt counts as handled once its receipt settles; the next batch need not wait.
  const next = (lane: Lane<T>, batch: readonly T[], receipt: void | BusReceipt) => {
    // Anything but a receipt with a thenable `done` counts as returning nothing: handled now.
    const done = (receipt as BusReceipt | null | undefined)?.done;
    if (!isPromise(done)) handled(batch.length);
    else
      done.then(
        () => handled(batch.length),
        (cause: unknown) => {
          failed(lane, batch, cause);
          handled(batch.length);
        },
      );
    queueMicrotask(() => pump(lane));
  };

  const wake = (lane: Lane<T>) => {
    if (lane.busy || lane.handler === undefined) return;
    lane.busy = true;
    queueMicrotask(() => pump(lane));
  };

  const laneOf = (partition: number): Lane<T> | undefined => {
    let lane = lanes.get(partition);
    if (lane === undefined) {
      if (!Number.isSafeInteger(partition) || partition < 0) return undefined;
      lane = { partition, handler: undefined, queue: [], head: 0, busy: false };
      lanes.set(partition, lane);
    }
    return lane;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      // No one can subscribe any more: items of a partition without a handler will never be handled.
      for (const lane of lanes.values()) {
        if (lane.handler !== undefined) continue;
        const items = lane.queue.slice(lane.head);
        lane.queue = [];
        lane.head = 0;
        if (items.length === 0) continue;
        report(
          runtimeError('MW_RUNTIME_BUS_UNHANDLED', { partition: lane.partition, count: items.length }),
          lane.partition,
          items,
        );
        handled(items.length);
      }
      // Follow-ups published while it drains keep it open; one may come as the last batch is acked.
      do {
        await bus.drain();
      } while (pending > 0);
      shut = true;
      resolveClosed();
    })();
    return closing;
  };

  const bus: Bus<T> = {
    publish(partition, item) {
      if (closing !== undefined && (shut || handling.getStore() !== true))
        return Promise.reject(runtimeError('MW_RUNTIME_BUS_CLOSED'));
      const lane = laneOf(partition);
      if (lane === undefined) return Promise.reject(runtimeError('MW_RUNTIME_BUS_PARTITION', { partition }));
      lane.queue.push(item);
      pending++;
      wake(lane);
      return ACCEPTED;
    },
    subscribe(partition, handler) {
      if (closing !== undefined) throw runtimeError('MW_RUNTIME_BUS_CLOSED');
      const lane = laneOf(partition);
      if (lane === undefined) throw runtimeError('MW_RUNTIME_BUS_PARTITION', { partition });
      if (lane.handler !== undefined) throw runtimeError('MW_RUNTIME_BUS_SUBSCRIBED', { partition });
      lane.handler = handler;
      wake(lane);
    },
    drain() {
      return pending === 0 ? ACCEPTED : new Promise((resolve) => drained.push(resolve));
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
  return bus;
}

// A thenable counts as a promise: a handler's promise may come from another realm or library.
function isPromise<R>(value: R | Promise<R>): value is Promise<R> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
