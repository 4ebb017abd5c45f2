import { createHttpTransport } from '../interop/index.js';
import type { AgentTransport } from '../runtime/index.js';

/** How the command line reaches remote agents: `url:` agents over HTTP. */
export function cliTransports(): AgentTransport[] {
  return [createHttpTransport()];
}
