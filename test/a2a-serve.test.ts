import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { type AgentCard, type Message, type Task, TaskState } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import {
  ClientFactory as V03ClientFactory,
  JsonRpcTransportFactory as V03JsonRpcTransportFactory,
  RestTransportFactory as V03RestTransportFactory,
} from '@a2a-js/sdk-v0_3/client';
import { Client as McpClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonRpcClient, request } from './a2a-client.js';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess, until } from './up-process.js';

describe('the mesh as A2A agents: each ingress served to remote A2A clients through the gate', () => {
  let up: UpProcess;
  let card: AgentCard;
  const data = join(tempDir('a2a-serve'), 'data');
  const cardUrl = () => `${up.api}/a2a/inbox/.well-known/agent-card.json`;
  const client = (token: string) => jsonRpcClient(card, token);
  const verdictOf = (result: unknown) => {
    const part = (result as Message).parts[0]?.content;
    return part?.$case === 'data'
      ? (part.value as { id: string; decision: string; reason: string })
      : undefined;
  };

  beforeAll(async () => {
    up = await startUp([join(REPO, 'examples', 'retention', 'mesh.yaml'), '--data', data]);
    // An ingress's card is not public: it takes a token (an exposed agent's is, below).
    expect((await fetch(cardUrl())).status).toBe(401);
    const res = await fetch(cardUrl(), { headers: { authorization: `Bearer ${up.token}` } });
    expect(res.status).toBe(200);
    card = (await res.json()) as AgentCard;
  });
  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('publishes a card per ingress, with a skill per type it may send', () => {
    expect(card).toMatchObject({ name: 'retention/inbox' });
    expect((card as unknown as { skills: { id: string }[] }).skills.map((s) => s.id)).toEqual([
      'ticket.opened.v1',
    ]);
  });

  it('admits a message an A2A client sends, names the client, and catches the same message twice', async () => {
    const sdk = await client(up.token!);
    const ticket = { subject: 'Help', text: 'My invoice is wrong', from: 'ada@example.com' };
    const messageId = randomUUID();
    const sent = verdictOf(
      await sdk.sendMessage(
        request(ticket, { type: 'ticket.opened.v1', subject: 'account:9001' }, messageId),
      ),
    );
    expect(sent).toMatchObject({ id: messageId, decision: 'deliver', reason: 'gate.admitted' });
    const why = (await call(up, up.token, 'GET', `/messages/${sent!.id}/why`)).body;
    expect(why.chain[0].sentBy).toBe('a2a:admin');
    const again = verdictOf(
      await sdk.sendMessage(
        request(ticket, { type: 'ticket.opened.v1', subject: 'account:9001' }, messageId),
      ),
    );
    expect(again).toMatchObject({ decision: 'deny', reason: 'envelope.duplicate_id' });
  });

  it("continues a caller's W3C trace from the request's traceparent header; a malformed one is ignored", async () => {
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const caller = `00-${trace}-00f067aa0ba902b7-01`;
    // The official client, its fetch sending the header as an instrumented caller's would.
    const traced = (traceparent: string) =>
      new ClientFactory({
        transports: [
          new JsonRpcTransportFactory({
            fetchImpl: (input, init) =>
              fetch(input, {
                ...init,
                headers: { ...(init?.headers as object), authorization: `Bearer ${up.token}`, traceparent },
              }),
          }),
        ],
      }).createFromAgentCard(card);
    const ticket = { subject: 'Trace', text: 'Where is my refund', from: 'bo@example.com' };
    const send = async (traceparent: string) =>
      verdictOf(
        await (await traced(traceparent)).sendMessage(
          request(ticket, { type: 'ticket.opened.v1', subject: 'account:9011' }),
        ),
      )!;
    const sent = await send(caller);
    const garbled = await send('00-not-a-trace-01');
    expect([sent.decision, garbled.decision]).toEqual(['deliver', 'deliver']);
    const exported = (await runCli(['audit', 'export', '--data', data])).stdout
      .split('\n')
      .filter((line) => line.includes('"kind":"decision"'))
      .map((line) => JSON.parse(line).data.envelope as { id: string; traceparent: string } | undefined);
    const traceOf = (id: string) => exported.find((e) => e?.id === id)?.traceparent;
    expect(traceOf(sent.id)).toBe(caller);
    expect(traceOf(garbled.id)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceOf(garbled.id)?.slice(3, 35)).not.toBe(trace);
  });

  it('records what breaks the contract, and refuses callers without a pilot token', async () => {
    const sdk = await client(up.token!);
    const bad = verdictOf(await sdk.sendMessage(request({ nope: 1 }, { subject: 'account:9002' })));
    expect(bad).toMatchObject({ decision: 'quarantine' });
    const anonymous = await fetch(`${up.api}/a2a/inbox`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }),
    });
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${up.api}/a2a/nowhere/.well-known/agent-card.json`)).status).toBe(404);
  });
});

/** A GET with a Host header of our choosing (fetch would not send a broken one). */
function rawGet(url: string, host: string): Promise<{ status: number }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: pathname, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The partners example: the retention churn agent, exposed to A2A callers who send through `partners`. */
const partnerMesh = () => join(REPO, 'examples', 'partners', 'mesh.yaml');

describe('the mesh as A2A agents: an exposed agent answers through the gate, as a task', () => {
  let up: UpProcess;
  let card: AgentCard;
  const client = (token: string) => jsonRpcClient(card, token);
  const send = async (data: unknown, subject: string) =>
    (await (await client(up.token!)).sendMessage(request(data, { subject }))) as Task;
  const getTask = async (id: string, token = up.token!) =>
    (await client(token)).getTask({ tenant: '', id, historyLength: undefined });
  const answerOf = (task: Task) => {
    const part = task.status?.message?.parts[0]?.content;
    // biome-ignore lint/suspicious/noExplicitAny: assertions read the answer field by field
    return part?.$case === 'data' ? (part.value as any) : undefined;
  };

  beforeAll(async () => {
    up = await startUp([partnerMesh(), '--data', join(tempDir('a2a-expose-data'), 'data')]);
    const res = await fetch(`${up.api}/a2a/churn/.well-known/agent-card.json`);
    expect(res.status).toBe(200);
    card = (await res.json()) as AgentCard;
  });
  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('publishes the agent with its version and a skill per type its callers may send', () => {
    expect(card).toMatchObject({ name: 'partners/churn', version: '2.0.1' });
    // It says that calls take a bearer token, so an A2A client knows to send one (in 0.3's shape:
    // this card was asked for without `A2A-Version: 1.0`).
    expect(card).toMatchObject({ securitySchemes: { bearer: { type: 'http', scheme: 'Bearer' } } });
    expect((card as unknown as { skills: { id: string }[] }).skills.map((s) => s.id)).toEqual([
      'ticket.scored.v1',
    ]);
  });

  it("completes with the agent's gated answer as an artifact, traced back to the caller", async () => {
    const task = await send({ score: -0.4 }, 'account:7001');
    expect(TaskState[task.status!.state]).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts).toHaveLength(1);
    const part = task.artifacts[0]!.parts[0]!;
    expect(part.content).toEqual({ $case: 'data', value: { probability: 0.7 } });
    expect(part.metadata).toMatchObject({ type: 'churn.assessed.v1', subject: 'account:7001' });
    const answer = answerOf(task);
    expect(answer.answers).toEqual([
      expect.objectContaining({ type: 'churn.assessed.v1', gated: 'message', decision: 'deliver' }),
    ]);
    const why = (await call(up, up.token, 'GET', `/messages/${task.artifacts[0]!.artifactId}/why`)).body;
    expect(why.chain.map((l: { type: string }) => l.type)).toEqual(['ticket.scored.v1', 'churn.assessed.v1']);
    expect(why.chain[0].sentBy).toBe('a2a:admin');
    // The task is kept for the caller who sent it, and for nobody else.
    expect(TaskState[(await getTask(task.id)).status!.state]).toBe('TASK_STATE_COMPLETED');
    const other = (await call(up, up.token, 'POST', '/tokens', { name: 'bo', role: 'pilot' })).body.token;
    await expect(getTask(task.id, other)).rejects.toThrow(/not found/i);
  });

  it('lets a partner token send to the agent and nothing more: not approve its hold, not send elsewhere', async () => {
    const partner = (await call(up, up.token, 'POST', '/tokens', { name: 'acme', role: 'partner' })).body
      .token;
    const sdk = await client(partner);
    const done = (await sdk.sendMessage(request({ score: 0.3 }, { subject: 'account:7020' }))) as Task;
    expect(TaskState[done.status!.state]).toBe('TASK_STATE_COMPLETED');
    const why = (await call(up, up.token, 'GET', `/messages/${done.artifacts[0]!.artifactId}/why`)).body;
    expect(why.chain[0].sentBy).toBe('a2a:acme');
    const held = (await sdk.sendMessage(request({ score: -0.96 }, { subject: 'account:7021' }))) as Task;
    expect(TaskState[held.status!.state]).toBe('TASK_STATE_AUTH_REQUIRED');
    const approve = await call(up, partner, 'POST', `/holds/${answerOf(held).id}/approve`, { reason: 'me' });
    expect(approve.status).toBe(403);
    // Published by type (to every consumer), or through an ingress no exposed agent names: the gate
    // denies it as a partner's and the ledger keeps the attempt (test/partner-reach.test.ts has every door).
    const elsewhere = await call(up, partner, 'POST', '/messages', {
      type: 'ticket.scored.v1',
      subject: 'account:7021',
      data: { score: 0 },
    });
    expect(elsewhere.status).toBe(202);
    expect(elsewhere.body.verdict.reason).toBe('authorization.partner_not_exposed');
    expect((await call(up, partner, 'GET', '/holds')).status).toBe(403);
    const desk = await fetch(`${up.api}/a2a/desk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${partner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }),
    });
    expect(desk.status).not.toBe(403);
    const toolsOf = async (token: string) => {
      const mcp = new McpClient({ name: 'partner-llm', version: '1' });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`${up.api}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      const names = (await mcp.listTools()).tools.map((t) => t.name);
      await mcp.close();
      return names;
    };
    expect(await toolsOf(partner)).toEqual(['churn__ticket_scored_v1']);
    expect(await toolsOf(up.token!)).toEqual([
      'partners__ticket_scored_v1',
      'desk__ticket_scored_v1',
      'churn__ticket_scored_v1',
    ]);
    await call(up, up.token, 'POST', `/holds/${answerOf(held).id}/reject`, { reason: 'not today' });
  });

  it('rejects what the gate refuses, with the verdict', async () => {
    const task = await send({ score: 7 }, 'account:7002');
    expect(TaskState[task.status!.state]).toBe('TASK_STATE_REJECTED');
    expect(answerOf(task)).toMatchObject({ decision: 'quarantine', reason: 'contract.invalid_payload' });
    expect(task.artifacts).toHaveLength(0);
  });

  it('refuses a message whose id already names a message in the ledger, and leaves that lineage alone', async () => {
    const first = await send({ score: -0.2 }, 'account:7010');
    const answerId = first.artifacts[0]!.artifactId;
    const sdk = await client(up.token!);
    const reused = (await sdk.sendMessage(
      request({ score: 0.1 }, { subject: 'account:7011' }, answerId),
    )) as Task;
    expect(TaskState[reused.status!.state]).toBe('TASK_STATE_REJECTED');
    expect(answerOf(reused)).toMatchObject({ decision: 'deny', reason: 'envelope.duplicate_id' });
    expect(answerOf(reused).id).not.toBe(answerId);
    const why = (await call(up, up.token, 'GET', `/messages/${answerId}/why`)).body;
    expect(why.chain.map((l: { subject: string }) => l.subject)).toEqual(['account:7010', 'account:7010']);
  });

  it('refuses a second message for an open task instead of folding it in, and the task goes on', async () => {
    const held = await send({ score: -0.97 }, 'account:7012');
    expect(TaskState[held.status!.state]).toBe('TASK_STATE_AUTH_REQUIRED');
    const sdk = await client(up.token!);
    const followUp = request({ score: 0.5 }, { subject: 'account:7012' });
    followUp.message!.taskId = held.id;
    await expect(sdk.sendMessage(followUp)).rejects.toThrow(/cannot take another message/);
    await call(up, up.token, 'POST', `/holds/${answerOf(held).id}/approve`, { reason: 'fine' });
    const done = await until(async () => {
      const task = await getTask(held.id);
      return TaskState[task.status!.state] === 'TASK_STATE_COMPLETED' && task;
    }, 'the held task to complete');
    expect(done.artifacts).toHaveLength(1);
  });

  it('refuses another tenant, and a Host header that makes no URL, with an answer', async () => {
    const rest = await fetch(`${up.api}/a2a/churn/rest/elsewhere/tasks`, {
      headers: { authorization: `Bearer ${up.token}`, 'a2a-version': '1.0' },
    });
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { error: { message: string } }).error.message).toContain(
      'tenant "elsewhere" is not served here',
    );
    const rpc = await fetch(`${up.api}/a2a/churn`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${up.token}`,
        'content-type': 'application/json',
        'a2a-version': '1.0',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: { tenant: 'elsewhere' } }),
    });
    expect(((await rpc.json()) as { error: { message: string } }).error.message).toContain(
      'tenant "elsewhere" is not served here',
    );
    const { status } = await rawGet(`${up.api}/a2a/churn/.well-known/agent-card.json`, 'a b');
    expect(status).toBe(400);
  });

  it('returns a held message as auth-required, and finishes the task when a pilot decides', async () => {
    const held = await send({ score: -0.95 }, 'account:7003');
    expect(TaskState[held.status!.state]).toBe('TASK_STATE_AUTH_REQUIRED');
    const { id } = answerOf(held);
    expect(answerOf(held)).toMatchObject({ decision: 'hold', reason: 'approval.required' });
    await expect(
      (await client(up.token!)).cancelTask({ tenant: '', id: held.id, metadata: {} }),
    ).rejects.toThrow(/cannot be called back/);
    const approved = await call(up, up.token, 'POST', `/holds/${id}/approve`, { reason: 'a real partner' });
    expect(approved.status).toBe(200);
    const done = await until(async () => {
      const task = await getTask(held.id);
      return TaskState[task.status!.state] === 'TASK_STATE_COMPLETED' && task;
    }, 'the approved task to complete');
    expect(done.artifacts[0]!.parts[0]!.content).toEqual({ $case: 'data', value: { probability: 0.98 } });

    const other = await send({ score: -0.99 }, 'account:7004');
    const rejected = await call(up, up.token, 'POST', `/holds/${answerOf(other).id}/reject`, {
      reason: 'no',
    });
    expect(rejected.status).toBe(200);
    const refused = await until(async () => {
      const task = await getTask(other.id);
      return TaskState[task.status!.state] === 'TASK_STATE_REJECTED' && task;
    }, 'the rejected task');
    expect(answerOf(refused)).toMatchObject({ reason: 'hold.rejected', releasedBy: 'pilot:admin' });
  });
});

