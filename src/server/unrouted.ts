import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import type { MeshwardenError } from '../runtime/index.js';
import { apiError, endWithError, errorBody, rawReply, refuseConnect, statusOf } from './errors.js';

/**
 * Answers a request that no route takes: 405 with an `Allow` header when its path is a route's
 * under other methods (`POST /metrics`, `DELETE /api/v1/holds/<id>`), as HTTP asks (RFC 9110
 * §15.5.6); 404 otherwise. Fastify's router answers only "not found", so the routes' paths are kept
 * in a router of their own (find-my-way, Fastify's, with its defaults) as they are added: call this
 * before any route is. Routes with a wildcard are left out (the console's `GET /*` would match every
 * path; a door's `…/rest/*` is the SDK's to answer).
 *
 * The answer is given in `onRequest`, before the body is read: a request that goes nowhere is not
 * parsed (1 MiB of nested JSON, for no one, from anyone) nor waited for (a body sent a byte a
 * minute). `CONNECT` and an `Expect` Node cannot meet, which Node answers before any route (closing
 * the connection, or a 417 with no body), get the typed error every other refusal gets.
 */
export function answerUnrouted(app: FastifyInstance): void {
  const paths = FindMyWay();
  const methods = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (route.url.includes('*')) return;
    for (const method of [route.method].flat()) {
      methods.add(method);
      // A second GET of one path (a plugin's own route) is the same answer: kept once.
      if (paths.find(method as never, route.url) === null) paths.on(method as never, route.url, () => {});
    }
  });
  const allowedOn = (url: string): string[] => {
    const path = url.split('?', 1)[0]!;
    try {
      return [...methods].filter((method) => paths.find(method as never, path) !== null).sort();
    } catch {
      // A path the router cannot read (it has not thrown on any tried) is not a route's: a 404.
      return [];
    }
  };
  const answer = (request: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedOn(request.url);
    if (allowed.length === 0) return refuse(reply, notFound(request));
    const allow = allowed.join(', ');
    return refuse(
      reply.header('allow', allow),
      apiError('MW_API_METHOD_NOT_ALLOWED', { method: request.method, path: request.url, allow }),
    );
  };
  // Callback style: this runs for every request, and most go on (no promise made for them).
  app.addHook('onRequest', (request, reply, done) => {
    if (request.is404) void answer(request, reply);
    else done();
  });
  // What calls reply.callNotFound() (the console's files for a file that is not there) lands here.
  app.setNotFoundHandler(answer);
  app.server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const error = apiError('MW_API_METHOD_NOT_ALLOWED', {
      method: 'CONNECT',
      path: request.url ?? '',
      allow: 'nothing: the API is no proxy',
    });
    // An empty Allow: the target (a host and port) takes no method here.
    refuseConnect(socket, rawReply(error, 'allow: \r\n'));
  });
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const detail = `Expect: ${request.headers.expect ?? ''} cannot be met; only 100-continue is taken`;
    endWithError(response, apiError('MW_API_BAD_REQUEST', { detail }), { status: 417 });
  });
}

/**
 * Fastify's `frameworkErrors`: a path its router cannot decode (`%zz`, encoded bytes that are not
 * UTF-8) or a parameter past its length (100 characters: no hold, token or agent has such a name),
 * answered as every other refusal is, where Fastify's own body has another shape.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void refuse(
    reply,
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? notFound(request)
      : apiError('MW_API_BAD_REQUEST', {
          detail: `the path ${JSON.stringify(request.url)} cannot be decoded: a % must be followed by two hex digits, and the bytes they encode must be UTF-8`,
        }),
  );
}

function notFound(request: FastifyRequest): MeshwardenError {
  return apiError('MW_API_NOT_FOUND', { what: `${request.method} ${request.url}` });
}

/** `error` as the reply, at its status. */
function refuse(reply: FastifyReply, error: MeshwardenError): FastifyReply {
  return reply.code(statusOf(error)).send(errorBody(error));
}
