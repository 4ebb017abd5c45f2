import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';

describe('framework agents in a mesh: a LangGraph.js graph, a LlamaIndex.TS workflow', () => {
  it.each([
    ['langgraph', 'fake-list-chat-model'],
    ['llamaindex', 'fake-model'],
  ])('examples/%s: routine tickets reach the desk, urgent ones wait for a person', async (name, model) => {
    const data = join(tempDir(name), 'data');
    const example = join(REPO, 'examples', name);
    const run = await runCli([
      'run',
      join(example, 'mesh.yaml'),
      '--input',
      join(REPO, 'examples', 'langgraph', 'tickets.jsonl'), // both examples triage the same tickets
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
      ['customer:17', 'hold', model],
      ['customer:23', 'deliver', model],
      ['customer:23', 'deliver', model],
      ['customer:42', 'hold', model],
    ]);
  });
});
