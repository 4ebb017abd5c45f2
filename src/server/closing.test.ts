import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Server } from './app.js';
import { apiOverMesh } from './test-kit.js';

describe('the API while it closes', () => {
  it('refuses a call with the typed MW_API_CLOSING (503), not an untyped one', async () => {
    const { opened, server, get } = await apiOverMesh('meshwarden-closing-');
    await using _o = opened;
    expect((await get('/api/v1/health')).statusCode).toBe(200);
    const closing = server.close();
    const refused = await get('/api/v1/health');
    await closing;
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('MW_API_CLOSING');
  });

  it('keeps its port while it refuses calls, so a new connection is answered 503, not refused', async () => {
    const { opened, server } = await apiOverMesh('meshwarden-closing-');
    await using _o = opened;
    const url = await server.listen(0, '127.0.0.1');
    await server.refuseCalls();
    // A fresh connection, as a load balancer's probe opens one while the mesh behind drains.
    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status).toBe(503);
    // The connection is not kept alive: a client asks again on a new one.
    expect(health.headers.get('connection')).toBe('close');
    expect(((await health.json()) as { error: { code: string } }).error.code).toBe('MW_API_CLOSING');
    await server.close();
    await expect(fetch(`${url}/api/v1/health`)).rejects.toThrow();
  });

  it('ends the live feed and waits for it before it says no call is in flight', async () => {
    const { opened, server, token } = await apiOverMesh('meshwarden-closing-');
    await using _o = opened;
    const url = await server.listen(0, '127.0.0.1');
    const feed = await fetch(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(feed.status).toBe(200);
    const reader = feed.body!.getReader();
    await reader.read(); // the stream's opening comment: it is in flight
    await server.refuseCalls();
    // Ended by the server, so the reader comes to its end rather than waiting on.
    for (;;) if ((await reader.read()).done) break;
    await server.close();
  });
});

describe('the calls in flight as the API closes', () => {
  /** A POST whose body stalls after its first 5 bytes: a call in flight until `finish`. */
  const stalledPost = async (server: Server, url: string, token: string) => {
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {}); // the close cuts it: a reset, which `closed` tells
    await once(socket, 'connect');
    // Arrived once the server has its headers, and its hooks ran (a turn after).
    const arrived = once(server.app.server, 'request').then(() => new Promise((r) => setImmediate(r)));
    const body = JSON.stringify({ type: 'job.queued.v1', subject: 's', data: { pad: 'x'.repeat(40) } });
    const head = `POST /api/v1/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    socket.write(head + body.slice(0, 5));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const closed = once(socket, 'close');
    const answered = once(socket, 'data');
    await arrived;
    return { finish: () => socket.write(body.slice(5)), answer: () => answer, answered, closed };
  };

  it('waits for a call in flight before it says none is', async () => {
    const { opened, server, token } = await apiOverMesh('meshwarden-closing-');
    await using _o = opened;
    const url = await server.listen(0, '127.0.0.1');
    const call = await stalledPost(server, url, token);
    let refused = false;
    const refusing = server.refuseCalls().then(() => {
      refused = true;
    });
    // A whole round trip to the server later, the stalled call still holds it.
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(503);
    expect(refused).toBe(false);
    call.finish();
    await refusing;
    await call.answered;
    // Answered, not cut (its handler, reached once closing, refuses it as MW_API_CLOSING).
    expect(call.answer()).toMatch(/^HTTP\/1\.1 503 .*MW_API_CLOSING/s);
    await server.close();
  });

  it('goes on after callsWaitMs with a call still stalled, and the close cuts it', async () => {
    const { opened, server, token } = await apiOverMesh('meshwarden-closing-', { callsWaitMs: 200 });
    await using _o = opened;
    const url = await server.listen(0, '127.0.0.1');
    const call = await stalledPost(server, url, token);
    await server.refuseCalls();
    await server.close();
    await call.closed;
    expect(call.answer()).toBe('');
  });
});
