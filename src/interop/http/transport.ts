import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import {
  type AgentDefinition,
  type AgentTransport,
  errorText,
  isMeshwardenError,
  type MeshwardenError,
} from '../../runtime/index.js';
import { interopError } from '../errors.js';
import { parseReply, readBody } from './reply.js';

export type HttpTransportOptions = {
  /** A call that takes longer fails (default 10 s); the runtime retries the delivery with backoff. */
  readonly timeoutMs?: number;
  /** Replies over this many bytes are refused (default 1 MiB). */
  readonly maxReplyBytes?: number;
  /** Consecutive failures that open an agent's circuit (default 5)… */
  readonly breakAfter?: number;
  /** …and how long it stays open before one trial call (default 30 s). */
  readonly halfOpenAfterMs?: number;
};

/**
 * `url:` agents. Each admitted message is POSTed to the agent as a structured CloudEvent; its reply
 * (a CloudEvents batch, one event, or nothing) becomes emissions that pass the gate like any other.
 * Per agent, cockatiel bounds each call with a timeout and opens a circuit after repeated failures,
 * so a dead agent fails fast instead of holding handler slots. Every failure is a typed error: the
 * runtime records it, retries, and dead-letters the message after the last try.
 */
export function createHttpTransport(opts: HttpTransportOptions = {}): AgentTransport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const limit = opts.maxReplyBytes ?? 1024 * 1024;
  const breakAfter = opts.breakAfter ?? 5;
  const halfOpenAfter = opts.halfOpenAfterMs ?? 30_000;
  return {
    kind: 'url',
    connect(spec): AgentDefinition {
      const url = spec.url ?? '';
      const where = { agent: spec.name, url };
      const resilience = wrap(
        circuitBreaker(handleAll, { halfOpenAfter, breaker: new ConsecutiveBreaker(breakAfter) }),
        timeout(timeoutMs, TimeoutStrategy.Aggressive),
      );
      const call = async (body: string, signal: AbortSignal) => {
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/cloudevents+json; charset=utf-8',
              accept: 'application/cloudevents-batch+json, application/cloudevents+json, application/json',
            },
            body,
            signal,
          });
        } catch (cause) {
          if (signal.aborted) throw cause;
          throw interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: networkCause(cause) }, { cause });
        }
        if (!response.ok) {
          await response.body?.cancel();
          throw interopError('MW_INTEROP_HTTP_STATUS', { ...where, status: response.status });
        }
        const text = await readBody(response, limit, where);
        if (isMeshwardenError(text)) throw text;
        const events = parseReply(response.headers.get('content-type') ?? '', text, where);
        if (isMeshwardenError(events)) throw events;
        return events;
      };
      return {
        async handle(msg, ctx) {
          let events: Awaited<ReturnType<typeof call>>;
          try {
            events = await resilience.execute(({ signal }) => call(JSON.stringify(msg), signal));
          } catch (cause) {
            throw asTransportError(cause, where, { timeoutMs, breakAfter, halfOpenAfter });
          }
          for (const event of events) ctx.forward(event);
        },
      };
    },
  };
}

function asTransportError(
  cause: unknown,
  where: { agent: string; url: string },
  o: { timeoutMs: number; breakAfter: number; halfOpenAfter: number },
): MeshwardenError {
  if (isMeshwardenError(cause)) return cause;
  if (cause instanceof TaskCancelledError)
    return interopError('MW_INTEROP_TIMEOUT', { ...where, ms: o.timeoutMs });
  if (cause instanceof BrokenCircuitError) {
    return interopError('MW_INTEROP_CIRCUIT_OPEN', {
      ...where,
      failures: o.breakAfter,
      seconds: Math.round(o.halfOpenAfter / 1000),
    });
  }
  return interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: errorText(cause) }, { cause });
}

/** Node's fetch hides the socket error under `cause`: ECONNREFUSED, a TLS failure, a bad host. */
function networkCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof inner?.code === 'string')
    return `${inner.code}${typeof inner.message === 'string' ? ` (${inner.message})` : ''}`;
  return errorText(cause);
}
