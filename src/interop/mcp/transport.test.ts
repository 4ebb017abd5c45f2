import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY, type Envelope, type LedgerEntry } from '../../runtime/index.js';
import { closedPort } from '../a2a/test-kit.js';
import {
  deadLetterCodes,
  entriesOf,
  failedCodes,
  meshWithAgent,
  sendEach,
  writeMeshDir,
} from '../mesh-test-kit.js';
import { type McpPeer, startMcpPeer, tempMeshDir } from './test-kit.js';
import { createMcpTransport, type McpTransport } from './transport.js';

let peer: McpPeer;

beforeAll(async () => {
  peer = await startMcpPeer();
});
afterAll(() => peer.close());

/**
 * A refund desk: the `desk` ingress sends refund requests, the local `refunder` agent requests the
 * `crm.refund` effect, which a tool of an MCP server executes. A budget caps refunds per account at
 * 100 a day; an approval holds any refund over 50 for a person.
 */
function writeMesh(server: string, tool = 'refund', auth?: string): string {
  const amount = JSON.stringify({
    type: 'object',
    properties: { amount: { type: 'number' } },
    required: ['amount'],
  });
  return writeMeshDir(
    {
      yaml: [
        'mesh: refunds',
        'agents:',
        '  refunder: { version: 1.0.0, module: ./agents/refunder.mjs, consumes: [refund.requested.v1], effects: [crm.refund] }',
        'effects:',
        `  crm.refund: { mcp: '${server}', tool: ${tool}${auth === undefined ? '' : `, auth: ${auth}`} }`,
        'ingress:',
        '  desk: { emits: [refund.requested.v1] }',
        'budgets:',
        '  - { id: refunds-per-account, scope: entity, effect: crm.refund, field: /amount, max: 100, window: 24h }',
        'approvals:',
        `  - { id: big-refund, when: 'msg.type == "crm.refund" && msg.data.amount > 50.0', timeout: 4h, onTimeout: deny }`,
      ],
      contracts: { 'refund.requested.v1': amount, 'crm.refund': amount },
      agents: {
        'refunder.mjs':
          "export default { handle(msg, ctx) { ctx.effect('crm.refund', { amount: msg.data.amount }); } };",
      },
    },
    // The stdio MCP servers live in it too (mcp/), with node_modules for their SDK.
    tempMeshDir(),
  );
}

/** Requests one refund per amount for account 8841, one after the other, in a fresh mesh. */
async function refund(
  meshDir: string,
  amounts: number[],
  transport: McpTransport = createMcpTransport({ timeoutMs: 5000 }),
) {
  try {
    await using o = await meshWithAgent(meshDir, transport);
    const requests = amounts.map((amount) => ({
      type: 'refund.requested.v1',
      subject: 'account:8841',
      data: { amount },
    }));
    await sendEach(o, 'desk', requests);
    return await entriesOf(o);
  } finally {
    await transport.close();
  }
}

const requests = (entries: LedgerEntry[]) =>
  entries
    .filter((e) => e.kind === ENTRY.decision)
    .map((e) => e.data as { envelope: Envelope; verdict: { decision: string; stage: string } })
    .filter((d) => d.envelope.type === 'crm.refund');
const results = (entries: LedgerEntry[]) =>
  entries.filter((e) => e.kind === ENTRY.effectExecuted).map((e) => (e.data as { result?: unknown }).result);
const messagesOf = (entries: LedgerEntry[]) =>
  entries
    .filter((e) => e.kind === ENTRY.deadLetter)
    .map((e) => (e.data as { error: { message: string } }).error.message);

