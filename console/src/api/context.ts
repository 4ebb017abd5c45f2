import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './client.js';

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi outside of a signed-in console');
  return api;
}
