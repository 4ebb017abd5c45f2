import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';

// `meshwarden replay` on the retention demo's ledger: the recorded policy changes nothing; the
// shipped tighter candidate (examples/retention/candidate.yaml) refuses the second credit.

describe('replay', () => {
  const dir = tempDir('replay');
  const data = join(dir, 'data');
  const candidate = join(REPO, 'examples', 'retention', 'candidate.yaml');

  beforeAll(async () => {
    const run = await runCli(['demo', 'retention', '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
  }, 60_000);

  it('with the recorded policy, changes nothing', async () => {
    const run = await runCli([
      'replay',
      '--policy',
      'examples/retention/mesh.yaml',
      '--data',
      data,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ changed: 0, changes: [], suppressed: [], sameAsRecorded: true });
    expect(report.decisions).toBeGreaterThan(10);
    expect(report.effects.wouldNotRun).toBe(0);
  });

  it('with a lower credit budget, stops the second credit for account 8841', async () => {
    const run = await runCli(['replay', '--policy', candidate, '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.sameAsRecorded).toBe(false);
    expect(report.matrix['deliver→deny']).toBeGreaterThan(0);
    const change = report.changes.find(
      (c: { subject: string; type: string }) => c.subject === 'account:8841' && c.type === 'credit.issue',
    );
    expect(change).toMatchObject({
      recorded: { verdict: 'deliver', stage: 'gate' },
      candidate: { verdict: 'deny', stage: 'budget', rule: 'credit-per-account', reason: 'budget.exceeded' },
    });
    expect(report.effects.byType['credit.issue'].bySubject['account:8841']).toEqual({
      count: 1,
      sums: { amount: 25 },
      units: { currency: 'EUR' },
    });
    const human = await runCli(['replay', '--policy', candidate, '--data', data]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('1 × credit.issue for account:8841: amount 25 EUR');
    expect(human.stdout).toContain('budget.exceeded');
    // The loop breaker opens under the candidate where the recording opened it: not news.
    const same = report.breakers.candidate.filter(
      (b: { recordedAt?: number; at: number }) => b.recordedAt === b.at,
    );
    expect(same.length).toBeGreaterThan(0);
    expect(report.breakers.wouldOpen).toEqual([]);
    expect(human.stdout).toContain('breakers that would have opened: none');
    expect(human.stdout).toMatch(/also opened in the recording, at the same moment: loop for account:8841/);
  });

  it('refuses a candidate that does not load, with file:line:col (exit 1)', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'mesh: retention\nagents:\n  sentiment: { version: 1 }\nbogus: 1\n');
    const run = await runCli(['replay', '--policy', bad, '--data', data]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/bad\.yaml:\d+:\d+/);
    const json = await runCli(['replay', '--policy', bad, '--data', data, '--json']);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.ok).toBe(false);
    // The file as its issues name it.
    expect(doc.file).toBe(doc.issues[0].file);
  });

  it("refuses another mesh's candidate (exit 1)", async () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'mesh: other\nagents: {}\n');
    const run = await runCli(['replay', '--policy', other, '--data', data, '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error.code).toBe('MW_RUNTIME_REPLAY_MESH');
  });

  it('refuses a time that does not parse, and a missing ledger (exit 2)', async () => {
    const time = await runCli(['replay', '--policy', candidate, '--data', data, '--from', 'yesterday']);
    expect(time.code).toBe(2);
    expect(time.stderr).toContain('MW_CLI_BAD_TIME');
    const none = await runCli(['replay', '--policy', candidate, '--data', join(dir, 'nothing')]);
    expect(none.code).toBe(2);
    const missing = await runCli(['replay', '--data', data]);
    expect(missing.code).toBe(2);
  });

  it('replays only the window --from and --to give', async () => {
    const run = await runCli([
      'replay',
      '--policy',
      candidate,
      '--data',
      data,
      '--to',
      '1970-01-02T00:00:00Z',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ decisions: 0, changed: 0, to: 86_400_000 });
  });

  it('refuses --from after --to (exit 2); windows are half-open, so adjacent ones sum to the whole', async () => {
    const reversed = await runCli([
      'replay',
      '--policy',
      candidate,
      '--data',
      data,
      '--from',
      '2027-01-01',
      '--to',
      '2026-01-01',
    ]);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain('MW_CLI_BAD_WINDOW');
    const policy = 'examples/retention/mesh.yaml';
    const decisions = async (...window: string[]) => {
      const run = await runCli(['replay', '--policy', policy, '--data', data, '--json', ...window]);
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { decisions: number; changes: { at: number }[] };
    };
    const whole = await decisions();
    // A moment some decision was made at: it belongs to the window it starts, not the one it ends.
    const withCandidate = await runCli(['replay', '--policy', candidate, '--data', data, '--json']);
    const t = String(JSON.parse(withCandidate.stdout).changes[0].at);
    const before = await decisions('--to', t);
    const after = await decisions('--from', t);
    expect(before.decisions).toBeGreaterThan(0);
    expect(after.decisions).toBeGreaterThan(0);
    expect(before.decisions + after.decisions).toBe(whole.decisions);
  });
});

// examples/procurement (docs/drift.md): optimizer 2.0.0, then 2.1.0 whose budgets are one point
// higher; its drift monitor freezes it after 50 samples. The candidate judges on 10.
describe('replay of procurement: a drift monitor that acts sooner', () => {
  const data = join(tempDir('replay-procurement'), 'data');
  const example = (file: string) => join(REPO, 'examples', 'procurement', file);

  beforeAll(async () => {
    for (const mesh of ['mesh.yaml', 'mesh-2.1.yaml']) {
      const run = await runCli([
        'run',
        example(mesh),
        '--input',
        example('reviews.jsonl'),
        '--data',
        data,
        '--json',
      ]);
      expect(run.code, run.stderr).toBe(0);
    }
  }, 120_000);

  it('with the policy in force, changes nothing, the earlier version decided as registered', async () => {
    const run = await runCli(['replay', '--policy', example('mesh-2.1.yaml'), '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ changed: 0, suppressed: [], sameAsRecorded: true });
    expect(report.recordedPolicies).toHaveLength(2);
    expect(report.versionsAdopted).toEqual(['optimizer@2.0.0']);
  }, 60_000);

  it('with the tighter candidate, freezes optimizer sooner: what it caused after that would not have happened', async () => {
    const run = await runCli(['replay', '--policy', example('candidate.yaml'), '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.changed).toBeGreaterThan(0);
    for (const change of report.changes) {
      expect(change).toMatchObject({
        type: 'budget.adjusted.v1',
        recorded: { verdict: 'deliver' },
        candidate: { verdict: 'hold', stage: 'breaker', rule: 'optimizer-delta' },
      });
    }
    expect(report.suppressed.length).toBeGreaterThanOrEqual(report.changed);
    expect(report.effects.wouldNotRun).toBeGreaterThan(0);
    expect(Object.keys(report.effects.byType)).toEqual(['order.cancel']);
    const [breaker] = report.breakers.candidate;
    expect(breaker).toMatchObject({ id: 'optimizer-delta', key: 'optimizer' });
    expect(breaker.at).toBeLessThan(breaker.recordedAt);
    // The candidate's monitor raises its alarm on fewer samples, sooner.
    const [alarm] = report.drift.candidate;
    const [recorded] = report.drift.recorded;
    expect(alarm).toMatchObject({ monitor: 'optimizer-delta', agent: 'optimizer@2.1.0', field: '/deltaPct' });
    expect(alarm.at).toBeLessThan(recorded.at);
    // What would not have happened, with type and subject: in the JSON, and as bounded lines.
    expect(report.wouldNotHappen.map((m: { id: string }) => m.id)).toEqual(report.suppressed);
    expect(report.wouldNotHappen[0]).toMatchObject({ type: expect.any(String), subject: expect.any(String) });
    const human = await runCli(['replay', '--policy', example('candidate.yaml'), '--data', data]);
    const first = report.wouldNotHappen[0];
    expect(human.stdout).toContain(
      `  ${first.id} ${first.gated === 'effect' ? 'effect ' : ''}${first.type} for ${first.subject} at `,
    );
    if (report.suppressed.length > 20)
      expect(human.stdout).toContain(`  … and ${report.suppressed.length - 20} more (--json lists them all)`);
  }, 60_000);
});
