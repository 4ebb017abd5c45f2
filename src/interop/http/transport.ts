import {
  type AgentDefinition,
  type AgentTransport,
  type Envelope,
  errorText,
  isMeshwardenError,
  type MeshwardenError,
} from '../../runtime/index.js';
import { traceHeaders } from '../a2a/message.js';
import { credentialOf, headersOf } from '../auth.js';
import { interopError } from '../errors.js';
import { createResilience, type Resilience, type ResilienceOptions } from '../resilience.js';
import { parseReply, readBody } from './reply.js';

export type HttpTransportOptions = ResilienceOptions & {
  /** Replies over this many bytes are refused (default 1 MiB). */
  readonly maxReplyBytes?: number;
};

/**
 * `url:` agents. Each admitted message is POSTed to the agent as a structured CloudEvent; its reply
 * (a CloudEvents batch, one event, or nothing) becomes emissions that pass the gate like any other.
 * Per agent, cockatiel bounds each call with a timeout and opens a circuit after repeated failures,
 * so a dead agent fails fast instead of holding handler slots. Every failure is a typed error: the
 * runtime records it, retries, and dead-letters the message after the last try.
 */
export function createHttpTransport(opts: HttpTransportOptions = {}): AgentTransport {
  const limit = opts.maxReplyBytes ?? 1024 * 1024;
  // One circuit per agent and URL, kept across policy reloads (which connect every agent again), so
  // a reload does not close the circuit of an agent that is down.
  const circuits = new Map<string, Resilience>();
  return {
    kind: 'url',
    connect(spec): AgentDefinition | MeshwardenError {
      const url = spec.url ?? '';
      const where = { who: `agent ${spec.name}`, url };
      const credential = credentialOf(spec.auth, where.who);
      if (isMeshwardenError(credential)) return credential;
      const key = `${spec.name}\0${url}`;
      const resilience = circuits.get(key) ?? createResilience(opts);
      circuits.set(key, resilience);
      const call = async (msg: Envelope, signal: AbortSignal) => {
        const body = JSON.stringify(msg);
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: {
              ...headersOf(credential),
              // W3C trace context as headers too, where an instrumented HTTP server looks for it: the
              // agent's spans then sit under the gate decision that delivered the message.
              ...traceHeaders(msg),
              'content-type': 'application/cloudevents+json; charset=utf-8',
              accept: 'application/cloudevents-batch+json, application/cloudevents+json, application/json',
            },
            body,
            signal,
            // A redirect would send the envelope on to a host the policy never named.
            redirect: 'error',
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
          const events = await resilience.execute((signal) => call(msg, signal), where);
          for (const event of events) ctx.forward(event);
        },
      };
    },
  };
}

/** Node's fetch hides the socket error under `cause`: ECONNREFUSED, a TLS failure, a bad host. */
export function networkCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof inner?.code === 'string')
    return `${inner.code}${typeof inner.message === 'string' ? ` (${inner.message})` : ''}`;
  return errorText(cause);
}
