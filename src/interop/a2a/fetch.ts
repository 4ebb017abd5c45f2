import { isMeshwardenError } from '../../runtime/index.js';
import { type Credential, withoutSecret } from '../auth.js';
import { interopError } from '../errors.js';
import { readBody } from '../http/reply.js';
import { answerError, networkCause, statusError } from '../http-answer.js';

/**
 * The `fetch` the A2A SDK uses for one agent. The SDK would buffer a reply of any size and report a
 * refused connection as a bare "fetch failed"; this one reads at most `limit` bytes
 * (MW_INTEROP_REPLY_TOO_BIG), names the socket error and the address (MW_INTEROP_UNREACHABLE), and
 * turns a redirect (never followed) and a non-2xx answer that is no protocol error body (a proxy's
 * 502 page) into typed errors (http-answer.ts: MW_INTEROP_REDIRECT, MW_INTEROP_HTTP_STATUS, final
 * for a 4xx another try would get again). Protocol error bodies pass through for the SDK to decode.
 * `timeoutMs`, when given, bounds each call the SDK makes without a signal of its own (card
 * fetches); a `credential` is sent with every request to its origin, and redacted from every answer.
 */
export function guardedFetch(
  who: string,
  limit: number,
  timeoutMs?: number,
  credential?: ScopedCredential,
): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const where = { who, url };
    // A fresh bound per call (a shared one would expire); redirects are read, not followed, so a
    // server cannot bounce a call (and what it carries) on to another host.
    const signal = timeoutMs === undefined ? init?.signal : AbortSignal.timeout(timeoutMs);
    const bounded = {
      ...init,
      // The agent's credential goes with every request to the origin the policy named, and nowhere
      // else: a card may name an interface on another host, which must not receive it.
      ...(credential === undefined || new URL(url).origin !== credential.origin
        ? {}
        : { headers: withCredential(init?.headers, credential.credential) }),
      redirect: 'manual' as const,
      ...(signal ? { signal } : {}),
    };
    let response: Response;
    try {
      response = await fetch(input, bounded);
    } catch (cause) {
      if (bounded.signal?.aborted) throw cause;
      throw interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: networkCause(cause) }, { cause });
    }
    const secret = credential?.credential;
    const called = { url, credential: secret, where };
    if (response.status >= 300 && response.status < 400) throw await answerError(response, called);
    const read = await readBody(response, limit, where);
    if (isMeshwardenError(read)) throw read;
    const body = withoutSecret(read, secret);
    if (!response.ok && !isErrorBody(body)) throw statusError(response.status, body, called);
    // The body is read already: hand the SDK a copy it can read once more, with nothing in it (its
    // reason phrase, which the SDK's errors quote, and headers too) that holds the secret.
    const headers = new Headers();
    for (const [name, value] of response.headers) headers.append(name, withoutSecret(value, secret));
    const bodiless = response.status === 204 || response.status === 205;
    return new Response(bodiless ? null : body, {
      status: response.status,
      statusText: withoutSecret(response.statusText, secret),
      headers,
    });
  };
}

/** A credential, and the one origin it may be sent to: the policy's `a2a:` URL's. */
export type ScopedCredential = { readonly credential: Credential; readonly origin: string };

function withCredential(headers: RequestInit['headers'], credential: Credential): Headers {
  const merged = new Headers(headers);
  merged.set(credential.header, credential.value);
  return merged;
}

/**
 * An A2A protocol error the SDK decodes: a JSON-RPC error envelope, a REST `{ error: { … } }` body, or
 * a v0.3 REST `{ code, message }` body. A gateway's or framework's own error (Spring's `{ "status":
 * 401, "error": "Unauthorized" }`) is not one: it stays MW_INTEROP_HTTP_STATUS, final for a 4xx.
 */
function isErrorBody(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown> | null;
    if (parsed === null || typeof parsed !== 'object') return false;
    if ('jsonrpc' in parsed && 'error' in parsed) return true;
    if (parsed.error !== null && typeof parsed.error === 'object') return true;
    return typeof parsed.code === 'number' && typeof parsed.message === 'string';
  } catch {
    return false;
  }
}
