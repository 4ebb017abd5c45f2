import type { Readable, Writable } from 'node:stream';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Server } from '@modelcontextprotocol/server';
import { type StdioServerHandle, StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Logger } from 'pino';
import { errorLogFields, isMeshwardenError, type MeshwardenError } from '../../runtime/index.js';
import { callFailure } from './failures.js';
import { cappedFetch, MAX_REPLY_BYTES } from './fetch.js';
import type { Where } from './result.js';

export type MeshMcpProxyOptions = {
  /** The mesh's MCP endpoint: `<url printed by meshwarden up>/api/v1/mcp`. */
  readonly endpoint: string;
  /** A partner's or pilot's API token: what the proxy's client sends is recorded as sent by its name. */
  readonly token: string;
  /** Each call to the mesh that takes longer fails (default 30 s: a call waits for the gate). */
  readonly timeoutMs?: number;
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly log?: Logger;
};

export type MeshMcpProxy = StdioServerHandle & {
  /** The tool names the mesh served when the proxy connected. */
  readonly tools: readonly string[];
  /** Resolves when the stdio session ends: the client closed our input, or our output broke. */
  readonly ended: Promise<void>;
};

/**
 * The mesh's MCP server (`meshwarden up` serves it at /api/v1/mcp) served again over stdio, for MCP
 * clients that only spawn their servers. It decides nothing: `tools/list` and `tools/call` are asked
 * of the mesh with the pilot's token, per request (so a reloaded policy's tools show at once), and
 * answered as the mesh answered, so the gate and the ledger see every call exactly as over HTTP. It
 * connects first and lists the tools, so a wrong address or token fails at start with a typed error
 * (the shell prints it on stderr; stdout carries only MCP).
 */
export async function startMeshMcpProxy(opts: MeshMcpProxyOptions): Promise<MeshMcpProxy | MeshwardenError> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  // The shared codes (unreachable, too slow, an HTTP status, too big) name who and where.
  const where: Where = {
    who: 'the mesh',
    url: opts.endpoint,
    effect: 'meshwarden mcp',
    server: opts.endpoint,
    tool: '(the mesh tool asked for)',
  };
  const remote = new Client({ name: 'meshwarden-mcp', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(opts.endpoint), {
    requestInit: { headers: { authorization: `Bearer ${opts.token}` } },
    fetch: cappedFetch(MAX_REPLY_BYTES, where),
  });
  // Each call bounded by the SDK's request timeout; the mesh's own JSON-RPC errors pass through
  // unchanged, for the stdio client to read as the mesh said them; anything else becomes typed.
  const ask = <T>(call: (options: { timeout: number }) => Promise<T>): Promise<T> =>
    call({ timeout: timeoutMs }).catch((cause: unknown) => {
      throw cause instanceof ProtocolError ? cause : callFailure(cause, where, undefined, timeoutMs);
    });

  let tools: string[];
  try {
    await ask((options) => remote.connect(transport, options));
    tools = (await ask((options) => remote.listTools(undefined, options))).tools.map((t) => t.name);
  } catch (cause) {
    await remote.close().catch(() => undefined);
    return isMeshwardenError(cause) ? cause : callFailure(cause, where, undefined, timeoutMs);
  }

  const wire = new StdioServerTransport(opts.stdin, opts.stdout);
  const handle = serveStdio(
    () => {
      const server = new Server(
        { name: 'meshwarden', version: '1' },
        {
          capabilities: { tools: {} },
          instructions: `Sends into the mesh at ${opts.endpoint}; every call passes its gate.`,
        },
      );
      server.setRequestHandler('tools/list', (request) =>
        ask((options) => remote.listTools(request.params, options)),
      );
      server.setRequestHandler('tools/call', (request) =>
        ask((options) => remote.callTool(request.params, options)).catch((error: unknown) => {
          if (!isMeshwardenError(error)) throw error;
          opts.log?.warn({ ...errorLogFields(error), tool: request.params.name }, 'mesh call failed');
          // The tool could not be asked: the model reads why, and the mesh recorded nothing.
          return {
            isError: true,
            content: [{ type: 'text' as const, text: `${error.code}: ${error.message}` }],
          };
        }),
      );
      return server;
    },
    {
      transport: wire,
      onerror: (err) => opts.log?.debug({ err }, 'mcp stdio request refused'),
    },
  );
  // The wire closes when the client closes our input, or when writing to it fails (it went away).
  const ended = new Promise<void>((resolve) => {
    const served = wire.onclose;
    wire.onclose = () => {
      served?.();
      resolve();
    };
  });
  return {
    tools,
    ended,
    async close() {
      await handle.close();
      await remote.close().catch(() => undefined);
    },
  };
}
