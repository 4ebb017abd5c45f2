import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a stand-in misbehaves instead of answering as its kind does. */
export type Misbehaviour =
  /** 200, `application/json`, a body cut short. */
  | 'garbage'
  /** 200, an HTML page, as a proxy or a login page answers. */
  | 'html'
  /** Answers after `slowMs`. */
  | 'slow'
  /** 200 with a JSON body of 8 KiB. */
  | 'too-big'
  /** 204 No Content. */
  | 'empty'
  /** The kind's own error shape with HTTP 500. */
  | 'fail'
  /** `fail` on the first call, then answers: a retry succeeds. */
  | 'fail-once';

/**
 * Each misbehaviour a message is dead-lettered for, the error it is dead-lettered with, and how many
 * tries it takes: an unreadable answer would read the same again (final); the rest are retried once.
 */
export const DEAD_LETTERING: readonly (readonly [Misbehaviour, string, number])[] = [
  ['garbage', 'MW_INTEROP_BAD_REPLY', 1],
  ['html', 'MW_INTEROP_BAD_REPLY', 1],
  ['too-big', 'MW_INTEROP_REPLY_TOO_BIG', 2],
  ['slow', 'MW_INTEROP_TIMEOUT', 2],
  ['fail', 'MW_INTEROP_HTTP_STATUS', 2],
];

/** One request a stand-in received. */
export type Received = {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly body: unknown;
};

export type LoopbackPeer<Mode extends string> = {
  /** What the next request gets: the kind's answer (`ok`) or a misbehaviour. */
  mode: Mode | Misbehaviour;
  slowMs: number;
  readonly received: Received[];
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  close(): Promise<void>;
};

/** What a stand-in's routes do with one request; `fail` is how its kind reports an error. */
export type Route = {
  answer(request: Received, res: ServerResponse): void;
  fail(res: ServerResponse, status: number, message: string): void;
};

/**
 * A loopback HTTP server (node:http) that records every request, then answers as `route` says or
 * misbehaves as its `mode` says: the common part of the Flowise and webhook stand-ins.
 */
export async function startLoopback<Mode extends string>(
  initial: Mode,
  route: Route,
): Promise<LoopbackPeer<Mode>> {
  let failedOnce = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const request: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      peer.received.push(request);
      const send = () => {
        switch (peer.mode) {
          case 'garbage':
            return json(res, 200, '{"text": "half');
          case 'html':
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            return res.end('<html><body><h1>Sign in</h1></body></html>');
          case 'too-big':
            return json(res, 200, JSON.stringify({ text: 'x'.repeat(8192) }));
          case 'empty':
            res.writeHead(204);
            return res.end();
          case 'fail':
            return route.fail(
              res,
              500,
              'Error: predictionsServices.buildChatflow - Error: NodeVM Execution Error: Error: boom from flow',
            );
          case 'fail-once':
            if (!failedOnce) {
              failedOnce = true;
              return route.fail(res, 500, 'the flow failed once');
            }
            return route.answer(request, res);
          default:
            return route.answer(request, res);
        }
      };
      if (peer.mode === 'slow') setTimeout(() => route.answer(request, res), peer.slowMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const peer: LoopbackPeer<Mode> = {
    mode: initial,
    slowMs: 2500,
    received: [],
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return peer;
}

/** Sends a JSON body (already text) with a status. */
export function json(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

/** What the webhook workflow answers, from the JSON it received (its "Respond to Webhook" node). */
export type Respond = (body: unknown) => unknown;

export type WebhookPeer = LoopbackPeer<'ok'> & {
  /** The workflow: what it answers for a body. */
  respond: Respond;
  /** When set, requests must carry it as `X-N8N-Key` (n8n's header auth), or get 403. */
  key: string | undefined;
  /** The workflow's path: `/webhook/<path>`; any other is not registered (404). */
  readonly path: string;
  /** When set, the workflow answers this text as it is (`1e400`, say, which no value stringifies to). */
  raw: string | undefined;
  /** The content type `raw` goes with (default application/json). */
  rawType: string;
};

/**
 * An n8n-style webhook workflow: `POST /webhook/<path>` (any method the test sends) runs the
 * workflow, whose "Respond to Webhook" node answers JSON. Errors have n8n's shape, `{ code, message }`
 * (a path that is not registered is 404, wrong header auth 403, a failing workflow 500).
 */
export async function startWebhookPeer(path = 'enrich', respond: Respond = (b) => b): Promise<WebhookPeer> {
  const fail = (res: ServerResponse, status: number, message: string) =>
    json(res, status, JSON.stringify({ code: status === 500 ? 0 : status, message }));
  const base = await startLoopback<'ok'>('ok', {
    fail,
    answer(request, res) {
      if (request.path !== self.path)
        return fail(res, 404, `The requested webhook "${request.method} ${request.path}" is not registered.`);
      if (self.key !== undefined && request.headers['x-n8n-key'] !== self.key)
        return fail(res, 403, 'Authorization data is wrong!');
      if (self.raw !== undefined) {
        res.writeHead(200, { 'content-type': self.rawType });
        return res.end(self.raw);
      }
      json(res, 200, JSON.stringify(self.respond(request.body)));
    },
  });
  // The same object the server reads its mode from, with the workflow's own settings.
  const self: WebhookPeer = Object.assign(base, {
    path: `/webhook/${path}`,
    respond,
    key: undefined as string | undefined,
    raw: undefined as string | undefined,
    rawType: 'application/json',
  });
  return self;
}
