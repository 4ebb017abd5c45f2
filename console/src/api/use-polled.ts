import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, isApiError } from './client.js';
import { useApi } from './context.js';

export type Polled<T> = { data: T | undefined; error: ApiError | undefined; refresh: () => void };

/** GETs `path` now and every `intervalMs` (0: once); `refresh` fetches again at once (after an action). */
export function usePolled<T>(path: string | null, intervalMs: number): Polled<T> {
  const api = useApi();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const generation = useRef(0);

  const load = useCallback(() => {
    if (path === null) return;
    const mine = ++generation.current;
    api.get<T>(path).then(
      (value) => {
        // An older, slower answer must not overwrite a newer one.
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        setError(isApiError(err) ? err : { status: 0, code: 'CONSOLE', message: String(err) });
      },
    );
  }, [api, path]);

  useEffect(() => {
    setData(undefined);
    setError(undefined);
    load();
    if (intervalMs <= 0 || path === null) return;
    const timer = setInterval(load, intervalMs);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [load, intervalMs, path]);

  return { data, error, refresh: load };
}
