import type { LedgerWriter } from '../ledger/index.js';
import type { Clock } from './envelopes.js';
import type { PartitionRouter } from './partition-router.js';
import type { Partition } from './partitions.js';
import type { WorkTracker } from './work.js';

/**
 * A mesh's life once built: expired state evicted every 5 s while it runs, quiescence (nothing on the
 * bus, nothing in flight), and close in the order drain, then close: in-flight work finishes, the
 * bus closes, the ledger flushes.
 */
export type MeshLife = {
  /** Close was called: the mesh takes nothing more from outside. */
  readonly closing: boolean;
  /** Resolves when nothing is on the bus, queued, awaiting durability or running. */
  idle(): Promise<void>;
  /** Lets in-flight work finish, closes the bus, flushes the ledger. Idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
};

/** How often expired state is evicted. */
const EVICT_EVERY_MS = 5_000;
/** Keys an evict step looks at before the event loop turns: 0.3 ms when most stay, 4 when most go. */
const EVICT_STEP = 8_192;

/** Starts the eviction timer at once; close stops it and every partition's hold timers. */
export function createMeshLife(deps: {
  readonly partitions: readonly Pick<Partition, 'state' | 'failures' | 'holds'>[];
  readonly router: Pick<PartitionRouter, 'drain' | 'open' | 'close'>;
  readonly work: Pick<WorkTracker, 'idle'>;
  readonly ledger: Pick<LedgerWriter, 'flush'>;
  readonly clock: Clock;
}): MeshLife {
  const { partitions, router, work, ledger, clock } = deps;
  let closing: Promise<void> | undefined;
  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });

  /** The evict pass under way, between two of its steps. */
  let evicting: NodeJS.Immediate | undefined;
  const evictTimer = setInterval(() => {
    if (evicting !== undefined) return;
    const now = clock();
    for (const p of partitions) p.failures.evict(now);
    // In steps, one per turn of the event loop: a pass over a million entities in one go held the
    // loop for 0.07 to 0.2 s every 5 s (docs/performance.md, "Memory per entity"); hops decided
    // between steps are seen as they are when reached.
    const passes = partitions.map((p) => p.state.evictInSteps(now, EVICT_STEP));
    let i = 0;
    const step = () => {
      evicting = undefined;
      for (; i < passes.length; i++) {
        if (!passes[i]!.next().done) {
          evicting = setImmediate(step).unref();
          return;
        }
      }
    };
    step();
  }, EVICT_EVERY_MS);
  evictTimer.unref();

  /** Quiet once nothing is on the bus and no work is in flight; each may feed the other. */
  const idle = async () => {
    do {
      await router.drain();
      await work.idle();
    } while (router.open() > 0);
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await idle();
        await router.close();
        await ledger.flush();
        resolveClosed();
      } catch (err) {
        resolveClosed(err as Error);
      } finally {
        clearInterval(evictTimer);
        if (evicting !== undefined) clearImmediate(evicting);
        for (const p of partitions) p.holds.close();
      }
    })();
    return closing;
  };

  return {
    get closing() {
      return closing !== undefined;
    },
    idle,
    close,
    closed,
  };
}
