import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from './run-cli.js';
import { call, createTokens, rawHttp, startUp, type UpProcess } from './up-process.js';

const MESH = join(REPO, 'examples', 'partners', 'mesh.yaml');
const METRICS_TOKEN = 'm'.repeat(32);

// What `up` answers to requests that no route takes: each with the typed error every refusal has,
// at once, without reading a body nobody asked for.
describe('requests no route takes, on a real `up`', () => {
  const data = join(tempDir('unrouted'), 'data');
  let up: UpProcess;
  const tokens: Record<string, string> = {};
  const send = (method: string, path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${up.api}${path}`, {
      method,
      headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      signal: AbortSignal.timeout(10_000),
    });

  beforeAll(async () => {
    up = await startUp([MESH, '--data', data], { env: { MESHWARDEN_METRICS_TOKEN: METRICS_TOKEN } });
    Object.assign(tokens, await createTokens(up, up.token!, { pilot: 'pilot', viewer: 'viewer' }));
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('answers a HEAD of a stream or of the MCP door with 405, at once, where one hung and one was a 500', async () => {
    const events = await send('HEAD', '/events', tokens.viewer);
    expect(events.status).toBe(405);
    expect(events.headers.get('allow')).toBe('GET');
    for (const method of ['HEAD', 'GET', 'DELETE']) {
      const mcp = await send(method, '/mcp', tokens.pilot);
      expect(mcp.status, method).toBe(405);
      expect(mcp.headers.get('allow')).toBe('POST');
    }
    // The A2A JSON-RPC door takes POST; its REST binding's methods are the SDK's own.
    const a2a = await send('GET', '/a2a/partners', tokens.pilot);
    expect(a2a.status).toBe(405);
    expect(a2a.headers.get('allow')).toBe('POST');
  });

  it('answers a path no route has without reading its body: not JSON, or one that never ends', async () => {
    const notJson = await fetch(`${up.api}/nowhere`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{bad',
    });
    expect(notJson.status).toBe(404);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('MW_API_NOT_FOUND');
    // A body announced and never sent: the answer does not wait for it.
    const { hostname, port } = new URL(up.api);
    const answered = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { hostname, port, path: '/api/v1/health', method: 'PUT', headers: { 'content-length': 1000 } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', reject);
      req.write('x');
    });
    expect(answered).toBe(405);
  });

  it('types what the router cannot decode, a parameter past its length, CONNECT and an Expect it cannot meet', async () => {
    const broken = await send('POST', '/holds/%zz/approve', tokens.pilot);
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe('MW_API_BAD_REQUEST');
    const long = await send('DELETE', `/tokens/${'x'.repeat(101)}`, up.token);
    expect(long.status).toBe(404);
    expect(((await long.json()) as { error: { code: string } }).error.code).toBe('MW_API_NOT_FOUND');
    const connectTo = await rawHttp(up, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(connectTo.status).toBe(405);
    expect(connectTo.headers).toMatch(/\r\nallow: *\r\n/i);
    expect(connectTo.body.error.code).toBe('MW_API_METHOD_NOT_ALLOWED');
    // A CONNECT whose client resets it, and one whose client never closes: neither ends the process
    // nor holds its stop (afterAll stops it, exit 0); the second is closed by the server.
    const { hostname, port } = new URL(up.api);
    await new Promise<void>((resolve) => {
      const reset = connect(Number(port), hostname, () => {
        reset.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
        reset.resetAndDestroy();
        resolve();
      });
    });
    await new Promise<void>((resolve) => {
      const kept = connect(Number(port), hostname, () =>
        kept.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
      );
      kept.resume();
      kept.on('close', () => resolve());
    });
    const expectation = await rawHttp(
      up,
      'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nConnection: close\r\n\r\n',
    );
    expect(expectation.status).toBe(417);
    expect(expectation.body.error.code).toBe('MW_API_BAD_REQUEST');
    expect((await call(up, undefined, 'GET', '/health')).status).toBe(200);
  });

  it('gzips /metrics for any case of gzip, and for x-gzip', async () => {
    const root = up.api.slice(0, -'/api/v1'.length);
    for (const encoding of ['GZIP', 'x-gzip', 'Gzip;q=1']) {
      const scraped = await fetch(`${root}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}`, 'accept-encoding': encoding },
      });
      expect(scraped.headers.get('content-encoding'), encoding).toBe('gzip');
      // fetch decodes gzip itself: the text is the exposition.
      expect(await scraped.text()).toContain('# TYPE');
    }
  });
});
