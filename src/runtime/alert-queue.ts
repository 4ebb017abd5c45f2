import { within } from './within.js';

/** Work sent a few at a time, in order: a slow receiver holds these, never its caller. */
export type SendQueue<J> = {
  /**
   * Queues a job; false (nothing queued) when `cap` jobs already wait. An `urgent` job (a resolve)
   * goes in a lane of its own that is never full and is sent first.
   */
  offer(job: J, urgent?: boolean): boolean;
  /** Jobs waiting or running. */
  pending(): number;
  /** Resolves when nothing waits or runs, or after `ms`; false if it gave up waiting. */
  drain(ms: number): Promise<boolean>;
};

export function createSendQueue<J>(
  cap: () => number,
  inFlight: number,
  send: (job: J) => Promise<void>,
  /** Told when `send` throws or rejects (it should not): the queue goes on. */
  failed: (job: J, err: unknown) => void,
): SendQueue<J> {
  const queue: J[] = [];
  // Resolves: one per breaker that closed, so bounded by the breakers, not by a storm.
  const urgent: J[] = [];
  let running = 0;
  const idle = new Set<() => void>();
  const waiting = () => queue.length + urgent.length;

  const run = async (job: J) => {
    try {
      await send(job);
    } catch (err) {
      failed(job, err);
    }
  };
  const pump = () => {
    while (running < inFlight && waiting() > 0) {
      const job = urgent.length > 0 ? urgent.shift()! : queue.shift()!;
      running++;
      void run(job).finally(() => {
        running--;
        pump();
        if (running === 0 && waiting() === 0) for (const done of idle) done();
      });
    }
  };

  return {
    offer(job, isUrgent = false) {
      if (isUrgent) urgent.push(job);
      else if (queue.length >= cap()) return false;
      else queue.push(job);
      pump();
      return true;
    },
    pending: () => waiting() + running,
    async drain(ms) {
      if (running === 0 && waiting() === 0) return true;
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
