import { describe, expect, it } from 'vitest';
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
