/**
 * Tracks in-flight work so the shell knows when the mesh is quiescent, and bounds how many
 * handlers run at once. Work that is queued, awaiting durability, or running counts as in flight.
 */
export type WorkTracker = {
  /** Runs `fn` within the concurrency bound and counts it as in flight until it settles. */
  run(fn: () => Promise<void>): void;
  /** Counts a promise as in flight until it settles (not bounded: it is already running). */
  track(promise: Promise<unknown>): void;
  /** Resolves when nothing is in flight or queued. */
  idle(): Promise<void>;
  readonly inFlight: number;
};

export function createWorkTracker(concurrency: number, onError: (err: unknown) => void): WorkTracker {
  let pending = 0;
  let running = 0;
  // A head index instead of Array#shift, which copies the whole queue on every call when it is long.
  let queue: (() => Promise<void>)[] = [];
  let head = 0;
  const next = (): (() => Promise<void>) | undefined => {
    if (head === queue.length) return undefined;
    const fn = queue[head++];
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return fn;
  };
  let waiters: (() => void)[] = [];

  const settle = () => {
    pending--;
    if (pending === 0) {
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) resolve();
    }
  };
  const finished = () => {
    running--;
    const fn = next();
    if (fn !== undefined) start(fn);
    settle();
  };
  const failed = (err: unknown) => {
    onError(err);
    finished();
  };
  const failedTracked = (err: unknown) => {
    onError(err);
    settle();
  };
  // One `then` per piece of work, not `catch` + `finally`: every hop passes here several times.
  const start = (fn: () => Promise<void>) => {
    running++;
    fn().then(finished, failed);
  };

  return {
    run(fn) {
      pending++;
      if (running < concurrency) start(fn);
      else queue.push(fn);
    },
    track(promise) {
      pending++;
      promise.then(settle, failedTracked);
    },
    idle() {
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
    get inFlight() {
      return pending;
    },
  };
}
