import type { FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';
import { apiError, errorBody } from './errors.js';

/**
 * Answers a request that no route takes: 405 with an `Allow` header when its path is a route's
 * under other methods (`POST /metrics`, `DELETE /api/v1/holds/<id>`), as HTTP asks (RFC 9110
 * §15.5.6); 404 otherwise. Fastify's router answers only "not found", so the routes' paths are kept
 * in a router of their own (find-my-way, Fastify's, with its defaults) as they are added: call this
 * before any route is. The console's files (one `GET /*`) are left out: every path would match it.
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
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedOn(request.url);
    if (allowed.length === 0)
      return reply
        .code(404)
        .send(errorBody(apiError('MW_API_NOT_FOUND', { what: `${request.method} ${request.url}` })));
    const allow = allowed.join(', ');
    return reply
      .code(405)
      .header('allow', allow)
      .send(
        errorBody(
          apiError('MW_API_METHOD_NOT_ALLOWED', { method: request.method, path: request.url, allow }),
        ),
      );
  });
}
