import { type Envelope, isMeshwardenError, type MeshwardenError, quotedText } from '../../runtime/index.js';
import { traceHeaders } from '../a2a/message.js';
import { type Credential, headersOf, withoutSecret } from '../auth.js';
import { interopError } from '../errors.js';
import { readBody } from '../http/reply.js';
import { networkCause } from '../http/transport.js';
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

/** How much of a remote's own error message an error repeats. */
const REMOTE_MESSAGE_CHARS = 300;

/**
 * Sends one request and reads the answer, bounded. The envelope id goes as `Idempotency-Key` (the
 * same on every retry of the delivery, so an endpoint that honours it does the work once), the trace
 * context as W3C headers, the credential as its header. A redirect is MW_INTEROP_REDIRECT, final:
 * following it would send the message on to a host the policy never named. Another non-2xx answer
 * is MW_INTEROP_HTTP_STATUS with the remote's own error message when its body has one (Flowise's
 * `{statusCode, success, message}`, n8n's `{code, message}`), cut short; a refused key, or a 4xx
 * other than 408 and 429, is final.
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
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw redirected(response, call, where);
  }
  // Quoted in BAD_REPLY errors: a hostile endpoint's header is cut short like its other text.
  const type = quotedText((response.headers.get('content-type') ?? '').split(';')[0]!, 100).toLowerCase();
  if (!response.ok) {
    // The error body is read only as far as a message fits; a huge one is not the point.
    const text = await readBody(response, 64 * 1024, where);
    const remote = isMeshwardenError(text) ? undefined : remoteMessage(withoutSecret(text, call.credential));
    const key = keyRefused(response.status, remote, call.credential);
    const status = remote === undefined ? `${response.status}` : `${response.status}: ${remote}`;
    throw interopError(
      'MW_INTEROP_HTTP_STATUS',
      { ...where, status: key === undefined ? status : `${status}. ${key.text}` },
      {
        details: {
          status: response.status,
          ...(remote === undefined ? {} : { remote }),
          ...(key === undefined ? {} : { credential: key.credential }),
          ...(key !== undefined || refusedForGood(response.status) ? { final: true } : {}),
        },
      },
    );
  }
  const text = await readBody(response, call.limit, where);
  if (isMeshwardenError(text)) throw text;
  return { status: response.status, type, text: withoutSecret(text, call.credential) };
}

/**
 * A 3xx answer, naming where it leads, cut short: without user:password@ and without the query and
 * fragment, which may carry a token (the endpoint's own, or ours echoed back), and with the secret
 * redacted wherever else it appears.
 */
function redirected(response: Response, call: JsonCall, where: Where): MeshwardenError {
  const location = response.headers.get('location');
  let target = location ?? '';
  if (location !== null && URL.canParse(location, call.url)) {
    const resolved = new URL(location, call.url);
    resolved.username = '';
    resolved.password = '';
    const query = resolved.search !== '' || resolved.hash !== '';
    resolved.search = '';
    resolved.hash = '';
    target = query ? `${resolved.href}?…` : resolved.href;
  }
  target = withoutSecret(target, call.credential);
  const shown = location === null ? 'nowhere (no Location header)' : quotedText(target, 200);
  return interopError(
    'MW_INTEROP_REDIRECT',
    { ...where, status: response.status, location: shown },
    {
      details: {
        status: response.status,
        ...(location === null ? {} : { location: shown }),
        final: true,
      },
    },
  );
}

/**
 * A 4xx answer another try would get again (a bad request, no such flow or webhook, a refused key):
 * final, so the message is dead-lettered after one try. 408 and 429 say "later", and are retried.
 */
function refusedForGood(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** The error message a JSON error body holds (`message`, `error` or `error.message`), if any. */
export function remoteMessage(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as { message?: unknown; error?: unknown };
  const found =
    typeof b.message === 'string'
      ? b.message
      : typeof b.error === 'string'
        ? b.error
        : typeof (b.error as { message?: unknown } | undefined)?.message === 'string'
          ? (b.error as { message: string }).message
          : undefined;
  if (found === undefined || found.trim() === '') return undefined;
  return quotedText(found, REMOTE_MESSAGE_CHARS);
}

/**
 * Whether the answer says the credential was refused or is missing, said plainly: Flowise 3.1.4
 * answers a wrong or missing API key with HTTP 500 and `Error: predictionsServices.buildChatflow -
 * Unauthorized`, which reads like a crashed flow; a 401 or 403 means the same anywhere.
 */
function keyRefused(
  status: number,
  remote: string | undefined,
  credential: Credential | undefined,
): { readonly credential: 'refused' | 'missing'; readonly text: string } | undefined {
  if (status !== 401 && status !== 403 && !/\bUnauthori[sz]ed\.?$/i.test(remote ?? '')) return undefined;
  return credential === undefined
    ? {
        credential: 'missing',
        text: 'It asks for an API key, and the agent has none: add auth: { env: NAME } to it in the policy',
      }
    : {
        credential: 'refused',
        text: `It refused the API key (from environment variable ${credential.env}): check that key, not the flow`,
      };
}
