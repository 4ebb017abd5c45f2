import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TOOL = 'inbox__ticket_opened_v1';

type Structured = { id: string; decision: string; reason: string; detail?: string };
type Text = { type: string; text?: string };

/** An official v2 client (2026-07-28) on /api/v1/mcp, with a bearer token when given. */
async function v2Client(up: UpProcess, token: string | undefined): Promise<Client> {
  const client = new Client({ name: 'test-llm', version: '1.0.0' });
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${up.api}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

/** A raw JSON-RPC POST, to see the HTTP status the API answers before MCP is spoken. */
async function post(up: UpProcess, token: string | undefined): Promise<number> {
  const res = await fetch(`${up.api}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  await res.text();
  return res.status;
}

describe('the mesh as an MCP server, on a real `up` process', () => {
  const data = join(tempDir('mcp-serve'), 'data');
  let up: UpProcess;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    up = await startUp([MESH, '--data', data]);
    for (const role of ['viewer', 'pilot', 'partner'] as const) {
      const created = await call(up, up.token, 'POST', '/tokens', { name: `llm-${role}`, role });
      expect(created.status).toBe(201);
      tokens[role] = created.body.token;
    }
  });

  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it("continues a caller's W3C trace: the call's _meta.traceparent, else the HTTP header", async () => {
    const trace = (n: string) => `00-${n.repeat(32)}-00f067aa0ba902b7-01`;
    const client = new Client({ name: 'test-llm', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${up.api}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${tokens.pilot}`, traceparent: trace('a') } },
      }),
    );
    const callWith = async (meta: Record<string, unknown> | undefined) =>
      (
        await client.callTool({
          name: TOOL,
          arguments: { subject: 'account:5011', data: { text: 'Trace me' } },
          ...(meta === undefined ? {} : { _meta: meta }),
        })
      ).structuredContent as Structured;
    const byHeader = await callWith(undefined);
    const byMeta = await callWith({ traceparent: trace('b') });
    await client.close();
    const exported = (await runCli(['audit', 'export', '--data', data])).stdout
      .split('\n')
      .filter((line) => line.includes('"kind":"decision"'))
      .map((line) => JSON.parse(line).data.envelope as { id: string; traceparent: string } | undefined);
    const traceOf = (id: string) => exported.find((e) => e?.id === id)?.traceparent;
    expect(traceOf(byHeader.id)).toBe(trace('a'));
    expect(traceOf(byMeta.id)).toBe(trace('b'));
  });

  it('lists one tool per ingress type, its contract as the schema of data', async () => {
    const client = await v2Client(up, tokens.pilot);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([TOOL]);
    const [tool] = tools;
    expect(tool!.description).toContain('ingress inbox');
    expect(tool!.description).toContain('ticket.opened.v1');
    expect(tool!.inputSchema).toMatchObject({
      type: 'object',
      required: ['subject', 'data'],
      properties: { subject: { type: 'string' }, data: { type: 'object', required: ['text'] } },
    });
    await client.close();
  });

  it('delivers a ticket through the gate and records who sent it', async () => {
    const client = await v2Client(up, tokens.pilot);
    const result = await client.callTool({
      name: TOOL,
      arguments: { subject: 'account:5001', data: { text: 'I want to cancel, the app keeps crashing' } },
    });
    await client.close();
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as Structured;
    expect(out).toMatchObject({ decision: 'deliver', reason: 'gate.admitted' });
    const why = await call(up, tokens.pilot, 'GET', `/messages/${out.id}/why`);
    expect(why.status).toBe(200);
    expect(JSON.stringify(why.body)).toContain('mcp:llm-pilot');
    expect(JSON.stringify(why.body)).toContain('ticket.opened.v1');
  });

  it('answers a call that breaks the contract with isError and the quarantine reason', async () => {
    const client = await v2Client(up, tokens.pilot);
    const result = await client.callTool({
      name: TOOL,
      arguments: { subject: 'account:5002', data: { text: 42, priority: 'high' } },
    });
    await client.close();
    expect(result.isError).toBe(true);
    const out = result.structuredContent as Structured;
    expect(out.decision).toBe('quarantine');
    expect(out.reason).toBe('contract.invalid_payload');
    expect((result.content as Text[])[0]!.text).toContain(out.reason);
    // In the ledger, not turned away unseen.
    const why = await call(up, tokens.pilot, 'GET', `/messages/${out.id}/why`);
    expect(why.status).toBe(200);
  });

  it('wants a pilot or partner token: 401 without one, 403 for a viewer', async () => {
    expect(await post(up, undefined)).toBe(401);
    expect(await post(up, 'mw_not-a-token')).toBe(401);
    expect(await post(up, tokens.viewer)).toBe(403);
    await expect(v2Client(up, tokens.viewer)).rejects.toThrow();
    // A partner (an outside caller) may send through the tools, and read nothing of the API.
    expect(await post(up, tokens.partner)).toBe(200);
    expect((await call(up, tokens.partner, 'GET', '/stats')).status).toBe(403);
  });

  it('serves a 2025-11-25 client (the v1 SDK) by the stateless fallback', async () => {
    const client = new V1Client({ name: 'test-llm-v1', version: '1.0.0' });
    await client.connect(
      new V1Transport(new URL(`${up.api}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${tokens.pilot}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([TOOL]);
    const result = await client.callTool({
      name: TOOL,
      arguments: { subject: 'account:5003', data: { text: 'please refund me' } },
    });
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ decision: 'deliver' });
  });
});
