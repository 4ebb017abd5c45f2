import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './client.js';

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi outside of a signed-in console');
  return api;
}

/** Who the signed-in token is (`GET /session`); undefined until read. */
export type Session = { name: string; role: 'viewer' | 'pilot' | 'admin' | string };

export const SessionContext = createContext<Session | undefined>(undefined);

/** Whether the signed-in token may act as a pilot: unknown counts as may (the warden still decides). */
export function useMayAct(): boolean {
  return useContext(SessionContext)?.role !== 'viewer';
}

/** The title of a button a viewer's token may not press: why it is off. Undefined when it may. */
export function viewerRefusal(mayAct: boolean, verb: string): string | undefined {
  return mayAct ? undefined : `A viewer's token cannot ${verb}: sign in with a pilot's token.`;
}
