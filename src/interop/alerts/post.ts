import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { errorText, type MeshwardenError, type SinkResult } from '../../runtime/index.js';
import { interopError } from '../errors.js';

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
};

/** A failed try: whether trying again may help (a network error, a timeout, 408, 429, 5xx). */
type TryFailure = { readonly error: MeshwardenError; readonly retryable: boolean };

/**
 * POSTs one body with retries and exponential backoff (cockatiel), each try bounded by its timeout.
 * `headers` is called per try, so a signature's timestamp is the try's own. Never rejects: the
 * outcome says how many tries were made and, for a failure, the last try's typed error. The URL
 * may hold a secret (Slack's does): errors name the host only.
 */
export async function postWithRetries(
  opts: PostOptions,
  body: string,
  headers: () => Record<string, string>,
): Promise<SinkResult> {
  const where = hostOf(opts.url);
  let attempts = 0;
  const policy = retry(
    handleWhen((e) => (e as TryFailure).retryable === true),
    {
      maxAttempts: opts.retries,
      backoff: new ExponentialBackoff({ initialDelay: opts.initialDelayMs ?? 500, maxDelay: 30_000 }),
    },
  );
  try {
    await policy.execute(async () => {
      attempts++;
      const fail = (problem: string, retryable: boolean, cause?: unknown): TryFailure => ({
        error: interopError(
          'MW_INTEROP_ALERT_SEND',
          { sink: opts.sink, type: opts.type, url: where, problem },
          cause === undefined ? undefined : { cause },
        ),
        retryable,
      });
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers() },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs),
          redirect: 'error',
        });
      } catch (cause) {
        const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
        throw fail(
          timedOut ? `no answer within ${opts.timeoutMs} ms` : `unreachable: ${errorText(cause)}`,
          true,
          cause,
        );
      }
      // The answer is read (bounded by the timeout) only so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      throw fail(`answered HTTP ${res.status}`, retryable);
    });
    return { ok: true, attempts };
  } catch (e) {
    const failure = e as Partial<TryFailure>;
    const error =
      failure.error ??
      interopError('MW_INTEROP_ALERT_SEND', {
        sink: opts.sink,
        type: opts.type,
        url: where,
        problem: errorText(e),
      });
    return { ok: false, attempts, error };
  }
}

/** `https://hooks.slack.com` of a URL: what errors and logs may show of it. */
export function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(a URL)';
  }
}
