import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp, type UpProcess } from './up-process.js';

const MESH = join(REPO, 'examples', 'retention', 'mesh.yaml');
const TOOL = 'inbox__ticket_opened_v1';

type Structured = { id: string; decision: string; reason: string };

describe('meshwarden mcp: the running mesh served over stdio to MCP clients that spawn their servers', () => {
  let up: UpProcess;
  let pilot: string;
  /** `meshwarden mcp` as an MCP client spawns it: the address and token in its environment. */
  const server = (token: string) => ({
    command: process.execPath,
    args: [BIN, 'mcp'],
    env: { ...getDefaultEnvironment(), MESHWARDEN_URL: up.url, MESHWARDEN_TOKEN: token },
    stderr: 'pipe' as const,
  });

  beforeAll(async () => {
    up = await startUp([MESH, '--data', join(tempDir('mcp-stdio'), 'data')]);
    const created = await call(up, up.token, 'POST', '/tokens', { name: 'desktop', role: 'pilot' });
    pilot = created.body.token;
  });
  afterAll(async () => {
    if (up !== undefined) expect(await up.stop()).toBe(0);
  });

  it('lists the mesh tools and sends through the gate for a v2 client, recorded as the token', async () => {
    const client = new Client({ name: 'desktop-assistant', version: '1.0.0' });
    await client.connect(new StdioClientTransport(server(pilot)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual([TOOL]);
      const sent = await client.callTool({
        name: TOOL,
        arguments: {
          subject: 'account:6001',
          data: { subject: 'Hi', text: 'Where is my invoice?', from: 'a@example.com' },
        },
      });
      const verdict = sent.structuredContent as Structured;
      expect(verdict).toMatchObject({ decision: 'deliver', reason: 'gate.admitted' });
      const why = (await call(up, up.token, 'GET', `/messages/${verdict.id}/why`)).body;
      expect(why.chain[0].sentBy).toBe('mcp:desktop');
      // A contract break is the gate's to refuse, and recorded: the proxy passes it on untouched.
      const bad = await client.callTool({
        name: TOOL,
        arguments: { subject: 'account:6002', data: { nope: 1 } },
      });
      expect(bad.isError).toBe(true);
      expect(bad.structuredContent).toMatchObject({
        decision: 'quarantine',
        reason: 'contract.invalid_payload',
      });
    } finally {
      await client.close();
    }
  });

  it('serves a 2025-11-25 client (the v1 SDK) too', async () => {
    const client = new V1Client({ name: 'old-assistant', version: '1.0.0' });
    await client.connect(new V1StdioTransport(server(pilot)));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual([TOOL]);
      const sent = await client.callTool({
        name: TOOL,
        arguments: {
          subject: 'account:6003',
          data: { subject: 'Hi', text: 'Refund please', from: 'b@example.com' },
        },
      });
      expect(sent.structuredContent).toMatchObject({ decision: 'deliver' });
    } finally {
      await client.close();
    }
  });

  it('fails at start, on stderr with exit 1, when the mesh refuses the token or is not there', async () => {
    const refused = await runCli(['mcp'], { env: { MESHWARDEN_URL: up.url, MESHWARDEN_TOKEN: 'mw_wrong' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('MW_INTEROP_HTTP_STATUS');
    expect(refused.stderr).toContain('401');
    const gone = await runCli(['mcp', '--url', 'http://127.0.0.1:9', '--token', pilot]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('MW_INTEROP_UNREACHABLE');
    const none = await runCli(['mcp'], { env: { MESHWARDEN_TOKEN: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('MW_CLI_NO_TOKEN');
  });
});
