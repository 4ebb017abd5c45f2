import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { leaseNoticeSubject } from './lease-names.js';
import { within } from './within.js';

/**
 * What wakes a node's lease loop before its next tick: a change another node made to the bucket (it
 * released a lease, joined, or left), told on core NATS, so that a partition handed off is taken at
 * once rather than at the next owner's next tick (up to `tickMs` later); and the node's own close.
 * A notice lost costs only that wait: the ticks still run as before.
 */
export type LeaseWake = {
  /**
   * Tells the other nodes that this one changed the bucket. With `flushWithinMs`, resolves once the
   * notice left (the broker answered a flush), or that long after on a link that does not answer.
   */
  tell(flushWithinMs?: number): Promise<void>;
  /** Ends the pause under way, or the next one at once if none is. */
  wake(): void;
  /** Sleeps `ms`, or 50 ms once woken (or if woken since the last pause): at most. */
  pause(ms: number): Promise<void>;
  /** Stops listening, and wakes the loop for the last time. */
  close(): void;
};

/** A woken pause still lasts this long: a flood of notices must not spin the loop. */
const WOKEN_PAUSE_MS = 50;

export function listenForLeaseChanges(nc: NatsConnection, mesh: string, node: string): LeaseWake {
  const subject = leaseNoticeSubject(mesh);
  let woken = false;
  let shorten: (() => void) | undefined;
  const wake = () => {
    if (shorten !== undefined) shorten();
    else woken = true;
  };
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err === null && msg.string() !== node) wake();
    },
  });
  return {
    async tell(flushWithinMs) {
      try {
        nc.publish(subject, node);
      } catch {
        return; // the connection is closing or closed: the others see the change at their next tick
      }
      // A flush waits for the broker's answer with no end of its own: a cut link must not hold a close.
      if (flushWithinMs !== undefined) await within(flushWithinMs, nc.flush());
    },
    wake,
    pause(ms) {
      const began = performance.now();
      const short = Math.min(ms, WOKEN_PAUSE_MS);
      return new Promise<void>((resolve) => {
        let timer = setTimeout(done, woken ? short : ms);
        woken = false;
        shorten = () => {
          shorten = () => {}; // once: the tick to come reads what later wakes would tell
          clearTimeout(timer);
          timer = setTimeout(done, Math.max(0, short - (performance.now() - began)));
        };
        function done() {
          shorten = undefined;
          resolve();
        }
      });
    },
    close() {
      sub.unsubscribe();
      wake();
    },
  };
}
