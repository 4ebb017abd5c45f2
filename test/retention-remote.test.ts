import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type A2aPeer, startA2aPeer } from '../src/interop/a2a/test-kit.js';
import { createA2aTransport, createMcpTransport } from '../src/interop/index.js';
import { ENTRY, feedFile, openMesh, summarize } from '../src/runtime/index.js';
import { REPO, runCli, tempDir } from './run-cli.js';

describe('the retention example with their agents: churn over A2A, credit.issue as an MCP tool', () => {
  let peer: A2aPeer;
  // Inside the repo (test-output/ is ignored), so the MCP server script finds its SDK in node_modules.
  const work = join(REPO, 'test-output');
  let dir = '';
  beforeAll(async () => {
    peer = await startA2aPeer();
    mkdirSync(work, { recursive: true });
    dir = mkdtempSync(join(work, 'retention-remote-'));
  });
  afterAll(async () => {
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('still stops the loop at 2 credits for 8841, and freezes it', async () => {
    // retention-mcp uses ../retention's agents and contracts: copy both, side by side.
    for (const name of ['retention', 'retention-mcp']) {
      cpSync(join(REPO, 'examples', name), join(dir, name), { recursive: true });
    }
    const meshFile = join(dir, 'retention-mcp', 'mesh.yaml');
    const local = readFileSync(meshFile, 'utf8');
    const remote = local.replace('module: ../retention/agents/churn.ts', `a2a: ${peer.cardUrl}`);
    expect(remote).not.toBe(local);
    writeFileSync(meshFile, remote);

    await using mcp = createMcpTransport();
    const opened = await openMesh({
      meshFile,
      dataDir: join(tempDir('retention-remote'), 'data'),
      log: pino({ level: 'silent' }),
      transports: [createA2aTransport(), mcp],
    });
    if (!opened.ok) throw new Error(JSON.stringify(opened));
    await using o = opened.opened;
    await feedFile(o.mesh, join(dir, 'retention', 'tickets.jsonl'), () => {}, new AbortController().signal);
    await o.mesh.idle();

    const entries = await Array.fromAsync(o.ledger.scan());
    const credits = entries.filter(
      (e) =>
        e.kind === ENTRY.effectExecuted && e.agent === 'effect:credit.issue' && e.subject === 'account:8841',
    );
    expect(credits.length).toBeGreaterThan(0);
    expect(credits.length).toBeLessThanOrEqual(2);
    expect(summarize(o.mesh.counts(), o.mesh.state, o.ledger, o.mesh.policy).frozen).toContain(
      'account:8841',
    );
    expect(entries.some((e) => e.kind === ENTRY.decision && e.agent === 'churn@2.0.1')).toBe(true);
    expect(peer.received.length).toBeGreaterThan(0);
    expect(entries.filter((e) => e.kind === ENTRY.deadLetter)).toEqual([]);
    expect((await o.ledger.verify()).ok).toBe(true);
  });

  it('runs from the command line with the MCP tool, and the command ends cleanly with its server stopped', async () => {
    const example = join(REPO, 'examples', 'retention-mcp');
    const tickets = join(REPO, 'examples', 'retention', 'tickets.jsonl');
    const data = join(tempDir('retention-mcp-cli'), 'data');
    const run = await runCli([
      'run',
      join(example, 'mesh.yaml'),
      '--input',
      tickets,
      '--data',
      data,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ frozen: ['account:8841'], effects: { failed: 0 } });
  });
});
