import type { Logger } from 'pino';
import { startMeshMcpProxy } from '../../interop/index.js';
import { isMeshwardenError } from '../../runtime/index.js';
import { createApiClient, reportFailure } from '../api-client.js';
import { EXIT } from '../errors.js';
import type { Output } from '../output.js';

/**
 * `mcp`: the running mesh's MCP server, served over stdio for MCP clients that spawn their servers
 * (desktop assistants, IDEs). Everything goes through the mesh's API with the pilot's token, so the
 * gate decides and the ledger records each call as over HTTP. Stdout carries only MCP; notes and
 * errors go to stderr. Runs until the client closes stdin, or SIGINT/SIGTERM.
 */
export async function mcp(
  opts: { url: string; token?: string | undefined },
  out: Output,
  log: Logger,
): Promise<number> {
  const api = createApiClient(opts);
  if (isMeshwardenError(api)) return reportFailure(api, out);
  const endpoint = `${api.url}/api/v1/mcp`;
  const proxy = await startMeshMcpProxy({
    endpoint,
    token: opts.token ?? '',
    log: log.child({ layer: 'interop' }),
  });
  if (isMeshwardenError(proxy)) {
    const status = (proxy.details as { status?: unknown } | undefined)?.status;
    if (status === 401 || status === 403)
      out.note(
        'hint: the mesh refused the token: check --token or MESHWARDEN_TOKEN (sending needs role partner or pilot).',
      );
    out.fail(proxy);
    return EXIT.failed;
  }
  out.note(
    `meshwarden mcp: serving ${endpoint} over stdio (${proxy.tools.length} tools); every call passes the gate`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    // The client closing our input (or our output breaking) ends the session.
    void proxy.ended.then(resolve);
  });
  await proxy.close();
  return EXIT.ok;
}
