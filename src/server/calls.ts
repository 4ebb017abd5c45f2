import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { ApiClosing } from './closing.js';
import type { RequestObserver } from './deps.js';
import { apiError } from './errors.js';

/**
 * Fastify's own lines about calls: its two a call at info (incoming, completed) would bury the
 * routine lines an operator runs info for (a partition handed off), so each call is one line at
 * debug instead (`observeCalls`); a call that errored, and the rest (a stream's error, a
 * serializer's), are logged as Fastify logs them.
 */
export class CallLogController extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) super.requestCompleted(error, request, reply);
  }
}

/**
 * The hooks every call goes through: measured as it ends (telemetry's `requests`, when on), refused
 * once the server closes (closing.ts) or else counted in flight, and logged in one line at debug.
 */
export function observeCalls(app: FastifyInstance, closing: ApiClosing, requests?: RequestObserver): void {
  // Measured on the raw response's close, not in onResponse: that hook never runs for a streamed
  // reply (the live feed, A2A streams) nor for a call its client gave up on, the slowest ones.
  if (requests !== undefined)
    app.addHook('onRequest', async (request, reply) => {
      const started = performance.now();
      const raw = reply.raw;
      raw.once('close', () => {
        // In an event listener, a throw would end the process: metrics never may.
        try {
          requests({
            method: request.method,
            route: request.routeOptions.url,
            status: raw.headersSent ? raw.statusCode : undefined,
            durationMs: performance.now() - started,
            aborted: !raw.writableFinished,
          });
        } catch (err) {
          request.log.debug({ err }, 'a request could not be measured');
        }
      });
    });
  // After the measuring hook: a call refused as the server closes is measured too.
  app.addHook('onRequest', async (_request, reply) => {
    if (closing.refusing()) {
      // Not on this connection again: a kept-alive one would be reset when the listener closes,
      // where a new one is refused, which a client or a load balancer takes as plainly.
      reply.header('connection', 'close');
      throw apiError('MW_API_CLOSING');
    }
    closing.track(reply.raw);
  });
  app.addHook('onResponse', async (request, reply) => {
    const { method, url } = request;
    request.log.debug(
      { method, url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'api call',
    );
  });
}
