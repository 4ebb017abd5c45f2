import { timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { negotiate } from '@fastify/accept-negotiator';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { bearerOf } from '../auth.js';
import type { ApiDeps, MetricsEndpoint } from '../deps.js';
import { apiError, errorBody } from '../errors.js';
import { errorReply } from '../schemas.js';

/**
 * `GET /metrics`: the Prometheus text format, at the path Prometheus scrapes by default, outside
 * /api/v1. Its own bearer token (`MESHWARDEN_METRICS_TOKEN`), never a pilot's: a scraper's
 * credential can read counts and nothing else, and a pilot token never sits in a scrape config.
 */
export async function metricsRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  metrics: MetricsEndpoint,
  /** Calls a minute an address may make without the scrape token (guesses at it); scrapes are never limited. */
  guessesPerMinute: number,
): Promise<void> {
  const expected = Buffer.from(metrics.token);
  const scraper = (authorization: string | undefined) => {
    const given = Buffer.from(bearerOf(authorization) ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  await app.register(rateLimit, {
    max: guessesPerMinute,
    timeWindow: 60_000,
    hook: 'onRequest',
    allowList: (request) => scraper(request.headers.authorization),
    // Keyed by the plugin's default (the caller's address, an IPv6 one by its /64).
    errorResponseBuilder: (_, context) =>
      apiError(
        'MW_API_RATE_LIMITED',
        { who: 'from this address without the scrape token', max: context.max, after: context.after },
        { details: { limited: 'address' } },
      ),
  });
  app.get(
    '/metrics',
    {
      schema: {
        summary:
          'Metrics in the Prometheus text format (its own token: MESHWARDEN_METRICS_TOKEN; see docs/telemetry.md)',
        tags: ['status'],
        security: [{ metrics: [] }],
        produces: ['text/plain'],
        response: { 200: { type: 'string' }, 401: errorReply, 404: errorReply, 429: errorReply },
      },
    },
    async (request, reply) => {
      if (!scraper(request.headers.authorization)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        return reply.code(401).send(errorBody(apiError('MW_API_UNAUTHENTICATED')));
      }
      const text = await metrics.scrape();
      if (text === undefined)
        return reply.code(404).send(errorBody(apiError('MW_API_NOT_FOUND', { what: 'GET /metrics' })));
      deps.log.trace({ bytes: text.length }, 'metrics scraped');
      reply.type(metrics.contentType).header('vary', 'accept-encoding');
      // Prometheus asks for gzip: the text (tens of kilobytes, most of it repeated names) shrinks
      // about tenfold.
      // Content codings are case-insensitive, and x-gzip is gzip (RFC 9110 §8.4.1.3).
      const accepted = (request.headers['accept-encoding'] ?? '')
        .toLowerCase()
        .replace(/\bx-gzip\b/g, 'gzip');
      const encoding = negotiate(accepted, ['gzip', 'identity']);
      if (encoding !== 'gzip') return reply.send(text);
      return reply.header('content-encoding', 'gzip').send(await gzipped(text));
    },
  );
}

const gzipped = promisify(gzip);
