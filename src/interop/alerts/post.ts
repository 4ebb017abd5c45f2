import type { MeshwardenError, SinkResult } from '../../runtime/index.js';
import { interopError } from '../errors.js';
import { hostOf } from '../url-host.js';

export { hostOf } from '../url-host.js';

export type PostOptions = {
  readonly sink: string;
  readonly type: string;
  readonly url: string;
  /** One try's limit. */
  readonly timeoutMs: number;
  /** Tries after the first. */
  readonly retries: number;
  /** First backoff delay (default 500 ms), doubling up to 30 s, with jitter. */
  readonly initialDelayMs?: number;
  /** Aborts the tries and the waits between them (the warden closing). */
  readonly signal?: AbortSignal;
  /** Wall clock for an HTTP-date Retry-After (default Date.now). */
  readonly clock?: () => number;
};

/** The longest wait between tries, and the most a receiver's Retry-After is honoured. */
export const MAX_DELAY_MS = 30_000;

/** A failed try: whether trying again may help (a network error, a timeout, 408, 429, 5xx), and when. */
type TryFailure = {
  readonly error: MeshwardenError;
  /** What went wrong, in the error's words (`answered HTTP 503`). */
  readonly problem?: string;
  readonly retryable: boolean;
  readonly afterMs?: number;
};

/**
 * POSTs one body with retries and exponential backoff with jitter, each try bounded by its timeout;
 * a 429 or 503's Retry-After (seconds or an HTTP date, at most 30 s) is waited instead.
 * `headers` is called per try, so a signature's timestamp is the try's own. Never rejects: the
 * outcome says how many tries were made and, for a failure, the last try's typed error. The URL
 * may hold a secret (Slack's does): errors name the host only and carry no cause text.
 */
export async function postWithRetries(
  opts: PostOptions,
  body: string,
  headers: () => Record<string, string>,
): Promise<SinkResult> {
  let last: TryFailure | undefined;
  for (let attempt = 1; attempt <= opts.retries + 1; attempt++) {
    if (last !== undefined) {
      const backoff = (opts.initialDelayMs ?? 500) * 2 ** (attempt - 2) * (0.5 + Math.random() / 2);
      const waited = await sleep(Math.min(MAX_DELAY_MS, last.afterMs ?? backoff), opts.signal);
      if (!waited) return { ok: false, attempts: attempt - 1, error: aborted(opts, last) };
    }
    last = await tryOnce(opts, body, headers);
    if (last === undefined) return { ok: true, attempts: attempt };
    if (!last.retryable) return { ok: false, attempts: attempt, error: last.error };
  }
  return { ok: false, attempts: opts.retries + 1, error: last!.error };
}

async function tryOnce(
  opts: PostOptions,
  body: string,
  headers: () => Record<string, string>,
): Promise<TryFailure | undefined> {
  const fail = (problem: string, retryable: boolean, afterMs?: number): TryFailure => ({
    error: sendError(opts, problem),
    problem,
    retryable,
    ...(afterMs === undefined ? {} : { afterMs }),
  });
  if (opts.signal?.aborted) return { error: aborted(opts), retryable: false };
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  try {
    res = await fetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'meshwarden-alerts', ...headers() },
      body,
      signal: opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]),
      // Read, not followed: the receiver would get the alert (and its signature) at a host never named.
      redirect: 'manual',
    });
  } catch {
    // The cause's text may quote the URL (a secret): only what kind of failure it was is kept.
    if (opts.signal?.aborted) return { error: aborted(opts), retryable: false };
    if (timeout.aborted) return fail(`no answer within ${opts.timeoutMs} ms`, true);
    return fail('unreachable (refused, reset, or no such host)', true);
  }
  // The answer is read (bounded by the timeout) only so the connection can be reused.
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return undefined;
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location');
    const to =
      location === null || !URL.canParse(location, opts.url)
        ? 'nowhere'
        : hostOf(new URL(location, opts.url).href);
    return fail(
      `answered a redirect (HTTP ${res.status}) to ${to}, which is not followed: put the final URL in the sink`,
      false,
    );
  }
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  const after =
    res.status === 429 || res.status === 503
      ? retryAfterMs(res.headers.get('retry-after'), (opts.clock ?? Date.now)())
      : undefined;
  return fail(`answered HTTP ${res.status}`, retryable, after);
}

/** The warden closed mid-send: before any answer, or between tries (then the last try's failure is said). */
function aborted(opts: PostOptions, last?: TryFailure): MeshwardenError {
  return sendError(
    opts,
    last?.problem === undefined
      ? 'not sent: the warden closed before the receiver answered'
      : `not sent: the warden closed while it waited to try again (the last try ${last.problem})`,
  );
}

/** MW_INTEROP_ALERT_SEND naming the sink and the receiver's host (never its path, which may be a secret). */
function sendError(opts: PostOptions, problem: string): MeshwardenError {
  return interopError(
    'MW_INTEROP_ALERT_SEND',
    { sink: opts.sink, type: opts.type, url: hostOf(opts.url), problem },
    { details: { problem } },
  );
}

/** A Retry-After header (delay seconds or an HTTP date) in ms from `now`, capped at 30 s; undefined if unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(MAX_DELAY_MS, Math.max(0, ms));
}

/** Waits `ms` without keeping the process up; false if `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
