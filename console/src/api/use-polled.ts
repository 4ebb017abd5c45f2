import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, isApiError } from './client.js';
import { useApi } from './context.js';

export type Polled<T> = { data: T | undefined; error: ApiError | undefined; refresh: () => void };

/**
 * GETs `path` now and every `intervalMs` (0: once); `refresh` fetches again at once (after an action).
 * A 404 stops the polling of that address.
 * `data` and `error` are only ever the answer for `path` as it is now: while a new address loads,
 * there is none, never the old address's answer.
 */
export function usePolled<T>(path: string | null, intervalMs: number): Polled<T> {
  const api = useApi();
  const [answer, setAnswer] = useState<{ path: string; data?: T; error?: ApiError }>();
  const generation = useRef(0);
  const timer = useRef<ReturnType<typeof setInterval> | undefined>(undefined);

  const load = useCallback(() => {
    if (path === null) return;
    const mine = ++generation.current;
    api.get<T>(path).then(
      (value) => {
        // An older, slower answer must not overwrite a newer one.
        if (mine !== generation.current) return;
        setAnswer({ path, data: value });
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        const error = isApiError(err) ? err : { status: 0, code: 'CONSOLE', message: String(err) };
        // Not found will not be found on the next poll either: stop asking (a new address starts again).
        if (error.status === 404) clearInterval(timer.current);
        // A failed poll keeps the last data of the same address, with the error beside it.
        setAnswer((last) => ({ path, ...(last?.path === path ? { data: last.data } : {}), error }));
      },
    );
  }, [api, path]);

  useEffect(() => {
    load();
    if (intervalMs <= 0 || path === null) return;
    const every = setInterval(load, intervalMs);
    timer.current = every;
    return () => {
      clearInterval(every);
      generation.current++;
    };
  }, [load, intervalMs, path]);

  const current = answer !== undefined && answer.path === path ? answer : undefined;
  return { data: current?.data, error: current?.error, refresh: load };
}
