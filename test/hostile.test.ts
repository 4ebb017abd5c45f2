import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';
import { call, rawHttp, startUp, type UpProcess } from './up-process.js';

// Hostile bodies against every door of a real `up` (the partners example: ingress `partners` and
// `desk`, the exposed agent `churn`, and MCP): each gets a 4xx with a typed code, the server goes on
// answering, and what came with a valid token is quarantined in the ledger (docs/api.md).

const MESH = join(REPO, 'examples', 'partners', 'mesh.yaml');
const MiB = 1024 * 1024;

const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const rpc = (method: string, params: string) =>
  `{"jsonrpc":"2.0","id":1,"method":"${method}","params":${params}}`;

type Door = { readonly name: string; readonly path: string; readonly wrap: (data: string) => string };
const DOORS: readonly Door[] = [
  {
    name: 'messages',
    path: '/messages',
    wrap: (d) => `{"type":"ticket.scored.v1","subject":"a:1","data":${d}}`,
  },
  {
    name: 'mcp',
    path: '/mcp',
    wrap: (d) =>
      rpc('tools/call', `{"name":"partners__ticket_scored_v1","arguments":{"subject":"a:1","data":${d}}}`),
  },
  {
    name: 'a2a ingress',
    path: '/a2a/partners',
    wrap: (d) => rpc('SendMessage', `{"message":{"parts":[{"data":${d}}]}}`),
  },
  {
    name: 'a2a rest',
    path: '/a2a/partners/rest/message:send',
    wrap: (d) => `{"message":{"parts":[{"data":${d}}]}}`,
  },
  {
    name: 'a2a exposed',
    path: '/a2a/churn',
    wrap: (d) => rpc('SendMessage', `{"message":{"parts":[{"data":${d}}]}}`),
  },
];

type Body = {
  readonly name: string;
  readonly body: (door: Door) => string;
  readonly type?: string;
  /** Expected [status, code, reason recorded] per door name, or for every door. */
  readonly expect: (door: Door) => readonly [number, string, string];
};
const BODIES: readonly Body[] = [
  {
    name: 'nested 50,000 deep',
    body: (door) => door.wrap(nested(50_000)),
    expect: () => [400, 'MW_API_TOO_DEEP', 'ingress.body_too_deep'],
  },
  {
    name: 'of 5 MB',
    body: (door) => door.wrap(`"${'a'.repeat(5 * MiB)}"`),
    expect: () => [413, 'MW_API_TOO_LARGE', 'ingress.body_too_large'],
  },
  {
    name: 'not JSON',
    body: () => '{"type": nope',
    expect: () => [400, 'MW_API_BAD_REQUEST', 'ingress.body_not_json'],
  },
  {
    name: 'with a lone surrogate',
    body: (door) => door.wrap('"\\ud800"'),
    expect: () => [400, 'MW_API_BAD_REQUEST', 'ingress.body_broken_text'],
  },
  {
    // JSON.parse keeps the last and drops the first: what a checker before us read is not what we would.
    name: 'with a member name given twice',
    body: (door) => door.wrap('{"score":1,"note":"x","score":1000}'),
    expect: () => [400, 'MW_API_BAD_REQUEST', 'ingress.body_duplicate_key'],
  },
  {
    // JSON.parse gives Infinity, which the ledger would record as null while agents got Infinity.
    name: 'with a number out of range',
    body: (door) => door.wrap('{"score":1e400}'),
    expect: () => [400, 'MW_API_BAD_REQUEST', 'ingress.body_not_json'],
  },
];
// Over the A2A SDK's own limit (100 kB), well under the API's (1 MiB).
const OVER_A2A: Body = {
  name: 'of 150 kB',
  body: (door) => door.wrap(`"${'a'.repeat(150 * 1024)}"`),
  expect: () => [413, 'MW_API_TOO_LARGE', 'ingress.body_too_large'],
};
const WRONG_TYPE: Body = {
  name: 'in text/plain',
  type: 'text/plain',
  body: () => 'hello',
  expect: () => [415, 'MW_API_MEDIA_TYPE', 'ingress.body_media_type'],
};

