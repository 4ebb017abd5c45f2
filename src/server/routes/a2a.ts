import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MeshwardenError } from '../../runtime/index.js';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { apiError, errorBody } from '../errors.js';

/** Ingress and exposed agents as A2A agents: which names it serves, and one request under one. */
export type A2aEndpoint = {
  serves(name: string): boolean;
  /**
   * Answers the request itself from the raw Node request (body unread); `caller` undefined for the
   * public card. A partner's messages go to the gate as a partner's (see gate/types.ts), so they
   * reach only the exposed agent they address. `handled: false` when no A2A route took it (with
   * the error, if one was raised).
   */
  serve(
    name: string,
    base: string,
    req: IncomingMessage,
    res: ServerResponse,
    caller: { readonly name: string; readonly partner: boolean } | undefined,
  ): Promise<{ readonly handled: true } | { readonly handled: false; readonly error?: unknown }>;
};

/** Ingress and exposed agents as A2A agents at /a2a/<name>: A2A's bindings, not REST of ours. */
export async function a2aRoutes(scope: FastifyInstance, deps: ApiDeps, a2a: A2aEndpoint): Promise<void> {
  // The SDK's handlers read the body themselves (A2A 1.0 JSON, 0.3's, REST's), so it stays unread here.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const serve = async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    if (deps.closing()) throw apiError('MW_API_CLOSING');
    const { name } = request.params;
    if (!a2a.serves(name)) throw apiError('MW_API_NOT_FOUND', { what: `ingress or exposed agent ${name}` });
    // Checked before the reply is handed over: a Host header that makes no URL is a bad request.
    const base = `${request.protocol}://${request.host}${API_PREFIX}/a2a/${encodeURIComponent(name)}`;
    if (!URL.canParse(base))
      throw apiError('MW_API_BAD_REQUEST', { detail: 'the Host header does not make a URL' });
    reply.hijack();
    const raw = reply.raw;
    const answer = (status: number, error: MeshwardenError) => {
      if (raw.headersSent) return void raw.destroy();
      raw.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      raw.end(JSON.stringify(errorBody(error)));
    };
    try {
      const pilot = request.pilot;
      const caller =
        pilot === undefined ? undefined : { name: pilot.name, partner: pilot.role === 'partner' };
      const served = await a2a.serve(name, base, request.raw, raw, caller);
      if (served.handled) return;
      if (served.error === undefined)
        return answer(404, apiError('MW_API_NOT_FOUND', { what: `${request.method} ${request.url}` }));
      request.log.error({ err: served.error, url: request.url }, 'a2a call failed');
      answer(500, apiError('MW_API_INTERNAL'));
    } catch (err) {
      request.log.error({ err, url: request.url }, 'a2a call failed');
      answer(500, apiError('MW_API_INTERNAL'));
    }
  };
  // Not REST of ours: A2A's bindings (docs/interop.md), so they stay out of the OpenAPI document.
  // The card is public, as A2A discovery expects; everything else needs a partner or pilot token.
  scope.get('/a2a/:name/.well-known/agent-card.json', { schema: { hide: true } }, serve);
  for (const url of ['/a2a/:name', '/a2a/:name/rest/*'])
    scope.route({
      method: ['GET', 'POST', 'DELETE'],
      url,
      config: { role: 'pilot', partners: true },
      schema: { hide: true },
      handler: serve,
    });
}
