import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Envelope, isFinal, type MeshwardenError } from '../../runtime/index.js';
import type { Credential } from '../auth.js';
import type { FlowiseStandIn } from '../flowise/test-kit.js';
import { startFlowiseStandIn, TRIAGE_FLOW } from '../flowise/test-kit.js';
import { parseReply } from '../http/reply.js';
import { remoteMessage } from '../http-answer.js';
import { callJson } from './call.js';
import { startWebhookPeer, type WebhookPeer } from './test-kit.js';

let flowise: FlowiseStandIn;
let webhook: WebhookPeer;
beforeAll(async () => {
  flowise = await startFlowiseStandIn();
  webhook = await startWebhookPeer();
});
afterAll(async () => {
  await flowise.close();
  await webhook.close();
});

const msg = { id: randomUUID(), correlationid: randomUUID() } as Envelope;
const where = { who: 'agent t', url: 'loopback' };

async function failure(url: string, credential?: Credential): Promise<MeshwardenError> {
  const call = {
    method: 'POST' as const,
    url,
    body: { question: 'hi' },
    msg,
    credential,
    limit: 1024,
    where,
  };
  return (await callJson(call, AbortSignal.timeout(2000)).then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  )) as MeshwardenError;
}

describe('a JSON call', () => {
  it.each([
    [
      'Flowise, unknown chatflow',
      () => `${flowise.url}/api/v1/prediction/00000000-0000-4000-8000-000000000000`,
      404,
      'Chatflow 00000000-0000-4000-8000-000000000000 not found in the database!',
    ],
    ['Flowise, not a chatflow id', () => `${flowise.url}/api/v1/prediction/nope`, 400, 'Invalid Chatflow ID'],
    [
      'Flowise, no API key (a 500, as Flowise 3.1.4 answers)',
      () => `${flowise.url}/api/v1/prediction/${TRIAGE_FLOW}`,
      500,
      'Error: predictionsServices.buildChatflow - Unauthorized',
    ],
    [
      'n8n, unregistered webhook',
      () => `${webhook.url}/webhook/other`,
      404,
      'The requested webhook "POST /webhook/other" is not registered.',
    ],
  ])('carries the remote error message: %s', async (_, url, status, remote) => {
    flowise.apiKey = 'k3y';
    const error = await failure(url());
    flowise.apiKey = undefined;
    expect(error.code).toBe('MW_INTEROP_HTTP_STATUS');
    expect(error.details).toMatchObject({ status, remote });
  });

  it.each([
    ['no API key', undefined, 'missing'],
    ['a wrong API key', 'wrong', 'refused'],
  ])('says plainly that Flowise (HTTP 500 …Unauthorized) wants the API key: %s', async (_, key, said) => {
    flowise.apiKey = 'k3y';
    const credential =
      key === undefined
        ? undefined
        : { header: 'Authorization', value: `Bearer ${key}`, env: 'K', secret: key };
    const error = await failure(`${flowise.url}/api/v1/prediction/${TRIAGE_FLOW}`, credential);
    flowise.apiKey = undefined;
    expect(error.details).toMatchObject({ status: 500, credential: said });
    expect(error.message).not.toContain('wrong');
  });

  it.each([
    [400, true],
    [404, true],
    [405, true],
    [410, true],
    [413, true],
    [422, true],
    [401, true],
    [403, true],
    [408, false],
    [429, false],
    [500, false],
    [502, false],
    [503, false],
  ])('HTTP %i is final (dead-lettered after one try): %s', async (status, final) => {
    const server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"message":"no"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const error = await failure(`http://127.0.0.1:${port}/`);
    await new Promise((resolve) => server.close(resolve));
    expect(error.code).toBe('MW_INTEROP_HTTP_STATUS');
    expect(isFinal(error)).toBe(final);
  });

  it('makes Flowise’s HTTP 500 "Unauthorized" final: the key is refused on every try', async () => {
    flowise.apiKey = 'k3y';
    const error = await failure(`${flowise.url}/api/v1/prediction/${TRIAGE_FLOW}`);
    flowise.apiKey = undefined;
    expect(error.details).toMatchObject({ status: 500, credential: 'missing' });
    expect(isFinal(error)).toBe(true);
  });

  it('carries the message of a failed flow (500)', async () => {
    flowise.mode = 'fail';
    const error = await failure(`${flowise.url}/api/v1/prediction/${TRIAGE_FLOW}`);
    flowise.mode = 'ok';
    expect(error.details).toMatchObject({ status: 500 });
    expect(isFinal(error)).toBe(false);
  });

  it.each([
    ['{"statusCode":500,"success":false,"message":"boom","stack":{}}', 'boom'],
    ['{"code":0,"message":"Error in workflow"}', 'Error in workflow'],
    ['{"error":"Unauthorized Access"}', 'Unauthorized Access'],
    ['{"error":{"message":"nested"}}', 'nested'],
    ['<html>', undefined],
    ['{"message":""}', undefined],
    [`{"message":"${'y'.repeat(400)}"}`, `${'y'.repeat(300)}…`],
    ['{"message":"a\\u001b[2J\\u001b]0;owned\\u0007b"}', 'a [2J ]0;owned b'],
    [`{"message":"${'y'.repeat(299)}\\ud83d\\ude00"}`, `${'y'.repeat(299)}\ufffd…`],
  ])('reads the error message of %s', (text, expected) => {
    expect(remoteMessage(text)).toBe(expected);
  });

  it('cuts a hostile content type short (errors quote it)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': `application/${'x'.repeat(8000)}+json` });
      res.end('nope');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const call = {
      method: 'POST' as const,
      url: `http://127.0.0.1:${port}/`,
      body: {},
      msg,
      credential: undefined,
      limit: 1024,
      where,
    };
    const answer = await callJson(call, AbortSignal.timeout(2000));
    await new Promise((resolve) => server.close(resolve));
    expect(answer.type.length).toBeLessThanOrEqual(101);
  });

  it.each([
    ['an absolute URL', 302, (target: string) => `${target}/final`, (target: string) => `${target}/final`],
    ['a path, read against the URL', 301, () => '/login', (_: string, self: string) => `${self}/login`],
    [
      'a URL with user:password@, shown without them',
      307,
      () => 'http://u:p@127.0.0.1:9/x',
      () => 'http://127.0.0.1:9/x',
    ],
    [
      'a URL with a query and a fragment, shown without them',
      302,
      (target: string) => `${target}/final?code=abc#x`,
      (target: string) => `${target}/final?…`,
    ],
    [
      'a hostile URL, cut short',
      308,
      () => `/${'z'.repeat(5000)}`,
      (_: string, self: string) => `${self}/${'z'.repeat(200 - self.length - 1)}…`,
    ],
  ])('refuses a redirect to %s, final, without following it', async (_, status, locationOf, shownOf) => {
    let followed = 0;
    const target = createServer((_req, res) => {
      followed++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    const server = createServer((_req, res) => {
      res.writeHead(status, { location: locationOf(targetUrl) });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const error = await failure(`${self}/`);
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => target.close(resolve));
    expect(error.code).toBe('MW_INTEROP_REDIRECT');
    expect(error.details).toEqual({ status, location: shownOf(targetUrl, self), final: true });
    expect(isFinal(error)).toBe(true);
    expect(followed).toBe(0);
  });

  it('refuses a redirect without a Location', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(303);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const error = await failure(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await new Promise((resolve) => server.close(resolve));
    expect(error.code).toBe('MW_INTEROP_REDIRECT');
    expect(error.details).toEqual({ status: 303, final: true });
  });

  it('sends the envelope id as the idempotency key', async () => {
    const call = {
      method: 'PUT' as const,
      url: `${webhook.url}${webhook.path}`,
      body: { a: 1 },
      msg,
      credential: undefined,
      limit: 1024,
      where,
    };
    const answer = await callJson(call, AbortSignal.timeout(2000));
    expect(answer).toEqual({ status: 200, type: 'application/json', text: '{"a":1}' });
    const last = webhook.received.at(-1)!;
    expect(last.method).toBe('PUT');
    expect(last.headers['idempotency-key']).toBe(msg.id);
  });
});

describe('a redirect to a URL that holds the credential', () => {
  it.each([
    ['with " space and \\ in its path', 'ce_SECRET_x7"Y/z+w&v=u\\t s', (k: string) => `/login/${k}/next`],
    [
      'as user:password@, with a / in it',
      'Zm9vYmFyQmF6/K3yPlus+Abc0123==',
      (k: string) => `http://${k}:${k}@evil.example/`,
    ],
    [
      'in its host, which a URL writes in lower case',
      'AbC123XyZ',
      (k: string) => `https://${k}.evil.example/`,
    ],
    ['percent-encoded in lower case', 'ab+c/d=', (k: string) => `/x/${encodeURIComponent(k).toLowerCase()}`],
    [
      'percent-encoded twice',
      'Kx+9/Zq=',
      (k: string) => `https://evil.example/${encodeURIComponent(encodeURIComponent(k))}`,
    ],
    ['beside a malformed escape', 'Kx+9/Zq=', (k: string) => `/${encodeURIComponent(k)}/%zz`],
  ])('shows none of it: %s', async (_, secret, locationOf) => {
    const credential: Credential = { header: 'x-api-key', value: secret, env: 'K', secret };
    const server = createServer((_req, res) => {
      res.writeHead(302, { location: locationOf(secret) });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const error = await failure(url, credential);
    await new Promise((resolve) => server.close(resolve));
    expect(error.code).toBe('MW_INTEROP_REDIRECT');
    expect(error.details?.location).toBe('a URL that holds the credential, [redacted: K]');
    const seen = JSON.stringify([error.message, error.details]).toLowerCase();
    for (const part of [secret.slice(0, 8), encodeURIComponent(secret).slice(0, 10)])
      expect(seen).not.toContain(part.toLowerCase());
  });
});

describe('a remote that echoes the credential', () => {
  const secret = 'sk-"SUPER"-secret-12345';
  const credential: Credential = {
    header: 'authorization',
    value: `Bearer ${secret}`,
    env: 'FLOW_KEY',
    secret,
  };

  it.each([
    [500, 'an error that quotes the header'],
    [200, 'an answer that quotes it'],
  ])('never hands the secret on: %i, %s', async (status) => {
    const server = createServer((req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `bad key ${req.headers.authorization}`, raw: secret }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const call = { method: 'POST' as const, url, body: {}, msg, credential, limit: 4096, where };
    const outcome = await callJson(call, AbortSignal.timeout(2000)).catch((e: MeshwardenError) => e);
    await new Promise((resolve) => server.close(resolve));
    const seen = JSON.stringify(outcome instanceof Error ? [outcome.message, outcome.details] : outcome);
    expect(seen).not.toContain('SUPER');
    expect(seen).toContain('[redacted: FLOW_KEY]');
  });

  it.each([
    ['quoted inside a JSON string (escaped twice)', 500, ''],
    ['in a redirect’s path, URL-encoded', 302, '/a/'],
  ])('never hands the secret on: %s', async (_, status, path) => {
    const server = createServer((req, res) => {
      const echoed = JSON.stringify({ headers: req.headers });
      if (path === 'lower') {
        const lower = encodeURIComponent(req.headers.authorization ?? '').replace(/%[0-9A-F]{2}/g, (e) =>
          e.toLowerCase(),
        );
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `bad key in /cb?token=${lower}` }));
        return;
      }
      if (status === 302) {
        res.writeHead(302, { location: `${path}${encodeURIComponent(req.headers.authorization ?? '')}?k=x` });
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `upstream said ${echoed}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const call = { method: 'POST' as const, url, body: {}, msg, credential, limit: 4096, where };
    const outcome = (await callJson(call, AbortSignal.timeout(2000)).catch(
      (e: MeshwardenError) => e,
    )) as MeshwardenError;
    await new Promise((resolve) => server.close(resolve));
    const seen = JSON.stringify([outcome.message, outcome.details]);
    expect(seen).not.toContain('SUPER');
    expect(seen).toContain('[redacted: FLOW_KEY]');
  });
});

describe('a url: agent reply', () => {
  it('never takes a remote event’s `unmapped`: only the warden sets it', () => {
    const body = JSON.stringify({ type: 't.v1', data: {}, unmapped: { pointer: '/x', problem: 'p' } });
    expect(parseReply('application/json', body, where)).toEqual([{ type: 't.v1', data: {} }]);
  });
});
