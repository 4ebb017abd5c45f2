import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENTRY,
  type Envelope,
  type LedgerEntry,
  type OpenMeshResult,
  openMesh,
  reloadPolicy,
} from '../../runtime/index.js';
import { closedPort } from '../a2a/test-kit.js';
import { type McpPeer, startMcpPeer, tempMeshDir } from './test-kit.js';
import { createMcpTransport, type McpTransport } from './transport.js';

const log = pino({ level: 'silent' });
let peer: McpPeer;

beforeAll(async () => {
  peer = await startMcpPeer();
});
afterAll(() => peer.close());

const AMOUNT = { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] };

/**
 * A refund desk whose `crm.refund` effect is the tool of an MCP server, with no contract file for
 * it unless `contract` is given: its contract is the tool's input schema. The request type's
 * contract takes any object, so a refund of "ten" reaches the effect's contract. Line 5 names the
 * server and the tool.
 */
function writeMesh(server: string, tool = 'refund', contract?: object): string {
  const dir = tempMeshDir();
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  writeFileSync(join(dir, 'mesh.yaml'), meshLines(server, tool).join('\n'));
  writeFileSync(join(dir, 'contracts', 'refund.requested.v1.json'), '{ "type": "object" }');
  if (contract) writeFileSync(join(dir, 'contracts', 'crm.refund.json'), JSON.stringify(contract));
  writeFileSync(
    join(dir, 'agents', 'refunder.mjs'),
    "export default { handle(msg, ctx) { ctx.effect('crm.refund', { amount: msg.data.amount }); } };",
  );
  return dir;
}

function meshLines(server: string, tool: string): string[] {
  return [
    'mesh: refunds',
    'agents:',
    '  refunder: { version: 1.0.0, module: ./agents/refunder.mjs, consumes: [refund.requested.v1], effects: [crm.refund] }',
    'effects:',
    `  crm.refund: { mcp: '${server}', tool: ${tool} }`,
    'ingress:',
    '  desk: { emits: [refund.requested.v1] }',
  ];
}

/** Where `needle` is on line 5 (the effect) of the mesh file: [line, col]. */
function onEffectLine(server: string, tool: string, needle: string): [number, number] {
  const line = meshLines(server, tool)[4]!;
  return [5, line.indexOf(needle) + 1];
}

function open(dir: string, transport: McpTransport): Promise<OpenMeshResult> {
  return openMesh({
    meshFile: join(dir, 'mesh.yaml'),
    dataDir: join(dir, `data-${randomUUID()}`),
    log,
    transports: [transport],
    retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 2 },
  });
}

/** Opens the mesh, requests one refund per amount for account 8841, and returns the ledger. */
async function refund(dir: string, amounts: (number | string)[]): Promise<LedgerEntry[]> {
  await using transport = createMcpTransport({ timeoutMs: 5000 });
  const opened = await open(dir, transport);
  if (!opened.ok) throw new Error(JSON.stringify(opened));
  await using o = opened.opened;
  for (const amount of amounts) {
    await o.mesh.inject('desk', { type: 'refund.requested.v1', subject: 'account:8841', data: { amount } });
    await o.mesh.idle();
  }
  return await Array.fromAsync(o.ledger.scan());
}

/** [data, decision, reason] of every crm.refund request. */
const verdicts = (entries: LedgerEntry[]) =>
  entries
    .filter((e) => e.kind === ENTRY.decision)
    .map((e) => e.data as { envelope: Envelope; verdict: { decision: string; reason: string } })
    .filter((d) => d.envelope.type === 'crm.refund')
    .map((d) => [d.envelope.data, d.verdict.decision, d.verdict.reason]);
const results = (entries: LedgerEntry[]) =>
  entries.filter((e) => e.kind === ENTRY.effectExecuted).map((e) => (e.data as { result?: unknown }).result);

/** The issues of a mesh that did not open: [code, line, col]. */
async function issuesOpening(dir: string, transport = createMcpTransport({ timeoutMs: 5000 })) {
  await using _transport = transport;
  const opened = await open(dir, transport);
  if (opened.ok) {
    await opened.opened.close();
    return [];
  }
  return (opened.policyIssues ?? []).map((i) => ({
    code: i.code,
    at: [i.file, i.line, i.col],
    message: i.message,
  }));
}

