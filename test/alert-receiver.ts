/** A real HTTP receiver on loopback for alert tests: records each request, answers as told. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: unknown;
};

/** What to do with the n-th request (0-based) to a path: a status, or `hang` (never answer). */
export type Answer = (path: string, n: number) => number | 'hang';

export type Receiver = {
  readonly url: string;
  readonly received: Received[];
  on(path: string): Received[];
  /** Resolves once `count` requests reached `path` (polls; the test's timeout bounds it). */
  waitFor(path: string, count: number): Promise<Received[]>;
  close(): Promise<void>;
};

export async function startReceiver(answer: Answer = () => 202): Promise<Receiver> {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const hanging = new Set<import('node:http').ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      received.push({ path, headers: req.headers, body, json });
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const a = answer(path, n);
      if (a === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(a, { 'content-type': 'application/json' }).end('{"status":"success"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const on = (path: string) => received.filter((r) => r.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    on,
    async waitFor(path, count) {
      while (on(path).length < count) await new Promise((r) => setTimeout(r, 20));
      return on(path);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
