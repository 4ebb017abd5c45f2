import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AlertMessage, AlertSinkSpec } from '../../runtime/index.js';
import { postWithRetries, retryAfterMs } from './post.js';
import { createAlertSinks } from './sinks.js';

const NOW = 1_700_000_000_000;
const alert: AlertMessage = {
  id: 'a1',
  at: NOW,
  mesh: 'm',
  route: 'r',
  sink: 's',
  severity: 'critical',
  event: 'breaker.opened',
  key: 'br|x|account:1',
  summary: 'x',
  partition: 0,
  suppressed: 0,
};

/** A loopback server answering each request with `answer`; closes with every socket. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => answer(req, res, n++));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen: () => n,
    [Symbol.asyncDispose]: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A webhook post to `url`, its backoff far longer than a test (a retry that comes is a Retry-After's). */
const webhookTo = (url: string, o: { retries: number; signal?: AbortSignal }) => ({
  sink: 's',
  type: 'webhook',
  url: `${url}/h`,
  timeoutMs: 5000,
  initialDelayMs: 600_000,
  ...o,
});

describe('Retry-After', () => {
  it.each<[string | null, number | undefined]>([
    [null, undefined],
    ['', undefined],
    ['2', 2000],
    ['120', 30_000],
    [new Date(NOW + 5000).toUTCString(), 5000],
    [new Date(NOW - 5000).toUTCString(), 0],
    ['soon', undefined],
  ])('%s waits %s ms', (header, ms) => {
    expect(retryAfterMs(header, NOW)).toBe(ms);
  });

  it('a 429 with Retry-After: 0 is tried again at once, not after the backoff', async () => {
    await using rx = await serve((_, res, n) => {
      if (n === 0) res.writeHead(429, { 'retry-after': '0' }).end();
      else res.writeHead(200).end();
    });
    const result = await postWithRetries(webhookTo(rx.url, { retries: 1 }), '{}', () => ({}));
    expect([result.ok, result.attempts]).toEqual([true, 2]);
  });

  it('closed while it waits to try again: the failure says what the receiver answered last', async () => {
    await using rx = await serve((_, res) => res.writeHead(503).end());
    const abort = new AbortController();
    const opts = webhookTo(rx.url, { retries: 3, signal: abort.signal });
    const sending = postWithRetries(opts, '{}', () => ({}));
    while (rx.seen() === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    const result = await sending;
    if (result.ok) throw new Error('sent');
    expect(result.attempts).toBe(1);
    expect(result.error).toMatchObject({
      code: 'MW_INTEROP_ALERT_SEND',
      details: {
        problem: 'not sent: the warden closed while it waited to try again (the last try answered HTTP 503)',
      },
    });
  });
});

describe('a receiver that redirects', () => {
  it('is not followed, nor tried again, and the failure names only the host it leads to', async () => {
    await using rx = await serve((_, res) => {
      res.writeHead(301, { location: 'https://hooks.example.com/services/SECRET' }).end();
    });
    const opts = {
      sink: 's',
      type: 'webhook',
      url: `${rx.url}/h`,
      timeoutMs: 5000,
      retries: 3,
      initialDelayMs: 1,
    };
    const result = await postWithRetries(opts, '{}', () => ({}));
    expect([result.ok, result.attempts, rx.seen()]).toEqual([false, 1, 1]);
    if (result.ok) return;
    expect(result.error.code).toBe('MW_INTEROP_ALERT_SEND');
    expect(result.error.message).not.toContain('SECRET');
  });
});

describe('createAlertSinks', () => {
  const spec: AlertSinkSpec = {
    name: 'chat',
    type: 'slack',
    url: { env: 'MW_T_URL' },
    timeoutMs: 1000,
    retries: 0,
  };

  it('an env URL that is not a valid http(s) URL fails the start, without echoing it', () => {
    const secret = 'hooks.slack.com/services/T0/B0/SECRET';
    const made = createAlertSinks(new Map([['chat', spec]]), { env: { MW_T_URL: secret } });
    expect(made instanceof Map).toBe(false);
    const errors = made as readonly { code: string; message: string; details?: unknown }[];
    expect(errors.map((e) => e.code)).toEqual(['MW_INTEROP_ALERT_ENV']);
    expect(JSON.stringify(errors)).not.toContain('SECRET');
  });

  it('an unreachable receiver: the recorded error names the host, never the secret path or the cause text', async () => {
    const made = createAlertSinks(new Map([['chat', spec]]), {
      env: { MW_T_URL: 'http://127.0.0.1:1/services/SECRET' },
    });
    if (!(made instanceof Map)) throw new Error('sinks not made');
    const result = await made.get('chat')!.send(alert);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('MW_INTEROP_ALERT_SEND');
    expect(JSON.stringify({ ...result.error, message: result.error.message })).not.toContain('SECRET');
    expect(result.error.cause).toBeUndefined();
  });

  it('a receiver that never answers: aborting the signal ends the send at once, a failure with a code', async () => {
    await using rx = await serve(() => {});
    const hook: AlertSinkSpec = {
      name: 'h',
      type: 'webhook',
      url: `${rx.url}/h`,
      timeoutMs: 600_000,
      retries: 3,
    };
    const made = createAlertSinks(new Map([['h', hook]]), { env: {} });
    if (!(made instanceof Map)) throw new Error('sinks not made');
    const abort = new AbortController();
    const sending = made.get('h')!.send(alert, abort.signal);
    while (rx.seen() === 0) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    const result = await sending;
    expect([result.ok, result.attempts, result.ok ? '' : result.error.code]).toEqual([
      false,
      1,
      'MW_INTEROP_ALERT_SEND',
    ]);
  });
});
