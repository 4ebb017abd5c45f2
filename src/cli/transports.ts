import {
  createA2aTransport,
  createFlowiseTransport,
  createHttpTransport,
  createJsonHttpTransport,
  createMcpTransport,
  hostOf,
  type ResilienceOptions,
} from '../interop/index.js';
import type { Mesh, Transport } from '../runtime/index.js';

/** The transports a command hands to the mesh, and how to close them once the mesh is closed. */
export type CliTransports = { readonly list: Transport[] } & AsyncDisposable;

/**
 * How the command line reaches what is not in-process: `url:` agents over HTTP, `a2a:` agents over
 * A2A, `flowise:` flows and `http:` JSON endpoints with their mappings, `mcp:` effects through MCP
 * tools. Disposing closes the MCP servers gracefully (stdin closed, then a signal), so declare it
 * with `await using` before the mesh, which then closes first.
 */
export function cliTransports(opts: ResilienceOptions = {}): CliTransports {
  const mcp = createMcpTransport(opts);
  return {
    list: [
      createHttpTransport(opts),
      createA2aTransport(opts),
      createFlowiseTransport(opts),
      createJsonHttpTransport(opts),
      mcp,
    ],
    [Symbol.asyncDispose]: () => mcp.close(),
  };
}

/**
 * Transports whose circuits raise `circuit.opened` on the mesh once it is open (`bind`): the
 * transports are made before the mesh they serve.
 */
export function alertingTransports(): { transports: CliTransports; bind(mesh: Pick<Mesh, 'raise'>): void } {
  let target: Pick<Mesh, 'raise'> | undefined;
  const transports = cliTransports({
    onOpen: (where, failures) =>
      target?.raise({
        event: 'circuit.opened',
        key: where.who,
        summary: `${where.who} at ${hostOf(where.url)} failed ${failures} times in a row; calls to it are paused`,
        detail: { who: where.who, url: hostOf(where.url), failures },
      }),
  });
  return {
    transports,
    bind(mesh) {
      target = mesh;
    },
  };
}