// Read as UTF-8 before, whatever it said: a character set the API does not read.
const WRONG_CHARSET: Body = {
  name: 'in Latin-1',
  type: 'application/json; charset=latin1',
  body: (door) => door.wrap('{"text":"ok"}'),
  expect: () => [415, 'MW_API_MEDIA_TYPE', 'ingress.body_media_type'],
};

const CASES = [
  ...DOORS.flatMap((door) => BODIES.map((body) => [door, body] as const)),
  ...DOORS.filter((d) => d.name.startsWith('a2a')).map((door) => [door, OVER_A2A] as const),
  ...DOORS.filter((d) => !d.name.startsWith('a2a')).map((door) => [door, WRONG_TYPE] as const),
  ...DOORS.filter((d) => !d.name.startsWith('a2a')).map((door) => [door, WRONG_CHARSET] as const),
];

describe('hostile bodies on every door of a real `up`', () => {
  const data = join(tempDir('hostile'), 'data');
  let up: UpProcess;
  const tokens: Record<string, string> = {};
  const post = async (path: string, body: string, token: string | undefined, type = 'application/json') => {
    const res = await send(
      `${up.api}${path}`,
      token,
      type,
      Buffer.from(body),
      path.startsWith('/a2a/') ? 100 * 1024 : MiB,
    );
    return { status: res.status, body: JSON.parse(res.body) };
  };
  const recorded: { reason: string; location: string }[] = [];

  beforeAll(async () => {
    up = await startUp([MESH, '--data', data]);
    for (const role of ['viewer', 'partner'] as const) {
      const created = await call(up, up.token, 'POST', '/tokens', { name: `a-${role}`, role });
      expect(created.status).toBe(201);
      tokens[role] = created.body.token;
    }
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
    expect(up.stderr()).not.toMatch(/"level":50|RangeError|\n\s+at /);
  });

  it.each(CASES.map(([door, body]) => [door.name, body.name, door, body] as const))(
    '%s: a body %s gets a typed 4xx and is quarantined',
    async (_, __, door, body) => {
      const [status, code, reason] = body.expect(door);
      const res = await post(door.path, body.body(door), up.token, body.type);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      recorded.push({ reason, location: `POST /api/v1${door.path}` });
      expect((await call(up, undefined, 'GET', '/health')).status).toBe(200);
    },
  );

  it('lets data nested 100 deep through each door, for the gate to quarantine as envelope.too_deep', async () => {
    const data = `{"score":${nested(100)}}`;
    const message = `{"messageId":"m1","role":"ROLE_USER","parts":[{"data":${data}}],"metadata":{"subject":"account:1"}}`;
    const reasons = [
      (
        await post(
          '/messages',
          `{"type":"ticket.scored.v1","subject":"account:1","ingress":"desk","data":${data}}`,
          up.token,
        )
      ).body.verdict.reason,
      // MCP answers as an event stream: its one `data:` line.
      JSON.parse(
        /^data: (.*)$/m.exec(
          (await send(`${up.api}/mcp`, up.token, 'application/json', Buffer.from(DOORS[1]!.wrap(data)), MiB))
            .body,
        )![1]!,
      ).result.structuredContent.reason,
      (
        await send(
          `${up.api}/a2a/partners`,
          up.token,
          'application/json',
          Buffer.from(rpc('SendMessage', `{"message":${message}}`)),
          MiB,
          { 'a2a-version': '1.0' },
        )
      ).body,
    ];
    expect(reasons.slice(0, 2)).toEqual(['envelope.too_deep', 'envelope.too_deep']);
    expect(JSON.parse(reasons[2]).result.message.parts[0].data.reason).toBe('envelope.too_deep');
  });

  it('answers a deep body without a token, with too low a role or for no such name, and records none of those', async () => {
    const deep = DOORS[0]!.wrap(nested(50_000));
    expect((await post('/messages', deep, undefined)).body.error.code).toBe('MW_API_UNAUTHENTICATED');
    expect((await post('/messages', deep, tokens.viewer)).body.error.code).toBe('MW_API_FORBIDDEN');
    // A name that is not there is not read.
    expect((await post('/a2a/nowhere', deep, up.token)).body.error.code).toBe('MW_API_NOT_FOUND');
    // A partner may send to any name (the gate decides where its message may go), so its body is
    // read, refused and recorded like anyone's.
    expect((await post('/a2a/desk', deep, tokens.partner)).body.error.code).toBe('MW_API_TOO_DEEP');
    recorded.push({ reason: 'ingress.body_too_deep', location: 'POST /api/v1/a2a/desk' });
  });

  it('refuses a gzipped body as a coding it does not read (415), not as text that is not UTF-8', async () => {
    const body = gzipSync(DOORS[0]!.wrap('{"text":"ok"}'));
    const res = await send(`${up.api}/messages`, up.token, 'application/json', body, MiB, {
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body).error.code).toBe('MW_API_MEDIA_TYPE');
    recorded.push({ reason: 'ingress.body_media_type', location: 'POST /api/v1/messages' });
  });

  it('records a message no ingress takes (an unknown ingress, a type none emits) as a refused body', async () => {
    for (const body of [
      '{"type":"ticket.scored.v1","subject":"a:1","data":{},"ingress":"nope"}',
      '{"type":"no.such.v1","subject":"a:1","data":{}}',
    ]) {
      const res = await post('/messages', body, up.token);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer: '/ingress' });
      recorded.push({ reason: 'ingress.body_unroutable', location: 'POST /api/v1/messages' });
    }
  });

  it('refuses 5 MB without reading it whole: the answer comes though the body never ends', async () => {
    for (const path of ['/messages', '/a2a/partners']) {
      const declared = await partialPost(`${up.api}${path}`, up.token!, 5 * MiB);
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body).error.code).toBe('MW_API_TOO_LARGE');
      // Chunked, no length announced: refused once past the limit, without the body's end.
      const limit = path === '/messages' ? MiB : 100 * 1024;
      const chunked = await partialPost(`${up.api}${path}`, up.token!, undefined, limit + 64 * 1024);
      expect(chunked.status).toBe(413);
      recorded.push(
        ...[1, 2].map(() => ({ reason: 'ingress.body_too_large', location: `POST /api/v1${path}` })),
      );
    }
  });

  it('answers a URL past the header limit, and bytes that are not HTTP, with a typed 4xx', async () => {
    const raw = (request: string) => rawHttp(up, request);
    const long = await raw(`GET /api/v1/search?q=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(long.status).toBe(431);
    expect(long.body.error.code).toBe('MW_API_HEADERS_TOO_LARGE');
    const garbage = await raw('\u0000\u0001 not http at all\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.code).toBe('MW_API_NOT_HTTP');
    expect((await call(up, undefined, 'GET', '/health')).status).toBe(200);
  });

  it("keeps an ingress's agent card for tokens, and an exposed agent's public", async () => {
    const card = async (name: string, token?: string) =>
      (
        await fetch(`${up.api}/a2a/${name}/.well-known/agent-card.json`, {
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        })
      ).status;
    expect(await card('churn')).toBe(200);
    expect(await card('partners')).toBe(401);
    expect(await card('desk')).toBe(401);
    expect(await card('desk', tokens.viewer)).toBe(200);
    // A partner reads no ingress's card: its messages reach only exposed agents, whose cards are public.
    expect(await card('partners', tokens.partner)).toBe(403);
    expect(await card('desk', tokens.partner)).toBe(403);
  });

  it('records each refused body in the ledger, with where it came in and what arrived', async () => {
    const entries = parseEntries((await runCli(['audit', 'export', '--data', data])).stdout);
    const refused = entries
      .filter((e) => e.kind === 'decision' && (e.data.verdict as { stage: string }).stage === 'ingress')
      .map((e) => ({
        reason: (e.data.verdict as { reason: string }).reason,
        location: (e.data.location as string).replace(/#.*/, ''),
        data: JSON.stringify(e.data),
      }));
    expect(refused.map(({ reason, location }) => ({ reason, location }))).toEqual(recorded);
    // Each names who sent it, as that door's own sends do.
    const senders = entries
      .filter((e) => e.kind === 'decision' && (e.data.verdict as { stage: string }).stage === 'ingress')
      .map((e) => `${(e.data.location as string).split(' ')[1]!.split('#')[0]} ${e.data.sentBy}`);
    expect(senders).toContain('/api/v1/messages pilot:admin');
    expect(senders).toContain('/api/v1/mcp mcp:admin');
    expect(senders).toContain('/api/v1/a2a/desk a2a:a-partner');
    // What arrived is kept where it was read (a body too large never was).
    expect(refused.find((r) => r.reason === 'ingress.body_not_json')?.data).toContain('nope');
    const deep = entries.find(
      (e) => (e.data.verdict as { reason?: string } | undefined)?.reason === 'ingress.body_too_deep',
    );
    // The pointer is as deep as the body, so the location is cut (rejected.ts bounds it).
    expect(deep?.data.location).toMatch(/^POST \/api\/v1\/messages#\/data\/0[/0]*…?$/);
  });
});

/**
 * A POST of `body` written 64 kB at a time until the answer arrives. A body over `limit` is
 * announced but never sent: the server must answer from its length alone, and a server that closes
 * on an unread body may reset the connection before a client still writing reads the answer.
 */
function send(
  url: string,
  token: string | undefined,
  type: string,
  body: Buffer,
  limit: number,
  extra: Record<string, string> = {},
) {
  if (body.length > limit) return post(url, token, type, body.length, () => null);
  let offset = 0;
  return post(
    url,
    token,
    type,
    body.length,
    () => {
      const chunk = body.subarray(offset, offset + 64 * 1024);
      offset += chunk.length;
      return chunk.length === 0 ? undefined : chunk;
    },
    extra,
  );
}

/**
 * A POST that announces `length` bytes and sends none of them, or (length undefined) goes chunked
 * and sends `chunked` bytes of a JSON string, then stops: either way the body never ends, so an
 * answer at all shows the server did not wait for the rest.
 */
function partialPost(url: string, token: string, length: number | undefined, chunked = 0) {
  let sent = 0;
  return post(url, token, 'application/json', length, () => {
    if (length !== undefined || sent >= chunked) return null;
    sent += 64 * 1024;
    return Buffer.from(sent === 64 * 1024 ? `"${'a'.repeat(64 * 1024 - 1)}` : 'a'.repeat(64 * 1024));
  });
}

/** A raw POST fed by `next` (undefined: the body is done; null: stop sending, keep waiting) until answered. */
function post(
  url: string,
  token: string | undefined,
  type: string,
  length: number | undefined,
  next: () => Buffer | null | undefined,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port, pathname } = new URL(url);
  const headers: Record<string, string | number> = {
    ...extra,
    'content-type': type,
    accept: 'application/json, text/event-stream',
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...(length === undefined ? {} : { 'content-length': length }),
  };
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ hostname, port, path: pathname, method: 'POST', headers }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    // Once answered, the server may close on the rest of the body: that is not a failure.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const write = () => {
      if (answered) return;
      const chunk = next();
      // Node sends the headers with the first write; a body never sent still needs them sent.
      if (chunk === null) return void req.flushHeaders();
      if (chunk === undefined) return void req.end();
      req.write(chunk, () => setImmediate(write));
    };
    write();
  });
}
