import { createA2aTransport, createHttpTransport, createMcpTransport } from '../interop/index.js';
import type { Transport } from '../runtime/index.js';

/**
 * How the command line reaches what is not in-process: `url:` agents over HTTP, `a2a:` agents over
 * A2A, `mcp:` effects through MCP tools. The MCP transport's spawned servers do not keep the process
 * alive and are killed when it exits, so commands need not close it.
 */
export function cliTransports(): Transport[] {
  return [createHttpTransport(), createA2aTransport(), createMcpTransport()];
}
