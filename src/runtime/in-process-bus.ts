import { AsyncLocalStorage } from 'node:async_hooks';
import type { Bus, BusOptions, BusValue } from './bus.js';
import { runtimeError } from './errors.js';
import { createBacklog, createBusShutdown, SETTLED } from './in-process-drain.js';
import { createLaneWorker, type Lane, laneOf } from './in-process-lanes.js';

export type InProcessBusOptions<T> = BusOptions<T> & {
  /** The most items one handler call gets (default 1024): bounds how long one batch holds the thread. */
  readonly maxBatch?: number;
};

/**
 * The bus of embedded mode: per-partition FIFO queues in this process. Items are passed as they are
 * (no copy, no serialisation), so handlers treat them as read-only. Costs per item: one array push and
 * a counter; per batch: one microtask, an AsyncLocalStorage scope (so close can tell follow-ups) and,
 * for an asynchronous handler, its promise. No timers. The lanes and their worker are
 * in-process-lanes.ts; the count drain waits on and the close, in-process-drain.ts.
 */
export function createInProcessBus<T extends BusValue>(opts: InProcessBusOptions<T>): Bus<T> {
  const lanes = new Map<number, Lane<T>>();
  // Accepted and not yet handled and acked, over every partition: drain waits for it to reach 0.
  const backlog = createBacklog();
  // The async context of this bus's handlers (their own code, and what they await or chain): what is
  // published from it while close drains is a follow-up of work in flight, and is accepted.
  const handling = new AsyncLocalStorage<true>();
  const worker = createLaneWorker<T>({
    maxBatch: Math.max(1, Math.floor(opts.maxBatch ?? 1024)),
    handling,
    backlog,
    onError: opts.onError,
  });
  const shutdown = createBusShutdown<T>({ lanes, backlog, handling, onError: opts.onError });

  return {
    publish(partition, item) {
      if (shutdown.refuses()) return Promise.reject(runtimeError('MW_RUNTIME_BUS_CLOSED'));
      const lane = laneOf(lanes, partition);
      if (lane === undefined) return Promise.reject(runtimeError('MW_RUNTIME_BUS_PARTITION', { partition }));
      lane.queue.push(item);
      backlog.accepted();
      worker.wake(lane);
      return SETTLED;
    },
    subscribe(partition, handler) {
      if (shutdown.closing) throw runtimeError('MW_RUNTIME_BUS_CLOSED');
      const lane = laneOf(lanes, partition);
      if (lane === undefined) throw runtimeError('MW_RUNTIME_BUS_PARTITION', { partition });
      if (lane.handler !== undefined) throw runtimeError('MW_RUNTIME_BUS_SUBSCRIBED', { partition });
      lane.handler = handler;
      worker.wake(lane);
    },
    unsubscribe(partition) {
      const lane = lanes.get(partition);
      if (lane === undefined || lane.handler === undefined) return Promise.resolve();
      lane.handler = undefined; // what waits stays queued for the next subscriber
      if (lane.inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => lane.idle.push(resolve));
    },
    drain() {
      return backlog.drained();
    },
    close: shutdown.close,
    closed: shutdown.closed,
    [Symbol.asyncDispose]: shutdown.close,
  };
}
