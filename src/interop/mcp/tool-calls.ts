import type { Tool } from '@modelcontextprotocol/client';
import { type Envelope, isMeshwardenError, type JsonValue } from '../../runtime/index.js';
import type { ServerAddress } from './command.js';
import type { Connections } from './connections.js';
import { mcpError } from './errors.js';
import { callFailure } from './failures.js';
import { effectResult, type Where } from './result.js';

/** Errors that mean the server's connection is gone, so it is dropped and the next call connects afresh. */
// Only a failed connection is dropped: it is shared by every effect on the server, so one effect's
// unknown tool, bad reply or slow call must not cut the calls of the others.
const CONNECTION_LOST: ReadonlySet<string> = new Set(['MW_INTEROP_MCP_EXITED', 'MW_INTEROP_UNREACHABLE']);

/** What a call to a tool, or a listing of the tools, needs of the MCP transport. */
export type ToolCallDeps = {
  readonly connections: Pick<Connections, 'get' | 'drop'>;
  /** Bounds the SDK's own wait on a call; a timeout is named with it. */
  readonly timeoutMs: number;
  /** A result over this many bytes is recorded as `{ truncated: true, bytes }`. */
  readonly maxResultBytes: number;
};

export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * One `tools/call` of `where.tool` on `where.server`'s shared connection, once it is ready and lists
 * the tool: the request's data as arguments, `_meta` from the request (metaOf). Its result, or a
 * typed error (a failure the signal did not abort is named by callFailure).
 */
export async function callTool(
  deps: ToolCallDeps,
  address: ServerAddress,
  where: Where,
  request: Envelope,
  args: JsonObject,
  attempt: number,
  signal: AbortSignal,
): Promise<JsonValue> {
  const { connections, timeoutMs } = deps;
  const connection = connections.get(where.server, address);
  try {
    await connection.ready;
    const tools = connection.tools();
    if (!tools.has(where.tool)) {
      const listed = [...tools.keys()].join(', ') || 'none';
      throw mcpError('MW_INTEROP_MCP_UNKNOWN_TOOL', { ...where, tools: listed });
    }
    const _meta = metaOf(request, attempt);
    const result = await connection.client.callTool(
      { name: where.tool, arguments: args, _meta },
      { signal, timeout: timeoutMs },
    );
    const value = effectResult(result, where, deps.maxResultBytes);
    if (isMeshwardenError(value)) throw value;
    return value;
  } catch (cause) {
    const error = signal.aborted ? cause : callFailure(cause, where, connection.exit(), timeoutMs);
    if (isMeshwardenError(error) && CONNECTION_LOST.has(error.code)) connections.drop(connection);
    throw error;
  }
}

/** `where.server`'s tools, listed again on its shared connection once it is ready; or a typed error. */
export async function listTools(
  deps: Pick<ToolCallDeps, 'connections' | 'timeoutMs'>,
  address: ServerAddress,
  where: Where,
): Promise<ReadonlyMap<string, Tool>> {
  const { connections } = deps;
  const connection = connections.get(where.server, address);
  try {
    await connection.ready;
    return await connection.listTools();
  } catch (cause) {
    const error = callFailure(cause, where, connection.exit(), deps.timeoutMs);
    if (CONNECTION_LOST.has(error.code)) connections.drop(connection);
    throw error;
  }
}

/**
 * What the tool learns besides its arguments: the request's id is its idempotency key (a retry, or
 * a crash before the ledger recorded the result, calls again with the same id); the subject and
 * the case tie the call to the mesh's ledger; W3C trace context goes under its SEP-414 keys.
 */
function metaOf(request: Envelope, attempt: number): Record<string, string | number> {
  return {
    'meshwarden/id': request.id,
    'meshwarden/effect': request.type,
    'meshwarden/subject': request.subject,
    'meshwarden/correlationid': request.correlationid,
    ...(request.causationid === undefined ? {} : { 'meshwarden/causationid': request.causationid }),
    'meshwarden/attempt': attempt,
    ...(request.traceparent === undefined ? {} : { traceparent: request.traceparent }),
    ...(request.tracestate === undefined ? {} : { tracestate: request.tracestate }),
  };
}
