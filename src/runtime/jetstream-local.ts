import { isMeshwardenError } from '../envelope/index.js';
import { runtimeError } from './errors.js';

/** A publish that failed is tried again after this long, doubling up to REPUBLISH_MAX_MS. */
const REPUBLISH_FIRST_MS = 100;
const REPUBLISH_MAX_MS = 2_000;

/**
 * Where the JetStream bus's items that came in process (its `local` option) go when the lane that
 * took them cannot finish them: to the stream after all (not durable here, or the partition given
 * up), or, once the bus has stopped, reported as dropped. Nothing else holds such an item, so a
 * publish that fails is tried again until the stream takes it or the bus stops; the drain watch
 * counts it meanwhile, so drain and close wait for it.
 */
export function localHandover<T>(deps: {
  readonly toStream: (partition: number, item: T) => Promise<void>;
  readonly report: (error: Error, partition: number, items: readonly T[]) => void;
  readonly isShut: () => boolean;
  /** Counts items on their way back to the stream (+n), and those that got there or were dropped (-n). */
  readonly republishing: (delta: number) => void;
}) {
  const reportDropped = (partition: number) => (items: readonly T[]) =>
    deps.report(
      runtimeError('MW_RUNTIME_BUS_LOCAL_DROPPED', { partition, count: items.length }),
      partition,
      items,
    );

  /** One after the other, each acked before the next goes, so they reach the stream in order. */
  const republish = (partition: number) => (items: readonly T[]) => {
    deps.republishing(items.length);
    void (async () => {
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        for (let wait = REPUBLISH_FIRST_MS, told = false; ; wait = Math.min(wait * 2, REPUBLISH_MAX_MS)) {
          if (deps.isShut()) {
            reportDropped(partition)(items.slice(i));
            deps.republishing(-(items.length - i));
            return;
          }
          try {
            await deps.toStream(partition, item);
            break;
          } catch (err) {
            // An item that is not JSON never will be: reported, and not tried again.
            const unwritable = isMeshwardenError(err) && err.code === 'MW_RUNTIME_BUS_ENCODE';
            if (!told || unwritable) deps.report(err as Error, partition, [item]);
            told = true;
            if (unwritable) break;
            await new Promise((next) => setTimeout(next, wait));
          }
        }
        deps.republishing(-1);
      }
    })();
  };

  return { republish, reportDropped };
}
