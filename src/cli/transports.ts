import { createA2aTransport, createHttpTransport } from '../interop/index.js';
import type { AgentTransport } from '../runtime/index.js';

/** How the command line reaches remote agents: `url:` agents over HTTP, `a2a:` agents over A2A. */
export function cliTransports(): AgentTransport[] {
  return [createHttpTransport(), createA2aTransport()];
}
