import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';

type Decision = {
  envelope: { id: string; type: string; subject: string; correlationid: string; data: unknown };
  verdict: { decision: string; stage: string; rule?: string; reason: string };
};

/** Starts examples/lowcode/peers.mjs (a copy) on free ports; resolves with the ports it printed. */
function startPeers(
  dir: string,
): Promise<{ child: ChildProcess; out: () => string; flowise: string; n8n: string }> {
  const child = spawn(process.execPath, [join(dir, 'peers.mjs')], {
    cwd: dir,
    env: { ...process.env, FLOWISE_PORT: '0', N8N_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`peers.mjs exited with ${code}: ${out}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const flowise = /flowise stand-in listening on (\S+)/.exec(out)?.[1];
      const n8n = /n8n stand-in listening on (\S+)/.exec(out)?.[1];
      if (flowise !== undefined && n8n !== undefined) resolve({ child, out: () => out, flowise, n8n });
    });
  });
}

describe('examples/lowcode: a Flowise flow and an n8n workflow in a loop, stopped at the flow', () => {
  const dir = join(tempDir('lowcode'), 'lowcode');
  const data = join(dir, 'data');
  let peers: Awaited<ReturnType<typeof startPeers>>;
  beforeAll(async () => {
    cpSync(join(REPO, 'examples', 'lowcode'), dir, { recursive: true });
    peers = await startPeers(dir);
    // As the README says: the mesh names where the flow and the webhook are.
    const meshFile = join(dir, 'mesh.yaml');
    const mesh = readFileSync(meshFile, 'utf8');
    const moved = mesh
      .replace('url: http://127.0.0.1:3000,', `url: ${peers.flowise},`)
      .replace('http://127.0.0.1:5678/webhook/clarify', `${peers.n8n}/webhook/clarify`);
    expect(moved).not.toContain(':3000');
    expect(moved).not.toContain(':5678');
    writeFileSync(meshFile, moved);
  });
  afterAll(() => {
    peers?.child.removeAllListeners('exit');
    peers?.child.kill();
  });

  it('runs the tickets: two are labelled, the one without an order number goes round until triage is held', async () => {
    const run = await runCli([
      'run',
      join(dir, 'mesh.yaml'),
      '--input',
      join(dir, 'tickets.jsonl'),
      '--data',
      data,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      messages: { admitted: 9, held: 1, denied: 0, quarantined: 0 },
      frozen: ['ticket:1003'],
      deadLetters: 0,
    });
    expect(summary.breakers).toEqual([expect.objectContaining({ id: 'loop', key: 'ticket:1003' })]);

    const entries = parseEntries((await runCli(['audit', 'export', '--data', data])).stdout);
    const decisions = entries
      .filter((e) => e.kind === 'decision')
      .map((e) => ({ agent: e.agent, ...(e.data as Decision) }));
    // The flow's labels, mapped from the JSON its agentflow answers as text.
    const labelled = decisions
      .filter((d) => d.agent === 'triage@1.0.0' && d.verdict.decision === 'deliver')
      .map((d) => [d.envelope.subject, d.envelope.data]);
    expect(labelled).toEqual(
      expect.arrayContaining([
        [
          'ticket:1001',
          { label: 'delivery', order: '48213', text: 'Order 48213 came with a cracked screen.' },
        ],
        [
          'ticket:1002',
          {
            label: 'billing',
            order: '51877',
            text: 'I was charged twice for order 51877, please refund one.',
          },
        ],
        ['ticket:1003', { label: 'needs-info', text: 'My parcel never arrived.' }],
      ]),
    );
    // Exactly one stop: the loop guard, at the flow's emission.
    const stopped = decisions.filter((d) => d.verdict.decision !== 'deliver');
    expect(stopped).toHaveLength(1);
    const [stop] = stopped;
    expect(stop).toMatchObject({
      agent: 'triage@1.0.0',
      envelope: { type: 'ticket.triaged.v1', subject: 'ticket:1003' },
      verdict: { decision: 'hold', stage: 'loop', rule: 'loop', reason: 'loop.repeated_hop' },
    });

    const why = await runCli(['why', stop!.envelope.id, '--data', data, '--json']);
    expect(why.code, why.stderr).toBe(0);
    const chain = (JSON.parse(why.stdout) as { chain: Record<string, unknown>[] }).chain;
    expect(chain.map((h) => [h.hop, h.agent, h.type, h.verdict, h.reason])).toEqual([
      [0, 'ingress:desk', 'ticket.opened.v1', 'deliver', 'gate.admitted'],
      [1, 'triage@1.0.0', 'ticket.triaged.v1', 'deliver', 'gate.admitted'],
      [2, 'clarify@1.0.0', 'ticket.opened.v1', 'deliver', 'gate.admitted'],
      [3, 'triage@1.0.0', 'ticket.triaged.v1', 'deliver', 'gate.admitted'],
      [4, 'clarify@1.0.0', 'ticket.opened.v1', 'deliver', 'gate.admitted'],
      [5, 'triage@1.0.0', 'ticket.triaged.v1', 'hold', 'loop.repeated_hop'],
    ]);
    expect(chain.at(-1)).toMatchObject({ stage: 'loop', rule: 'loop', subject: 'ticket:1003' });
    // The conversation is the case: every call of the flow for this ticket was in its chat.
    const root = chain[0]!.id as string;
    expect(
      peers
        .out()
        .split('\n')
        .filter((l) => l.startsWith(`flowise  ${root} `)),
    ).toHaveLength(3);

    const text = await runCli(['why', stop!.envelope.id, '--data', data]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('loop.repeated_hop');
    expect((await runCli(['audit', 'verify', '--data', data])).code).toBe(0);
  });

  it('says at start what policy check warns of: a site that lost a brace, sent as text', async () => {
    const typo = join(dir, 'mesh-typo.yaml');
    const mesh = readFileSync(join(dir, 'mesh.yaml'), 'utf8');
    writeFileSync(typo, mesh.replace("label: '{{ data.label }}'", "label: '{ data.label }}'"));
    writeFileSync(join(dir, 'none.jsonl'), '');
    const data = join(dir, 'data-typo');
    const run = await runCli(['run', typo, '--input', join(dir, 'none.jsonl'), '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^warning: .*mesh-typo\.yaml:23:\d+: .*a \}\} that closes no \{\{/m);
    expect(() => JSON.parse(run.stdout)).not.toThrow();
  });
});
