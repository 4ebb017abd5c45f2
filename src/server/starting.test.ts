import { type AddressInfo, connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openStartingDoor } from './starting.js';

/** A port free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('the starting door', () => {
  it('answers every request 503 MW_API_STARTING with the progress of the moment, without reading a body', async () => {
    const port = await freePort();
    let progress = 'opening the mesh';
    await using door = await openStartingDoor({ port, host: '127.0.0.1', progress: () => progress });
    const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('5');
    const body = (await health.json()) as { error: { code: string; progress: string } };
    expect(body.error).toMatchObject({ code: 'MW_API_STARTING', progress: 'opening the mesh' });
    progress = 'recovering its state from the ledger: 10 of 20 entries read';
    const posted = await fetch(`http://127.0.0.1:${port}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(64 * 1024),
    });
    expect(posted.status).toBe(503);
    expect(((await posted.json()) as { error: { progress: string } }).error.progress).toBe(progress);
    // A CONNECT (a socket Node hands over bare) is answered too, and closed.
    const connected = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    expect(connected.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    await door.close();
    expect(await door.closed).toBeUndefined();
    // The port is free for the API, and a second close is the first.
    const api = createServer();
    await new Promise<void>((resolve, reject) => {
      api.once('error', reject);
      api.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => api.close(resolve));
    await door.close();
  });
});
