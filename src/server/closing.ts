import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * How the API stops taking calls. First every new call, `GET /health` included, is refused with the
 * typed 503 `MW_API_CLOSING` while the listener stays open: while the mesh behind it drains (a
 * cluster node hands its partitions off), a load balancer or a probe gets an answer to act on, not a
 * refused connection. The long-lived streams (the live feed, a replay) end; the calls in flight
 * finish, for `callsWaitMs` at most (a client that stalls its body must not hold the drain up).
 * Only then does the shell close the mesh, and then the listener, which ends what is still open.
 */
export type ApiClosing = {
  /** True once calls are refused. */
  readonly refusing: () => boolean;
  /** Registers what ends a long-lived stream when calls start being refused. */
  onClosing(end: () => void): void;
  /** Counts a call as in flight until its response closes (answered, or its caller left). */
  track(raw: ServerResponse): void;
  /**
   * Refuses new calls and ends the streams; resolves once no call is in flight, or `callsWaitMs`
   * after, saying how many were left. Idempotent.
   */
  refuseCalls(): Promise<void>;
};

/** How long the calls in flight may take to finish once calls are refused, by default. */
export const CALLS_WAIT_MS = 10_000;

export function createApiClosing(log: Logger, callsWaitMs = CALLS_WAIT_MS): ApiClosing {
  let refusing = false;
  let inFlight = 0;
  const enders = new Set<() => void>();
  let idle: PromiseWithResolvers<void> | undefined;
  let refused: Promise<void> | undefined;
  return {
    refusing: () => refusing,
    onClosing(end) {
      enders.add(end);
    },
    track(raw) {
      inFlight++;
      raw.once('close', () => {
        inFlight--;
        if (inFlight === 0) idle?.resolve();
      });
    },
    refuseCalls() {
      refused ??= (async () => {
        refusing = true;
        for (const end of enders) {
          try {
            end();
          } catch (err) {
            log.warn({ err }, 'a stream did not end cleanly as the API closed');
          }
        }
        if (inFlight === 0) return;
        idle = Promise.withResolvers<void>();
        const timer = setTimeout(() => {
          log.warn({ calls: inFlight, ms: callsWaitMs }, 'calls still in flight as the API closes; going on');
          idle?.resolve();
        }, callsWaitMs);
        await idle.promise;
        clearTimeout(timer);
      })();
      return refused;
    },
  };
}
