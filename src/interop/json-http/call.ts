import { type Envelope, isMeshwardenError, quotedText } from '../../runtime/index.js';
import { traceHeaders } from '../a2a/message.js';
import { type Credential, headersOf, withoutSecret } from '../auth.js';
import { interopError } from '../errors.js';
import { readBody } from '../http/reply.js';
import { answerError, networkCause } from '../http-answer.js';
import type { Where } from '../resilience.js';

/** One JSON request to a low-code flow or a JSON endpoint. */
export type JsonCall = {
  readonly method: 'POST' | 'PUT' | 'PATCH';
  readonly url: string;
  readonly body: unknown;
  /** The envelope handled: its id is the idempotency key, its trace context goes as headers. */
  readonly msg: Envelope;
  readonly credential: Credential | undefined;
  /** Answers over this many bytes are refused. */
  readonly limit: number;
  readonly where: Where;
};

/** A 2xx answer as it came: status, content type (lower case, without parameters) and body text. */
export type JsonAnswer = { readonly status: number; readonly type: string; readonly text: string };

/**
 * Sends one request and reads the answer, bounded. The envelope id goes as `Idempotency-Key` (the
 * same on every retry of the delivery, so an endpoint that honours it does the work once), the trace
 * context as W3C headers, the credential as its header. An answer that is not a 2xx is a typed
 * error (http-answer.ts); an answer's text has the secret redacted.
 */
export async function callJson(call: JsonCall, signal: AbortSignal): Promise<JsonAnswer> {
  const { where } = call;
  let response: Response;
  try {
    response = await fetch(call.url, {
      method: call.method,
      headers: {
        ...headersOf(call.credential),
        ...traceHeaders(call.msg),
        'content-type': 'application/json',
        accept: 'application/json, text/plain;q=0.9, */*;q=0.1',
        'idempotency-key': call.msg.id,
      },
      body: JSON.stringify(call.body),
      signal,
      // Read, not followed: the error can then say where it leads.
      redirect: 'manual',
    });
  } catch (cause) {
    if (signal.aborted) throw cause;
    throw interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: networkCause(cause) }, { cause });
  }
  // Quoted in BAD_REPLY errors: a hostile endpoint's header is cut short like its other text.
  const header = withoutSecret(response.headers.get('content-type') ?? '', call.credential);
  const type = quotedText(header.split(';')[0]!, 100).toLowerCase();
  if (!response.ok) throw await answerError(response, call);
  const text = await readBody(response, call.limit, where);
  if (isMeshwardenError(text)) throw text;
  return { status: response.status, type, text: withoutSecret(text, call.credential) };
}
