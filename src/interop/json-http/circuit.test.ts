import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentContext, AgentDefinition, AgentSpec, Envelope } from '../../runtime/index.js';
import { isMeshwardenError } from '../../runtime/index.js';
import { createFlowiseTransport } from '../flowise/transport.js';
import { createJsonHttpTransport } from './transport.js';

/** A loopback URL where nothing listens: the port was free a moment ago. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const base = { version: '1.0.0', consumes: ['x.v1'], emits: ['y.v1'], effects: [] };
const msg = { id: randomUUID(), correlationid: randomUUID(), type: 'x.v1', data: 'hi' } as Envelope;
const ctx = { forward() {}, signal: new AbortController().signal } as unknown as AgentContext;

async function codeOf(agent: AgentDefinition): Promise<string> {
  try {
    await agent.handle(msg, ctx);
    return 'handled';
  } catch (err) {
    return isMeshwardenError(err) ? err.code : String(err);
  }
}

function connected(agent: AgentDefinition | Error): AgentDefinition {
  if (isMeshwardenError(agent)) throw agent;
  return agent as AgentDefinition;
}

describe('a dead endpoint', () => {
  it.each([
    ['http', (url: string): AgentSpec => ({ ...base, name: 'h', http: { url, method: 'POST' } })],
    ['flowise', (url: string): AgentSpec => ({ ...base, name: 'f', flowise: { url, flow: 'f' } })],
  ] as const)(
    'opens the %s agent’s circuit, and a reconnect (a policy reload) keeps it open',
    async (kind, specOf) => {
      const opts = { timeoutMs: 1000, breakAfter: 2, halfOpenAfterMs: 60_000 };
      const transport = kind === 'http' ? createJsonHttpTransport(opts) : createFlowiseTransport(opts);
      const spec = specOf(await deadUrl());
      const agent = connected(transport.connect(spec));
      expect([await codeOf(agent), await codeOf(agent)]).toEqual([
        'MW_INTEROP_UNREACHABLE',
        'MW_INTEROP_UNREACHABLE',
      ]);
      expect(await codeOf(agent)).toBe('MW_INTEROP_CIRCUIT_OPEN');
      expect(await codeOf(connected(transport.connect(spec)))).toBe('MW_INTEROP_CIRCUIT_OPEN');
    },
  );
});

/** A loopback endpoint that answers every request with `status`, and counts them. */
async function answering(
  status: number,
): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const server = createHttpServer((_req, res) => {
    calls++;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end('{"message":"no"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('an endpoint that answers an error', () => {
  const closing: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closing) await close();
  });
  it.each([
    [404, 'stays closed: the endpoint is up, the request is wrong', 'MW_INTEROP_HTTP_STATUS'],
    [401, 'stays closed: the endpoint is up, the key is wrong', 'MW_INTEROP_HTTP_STATUS'],
    [503, 'opens: the endpoint is failing', 'MW_INTEROP_CIRCUIT_OPEN'],
  ])('HTTP %i: the circuit %s', async (status, _, third) => {
    const endpoint = await answering(status);
    closing.push(endpoint.close);
    const transport = createJsonHttpTransport({ timeoutMs: 1000, breakAfter: 2, halfOpenAfterMs: 60_000 });
    const agent = connected(
      transport.connect({ ...base, name: 'h', http: { url: endpoint.url, method: 'POST' } }),
    );
    expect([await codeOf(agent), await codeOf(agent), await codeOf(agent)]).toEqual([
      'MW_INTEROP_HTTP_STATUS',
      'MW_INTEROP_HTTP_STATUS',
      third,
    ]);
    expect(endpoint.calls()).toBe(third === 'MW_INTEROP_CIRCUIT_OPEN' ? 2 : 3);
  });
});
