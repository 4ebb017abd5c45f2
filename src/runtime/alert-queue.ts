import { within } from './within.js';

/** Work sent a few at a time, in order: a slow receiver holds these, never its caller. */
export type SendQueue<J> = {
  /** Queues a job; false (nothing queued) when `cap` jobs already wait. */
  offer(job: J): boolean;
  /** Jobs waiting or running. */
  pending(): number;
  /** Resolves when nothing waits or runs, or after `ms`; false if it gave up waiting. */
  drain(ms: number): Promise<boolean>;
};

export function createSendQueue<J>(
  cap: () => number,
  inFlight: number,
  send: (job: J) => Promise<void>,
): SendQueue<J> {
  const queue: J[] = [];
  let running = 0;
  const idle = new Set<() => void>();

  const pump = () => {
    while (running < inFlight && queue.length > 0) {
      const job = queue.shift()!;
      running++;
      void send(job).finally(() => {
        running--;
        pump();
        if (running === 0 && queue.length === 0) for (const done of idle) done();
      });
    }
  };

  return {
    offer(job) {
      if (queue.length >= cap()) return false;
      queue.push(job);
      pump();
      return true;
    },
    pending: () => queue.length + running,
    async drain(ms) {
      if (running === 0 && queue.length === 0) return true;
      let done: () => void = () => {};
      const settled = new Promise<void>((resolve) => {
        done = resolve;
        idle.add(resolve);
      });
      const ok = await within(ms, settled);
      idle.delete(done);
      return ok;
    },
  };
}
