import type { LedgerEntry } from '../ledger/index.js';
import type { WorkTracker } from './work.js';

/**
 * Keeps what comes in from outside (ingests, rejections) in call order across an awaited ledger
 * read: while one ingest waits on its duplicate-id read, later ones queue behind it, so a later
 * duplicate is read only once the earlier message is appended. A step appends when it runs and
 * hands the durable promise back boxed, so the queue moves on as soon as it is appended, not durable.
 */
export type InOrder = {
  /** Whether a step is waiting: callers that need no read may skip the queue only when it is empty. */
  readonly busy: boolean;
  run(step: () => Promise<{ durable: Promise<LedgerEntry> }>): Promise<LedgerEntry>;
};

export function createInOrder(work: WorkTracker): InOrder {
  /** Resolves once the last queued step has appended; undefined when nothing is queued. */
  let queued: Promise<void> | undefined;
  return {
    get busy() {
      return queued !== undefined;
    },
    run(step) {
      const { promise: appended, resolve } = Promise.withResolvers<void>();
      const before = queued ?? Promise.resolve();
      queued = appended;
      work.track(appended);
      const next = () => {
        if (queued === appended) queued = undefined;
        resolve();
      };
      return before.then(step).then(
        ({ durable }) => {
          next();
          return durable;
        },
        (err: unknown) => {
          next();
          throw err;
        },
      );
    },
  };
}
