import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { apiError, endWithError, rawReply, refuseClientError, refuseConnect } from './errors.js';

/** What `up`'s port answers while the mesh opens. */
export type StartingDoor = {
  /** Frees the port (and drops every connection) for the API to listen on. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** Settles once the port is free. */
  readonly closed: Promise<void | Error>;
};

/**
 * Takes `up`'s port while the mesh opens, which on a large ledger takes minutes (the recovery read):
 * every request, health and `/metrics` included, is answered `503 MW_API_STARTING` with what the
 * mesh is doing (`progress()`, said when asked) and `Retry-After`, where the port refused
 * connections. A probe, a scraper or a client learns that the warden is starting, not that it is
 * gone. No body is read, no token is checked: nothing is served yet. Closed just before the API
 * listens on the same port (the gap is the time a listen takes).
 */
export async function openStartingDoor(opts: {
  readonly port: number;
  readonly host: string;
  readonly progress: () => string;
}): Promise<StartingDoor> {
  const starting = () => {
    const progress = opts.progress();
    return apiError('MW_API_STARTING', { progress }, { details: { progress } });
  };
  const retry = String(RETRY_AFTER_SECONDS);
  const server = createHttpServer((request, response) => {
    endWithError(response, starting(), { headers: { 'retry-after': retry } });
    // The body, if any, is not wanted: the connection closes once the answer is out.
    request.resume();
  });
  server.on('connect', (_request: unknown, socket: Socket) =>
    refuseConnect(socket, rawReply(starting(), `retry-after: ${retry}\r\n`)),
  );
  server.on('clientError', refuseClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let settle: (v: void | Error) => void = () => {};
  const closed = new Promise<void | Error>((resolve) => {
    settle = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close((err) => {
        settle(err);
        resolve();
      });
      server.closeAllConnections();
    });
    return closing;
  };
  return { close, [Symbol.asyncDispose]: close, closed };
}

/** What a 503 asks a caller to wait before it asks again. */
const RETRY_AFTER_SECONDS = 5;
