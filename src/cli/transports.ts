import { createA2aTransport, createHttpTransport, createMcpTransport } from '../interop/index.js';
import type { Transport } from '../runtime/index.js';

/** The transports a command hands to the mesh, and how to close them once the mesh is closed. */
export type CliTransports = { readonly list: Transport[] } & AsyncDisposable;

/**
 * How the command line reaches what is not in-process: `url:` agents over HTTP, `a2a:` agents over
 * A2A, `mcp:` effects through MCP tools. Disposing closes the MCP servers gracefully (stdin closed,
 * then a signal), so declare it with `await using` before the mesh, which then closes first.
 */
export function cliTransports(): CliTransports {
  const mcp = createMcpTransport();
  return {
    list: [createHttpTransport(), createA2aTransport(), mcp],
    [Symbol.asyncDispose]: () => mcp.close(),
  };
}
