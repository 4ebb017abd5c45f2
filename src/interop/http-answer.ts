import { errorText, isMeshwardenError, type MeshwardenError, quotedText } from '../runtime/index.js';
import { type Credential, urlHoldsSecret, withoutSecret } from './auth.js';
import { interopError } from './errors.js';
import { readBody } from './http/reply.js';
import type { Where } from './resilience.js';

// What every HTTP agent transport (url:, a2a:, flowise:, http:) makes of an answer that is not a 2xx.

/** How much of a remote's own error message an error repeats. */
const REMOTE_MESSAGE_CHARS = 300;

/** Where a call went, and with which credential: what an answer's error may say of it. */
export type Called = {
  readonly url: string;
  readonly credential: Credential | undefined;
  readonly where: Where;
};

/**
 * The typed error of an answer that is not a 2xx (fetch with `redirect: 'manual'`). A redirect is
 * MW_INTEROP_REDIRECT, final: following it would send the message on to a host the policy never
 * named. Another is MW_INTEROP_HTTP_STATUS with the remote's own error message when its body has
 * one (Flowise's `{statusCode, success, message}`, n8n's `{code, message}`), cut short and with the
 * secret redacted; a refused key, or a 4xx other than 408 and 429, is final.
 */
export async function answerError(response: Response, called: Called): Promise<MeshwardenError> {
  const { where } = called;
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    return redirected(response, called);
  }
  // The error body is read only as far as a message fits; a huge one is not the point.
  const text = await readBody(response, 64 * 1024, where);
  return statusError(response.status, isMeshwardenError(text) ? '' : text, called);
}

/** MW_INTEROP_HTTP_STATUS for a non-2xx answer whose body (`text`) is read already. */
export function statusError(status: number, text: string, called: Called): MeshwardenError {
  const { where, credential } = called;
  const remote = remoteMessage(withoutSecret(text, credential));
  const key = keyRefused(status, remote, credential);
  const said = remote === undefined ? `${status}` : `${status}: ${remote}`;
  return interopError(
    'MW_INTEROP_HTTP_STATUS',
    { ...where, status: key === undefined ? said : `${said}. ${key.text}` },
    {
      details: {
        status,
        ...(remote === undefined ? {} : { remote }),
        ...(key === undefined ? {} : { credential: key.credential }),
        ...(key !== undefined || refusedForGood(status) ? { final: true } : {}),
      },
    },
  );
}

/** Node's fetch hides the socket error under `cause`: ECONNREFUSED, a TLS failure, a bad host. */
export function networkCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } }).cause;
  const message = typeof inner?.message === 'string' ? inner.message : undefined;
  if (typeof inner?.code === 'string') return `${inner.code}${message === undefined ? '' : ` (${message})`}`;
  return message ?? errorText(cause);
}

/**
 * A 3xx answer, naming where it leads, cut short: without user:password@ and without the query and
 * fragment, which may carry a token (the endpoint's own, or ours echoed back). A target that holds
 * the secret in any spelling, as sent or as a URL parser rewrites it, is not shown at all.
 */
function redirected(response: Response, call: Called): MeshwardenError {
  const { where, credential } = call;
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
  // As sent, and as the URL parser rewrote it (a lower-cased host, \ turned into /).
  if (location !== null && (urlHoldsSecret(location, credential) || urlHoldsSecret(target, credential)))
    target = `a URL that holds the credential, [redacted: ${credential!.env}]`;
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

/** The error message a JSON error body holds (`message`, `error` or `error.message`), if any, cut short. */
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
    ? { credential: 'missing', text: keyHint('missing') }
    : { credential: 'refused', text: keyHint('refused', credential.env) };
}

/** What to do about a key an answer refused, or asked for and was not sent (`env`: where it is read). */
export function keyHint(credential: 'refused' | 'missing', env?: string): string {
  if (credential === 'missing')
    return 'It asks for an API key, and the agent has none: add auth: { env: NAME } to it in the policy';
  return `It refused the API key${env === undefined ? '' : ` (from environment variable ${env})`}: check that key`;
}