describe('the contract of an MCP effect without a contract file is its tool input schema', () => {
  it('opens the mesh with the tool input schema as the contract', async () => {
    await using transport = createMcpTransport({ timeoutMs: 5000 });
    const opened = await open(writeMesh(peer.url), transport);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    expect(o.mesh.policy.contracts.get('crm.refund')?.schema).toMatchObject(AMOUNT);
  });

  it('quarantines a request that breaks the tool schema, never calling the tool, and executes a valid one', async () => {
    peer.calls.length = 0;
    const entries = await refund(writeMesh(peer.url), ['ten', 20]);
    expect(verdicts(entries)).toEqual([
      [{ amount: 'ten' }, 'quarantine', 'contract.invalid_payload'],
      [{ amount: 20 }, 'deliver', expect.any(String)],
    ]);
    expect(peer.calls.map((c) => c.args)).toEqual([{ amount: 20 }]);
    expect(results(entries)).toEqual([{ refunded: 20, status: 'done' }]);
  });

  it('reports a server that cannot be reached as MW_POLICY_TOOL_SCHEMA at its mcp', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const dir = writeMesh(url);
    const [issue, ...more] = await issuesOpening(dir);
    expect(more).toEqual([]);
    expect(issue).toMatchObject({
      code: 'MW_POLICY_TOOL_SCHEMA',
      at: [join(dir, 'mesh.yaml'), ...onEffectLine(url, 'refund', `'http`)],
    });
    expect(issue?.message).toContain('ECONNREFUSED');
    expect(issue?.message).toContain('crm.refund.json');
  });

  it('reports a tool the server does not list as MW_POLICY_TOOL_SCHEMA at its tool, naming the tools it has', async () => {
    const dir = writeMesh(peer.url, 'refnud');
    const [issue] = await issuesOpening(dir);
    expect(issue).toMatchObject({
      code: 'MW_POLICY_TOOL_SCHEMA',
      at: [join(dir, 'mesh.yaml'), ...onEffectLine(peer.url, 'refnud', 'refnud')],
    });
    expect(issue?.message).toContain('refund, note, broken, slow');
  });

  it('reports a server that does not answer in time as MW_POLICY_TOOL_SCHEMA', async () => {
    const dir = writeMesh('node ./mcp/silent.mjs');
    const issues = await issuesOpening(dir, createMcpTransport({ timeoutMs: 300 }));
    expect(issues.map((i) => [i.code, ...i.at.slice(1)])).toEqual([
      ['MW_POLICY_TOOL_SCHEMA', ...onEffectLine('node ./mcp/silent.mjs', 'refund', "'node")],
    ]);
  });

  it('takes the contract file when there is one, and does not contact the server', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const file = { type: 'object', properties: { amount: { type: 'integer' } } };
    await using transport = createMcpTransport({ timeoutMs: 5000 });
    const opened = await open(writeMesh(url, 'refund', file), transport);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    expect(o.mesh.policy.contracts.get('crm.refund')?.schema).toEqual(file);
  });

  it('takes a draft-07 schema from a server built with the v1 SDK (stdio)', async () => {
    const dir = writeMesh('node ./mcp/v1.mjs');
    {
      await using transport = createMcpTransport({ timeoutMs: 5000 });
      const opened = await open(dir, transport);
      if (!opened.ok) throw new Error(JSON.stringify(opened));
      await using o = opened.opened;
      expect(o.mesh.policy.contracts.get('crm.refund')?.schema).toMatchObject({
        $schema: 'http://json-schema.org/draft-07/schema#',
        required: ['amount'],
      });
    }
    const entries = await refund(dir, ['ten', 15]);
    expect(verdicts(entries).map(([data, decision]) => [data, decision])).toEqual([
      [{ amount: 'ten' }, 'quarantine'],
      [{ amount: 15 }, 'deliver'],
    ]);
    expect(results(entries)).toMatchObject([{ refunded: 15 }]);
  });

  it('reads the tool again on reload: a widened tool schema is a new policy in force, a narrowed one is refused', async () => {
    await using transport = createMcpTransport({ timeoutMs: 5000 });
    const opened = await open(writeMesh(peer.url), transport);
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    const before = o.mesh.policy.digest;
    expect(await reloadPolicy(o.mesh)).toEqual({ ok: true, digest: before, changed: false });
    // The tool's schema is the effect's contract: narrowing it under the same name is a breaking change.
    peer.refundSchema = { ...AMOUNT, properties: { amount: { type: 'number', maximum: 50 } } };
    try {
      const refused = await reloadPolicy(o.mesh);
      expect(refused.ok).toBe(false);
      expect(JSON.stringify(refused)).toContain('MW_CONTRACT_BREAKING');
      expect(o.mesh.policy.digest).toBe(before);
      peer.refundSchema = { ...AMOUNT, properties: { ...AMOUNT.properties, note: { type: 'string' } } };
      const reloaded = await reloadPolicy(o.mesh);
      expect(reloaded).toMatchObject({ ok: true, changed: true });
      expect(o.mesh.policy.digest).not.toBe(before);
      expect(o.mesh.policy.contracts.get('crm.refund')?.validate({ amount: 60, note: 5 })[0]?.keyword).toBe(
        'type',
      );
    } finally {
      peer.refundSchema = AMOUNT;
    }
  });
});
