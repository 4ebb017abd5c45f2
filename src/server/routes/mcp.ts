import type { FastifyInstance } from 'fastify';
import type { McpEndpoint } from '../../runtime/index.js';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';

/** The mesh's MCP endpoint at /mcp: JSON-RPC per docs/interop.md, for pilots and partners. */
export async function mcpRoutes(scope: FastifyInstance, deps: ApiDeps, mcp: McpEndpoint): Promise<void> {
  scope.route({
    // JSON-RPC over POST only: a GET (a server stream) and a DELETE (a session's end), which this
    // stateless server has not, are 405 with `Allow: POST` (unrouted.ts), which MCP clients read so.
    method: 'POST',
    url: '/mcp',
    config: { role: 'pilot', partners: true, door: true },
    // Not REST: JSON-RPC per docs/interop.md, so it stays out of the OpenAPI document.
    schema: { hide: true },
    handler: async (request, reply) => {
      if (deps.closing()) throw apiError('MW_API_CLOSING');
      const headers = new Headers();
      for (const [key, value] of Object.entries(request.headers)) {
        if (key === 'content-length' || key === 'transfer-encoding' || value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
      }
      const web = new Request(`${request.protocol}://${request.host}${request.url}`, {
        method: request.method,
        headers,
      });
      const pilot = request.pilot!;
      return reply.send(
        await mcp.fetch(web, {
          name: pilot.name,
          partner: pilot.role === 'partner',
          body: request.body,
        }),
      );
    },
  });
}
