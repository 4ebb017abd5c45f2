import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentCard, Message, Task } from '@a2a-js/sdk';
import { Client as McpClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonRpcClient, request, restClient } from './a2a-client.js';
import { BIN, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

/**
 * The partner door, end to end: `pub` is exposed through `partners`, `secret` is not, and both
 * consume q.v1. Whatever door a partner token uses, its message reaches `pub` alone, and every
 * attempt at anything else is denied by the gate and recorded in the ledger.
 */
const MESH = `mesh: reach
agents:
  pub: { version: 1.0.0, module: ./agents/pub.mjs, consumes: [q.v1], expose: { via: partners } }
  secret: { version: 1.0.0, module: ./agents/secret.mjs, consumes: [q.v1] }
ingress:
  partners: { emits: [q.v1] }
  inbox: { emits: [q.v1] }
contracts: ./contracts
approvals:
  - { id: review, when: 'has(msg.data.review)', timeout: 4h, onTimeout: deliver }
`;

/** An agent that writes the subject of everything it handles to `<name>.log`. */
const agent = (name: string) => `import { appendFileSync } from 'node:fs';
export default { async handle(msg) { appendFileSync(new URL('../${name}.log', import.meta.url), msg.subject + '\\n'); } };
`;

function writeMesh(): string {
  const dir = tempDir('partner-reach');
  mkdirSync(join(dir, 'agents'));
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(join(dir, 'mesh.yaml'), MESH);
  writeFileSync(join(dir, 'agents', 'pub.mjs'), agent('pub'));
  writeFileSync(join(dir, 'agents', 'secret.mjs'), agent('secret'));
  writeFileSync(join(dir, 'contracts', 'q.v1.json'), JSON.stringify({ type: 'object' }));
  return dir;
}

type Verdict = { id: string; decision: string; reason: string };

describe('a partner reaches only the agent the policy exposes, through every door', () => {
  let dir: string;
  let up: UpProcess;
  let partner: string;
  const handled = (name: string) => {
    const file = join(dir, `${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  };
  const cardOf = async (name: string) =>
    (await (
      await fetch(`${up.api}/a2a/${name}/.well-known/agent-card.json`, {
        headers: { authorization: `Bearer ${up.token}` },
      })
    ).json()) as AgentCard;
  /** The decision the ledger holds for a message, as `why` shows its last link. */
  const decided = async (id: string) => {
    const why = await call(up, up.token, 'GET', `/messages/${id}/why`);
    expect(why.status).toBe(200);
    return why.body.chain.at(-1) as { reason: string; verdict: string; sentBy?: string };
  };
  const mcpTools = async (token: string) => {
    const mcp = new McpClient({ name: 'partner-llm', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${up.api}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    return mcp;
  };

  beforeAll(async () => {
    dir = writeMesh();
    up = await startUp([join(dir, 'mesh.yaml'), '--data', join(dir, 'data')]);
    partner = (await call(up, up.token, 'POST', '/tokens', { name: 'acme', role: 'partner' })).body.token;
  });
  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('A2A JSON-RPC and REST to the exposed agent: pub handles it, secret never', async () => {
    const card = await cardOf('pub');
    for (const [client, subject] of [
      [jsonRpcClient, 'acct:rpc'],
      [restClient, 'acct:rest'],
    ] as const) {
      const task = (await (await client(card, partner)).sendMessage(request({ n: 1 }, { subject }))) as Task;
      expect(task.status?.state).toBeDefined();
      await until(async () => handled('pub').includes(subject), `pub to handle ${subject}`);
    }
    expect(handled('secret')).toEqual([]);
  });

  it('A2A to the via ingress (published by type): denied at authorization and recorded', async () => {
    for (const name of ['partners', 'inbox']) {
      const answer = (await (
        await jsonRpcClient(await cardOf(name), partner)
      ).sendMessage(request({ n: 2 }, { subject: `acct:a2a-${name}`, type: 'q.v1' }))) as Message;
      const part = answer.parts[0]?.content;
      const verdict = (part?.$case === 'data' ? part.value : {}) as Verdict;
      expect(verdict).toMatchObject({ decision: 'deny', reason: 'authorization.partner_not_exposed' });
      expect(await decided(verdict.id)).toMatchObject({
        reason: 'authorization.partner_not_exposed',
        sentBy: 'a2a:acme',
      });
    }
  });

  it('MCP over HTTP: the partner is given the exposed agent’s tool alone; an ingress tool is refused and recorded', async () => {
    const pilotTools = await mcpTools(up.token!);
    expect((await pilotTools.listTools()).tools.map((t) => t.name)).toEqual([
      'partners__q_v1',
      'inbox__q_v1',
      'pub__q_v1',
    ]);
    await pilotTools.close();
    const mcp = await mcpTools(partner);
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name)).toEqual(['pub__q_v1']);
      const sent = await mcp.callTool({ name: 'pub__q_v1', arguments: { subject: 'acct:mcp', data: {} } });
      expect(sent.structuredContent).toMatchObject({ decision: 'deliver' });
      await until(async () => handled('pub').includes('acct:mcp'), 'pub to handle the MCP call');
      // The repro: a partner calling the via ingress's tool by name.
      const tried = await mcp
        .callTool({ name: 'partners__q_v1', arguments: { subject: 'acct:mcp-ingress', data: {} } })
        .catch((err: unknown) => err);
      expect(tried).toMatchObject({ code: -32602 }); // the SDK's unknown tool
    } finally {
      await mcp.close();
    }
    const refused = await call(up, up.token, 'GET', '/search?q=acct:mcp-ingress');
    expect(refused.body.results).toHaveLength(1);
    expect(refused.body.results[0]).toMatchObject({ reason: 'authorization.partner_not_exposed' });
    expect(handled('secret')).toEqual([]);
  });

  it('MCP over stdio (meshwarden mcp with a partner token): the same tools, the same reach', async () => {
    const mcp = new McpClient({ name: 'desktop', version: '1' });
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp'],
        env: { ...getDefaultEnvironment(), MESHWARDEN_URL: up.url, MESHWARDEN_TOKEN: partner },
        stderr: 'pipe',
      }),
    );
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name)).toEqual(['pub__q_v1']);
      const sent = await mcp.callTool({ name: 'pub__q_v1', arguments: { subject: 'acct:stdio', data: {} } });
      expect(sent.structuredContent).toMatchObject({ decision: 'deliver' });
      await until(async () => handled('pub').includes('acct:stdio'), 'pub to handle the stdio call');
    } finally {
      await mcp.close();
    }
    expect(handled('secret')).toEqual([]);
  });

  it('POST /messages: only addressed to the exposed agent; by type or to secret is denied and recorded', async () => {
    const cases = [
      { to: 'pub', subject: 'acct:api-pub', reason: 'gate.admitted' },
      { to: undefined, subject: 'acct:api-type', reason: 'authorization.partner_not_exposed' },
      { to: 'secret', subject: 'acct:api-secret', reason: 'authorization.partner_not_exposed' },
      { to: 'nobody', subject: 'acct:api-nobody', reason: 'authorization.partner_not_exposed' },
    ];
    for (const { to, subject, reason } of cases) {
      const sent = await call(up, partner, 'POST', '/messages', {
        type: 'q.v1',
        subject,
        data: {},
        ...(to === undefined ? { ingress: 'partners' } : { to }),
      });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      expect(sent.body.verdict.reason).toBe(reason);
      expect(await decided(sent.body.id)).toMatchObject({ reason, sentBy: 'partner:acme' });
    }
    await until(async () => handled('pub').includes('acct:api-pub'), 'pub to handle the API message');
    // A pilot still publishes by type, to both.
    const pilot = await call(up, up.token, 'POST', '/messages', {
      type: 'q.v1',
      subject: 'acct:pilot',
      data: {},
      ingress: 'inbox',
    });
    expect(pilot.body.verdict.reason).toBe('gate.admitted');
    await until(async () => handled('secret').includes('acct:pilot'), "secret to handle the pilot's message");
    expect(handled('secret')).toEqual(['acct:pilot']);
  });

  it('a batch of ingress tool calls by a partner is recorded once, not once a call', async () => {
    const batch = [0, 1, 2, 3, 4].map((i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'tools/call',
      params: { name: 'partners__q_v1', arguments: { subject: `acct:batch-${i}`, data: {} } },
    }));
    const res = await fetch(`${up.api}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${partner}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBeLessThan(500);
    const found = async (i: number) =>
      (await call(up, up.token, 'GET', `/search?q=acct:batch-${i}`)).body.results.length;
    expect(await Promise.all([0, 1, 2, 3, 4].map(found))).toEqual([1, 0, 0, 0, 0]);
  });

  it('POST /messages tells a partner nothing of the ingress: an unknown one is not named in an error', async () => {
    const sent = await call(up, partner, 'POST', '/messages', {
      type: 'q.v1',
      subject: 'acct:api-unknown-ingress',
      data: {},
      ingress: 'no-such-ingress',
      to: 'secret',
    });
    expect(sent.status).toBe(202);
    expect(sent.body.verdict.reason).toBe('authorization.partner_not_exposed');
    expect(JSON.stringify(sent.body)).not.toContain('inbox');
    // Whatever ingress it names, a partner's message enters by the addressed agent's via.
    const named = await call(up, partner, 'POST', '/messages', {
      type: 'q.v1',
      subject: 'acct:api-named-inbox',
      data: {},
      ingress: 'inbox',
      to: 'pub',
    });
    expect(named.body.verdict.reason).toBe('gate.admitted');
    expect((await decided(named.body.id as string)) as unknown).toMatchObject({
      source: 'mesh://reach/partners',
    });
  });

  it('A2A tasks are kept per token: a name revoked and given to a new token reads none of the old ones', async () => {
    const card = await cardOf('pub');
    const first = (await call(up, up.token, 'POST', '/tokens', { name: 'reused', role: 'partner' })).body
      .token;
    const task = (await (
      await jsonRpcClient(card, first)
    ).sendMessage(request({ n: 3 }, { subject: 'acct:reused' }))) as Task;
    expect((await call(up, up.token, 'DELETE', '/tokens/reused')).status).toBeLessThan(300);
    const second = (await call(up, up.token, 'POST', '/tokens', { name: 'reused', role: 'partner' })).body
      .token;
    await expect(
      (await jsonRpcClient(card, second)).getTask({ tenant: '', id: task.id, historyLength: undefined }),
    ).rejects.toThrow(/not found/i);
  });

  it('reads and pilot actions stay closed to a partner', async () => {
    for (const [method, path] of [
      ['GET', '/holds'],
      ['GET', '/stats'],
      ['GET', '/mesh'],
      ['GET', '/events'],
      ['GET', '/breakers'],
      ['GET', '/tokens'],
      ['GET', '/policy'],
      ['GET', '/ledger'],
      ['GET', '/ledger/entries'],
      ['GET', '/search?q=acct:pilot'],
      ['GET', '/messages/0190a3c5-0000-7000-8000-000000000000/why'],
      ['POST', '/holds/0190a3c5-0000-7000-8000-000000000000/approve'],
      ['POST', '/breakers/credit-burst/reset'],
      ['POST', '/freeze'],
      ['POST', '/unfreeze'],
      ['POST', '/ledger/verify'],
      ['POST', '/policy/reload'],
      ['POST', '/tokens'],
    ] as const) {
      const res = await call(up, partner, method, path, method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it('a held partner message is delivered on release only while its agent is still exposed', async () => {
    const sent = async (subject: string) =>
      (
        await call(up, partner, 'POST', '/messages', {
          type: 'q.v1',
          subject,
          data: { review: true },
          to: 'pub',
        })
      ).body as { id: string; verdict: { decision: string } };
    const approve = (id: string) => call(up, up.token, 'POST', `/holds/${id}/approve`, { reason: 'ok' });
    const kept = await sent('acct:held-kept');
    const dropped = await sent('acct:held-dropped');
    expect([kept.verdict.decision, dropped.verdict.decision]).toEqual(['hold', 'hold']);
    expect((await approve(kept.id)).status).toBe(200);
    await until(async () => handled('pub').includes('acct:held-kept'), 'the approved hold to reach pub');
    // The admin stops exposing pub; the other hold, approved after, is denied and never reaches pub.
    writeFileSync(join(dir, 'mesh.yaml'), MESH.replace(', expose: { via: partners }', ''));
    expect((await call(up, up.token, 'POST', '/policy/reload')).body.changed).toBe(true);
    expect((await approve(dropped.id)).status).toBe(200);
    const why = await call(up, up.token, 'GET', `/messages/${dropped.id}/why`);
    expect(why.body.chain[0].outcomes).toEqual([
      expect.objectContaining({
        kind: 'hold.released',
        outcome: 'deny',
        verdict: expect.objectContaining({ reason: 'authorization.partner_not_exposed' }),
      }),
    ]);
    expect(handled('pub')).not.toContain('acct:held-dropped');
    expect(handled('secret')).toEqual(['acct:pilot']);
  });
});
