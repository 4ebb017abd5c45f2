import type { Logger } from 'pino';
import {
  type EffectDefinition,
  type EffectTransport,
  isMeshwardenError,
  type JsonValue,
  type MeshwardenError,
  type ToolSchemaResult,
} from '../../runtime/index.js';
import { credentialOf } from '../auth.js';
import { createResilience, type Resilience, type ResilienceOptions } from '../resilience.js';
import { readServer } from './command.js';
import { createConnections } from './connections.js';
import { mcpError } from './errors.js';
import { callFailure } from './failures.js';
import { MAX_REPLY_BYTES } from './fetch.js';
import type { Where } from './result.js';
import { callTool, type JsonObject, listTools, type ToolCallDeps } from './tool-calls.js';

export type McpTransportOptions = {
  /** A call (connecting and listing tools included) that takes longer fails (default 10 s). */
  readonly timeoutMs?: number;
  /** A result over this many bytes is recorded as `{ truncated: true, bytes }` (default 1 MiB). */
  readonly maxResultBytes?: number;
  /** An HTTP server's reply over this many bytes fails the call, MW_INTEROP_REPLY_TOO_BIG (default 16 MiB). */
  readonly maxReplyBytes?: number;
  /** Consecutive failures that open a server's circuit (default 5)… */
  readonly breakAfter?: number;
  /** …and how long it stays open before one trial call (default 30 s). */
  readonly halfOpenAfterMs?: number;
  /** Told when a server's circuit opens (ResilienceOptions). */
  readonly onOpen?: ResilienceOptions['onOpen'];
  /** Environment added for spawned servers, over the SDK's default (HOME, PATH, USER, …). */
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: Logger;
};

/** The `mcp:` effect transport; it holds connections and children, so it is closed when done. */
export type McpTransport = EffectTransport & {
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Errors that are the server answering, not the server failing: they keep its circuit closed (and
 * its connection: tool-calls.ts drops that only when it is lost).
 */
const ANSWERS: ReadonlySet<string> = new Set([
  'MW_INTEROP_MCP_TOOL_ERROR',
  'MW_INTEROP_MCP_FAILED',
  'MW_INTEROP_MCP_UNKNOWN_TOOL',
]);

/**
 * Effects executed by a tool of an MCP server (`effects.<name>: { mcp, tool }`). The server is
 * reached on the first request (connect is synchronous), or earlier when a policy load reads the
 * input schema of a tool whose effect has no contract file (inputSchema): over Streamable HTTP, or
 * spawned once and spoken to over stdio; one client per server, shared by its effects, listing its
 * tools when it connects. Each admitted request is one `tools/call` (arguments: the request's data;
 * `_meta`: its id, subject and case; tool-calls.ts has the call). Per server, cockatiel bounds each call (and each
 * read of the tools) with a timeout and opens a circuit after repeated failures. Every failure is a typed error: the runtime records it,
 * retries, and dead-letters the request after the last try.
 */
export function createMcpTransport(opts: McpTransportOptions = {}): McpTransport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxResultBytes = opts.maxResultBytes ?? 1024 * 1024;
  const connections = createConnections({
    timeoutMs,
    maxReplyBytes: opts.maxReplyBytes ?? MAX_REPLY_BYTES,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const calls: ToolCallDeps = { connections, timeoutMs, maxResultBytes };
  const circuitOf = serverCircuits(opts);

  let closing: Promise<void> | undefined;
  let settle: (value: void | Error) => void = () => undefined;
  const closed = new Promise<void | Error>((resolve) => {
    settle = resolve;
  });
  const close = () => {
    closing ??= connections.close().then(
      () => settle(),
      (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
    );
    return closing;
  };

  return {
    kind: 'mcp',
    connect(spec): EffectDefinition | MeshwardenError {
      const server = spec.mcp?.server ?? '';
      const tool = spec.mcp?.tool ?? '';
      const where: Where = {
        effect: spec.name,
        server,
        tool,
        who: `MCP tool ${tool} of effect ${spec.name}`,
        url: server,
      };
      const credential = credentialOf(spec.mcp?.auth, `effect ${spec.name}`);
      if (isMeshwardenError(credential)) return credential;
      const address =
        spec.mcp === undefined ? 'the effect names no MCP server' : readServer(spec.mcp, credential);
      if (typeof address === 'string')
        return mcpError('MW_INTEROP_MCP_SERVER', { ...where, problem: address });
      const resilience = circuitOf(server);

      return {
        async execute(request, ctx) {
          const data = request.data;
          if (!isObject(data)) {
            const kind = data === null ? 'null' : Array.isArray(data) ? 'a list' : `a ${typeof data}`;
            throw mcpError('MW_INTEROP_MCP_ARGUMENTS', { ...where, kind });
          }
          try {
            return await resilience.execute(
              (signal) => callTool(calls, address, where, request, data, ctx.attempt, signal),
              where,
            );
          } catch (cause) {
            throw callFailure(cause, where, undefined, timeoutMs);
          }
        },
      };
    },
    async inputSchema(spec): Promise<ToolSchemaResult> {
      const server = spec.mcp?.server ?? '';
      const tool = spec.mcp?.tool ?? '';
      // Failures name the server alone: the policy's sentence names the effect and the tool.
      const where: Where = { effect: spec.name, server, tool, who: 'the MCP server', url: server };
      const credential = credentialOf(spec.mcp?.auth, 'the MCP server');
      if (isMeshwardenError(credential)) return { ok: false, reason: credential.message };
      const address =
        spec.mcp === undefined ? 'the effect names no MCP server' : readServer(spec.mcp, credential);
      if (typeof address === 'string') return { ok: false, reason: address };
      // The same connection (and child) the calls use, under the same timeout and circuit. The
      // tools are listed again, so that a policy reload sees a tool whose schema changed.
      try {
        const tools = await circuitOf(server).execute(() => listTools(calls, address, where), where);
        const listed = tools.get(tool);
        if (listed !== undefined) return { ok: true, schema: listed.inputSchema };
        const names = [...tools.keys()].join(', ') || 'none';
        return { ok: false, key: 'tool', reason: `it does not list that tool; its tools are ${names}` };
      } catch (cause) {
        return { ok: false, reason: callFailure(cause, where, undefined, timeoutMs).message };
      }
    },
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * One circuit per server, made on first use, shared by its effects and kept across policy reloads.
 * Failures the server answered (a tool error, a refused call) do not count: the server is up.
 */
function serverCircuits(opts: ResilienceOptions): (server: string) => Resilience {
  const circuits = new Map<string, Resilience>();
  return (server) => {
    let circuit = circuits.get(server);
    if (circuit === undefined) {
      circuit = createResilience(opts, (e) => !(isMeshwardenError(e) && ANSWERS.has(e.code)));
      circuits.set(server, circuit);
    }
    return circuit;
  };
}

function isObject(value: JsonValue): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
