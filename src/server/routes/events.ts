import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { apiError } from '../errors.js';
import type { FeedEvent, VerdictCounts } from '../live.js';
import { errors } from '../schemas.js';

const FLUSH_MS = 250;
const BATCH = 500;
const HEARTBEAT_MS = 15_000;

/**
 * The live feed as server-sent events. Each stream keeps at most one batch waiting: what does not fit
 * is counted in `dropped` (the ledger keeps everything), and `counts` tallies every decision of the
 * interval, so a page can show true rates while it draws a sample. A slow reader (the socket's
 * buffer full) gets nothing until it drains.
 */
export async function eventRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const streams = new Set<() => void>();
  deps.onClosing(() => {
    for (const end of [...streams]) end();
  });

  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      // A stream: a HEAD of it would never send its headers (Node drops a HEAD's writes). 405.
      exposeHeadRoute: false,
      schema: {
        summary: 'Live feed of decisions and outcomes (text/event-stream, one `decisions` event per batch)',
        tags: ['status'],
        produces: ['text/event-stream'],
        response: {
          200: { type: 'string', description: 'event: decisions, data: {events, counts, dropped}' },
          ...errors(),
        },
      },
    },
    (request, reply) => {
      // A feed opened once its closing ran would keep the server's wait for its calls open.
      if (deps.closing()) throw apiError('MW_API_CLOSING');
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': meshwarden live feed\n\n');
      let pending: FeedEvent[] = [];
      let dropped = 0;
      let counts: VerdictCounts = { deliver: 0, deny: 0, hold: 0, quarantine: 0 };
      let blocked = false;
      // Alerts are never dropped: the latest of each rule goes with the next batch (its count says how
      // many); so are drift alarms (one per monitor and version).
      const alerts = new Map<string, FeedEvent>();
      const unsubscribe = deps.live.subscribe((event) => {
        if (event.kind === 'alert') {
          alerts.set(event.rule, event);
          return;
        }
        if (event.kind === 'drift-alarm') {
          alerts.set(`drift ${event.monitor} ${event.agent} ${event.field}`, event);
          return;
        }
        if (event.kind === 'decision') counts[event.decision as keyof VerdictCounts]++;
        if (pending.length < BATCH) pending.push(event);
        else dropped++;
      });
      const flush = () => {
        if (blocked || (pending.length === 0 && dropped === 0 && alerts.size === 0)) return;
        const data = JSON.stringify({ events: [...pending, ...alerts.values()], counts, dropped });
        alerts.clear();
        pending = [];
        dropped = 0;
        counts = { deliver: 0, deny: 0, hold: 0, quarantine: 0 };
        blocked = !res.write(`event: decisions\ndata: ${data}\n\n`);
      };
      res.on('drain', () => {
        blocked = false;
      });
      const flushTimer = setInterval(flush, FLUSH_MS);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const end = () => {
        clearInterval(flushTimer);
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(end);
        if (!res.writableEnded) res.end();
      };
      streams.add(end);
      request.raw.on('close', end);
    },
  );
}