describe('MCP tools as effects (mcp:)', () => {
  it('executes an admitted effect through the tool and records its structured result', async () => {
    peer.calls.length = 0;
    const entries = await refund(writeMesh(peer.url), [20]);
    expect(results(entries)).toEqual([{ refunded: 20, status: 'done' }]);
    const [request] = requests(entries);
    expect(peer.calls).toEqual([
      {
        tool: 'refund',
        args: { amount: 20 },
        meta: expect.objectContaining({
          'meshwarden/id': request!.envelope.id,
          'meshwarden/effect': 'crm.refund',
          'meshwarden/subject': 'account:8841',
          'meshwarden/correlationid': request!.envelope.correlationid,
          'meshwarden/attempt': 1,
        }),
      },
    ]);
  });

  it('calls the tool only for what the gate admits: an approval holds, a budget denies', async () => {
    peer.calls.length = 0;
    // 60 is held for a person and reserves its share of the budget of 100: 20 fits, 30 does not.
    const entries = await refund(writeMesh(peer.url), [60, 20, 30]);
    const verdicts = requests(entries).map(({ envelope, verdict }) => [
      envelope.data,
      verdict.decision,
      verdict.stage,
    ]);
    expect(verdicts).toEqual([
      [{ amount: 60 }, 'hold', 'approval'],
      [{ amount: 20 }, 'deliver', 'gate'],
      [{ amount: 30 }, 'deny', 'budget'],
    ]);
    expect(peer.calls.map((c) => c.args)).toEqual([{ amount: 20 }]);
    expect(results(entries)).toEqual([{ refunded: 20, status: 'done' }]);
  });

  it('records a text-only result as its text', async () => {
    expect(results(await refund(writeMesh(peer.url, 'note'), [5]))).toEqual(['noted\ntwice']);
  });

  // `slow` answers after 500 ms.
  it.each([
    ['the tool reports isError', 'broken', 5000, 'MW_INTEROP_MCP_TOOL_ERROR'],
    ['the server has no such tool', 'refnud', 5000, 'MW_INTEROP_MCP_UNKNOWN_TOOL'],
    ['the tool is too slow', 'slow', 300, 'MW_INTEROP_TIMEOUT'],
  ])('retries, then dead-letters the request when %s', async (_, tool, timeoutMs, code) => {
    const entries = await refund(writeMesh(peer.url, tool), [5], createMcpTransport({ timeoutMs }));
    expect(failedCodes(entries)).toEqual([code]);
    expect(deadLetterCodes(entries)).toEqual([code]);
    expect(results(entries)).toEqual([]);
  });

  it('refuses a reply over the size limit as it streams in, instead of buffering it', async () => {
    const transport = createMcpTransport({ maxReplyBytes: 16 * 1024 });
    const entries = await refund(writeMesh(peer.url, 'huge'), [5], transport);
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_REPLY_TOO_BIG']);
    expect(messagesOf(entries)[0]).toContain('more than 16384 bytes');
  });

  it('names the tools the server has when the tool is unknown', async () => {
    const [message] = messagesOf(await refund(writeMesh(peer.url, 'refnud'), [5]));
    expect(message).toContain('refund, note, broken, slow');
  });

  it('dead-letters the request when the server is not running', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const entries = await refund(writeMesh(url), [5]);
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_UNREACHABLE']);
    expect(messagesOf(entries)[0]).toContain('ECONNREFUSED');
  });

  it.each(['json', 'sse'])('never records a credential the server echoes in an error (%s)', async (kind) => {
    // A key whose URL and JSON spellings differ from it: + / = and capitals.
    process.env.MW_TEST_CRM_TOKEN = 'Cr+M/k3y=';
    const echoing = createServer((req, res) => {
      const key = String(req.headers['x-api-key'] ?? '');
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        // A JSON-RPC error that quotes the key, / escaped as PHP writes it.
        const id = (JSON.parse(body || '{}') as { id?: unknown }).id ?? null;
        const error = { code: -32001, message: `bad key ${key}` };
        const text = JSON.stringify({ jsonrpc: '2.0', id, error }).replaceAll('/', '\\/');
        if (kind === 'json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(text);
          return;
        }
        // An event stream, with CRLF line endings, written in two pieces split inside the key.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = `event: message\r\ndata: ${text}\r\n\r\n`;
        const cut = event.indexOf('k3y');
        res.write(event.slice(0, cut));
        setTimeout(() => res.end(event.slice(cut)), 20);
      });
    });
    await new Promise<void>((resolve) => echoing.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(echoing.address() as AddressInfo).port}/mcp`;
      const entries = await refund(
        writeMesh(url, 'refund', '{ env: MW_TEST_CRM_TOKEN, header: X-Api-Key }'),
        [5],
      );
      expect(deadLetterCodes(entries)).toHaveLength(1);
      const recorded = JSON.stringify(entries);
      for (const form of ['Cr+M', 'Cr%2BM', 'k3y=']) expect(recorded).not.toContain(form);
    } finally {
      await new Promise((resolve) => echoing.close(resolve));
    }
  });

  it('stops calling a server whose calls keep failing, but not for a tool that reports an error', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const breaking = createMcpTransport({ breakAfter: 2, halfOpenAfterMs: 60_000 });
    expect(deadLetterCodes(await refund(writeMesh(url), [5, 6, 7], breaking))).toEqual([
      'MW_INTEROP_UNREACHABLE',
      'MW_INTEROP_CIRCUIT_OPEN',
      'MW_INTEROP_CIRCUIT_OPEN',
    ]);
    const erring = createMcpTransport({ breakAfter: 1 });
    expect(deadLetterCodes(await refund(writeMesh(peer.url, 'broken'), [5, 6], erring))).toEqual([
      'MW_INTEROP_MCP_TOOL_ERROR',
      'MW_INTEROP_MCP_TOOL_ERROR',
    ]);
  });
});

describe('MCP tools as effects: stdio servers', () => {
  type Echo = { refunded: number; meta: Record<string, unknown>; pid: number; crmToken: string | null };

  it('spawns a v2 server once, reuses it for every request, and ends it on close', async () => {
    const transport = createMcpTransport({ timeoutMs: 5000 });
    const entries = await refund(writeMesh('node ./mcp/v2.mjs'), [10, 20], transport);
    const echoes = results(entries) as Echo[];
    expect(echoes.map((e) => e.refunded)).toEqual([10, 20]);
    expect(echoes[0]!.meta['meshwarden/id']).toBe(requests(entries)[0]!.envelope.id);
    expect(echoes[1]!.pid).toBe(echoes[0]!.pid);
    expect(await transport.closed).toBeUndefined();
    expect(() => process.kill(echoes[0]!.pid, 0)).toThrow(); // ESRCH: gone
  });

  it("reaches a server with its auth's credential: a header over HTTP, the variable for a spawned one", async () => {
    process.env.MW_TEST_CRM_TOKEN = 'crm-s3cret';
    const auth = '{ env: MW_TEST_CRM_TOKEN }';
    peer.token = 'crm-s3cret';
    try {
      expect(results(await refund(writeMesh(peer.url, 'refund', auth), [5]))).toHaveLength(1);
      expect(deadLetterCodes(await refund(writeMesh(peer.url), [5]))).toEqual(['MW_INTEROP_HTTP_STATUS']);
    } finally {
      peer.token = undefined;
    }
    // The spawned server gets the variable, even though the warden hands children a trimmed environment.
    const spawned = results(await refund(writeMesh('node ./mcp/v2.mjs', 'refund', auth), [5])) as Echo[];
    expect(spawned[0]!.crmToken).toBe('crm-s3cret');
    const without = results(await refund(writeMesh('node ./mcp/v2.mjs'), [5])) as Echo[];
    expect(without[0]!.crmToken).toBeNull();
  });

  it('speaks 2025-11-25 to a server built with the v1 SDK', async () => {
    const [echo] = results(await refund(writeMesh('node ./mcp/v1.mjs'), [15])) as Echo[];
    expect(echo).toMatchObject({ refunded: 15, meta: { 'meshwarden/subject': 'account:8841' } });
  });

  it('dead-letters the request with the exit and stderr of a server that dies', async () => {
    const entries = await refund(writeMesh('node ./mcp/dies.mjs'), [5]);
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_MCP_EXITED']);
    expect(messagesOf(entries)[0]).toContain('with code 3');
    expect(messagesOf(entries)[0]).toContain('database connection lost');
  });

  it('dead-letters the request with what node said when the script does not exist', async () => {
    const entries = await refund(writeMesh('node ./mcp/no-such-server.mjs'), [5]);
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_MCP_EXITED']);
    expect(messagesOf(entries)[0]).toContain('Cannot find module');
  });

  it('dead-letters the request when the command does not exist', async () => {
    const entries = await refund(writeMesh('./mcp/no-such-server --stdio'), [5]);
    expect(deadLetterCodes(entries)).toEqual(['MW_INTEROP_UNREACHABLE']);
    expect(messagesOf(entries)[0]).toContain('ENOENT');
  });
});
