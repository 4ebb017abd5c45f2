import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Logger } from 'pino';
import type { Envelope, MeshwardenError } from '../envelope/index.js';
import { isMeshwardenError } from '../envelope/index.js';
import type { Clock } from './envelopes.js';
import { errorLogFields } from './error-log.js';
import { runtimeError } from './errors.js';
import type { MeshEvent, RunCounts } from './events.js';
import type { FailureBreakers } from './failures.js';
import { ENTRY } from './records.js';
import { type MeshTelemetry, noTelemetry } from './telemetry.js';
import { isThenable } from './thenable.js';
import type { WorkTracker } from './work.js';

/**
 * Whether another try cannot mend this error (a request mapping that fails fails the same way each
 * time): its maker sets `details.final: true`, and the message is dead-lettered at once, with it.
 */
export function isFinal(error: unknown): boolean {
  return isMeshwardenError(error) && error.details?.final === true;
}

export type RetryOptions = {
  /** Tries in all, the first included (default 3). */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** A handler or executor that takes longer fails this try (default 30 s). */
  readonly timeoutMs: number;
};

const DEFAULT_RETRY: RetryOptions = {
  attempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
  timeoutMs: 30_000,
};

/** One try's outcome after retries: the value, or the last error; with the tries it took. */
export type Attempted<T> =
  | { ok: true; value: T; attempt: number }
  | { ok: false; error: MeshwardenError; attempt: number };

/** What the agent runner and the effect runner share: tries with retries and timeouts, and dead letters. */
export type Attempts = {
  /** Bounds an asynchronous try by the timeout (or `ms`); a synchronous result passes through. */
  bounded<T>(value: T | Promise<T>, what: string, abort: TryAbort, ms?: number): T | Promise<T>;
  /**
   * Runs `fn` with retries; records every failed try; returns the result or the last error. A first
   * try that returns at once (a synchronous handler) is answered at once, without a promise.
   */
  attempt<T>(
    msg: Envelope,
    worker: string,
    fn: (attempt: number) => T | Promise<T>,
    wrapError: (cause: unknown) => MeshwardenError,
  ): Attempted<T> | Promise<Attempted<T>>;
  /** Records a message or request that ran out of tries (or could not run) as a dead letter. */
  deadLetter(msg: Envelope, worker: string, tries: number, error: MeshwardenError): void;
};

/** Retries with backoff (cockatiel), timeouts and dead letters, as both runners use them. */
export type AttemptsDeps = {
  log: Logger;
  clock: Clock;
  work: WorkTracker;
  counts: RunCounts;
  publish: (event: MeshEvent) => void;
  /** Records a failed try or a dead letter (counted into failure breakers); resolves when durable. */
  failed: FailureBreakers['record'];
  retry?: Partial<RetryOptions>;
  /** Told each delivery's time and outcome, and each failed try, when on. */
  telemetry?: MeshTelemetry;
};

