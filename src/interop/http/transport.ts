import {
  type AgentDefinition,
  type AgentTransport,
  type Envelope,
  isMeshwardenError,
  type MeshwardenError,
} from '../../runtime/index.js';
import { traceHeaders } from '../a2a/message.js';
import { credentialOf, headersOf, withoutSecret } from '../auth.js';
import { interopError } from '../errors.js';
import { answerError, networkCause } from '../http-answer.js';
import { circuitsOf, type ResilienceOptions } from '../resilience.js';
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
 * runtime records it, retries, and dead-letters the message after the last try; an answer another
 * try would get again (a redirect, a refused key, a 4xx other than 408 and 429) is final, dead-lettered
 * at once (http-answer.ts).
 */
export function createHttpTransport(opts: HttpTransportOptions = {}): AgentTransport {
  const limit = opts.maxReplyBytes ?? 1024 * 1024;
  const circuits = circuitsOf(opts);
  return {
    kind: 'url',
    connect(spec): AgentDefinition | MeshwardenError {
      const url = spec.url ?? '';
      const where = { who: `agent ${spec.name}`, url };
      const credential = credentialOf(spec.auth, where.who);
      if (isMeshwardenError(credential)) return credential;
      const resilience = circuits(spec.name, url);
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
            // Read, not followed (a redirect would send the envelope on to a host the policy never
            // named): the error can then say where it leads.
            redirect: 'manual',
          });
        } catch (cause) {
          if (signal.aborted) throw cause;
          throw interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: networkCause(cause) }, { cause });
        }
        if (!response.ok) throw await answerError(response, { url, credential, where });
        const text = await readBody(response, limit, where);
        if (isMeshwardenError(text)) throw text;
        // An agent that echoes its credential (a debug field, a quoted header) must not put it in the ledger.
        const answer = withoutSecret(text, credential);
        const type = withoutSecret(response.headers.get('content-type') ?? '', credential);
        const events = parseReply(type, answer, where);
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