describe('the mesh as A2A agents: every binding the SDK serves, for A2A 1.0 and 0.3 clients', () => {
  let up: UpProcess;
  const authorized: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: {
        ...Object.fromEntries(new Headers(init?.headers).entries()),
        authorization: `Bearer ${up.token}`,
      },
    });
  const cardUrl = (name: string) => `${up.api}/a2a/${name}/.well-known/agent-card.json`;
  /** A client of the A2A 0.3 SDK (@a2a-js/sdk 0.3.14), over one binding. */
  const legacyClient = (binding: 'JSONRPC' | 'HTTP+JSON') =>
    new V03ClientFactory({
      transports: [
        binding === 'JSONRPC'
          ? new V03JsonRpcTransportFactory({ fetchImpl: authorized })
          : new V03RestTransportFactory({ fetchImpl: authorized }),
      ],
      preferredTransports: [binding],
    }).createFromUrl(cardUrl('churn'), '');
  const legacySend = (score: number, subject: string) => ({
    message: {
      kind: 'message' as const,
      messageId: randomUUID(),
      role: 'user' as const,
      parts: [{ kind: 'data' as const, data: { score } }],
      metadata: { subject },
    },
  });

  beforeAll(async () => {
    up = await startUp([partnerMesh(), '--data', join(tempDir('a2a-bindings'), 'data')]);
  });
  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('serves an A2A 1.0 card to 1.0 clients and a 0.3 card, naming the same endpoints, to the rest', async () => {
    const v1 = (await (await fetch(cardUrl('churn'), { headers: { 'a2a-version': '1.0' } })).json()) as {
      supportedInterfaces: unknown[];
    };
    expect(v1.supportedInterfaces).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          url: `${up.api}/a2a/churn`,
          protocolBinding: 'JSONRPC',
          protocolVersion: '1.0',
        }),
        expect.objectContaining({ url: `${up.api}/a2a/churn/rest`, protocolBinding: 'HTTP+JSON' }),
      ]),
    );
    const v03 = (await (await fetch(cardUrl('churn'))).json()) as {
      protocolVersion: string;
      additionalInterfaces: unknown[];
    };
    expect(v03).toMatchObject({ url: `${up.api}/a2a/churn`, preferredTransport: 'JSONRPC' });
    expect(v03.protocolVersion).toMatch(/^0\.3/);
    expect(v03.additionalInterfaces).toEqual(
      expect.arrayContaining([{ url: `${up.api}/a2a/churn/rest`, transport: 'HTTP+JSON' }]),
    );
  });

  it('answers an A2A 1.0 client over HTTP+JSON (REST)', async () => {
    const card = (await (
      await fetch(cardUrl('churn'), { headers: { 'a2a-version': '1.0' } })
    ).json()) as AgentCard;
    const rest = await new ClientFactory({
      transports: [new RestTransportFactory({ fetchImpl: authorized })],
    }).createFromAgentCard(card);
    const task = (await rest.sendMessage(request({ score: 0 }, { subject: 'account:7101' }))) as Task;
    expect(TaskState[task.status!.state]).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts[0]!.parts[0]!.content).toEqual({ $case: 'data', value: { probability: 0.5 } });
    expect(
      TaskState[(await rest.getTask({ tenant: '', id: task.id, historyLength: undefined })).status!.state],
    ).toBe('TASK_STATE_COMPLETED');
  });

  it.each(['JSONRPC', 'HTTP+JSON'] as const)('answers an A2A 0.3 client over %s', async (binding) => {
    const client = await legacyClient(binding);
    const task = (await client.sendMessage(legacySend(0.2, 'account:7102'))) as {
      kind: string;
      id: string;
      status: { state: string };
      artifacts?: { parts: unknown[]; metadata?: Record<string, unknown> }[];
    };
    expect(task).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    // Over 0.3's REST binding the SDK drops a part's metadata; the artifact's own carries the same.
    expect(task.artifacts?.[0]).toMatchObject({
      parts: [{ kind: 'data', data: { probability: 0.4 } }],
      metadata: { type: 'churn.assessed.v1', subject: 'account:7102' },
    });
    expect(await client.getTask({ id: task.id })).toMatchObject({ status: { state: 'completed' } });
    const refused = (await client.sendMessage(legacySend(5, 'account:7103'))) as {
      status: { state: string };
    };
    expect(refused.status.state).toBe('rejected');
  });

  it('refuses the JSON-RPC and REST endpoints without a pilot token', async () => {
    for (const [method, path] of [
      ['POST', '/a2a/churn'],
      ['POST', '/a2a/churn/rest/message:send'],
      ['GET', '/a2a/churn/rest/tasks'],
    ] as const) {
      const res = await fetch(`${up.api}${path}`, {
        method,
        ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
      });
      expect(res.status).toBe(401);
    }
  });
});
