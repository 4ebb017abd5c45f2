import { errorText, type MeshwardenError, makeError } from '../runtime/index.js';
import { cliError, EXIT } from './errors.js';
import type { Output } from './output.js';

/** Where `meshwarden up` listens unless told otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:7070';
const API_PREFIX = '/api/v1';
const TIMEOUT_SECONDS = 10;

/**
 * The pilot commands' one way to the mesh: the HTTP API of a running `meshwarden up`, never the
 * ledger or the runtime. Calls return the reply's document, or an error value: the server's typed
 * error (its code and message, `details.status` the HTTP status) or an `MW_CLI_*` error when the
 * mesh could not be reached or did not answer like Meshwarden.
 */
export type ApiClient = {
  /** The mesh's base address, as errors name it. */
  readonly url: string;
  /**
   * The options that reach this mesh's ledger again from `why` or `impact`, for a hint to repeat:
   * `--url <url>`, and `--token <your token>` (never the token itself) unless MESHWARDEN_TOKEN holds it.
   */
  readonly reach: string;
  get<T>(path: string): Promise<T | MeshwardenError>;
  post<T>(path: string, body: unknown): Promise<T | MeshwardenError>;
};

/** A client for the mesh at `url` with `token`; a usage error when either is missing or malformed. */
export function createApiClient(opts: {
  url: string;
  token?: string | undefined;
}): ApiClient | MeshwardenError {
  const token = opts.token?.trim() ?? '';
  if (token === '') return cliError('MW_CLI_NO_TOKEN');
  const url = baseUrl(opts.url);
  if (url === undefined) return cliError('MW_CLI_BAD_URL', { url: opts.url });

  const call = async <T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<T | MeshwardenError> => {
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${url}${API_PREFIX}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_SECONDS * 1000),
      });
      status = res.status;
      text = await res.text();
    } catch (cause) {
      return unreachable(url, cause);
    }
    const doc = parseJson(text);
    if (status >= 200 && status < 300 && doc !== undefined) return doc as T;
    return remoteError(doc, status) ?? cliError('MW_CLI_BAD_REPLY', { url, status }, { details: { status } });
  };
  const tokenFromEnv = process.env.MESHWARDEN_TOKEN?.trim() === token;
  return {
    url,
    reach: `--url ${shareable(url)}${tokenFromEnv ? '' : ' --token <your token>'}`,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  };
}

/** Codes that mean the command was asked wrongly (exit 2); every other failure is exit 1. */
const USAGE_CODES = new Set([
  'MW_CLI_NO_TOKEN',
  'MW_CLI_BAD_URL',
  'MW_CLI_MISSING_OPTION',
  'MW_CLI_BAD_DATA',
  'MW_CLI_BREAKER_AMBIGUOUS',
  'MW_CLI_BREAKER_NOT_OPEN',
  'MW_API_BAD_REQUEST',
]);

/**
 * Reports the error that ends a pilot command and returns its exit code. A rejected token or a role
 * too low gets a hint on stderr about where tokens come from.
 */
export function reportFailure(err: MeshwardenError, out: Output): number {
  out.fail(err);
  if (err.code === 'MW_API_UNAUTHENTICATED')
    out.note(
      'hint: check --token or MESHWARDEN_TOKEN; a token works only with the meshwarden up whose data directory made it (in a cluster, that one node). meshwarden up prints the admin token on its first start.',
    );
  if (err.code === 'MW_API_FORBIDDEN')
    out.note(
      'hint: acting (approve, reject, reset, freeze, unfreeze, send) needs a token with role pilot or admin; ask an admin for one.',
    );
  return USAGE_CODES.has(err.code) ? EXIT.usage : EXIT.failed;
}

/** `http(s)://host:port[/prefix]`, without a trailing slash or `/api/v1`; undefined when not such a URL. */
function baseUrl(raw: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.origin}${path.endsWith(API_PREFIX) ? path.slice(0, -API_PREFIX.length) : path}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The server's `{ error: { code, message, pointer?, answered? } }` as an error value with the
 * server's code; `answered` (who answered a hold first, docs/api.md) is kept in its details.
 */
function remoteError(doc: unknown, status: number): MeshwardenError | undefined {
  const error = (
    doc as
      | { error?: { code?: unknown; message?: unknown; pointer?: unknown; answered?: unknown } }
      | undefined
  )?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return undefined;
  const pointer = typeof error.pointer === 'string' ? error.pointer : undefined;
  const answered =
    typeof error.answered === 'object' && error.answered !== null ? { answered: error.answered } : {};
  // The code is the server's, so the table is made for it: the message passes through unchanged.
  return makeError<string>({ [error.code]: '{message}' })(
    error.code,
    { message: error.message },
    { details: { status, ...answered }, ...(pointer === undefined ? {} : { location: { pointer } }) },
  );
}

function unreachable(url: string, cause: unknown): MeshwardenError {
  if (cause instanceof Error && cause.name === 'TimeoutError')
    return cliError('MW_CLI_TIMEOUT', { url, seconds: TIMEOUT_SECONDS }, { cause });
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof inner?.code === 'string' ? inner.code : '';
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'no such host'
        : typeof inner?.message === 'string'
          ? inner.message
          : errorText(cause);
  return cliError('MW_CLI_UNREACHABLE', { url, cause: why }, { cause });
}

/** A URL fit to print in a hint: without `user:password@` or a query, which may hold a secret. */
function shareable(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.href.replace(/\/$/, '');
  } catch {
    return url;
  }
}
