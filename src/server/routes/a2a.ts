import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { A2aCaller, A2aEndpoint, MeshwardenError } from '../../runtime/index.js';
import { callerOf } from '../auth.js';
import { jsonBodyParser } from '../body.js';
import { API_PREFIX, type ApiDeps } from '../deps.js';
import { apiError, errorBody, statusOf } from '../errors.js';
import { recordRefusal } from '../refusals.js';

/** The largest A2A body: the SDK's own limit (100 kB), kept now that the body is read here. */
export const A2A_BODY_LIMIT = 100 * 1024;

/** Ingress and exposed agents as A2A agents at /a2a/<name>: A2A's bindings, not REST of ours. */
export async function a2aRoutes(scope: FastifyInstance, deps: ApiDeps, a2a: A2aEndpoint): Promise<void> {
  // JSON bodies are read here, not by the SDK: under a limit (its own, 100 kB), without buffering a
  // bigger one, and checked for depth and broken Unicode like every other body (body.ts). The SDK
  // finds the request read and takes the parsed body; anything not JSON it answers as its bindings do.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    ['application/json', 'application/a2a+json'],
    { parseAs: 'buffer' },
    jsonBodyParser(scope),
  );
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  // Who may reach which name is settled before the body is read (after the token, in auth.ts): a
  // body for a name that is not there, or not open to the caller, is refused unread and unrecorded.
  scope.addHook('preParsing', async (request, reply, payload) => {
    const { name } = request.params as { name: string };
    if (!a2a.serves(name)) throw apiError('MW_API_NOT_FOUND', { what: `ingress or exposed agent ${name}` });
    // An exposed agent's card is public, as A2A discovery expects; an ingress's wants a viewer's
    // token (a partner has no use for it: the gate denies a partner's message to an ingress). A
    // partner's message to any name goes to the gate, which lets it reach only an exposed agent.
    if (request.routeOptions.config.role === undefined && !a2a.exposes(name))
      callerOf(deps.tokens, request, reply, 'viewer', false);
    return payload;
  });
  const serve = async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    if (deps.closing()) throw apiError('MW_API_CLOSING');
    const { name } = request.params;
    // Checked before the reply is handed over: a Host header that makes no URL is a bad request.
    const base = `${request.protocol}://${request.host}${API_PREFIX}/a2a/${encodeURIComponent(name)}`;
    if (!URL.canParse(base))
      throw apiError('MW_API_BAD_REQUEST', { detail: 'the Host header does not make a URL' });
    // The SDK's handlers read a null message part as an object and fail with a 500 (REST) or an
    // internal JSON-RPC error: it is the caller's mistake, refused and recorded as such.
    const nullPart = nullPartAt(request.body);
    if (nullPart !== undefined) {
      const error = apiError(
        'MW_API_BAD_REQUEST',
        { detail: `the message has a part that is not an object, at ${nullPart}` },
        { location: { pointer: nullPart } },
      );
      await recordRefusal(deps, request, 'ingress.body_invalid', error);
      throw error;
    }
    reply.hijack();
    const raw = reply.raw;
    const answer = (status: number, error: MeshwardenError) => {
      if (raw.headersSent) return void raw.destroy();
      raw.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      raw.end(JSON.stringify(errorBody(error)));
    };
    if (request.body !== undefined) (request.raw as { body?: unknown }).body = request.body;
    try {
      const pilot = request.pilot;
      // Tasks are kept per token: its name and when it was made, so a revoked name given anew reads none.
      const caller: A2aCaller | undefined =
        pilot === undefined
          ? undefined
          : { name: pilot.name, partner: pilot.role === 'partner', key: `${pilot.name}@${pilot.createdAt}` };
      const served = await a2a.serve(name, base, request.raw, raw, caller);
      if (served.handled) return;
      if (served.error === undefined)
        return answer(404, apiError('MW_API_NOT_FOUND', { what: `${request.method} ${request.url}` }));
      // The caller's mistake as the SDK's express handlers report it (an http-errors 4xx): typed, no stack.
      const status = (served.error as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        const error = clientError(status, request.headers['content-type']);
        request.log.warn({ code: error.code, status, url: request.url }, 'a2a call refused');
        return answer(statusOf(error), error);
      }
      request.log.error({ err: served.error, url: request.url }, 'a2a call failed');
      answer(500, apiError('MW_API_INTERNAL'));
    } catch (err) {
      request.log.error({ err, url: request.url }, 'a2a call failed');
      answer(500, apiError('MW_API_INTERNAL'));
    }
  };
  // Not REST of ours: A2A's bindings (docs/interop.md), so they stay out of the OpenAPI document.
  // The card is checked in the preParsing hook (public for exposed agents); the rest needs a partner or pilot token.
  scope.get('/a2a/:name/.well-known/agent-card.json', { schema: { hide: true } }, serve);
  // JSON-RPC is POSTed to the agent's URL; the REST binding's paths and methods are the SDK's to
  // answer, and it takes no HEAD (the agent card, a GET of ours, has one).
  for (const [url, method] of [
    ['/a2a/:name', ['POST']],
    ['/a2a/:name/rest/*', ['GET', 'POST', 'DELETE']],
  ] as const)
    scope.route({
      method: [...method],
      url,
      exposeHeadRoute: false,
      config: { role: 'pilot', partners: true, door: true },
      bodyLimit: A2A_BODY_LIMIT,
      schema: { hide: true },
      handler: serve,
    });
}

/** A 4xx the SDK's body handling raised, as the typed error every other route answers it with. */
function clientError(status: number, contentType: string | undefined): MeshwardenError {
  if (status === 413) return apiError('MW_API_TOO_LARGE', { limit: A2A_BODY_LIMIT });
  if (status === 415)
    return apiError('MW_API_MEDIA_TYPE', {
      accepted: 'application/json',
      type: contentType ?? 'no content type',
    });
  return apiError('MW_API_BAD_REQUEST', { detail: 'the body could not be read' });
}

/** The pointer of the first message part that is not an object, in a REST or a JSON-RPC body. */
export function nullPartAt(body: unknown): string | undefined {
  const asObject = (v: unknown) =>
    v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  const rest = asObject(asObject(body)?.message);
  const rpc = asObject(asObject(asObject(body)?.params)?.message);
  const [message, at] = rest !== undefined ? [rest, '/message'] : [rpc, '/params/message'];
  const parts = message?.parts;
  if (!Array.isArray(parts)) return undefined;
  const i = parts.findIndex((p) => p === null || typeof p !== 'object' || Array.isArray(p));
  return i < 0 ? undefined : `${at}/parts/${i}`;
}
