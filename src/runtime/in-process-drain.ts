import type { AsyncLocalStorage } from 'node:async_hooks';
import type { BusOptions } from './bus.js';
import { runtimeError } from './errors.js';
import { type Lane, report, takeAll } from './in-process-lanes.js';

// One settled promise for every accepted publish and every drain with nothing pending: the hot path
// allocates none per item.
export const SETTLED: Promise<undefined> = Promise.resolve(undefined);

/** Items accepted and not yet handled and acked, over every partition: what drain and close wait on. */
export type Backlog = {
  readonly pending: number;
  /** One more item was accepted. */
  accepted(): void;
  /** `count` items were handled and acked (or reported, never to be handled). */
  handled(count: number): void;
  /** Resolves once nothing is pending (at once if nothing is). */
  drained(): Promise<void>;
};

export function createBacklog(): Backlog {
  let pending = 0;
  let drained: (() => void)[] = [];
  return {
    get pending() {
      return pending;
    },
    accepted() {
      pending++;
    },
    handled(count) {
      pending -= count;
      if (pending === 0 && drained.length > 0) {
        const ready = drained;
        drained = [];
        for (const resolve of ready) resolve();
      }
    },
    drained() {
      return pending === 0 ? SETTLED : new Promise((resolve) => drained.push(resolve));
    },
  };
}

/**
 * The in-process bus's close: open, then closing (no subscribing; only follow-ups, items its
 * handlers publish, are accepted), then shut (nothing is), once everything accepted was handled.
 */
export type BusShutdown = {
  /** Close was called. */
  readonly closing: boolean;
  /** Whether a publish now is refused: once close was called, but for a follow-up while it drains. */
  refuses(): boolean;
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
};

export function createBusShutdown<T>(deps: {
  readonly lanes: ReadonlyMap<number, Lane<T>>;
  readonly backlog: Backlog;
  /** The async context of the bus's handlers: what is published from it is a follow-up. */
  readonly handling: AsyncLocalStorage<true>;
  readonly onError: BusOptions<T>['onError'];
}): BusShutdown {
  const { lanes, backlog, handling, onError } = deps;
  let closing: Promise<void> | undefined;
  // Set once close has drained: from then on nothing is accepted, follow-ups included.
  let shut = false;
  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      // No one can subscribe any more: items of a partition without a handler will never be handled.
      for (const lane of lanes.values()) {
        if (lane.handler !== undefined) continue;
        const items = takeAll(lane);
        if (items.length === 0) continue;
        report(
          onError,
          runtimeError('MW_RUNTIME_BUS_UNHANDLED', { partition: lane.partition, count: items.length }),
          lane.partition,
          items,
        );
        backlog.handled(items.length);
      }
      // Follow-ups published while it drains keep it open; one may come as the last batch is acked.
      do {
        await backlog.drained();
      } while (backlog.pending > 0);
      shut = true;
      resolveClosed();
    })();
    return closing;
  };

  return {
    get closing() {
      return closing !== undefined;
    },
    refuses: () => closing !== undefined && (shut || handling.getStore() !== true),
    close,
    closed,
  };
}
