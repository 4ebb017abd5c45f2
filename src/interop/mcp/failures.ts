import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { errorText, isMeshwardenError, type MeshwardenError } from '../../runtime/index.js';
import { interopError } from '../errors.js';
import { mcpError } from './errors.js';
import type { Where } from './result.js';
import type { Exit } from './stdio.js';

/**
 * A failed call as a typed error. A server that died says so first (with its exit and stderr),
 * then what the socket said, then what the SDK or the server said.
 */
export function callFailure(
  cause: unknown,
  where: Where,
  exit: Exit | undefined,
  timeoutMs: number,
): MeshwardenError {
  // Timeouts and an open circuit arrive typed already (../resilience.ts); a reply too big (./fetch.ts)
  // arrives under whatever the SDK wrapped it in.
  const typed = typedWithin(cause);
  if (typed !== undefined) return typed;
  if (exit !== undefined) {
    // Its last words on one line, without stack frames: the error's own line says the most.
    const lines = exit.stderr.split('\n').map((l) => l.trim());
    const said = lines.filter((l) => l !== '' && !/^at\s/.test(l) && !/^[\^{}[\]]+$/.test(l));
    const last = said.join(' | ').slice(-STDERR_SHOWN);
    const stderr = last === '' ? '' : `; it wrote: ${last}`;
    return mcpError('MW_INTEROP_MCP_EXITED', { ...where, how: exit.how, stderr }, { cause });
  }
  const socket = socketError(cause);
  if (socket !== undefined)
    return interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: socket }, { cause });
  if (cause instanceof ProtocolError) {
    const problem = `JSON-RPC error ${cause.code}: ${cause.message}`;
    return mcpError('MW_INTEROP_MCP_FAILED', { ...where, problem }, { cause });
  }
  if (cause instanceof SdkError) {
    const status = (cause.data as { status?: unknown } | undefined)?.status;
    if (typeof status === 'number')
      return interopError('MW_INTEROP_HTTP_STATUS', { ...where, status }, { cause, details: { status } });
    if (cause.code === SdkErrorCode.RequestTimeout)
      return interopError('MW_INTEROP_TIMEOUT', { ...where, ms: timeoutMs, change: '' }, { cause });
    if (LOST.has(cause.code))
      return interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: cause.message }, { cause });
    const problem = `${cause.code}: ${cause.message}`;
    return mcpError('MW_INTEROP_MCP_BAD_REPLY', { ...where, problem }, { cause });
  }
  return interopError('MW_INTEROP_UNREACHABLE', { ...where, cause: errorText(cause) }, { cause });
}

const STDERR_SHOWN = 600;

const LOST: ReadonlySet<string> = new Set([
  SdkErrorCode.ConnectionClosed,
  SdkErrorCode.NotConnected,
  SdkErrorCode.SendFailed,
]);

/**
 * `ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9)`, from wherever the SDK and fetch nested it; or,
 * for a fetch that failed without a socket error (a port fetch refuses), what lies under it.
 */
function socketError(cause: unknown): string | undefined {
  let fetchFailed = false;
  let at = cause;
  for (let depth = 0; depth < 6 && at instanceof Error; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return `${code} (${at.message})`;
    fetchFailed ||= at instanceof TypeError && at.message === 'fetch failed';
    if (fetchFailed && !(at.cause instanceof Error)) return `fetch failed (${at.message})`;
    at = at.cause;
  }
  return undefined;
}

/** The first typed error in a chain of causes (the cause itself included). */
function typedWithin(cause: unknown): MeshwardenError | undefined {
  for (let at = cause, depth = 0; at !== undefined && at !== null && depth < 8; depth++) {
    if (isMeshwardenError(at)) return at;
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}
