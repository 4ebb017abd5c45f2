import type { AsyncLocalStorage } from 'node:async_hooks';
import { errorText } from '../envelope/index.js';
import type { BusHandler, BusOptions, BusReceipt } from './bus.js';
import { runtimeError } from './errors.js';
import type { Backlog } from './in-process-drain.js';
import { isThenable } from './thenable.js';

/** One partition's FIFO queue. A head index, not Array#shift, which copies the queue on every call. */
export type Lane<T> = {
  readonly partition: number;
  handler: BusHandler<T> | undefined;
  queue: T[];
  head: number;
  /** A batch is scheduled or running: the next one waits for it. */
  busy: boolean;
  /** Batches handed to a handler and not yet handled (handler running, or receipt pending). */
  inFlight: number;
  /** Told when `inFlight` drops to 0 (unsubscribe waits for it). */
  idle: (() => void)[];
};

/** A partition's lane, made on first use; none for a partition that is not a non-negative integer. */
export function laneOf<T>(lanes: Map<number, Lane<T>>, partition: number): Lane<T> | undefined {
  let lane = lanes.get(partition);
  if (lane === undefined) {
    if (!Number.isSafeInteger(partition) || partition < 0) return undefined;
    lane = { partition, handler: undefined, queue: [], head: 0, busy: false, inFlight: 0, idle: [] };
    lanes.set(partition, lane);
  }
  return lane;
}

/** Empties a lane and returns what waited in it, in order. */
export function takeAll<T>(lane: Lane<T>): T[] {
  const items = lane.queue.slice(lane.head);
  lane.queue = [];
  lane.head = 0;
  return items;
}

/** What the lanes' worker needs, besides the lanes it is woken for. */
export type LaneWorkerDeps<T> = {
  /** The most items one handler call gets. */
  readonly maxBatch: number;
  /** The async context handlers run in: what they publish while the bus closes is a follow-up. */
  readonly handling: AsyncLocalStorage<true>;
  /** Told of every batch handled and acked. */
  readonly backlog: Backlog;
  readonly onError: BusOptions<T>['onError'];
};

export type LaneWorker<T> = {
  /** Schedules a lane's next batch, unless one is scheduled or running or the lane has no handler. */
  wake(lane: Lane<T>): void;
};

/**
 * Runs each lane's batches through its handler, one at a time per lane: the next is scheduled once
 * the handler returned (or its promise settled). Per batch: one microtask, an AsyncLocalStorage
 * scope and, for an asynchronous handler, its promise. A batch counts as handled once its receipt
 * settles (a receipt's `done`), or at once without one.
 */
export function createLaneWorker<T>(deps: LaneWorkerDeps<T>): LaneWorker<T> {
  const { maxBatch, handling, backlog, onError } = deps;

  const failed = (
    lane: Lane<T>,
    batch: readonly T[],
    cause: unknown,
    code: 'MW_RUNTIME_BUS_HANDLER' | 'MW_RUNTIME_BUS_NOT_DURABLE' = 'MW_RUNTIME_BUS_HANDLER',
  ) =>
    report(
      onError,
      runtimeError(
        code,
        { partition: lane.partition, count: batch.length, cause: errorText(cause) },
        { cause },
      ),
      lane.partition,
      batch,
    );

  /** Runs one batch; the next is scheduled once it settles, so a partition's batches never overlap. */
  const pump = (lane: Lane<T>): void => {
    const batch = lane.handler === undefined ? undefined : takeBatch(lane, maxBatch);
    if (batch === undefined) {
      lane.busy = false;
      return;
    }
    let result: ReturnType<BusHandler<T>>;
    lane.inFlight++;
    try {
      result = handling.run(true, lane.handler!, batch, lane.partition);
    } catch (cause) {
      failed(lane, batch, cause);
      result = undefined;
    }
    if (isThenable(result)) {
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
    const handled = () => {
      backlog.handled(batch.length);
      if (--lane.inFlight === 0) for (const resolve of lane.idle.splice(0)) resolve();
    };
    if (!isThenable(done)) handled();
    else
      done.then(handled, (cause: unknown) => {
        // Not durable: reported as such, as every adapter does; in process there is no redelivery.
        failed(lane, batch, cause, 'MW_RUNTIME_BUS_NOT_DURABLE');
        handled();
      });
    queueMicrotask(() => pump(lane));
  };

  return {
    wake(lane) {
      if (lane.busy || lane.handler === undefined) return;
      lane.busy = true;
      queueMicrotask(() => pump(lane));
    },
  };
}

/** Tells `onError` of failed or unhandled items; it must not throw. */
export function report<T>(
  onError: BusOptions<T>['onError'],
  error: Error,
  partition: number,
  items: readonly T[],
): void {
  try {
    onError(error, { partition, items });
  } catch {
    // onError must not throw; swallowing keeps the partition going (its items were reported).
  }
}

/** The lane's next batch, at most `maxBatch` items, or nothing if it is empty. */
function takeBatch<T>(lane: Lane<T>, maxBatch: number): T[] | undefined {
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
}
