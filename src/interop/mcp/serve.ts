import { createMcpHandler, McpServer, type StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { errorLogFields, type McpCaller, type McpEndpoint, type Mesh } from '../../runtime/index.js';
import { type MeshTool, meshTools, toolResult } from './serve-tools.js';

/** How the shell's word that a caller is a partner reaches the SDK's per-request server factory. */
const PARTNER_SCOPE = 'meshwarden:partner';

export type MeshMcpServerOptions = {
  readonly log?: Logger;
  /** The server's name in `initialize`/`server/discover`; default `meshwarden-<mesh>`. */
  readonly name?: string;
  readonly version?: string;
};

/**
 * The mesh as an MCP server: a web-standard `fetch` (Streamable HTTP, stateless, JSON responses)
 * for the shell to mount behind its own auth, plus the tools it serves right now.
 */
export type MeshMcpServer = McpEndpoint & {
  tools(): MeshTool[];
  /** Aborts calls in flight; the mesh is the caller's. Idempotent. */
  close(): Promise<void>;
  readonly closed: Promise<void | Error>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * An MCP server whose tools are the mesh's ingress types (see serve-tools.ts): a call injects a root
 * message through that ingress, so a model enters the mesh only through the gate, and the tool
 * answers the gate's verdict. Tools are read from the policy in force on every request, so a
 * reloaded policy's ingress shows at once. Both eras are served: 2026-07-28 clients per request,
 * 2025-era clients (`initialize`, the v1 SDK) by the SDK's stateless legacy fallback.
 */
export function createMeshMcpServer(mesh: Mesh, opts: MeshMcpServerOptions = {}): MeshMcpServer {
  const handler = createMcpHandler(
    (ctx) => {
      const caller = ctx.authInfo?.clientId ?? 'anonymous';
      const partner = ctx.authInfo?.scopes.includes(PARTNER_SCOPE) === true;
      const header = ctx.requestInfo?.headers.get('traceparent') ?? undefined;
      const server = new McpServer(
        { name: opts.name ?? `meshwarden-${mesh.policy.mesh}`, version: opts.version ?? '1' },
        { capabilities: { tools: {} } },
      );
      for (const tool of meshTools(mesh.policy)) {
        if (partner && tool.target === undefined) continue;
        const config = { description: tool.description, inputSchema: gateChecked(tool) };
        server.registerTool(tool.name, config, async (args, call) => {
          const { subject, data } = args as { subject: string; data: never };
          const traceparent = traceparentOf(call.mcpReq._meta, header);
          const entry = await mesh.inject(tool.ingress, {
            type: tool.type,
            subject,
            data,
            ...(tool.target === undefined ? {} : { target: tool.target }),
            sentBy: `mcp:${caller}`,
            ...(partner ? { partner } : {}),
            ...(traceparent === undefined ? {} : { traceparent }),
          });
          const result = toolResult(entry, tool);
          opts.log?.info({ tool: tool.name, msgId: entry.msgId, caller }, 'mcp tool called');
          return result;
        });
      }
      return server;
    },
    {
      // The SDK's default ('auto') answers in plain JSON unless a notification precedes the result,
      // and a tool here sends none; 'json' would only add a warning on stderr at every start.
      onerror: (err) => opts.log?.debug({ err }, 'mcp request refused'),
    },
  );

  let resolveClosed: (value: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= handler.close().then(
      () => resolveClosed(),
      (err: unknown) => resolveClosed(err as Error),
    );
    return closing;
  };
  return {
    fetch: async (request, caller) => {
      if (caller.partner === true) await recordPartnerReach(mesh, caller, opts.log);
      return handler.fetch(request, {
        // The token was checked by the shell; the SDK only passes this through to the factory.
        authInfo: {
          token: '',
          clientId: caller.name,
          scopes: caller.partner === true ? [PARTNER_SCOPE] : [],
        },
        ...(caller.body === undefined ? {} : { parsedBody: caller.body }),
      });
    },
    tools: () => meshTools(mesh.policy),
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The caller's W3C trace context: `_meta.traceparent` of the call (the MCP convention for it), else
 * the HTTP request's header. The runtime ignores a malformed one, as W3C says.
 */
function traceparentOf(meta: unknown, header: string | undefined): string | undefined {
  const own = (meta as { traceparent?: unknown } | undefined)?.traceparent;
  return typeof own === 'string' ? own : header;
}

/**
 * A partner is not given the ingress tools, so the SDK answers a call of one as an unknown tool. The
 * attempt is still a partner trying to publish into the mesh by type: it goes to the gate as theirs,
 * which denies it (`authorization.partner_not_exposed`), so the ledger shows who tried what. One
 * attempt a request at most: a batch writes no more than the per-token rate limit allows.
 */
async function recordPartnerReach(mesh: Mesh, caller: McpCaller, log: Logger | undefined): Promise<void> {
  const calls = Array.isArray(caller.body) ? caller.body : [caller.body];
  const tools = meshTools(mesh.policy);
  for (const call of calls) {
    const { method, params } = (call ?? {}) as {
      method?: unknown;
      params?: { name?: unknown; arguments?: unknown };
    };
    if (method !== 'tools/call' || typeof params?.name !== 'string') continue;
    const tool = tools.find((t) => t.name === params.name);
    if (tool === undefined || tool.target !== undefined) continue;
    const args = (params.arguments ?? {}) as { subject?: unknown; data?: unknown };
    try {
      const entry = await mesh.inject(tool.ingress, {
        type: tool.type,
        subject: typeof args.subject === 'string' ? args.subject : '',
        data: (args.data ?? null) as never,
        sentBy: `mcp:${caller.name}`,
        partner: true,
      });
      log?.warn(
        { tool: tool.name, msgId: entry.msgId, caller: caller.name },
        'partner called a tool not theirs',
      );
    } catch (err) {
      log?.warn(
        { ...errorLogFields(err), tool: tool.name, caller: caller.name },
        'partner call not recorded',
      );
    }
    return;
  }
}

/**
 * The tool's input schema as the SDK takes it: it advertises the whole schema (the contract
 * included) in `tools/list`, but checks only `subject` and that `data` is there. The contract is
 * the gate's to check, so a call that breaks it is quarantined and in the ledger, not turned away
 * by the SDK where no one would see it.
 */
function gateChecked(tool: MeshTool): StandardSchemaWithJSON {
  const json = () => tool.inputSchema as Record<string, unknown>;
  return {
    '~standard': {
      version: 1,
      vendor: 'meshwarden',
      jsonSchema: { input: json, output: json },
      validate: (value) => {
        const args = value as { subject?: unknown; data?: unknown } | null;
        if (args === null || typeof args !== 'object' || Array.isArray(args)) {
          return { issues: [{ message: 'the arguments must be an object with subject and data' }] };
        }
        if (typeof args.subject !== 'string' || args.subject === '') {
          return { issues: [{ message: 'subject must be a non-empty string', path: ['subject'] }] };
        }
        if (!('data' in args)) return { issues: [{ message: 'data is required', path: ['data'] }] };
        return { value: { subject: args.subject, data: args.data } };
      },
    },
  };
}
