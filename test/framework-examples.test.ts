import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';

describe('examples/langgraph: a LangGraph.js graph as a mesh agent', () => {
  it('gates what the graph decides: routine tickets reach the desk, urgent ones wait for a person', async () => {
    const data = join(tempDir('langgraph'), 'data');
    const example = join(REPO, 'examples', 'langgraph');
    const run = await runCli([
      'run',
      join(example, 'mesh.yaml'),
      '--input',
      join(example, 'tickets.jsonl'),
      '--data',
      data,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).messages).toMatchObject({
      admitted: 6,
      held: 2,
      denied: 0,
      quarantined: 0,
    });
    const entries = parseEntries((await runCli(['audit', 'export', '--data', data])).stdout);
    const triaged = entries.filter((e) => e.kind === 'decision' && e.agent === 'triage@1.0.0');
    const verdicts = triaged.map((e) => {
      const d = e.data as { envelope: { subject: string; model: string }; verdict: { decision: string } };
      return [d.envelope.subject, d.verdict.decision, d.envelope.model];
    });
    expect(verdicts.sort()).toEqual([
      ['customer:17', 'hold', 'fake-list-chat-model'],
      ['customer:23', 'deliver', 'fake-list-chat-model'],
      ['customer:23', 'deliver', 'fake-list-chat-model'],
      ['customer:42', 'hold', 'fake-list-chat-model'],
    ]);
  });
});
