import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
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
const ctx = { forward() {} } as unknown as AgentContext;

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
