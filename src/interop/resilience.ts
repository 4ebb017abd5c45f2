import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { errorText, isFinal, isMeshwardenError, type MeshwardenError } from '../runtime/index.js';
import { interopError } from './errors.js';

export type ResilienceOptions = {
  /**
   * A call that takes longer fails (default 10 s), unless it has its own; the runtime retries the
   * delivery with backoff.
   */
  readonly timeoutMs?: number;
  /** Consecutive failures that open a target's circuit (default 5)… */
  readonly breakAfter?: number;
  /** …and how long it stays open before one trial call (default 30 s). */
  readonly halfOpenAfterMs?: number;
  /** Told when a target's circuit opens (the `circuit.opened` alert), with the target its last call named. */
  readonly onOpen?: (where: Where, failures: number) => void;
};

/** The remote thing a failure names: who and where. */
export type Where = { readonly who: string; readonly url: string };

/** A call's own timeout, from the policy, and where the policy sets it (named when it expires). */
export type CallTimeout = { readonly ms?: number; readonly setAt: string };

export type Resilience = {
  /**
   * Runs one call under the timeout (the call's own, else the default) and the target's circuit; a
   * failure comes back typed, naming `where`.
   */
  execute<T>(call: (signal: AbortSignal) => Promise<T>, where: Where, timeout?: CallTimeout): Promise<T>;
};

/**
 * One remote target's guard (an agent, or an MCP server its effects share), used by every transport:
 * cockatiel bounds each call with a timeout and opens a circuit after repeated failures, so a dead
 * target fails fast instead of holding handler slots. `counts` says which failures count toward the
 * circuit (all, by default). What `execute` throws is always a MeshwardenError: the call's own, or a
 * timeout, an open circuit or an unreachable target.
 */
export function createResilience(
  opts: ResilienceOptions = {},
  counts: (error: unknown) => boolean = () => true,
): Resilience {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const breakAfter = opts.breakAfter ?? 5;
  const halfOpenAfter = opts.halfOpenAfterMs ?? 30_000;
  const circuit = circuitBreaker(handleWhen(counts), {
    halfOpenAfter,
    breaker: new ConsecutiveBreaker(breakAfter),
  });
  // Told once per outage, naming the call that opened it: a failed half-open trial opens the
  // circuit again but is the same outage, until a call succeeds and the circuit closes.
  let told = false;
  circuit.onReset(() => {
    told = false;
  });
  const opened = (where: Where) => {
    if (told || circuit.state !== CircuitState.Open) return;
    told = true;
    opts.onOpen?.(where, breakAfter);
  };
  // One bound per timeout in use, all around the one circuit (a reload may change an agent's timeout).
  const wrapped = (ms: number) => wrap(circuit, timeout(ms, TimeoutStrategy.Aggressive));
  const bounds = new Map<number, ReturnType<typeof wrapped>>();
  const boundBy = (ms: number) => {
    const policy = bounds.get(ms) ?? wrapped(ms);
    bounds.set(ms, policy);
    return policy;
  };
  const typed = (cause: unknown, where: Where, ms: number, setAt: string | undefined): MeshwardenError => {
    if (isMeshwardenError(cause)) return cause;
    if (cause instanceof TaskCancelledError) {
      const change = setAt === undefined ? '' : `; to wait longer, set ${setAt} in the policy (like 60s)`;
      return interopError('MW_INTEROP_TIMEOUT', { ...where, ms, change });
    }
    if (cause instanceof BrokenCircuitError) {
      const seconds = Math.round(halfOpenAfter / 1000);
      return interopError('MW_INTEROP_CIRCUIT_OPEN', { ...where, failures: breakAfter, seconds });
    }
    return interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: errorText(cause) }, { cause });
  };
  return {
    async execute(call, where, bound) {
      const ms = bound?.ms ?? timeoutMs;
      try {
        return await boundBy(ms).execute(({ signal }) => call(signal));
      } catch (cause) {
        if (!(cause instanceof BrokenCircuitError)) opened(where);
        throw typed(cause, where, ms, bound?.setAt);
      }
    },
  };
}

/**
 * One circuit per agent and URL, kept across policy reloads (which connect every agent again), so
 * a reload does not close the circuit of an agent that is down. A final failure (a 4xx, a refused
 * key, a redirect) does not count toward it: the endpoint answered, so it is up, and the mistake is
 * in the request or the policy, which pausing calls would not mend.
 */
export function circuitsOf(opts: ResilienceOptions): (name: string, url: string) => Resilience {
  const circuits = new Map<string, Resilience>();
  return (name, url) => {
    const key = `${name}\0${url}`;
    const resilience = circuits.get(key) ?? createResilience(opts, (e) => !isFinal(e));
    circuits.set(key, resilience);
    return resilience;
  };
}
