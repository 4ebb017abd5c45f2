import { isThenable } from './thenable.js';

/**
 * Tracks in-flight work so the shell knows when the mesh is quiescent, and bounds how many
 * handlers run at once. Work that is queued, awaiting durability, or running counts as in flight.
 */
export type WorkTracker = {
  /**
   * Runs `fn` within the concurrency bound and counts it as in flight until it settles; an `fn` that
   * returns no promise is done when it returns.
   */
  run(fn: Work): void;
  /** Counts a promise as in flight until it settles (not bounded: it is already running). */
  track(promise: Promise<unknown>): void;
  /** Resolves when nothing is in flight or queued. */
  idle(): Promise<void>;
  readonly inFlight: number;
};

/** A piece of work: done when it returns, or when the promise it returns settles. */
export type Work = () => void | Promise<void>;

export function createWorkTracker(concurrency: number, onError: (err: unknown) => void): WorkTracker {
  let pending = 0;
  let running = 0;
  // A head index instead of Array#shift, which copies the whole queue on every call when it is long.
  let queue: Work[] = [];
  let head = 0;
  const next = (): Work | undefined => {
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
  /**
   * Starts queued work while there is room. Work that is done when it returns frees its place at once:
   * a loop, not a recursion, over the queue.
   */
  const drain = () => {
    while (running < concurrency) {
      const fn = next();
      if (fn === undefined) return;
      start(fn);
    }
  };
  const finished = () => {
    running--;
    drain();
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
  /**
   * Runs `fn`. One `then` per piece of work that returns a promise, not `catch` + `finally`: every hop
   * passes here several times. Work done as it returns frees its place at once; the caller drains.
   */
  const start = (fn: Work): void => {
    running++;
    let result: unknown;
    try {
      result = fn();
    } catch (err) {
      onError(err);
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(finished, failed);
      return;
    }
    running--;
    settle();
  };

  return {
    run(fn) {
      pending++;
      if (running < concurrency) {
        start(fn);
        // Work that ran to its end may have queued more (its own `run`) while it held the place.
        drain();
      } else queue.push(fn);
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