export function createAttempts(deps: AttemptsDeps): Attempts {
  const { log, clock, work, counts, publish } = deps;
  const telemetry = deps.telemetry ?? noTelemetry;
  const options = { ...DEFAULT_RETRY, ...deps.retry };
  const resilience = retry(
    handleWhen((err) => !isFinal(err)),
    {
      maxAttempts: options.attempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs }),
    },
  );

  /**
   * Bounds an asynchronous try. A synchronous handler needs no timer, which keeps the common case
   * cheap (cockatiel's timeout policy allocates an AbortController and a DOMException per call).
   */
  const bounded = <T>(
    value: T | PromiseLike<T>,
    what: string,
    abort: TryAbort,
    ms = options.timeoutMs,
  ): T | Promise<T> => {
    if (!isThenable(value)) return value;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = runtimeError('MW_RUNTIME_TIMEOUT', { what, ms });
        // The try is given up first (a handler that ends on abort must not count as finished), then a
        // handler that listens to its signal stops its work too.
        reject(error);
        abort.expired = error;
        abort.controller?.abort(error);
      }, ms);
    });
    return Promise.race([value, expired]).finally(() => clearTimeout(timer));
  };

  /** A failed try as a MeshwardenError, recorded as `delivery.failed` unless it was the last try. */
  const failedTry = (
    msg: Envelope,
    worker: string,
    tries: number,
    cause: unknown,
    wrapError: (cause: unknown) => MeshwardenError,
  ): MeshwardenError => {
    const error = isMeshwardenError(cause) ? cause : wrapError(cause);
    if (telemetry.on) telemetry.deliveryFailed(worker);
    // The last try, or a final one, is recorded by its dead letter.
    if (tries < options.attempts && !isFinal(error))
      work.track(deps.failed(ENTRY.deliveryFailed, msg, worker, tries, error));
    return error;
  };

  /**
   * Runs `fn` with retries; records every failed try; returns the result or the last error. The first
   * try runs before cockatiel is involved (most succeed, and its async layers cost every hop), and a
   * first try that returns at once is answered at once: a synchronous handler's hop makes no promise
   * here. A first try that failed is handed to cockatiel as its own first failure, so the retries and
   * their backoff are the same as if it had run them all.
   */
  const attempt = <T>(
    msg: Envelope,
    worker: string,
    fn: (attempt: number) => T | Promise<T>,
    wrapError: (cause: unknown) => MeshwardenError,
  ): Attempted<T> | Promise<Attempted<T>> => {
    let value: T | Promise<T>;
    try {
      value = fn(1);
    } catch (cause) {
      return retried(msg, worker, fn, wrapError, failedTry(msg, worker, 1, cause, wrapError));
    }
    if (!isThenable(value)) return { ok: true, value, attempt: 1 };
    return Promise.resolve(value).then(
      (v): Attempted<T> => ({ ok: true, value: v, attempt: 1 }),
      (cause) => retried(msg, worker, fn, wrapError, failedTry(msg, worker, 1, cause, wrapError)),
    );
  };

  /** The tries after a first that failed with `first`: cockatiel's retries and backoff. */
  const retried = async <T>(
    msg: Envelope,
    worker: string,
    fn: (attempt: number) => T | Promise<T>,
    wrapError: (cause: unknown) => MeshwardenError,
    first: MeshwardenError,
  ): Promise<Attempted<T>> => {
    if (isFinal(first)) return { ok: false, error: first, attempt: 1 };
    let tries = 1;
    let replayed = false;
    try {
      const value = await resilience.execute(async () => {
        if (!replayed) {
          replayed = true;
          throw first;
        }
        tries++;
        try {
          return await fn(tries);
        } catch (cause) {
          throw failedTry(msg, worker, tries, cause, wrapError);
        }
      });
      return { ok: true, value, attempt: tries };
    } catch (cause) {
      return { ok: false, error: isMeshwardenError(cause) ? cause : wrapError(cause), attempt: tries };
    }
  };

  const deadLetter = (msg: Envelope, worker: string, tries: number, error: MeshwardenError) => {
    counts.deadLetters++;
    // An expected failure (a remote that timed out) as words; a stack only for a handler's bug.
    log.warn({ msgId: msg.id, worker, ...errorLogFields(error) }, 'message dead-lettered');
    work.track(deps.failed(ENTRY.deadLetter, msg, worker, tries, error));
    publish({
      type: 'dead-letter',
      at: clock(),
      msgId: msg.id,
      worker,
      code: error.code,
      message: error.message,
      subject: msg.subject,
      correlationid: msg.correlationid,
    });
  };

  /** `attempt`, timed for telemetry when it is on. */
  const timedAttempt: Attempts['attempt'] = (msg, worker, fn, wrapError) => {
    const began = performance.now();
    const timed = <R extends { ok: boolean }>(result: R): R => {
      telemetry.delivery(worker, performance.now() - began, result.ok);
      return result;
    };
    const result = attempt(msg, worker, fn, wrapError);
    return isThenable(result) ? result.then(timed) : timed(result);
  };

  return { bounded, attempt: telemetry.on ? timedAttempt : attempt, deadLetter };
}

/**
 * A try's abort signal: made only when a handler asks for it (most never do, and a controller per
 * try is not free), aborted with MW_RUNTIME_TIMEOUT when the try times out.
 */
export type TryAbort = { controller?: AbortController; expired?: Error };

export function signalOf(abort: TryAbort): AbortSignal {
  if (abort.controller === undefined) {
    abort.controller = new AbortController();
    if (abort.expired !== undefined) abort.controller.abort(abort.expired);
  }
  return abort.controller.signal;
}
