import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp } from './up-process.js';

/**
 * examples/procurement end to end (docs/drift.md): optimizer 2.0.0 runs, then 2.1.0, whose budget
 * adjustments are one point higher, on the same data directory. Its drift monitor freezes it before
 * the cancellations three hops downstream pile up, and `meshwarden drift` reports it offline.
 */
describe('drift: examples/procurement', () => {
  const example = join(REPO, 'examples', 'procurement');
  const data = join(tempDir('drift'), 'data');
  type Summary = {
    messages: Record<string, number>;
    effects: Record<string, number>;
    breakers: { id: string; key: string; state: string; by: string }[];
    driftAlarms: { monitor: string; agent: string; metric: string; score: number }[];
  };
  let first: Summary;
  let second: Summary;
  const run = async (mesh: string) => {
    const r = await runCli(['run', mesh, '--input', 'reviews.jsonl', '--data', data, '--json'], {
      cwd: example,
    });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Summary;
  };

  beforeAll(async () => {
    first = await run('mesh.yaml');
    second = await run('mesh-2.1.yaml');
  }, 120_000);

  it('lets 2.0.0 run, then freezes 2.1.0 once its output drifted', () => {
    expect(first.breakers).toEqual([]);
    expect(first.driftAlarms).toEqual([]);
    expect(second.driftAlarms).toEqual([
      expect.objectContaining({ monitor: 'optimizer-delta', agent: 'optimizer@2.1.0', metric: 'psi' }),
    ]);
    expect(first.effects.executed).toBeLessThanOrEqual(1);
    expect(second.breakers).toEqual([
      expect.objectContaining({
        id: 'optimizer-delta',
        key: 'optimizer',
        state: 'open',
        by: 'drift:optimizer-delta',
      }),
    ]);
    // 2.1.0 would cancel 75 orders of 300; the freeze stops it after the monitor's 50 samples.
    expect(second.effects.executed).toBeGreaterThan(0);
    expect(second.effects.executed).toBeLessThan(25);
    expect(second.messages.held).toBeGreaterThan(200);
  });

  it('records one drift.alarm entry, and why shows it on a held message', async () => {
    const exported = await runCli(['audit', 'export', '--data', data]);
    const entries = parseEntries(exported.stdout);
    const alarms = entries.filter((e) => e.kind === 'drift.alarm');
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.data).toMatchObject({
      monitor: 'optimizer-delta',
      agent: 'optimizer@2.1.0',
      baseline: '2.0.0',
      metric: 'psi',
      threshold: 0.2,
      baselineCount: 300,
      currentCount: 50,
    });
    const held = entries.find(
      (e) => e.kind === 'decision' && (e.data.verdict as { reason: string }).reason === 'breaker.frozen',
    )!;
    const why = await runCli(['why', held.msgId!, '--data', data, '--json']);
    expect(why.code).toBe(0);
    expect(JSON.parse(why.stdout).drift).toEqual([
      expect.objectContaining({
        monitor: 'optimizer-delta',
        stopped: held.msgId,
        raisedBy: alarms[0]!.msgId,
      }),
    ]);
  });

  it('reports the drift offline: exit 1 and the JSON shape of the contract', async () => {
    const r = await runCli(['drift', '--data', data, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.agents).toHaveLength(1);
    const [a] = report.agents;
    expect(a).toMatchObject({ agent: 'optimizer', version: '2.1.0', baseline: '2.0.0', drifted: true });
    const delta = a.fields.find((f: { field: string }) => f.field === '/deltaPct');
    expect(delta).toMatchObject({
      type: 'budget.adjusted.v1',
      metric: 'psi',
      threshold: 0.2,
      drifted: true,
      baselineCount: 300,
    });
    expect(delta.currentMean - delta.baselineMean).toBeCloseTo(1, 1);
    // One input, one emission; the same single type: neither moved. The freeze holds 5 in 6.
    expect(a.fanout).toMatchObject({ metric: 'fanout', baseline: 1, current: 1, drifted: false });
    expect(a.types).toMatchObject({ metric: 'types', score: 0, drifted: false });
    expect(a.verdicts).toMatchObject({ metric: 'verdicts', drifted: true, baseline: { deliver: 1 } });
    // An identifier is compared by its structure only: it never drifts by its values.
    expect(a.fields.find((f: { field: string }) => f.field === '/line')).toMatchObject({ drifted: false });
  });

  it('prints a table, filters by agent, and refuses a bad threshold', async () => {
    const table = await runCli(['drift', 'optimizer@2.1.0', '--data', data]);
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('optimizer@2.1.0 against 2.0.0: DRIFTED');
    expect(table.stdout).toMatch(/\/deltaPct\s+psi/);
    const stable = await runCli(['drift', 'purchasing', '--data', data, '--json']); // one version
    expect(stable.code).toBe(0);
    expect(JSON.parse(stable.stdout).agents).toEqual([]);
    const lenient = await runCli(['drift', '--data', data, '--threshold', '100', '--json']);
    expect(lenient.code).toBe(0);
    const bad = await runCli(['drift', '--data', data, '--threshold', 'x']);
    expect(bad.code).toBe(2);
    const none = await runCli(['drift', '--data', join(data, 'nowhere')]);
    expect(none.code).toBe(2);
  });

  it('says "nothing to compare" for an agent of one version, and refuses one the ledger never saw', async () => {
    const one = await runCli(['drift', 'purchasing', '--data', data]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('purchasing has one version in the ledger');
    const firstVersion = await runCli(['drift', 'optimizer@2.0.0', '--data', data]);
    expect(firstVersion.code, firstVersion.stderr).toBe(0);
    expect(firstVersion.stdout).toContain('optimizer@2.0.0 is the first version of optimizer');
    for (const [target, what] of [
      ['nobody', 'no agent nobody'],
      ['optimizer@9.9', 'no version 9.9 of agent optimizer'],
    ] as const) {
      const r = await runCli(['drift', target, '--data', data]);
      expect(r.code, target).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`error MW_CLI_DRIFT_AGENT: the ledger has ${what}`);
      expect(r.stderr).toMatch(/2\.0\.0, 2\.1\.0/);
      const json = await runCli(['drift', target, '--data', data, '--json']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'MW_CLI_DRIFT_AGENT' } });
    }
    for (const target of ['optimizer@', '@2.1.0']) {
      const r = await runCli(['drift', target, '--data', data]);
      expect(r.code, target).toBe(2);
      expect(r.stderr).toContain('is not an agent: give a name such as optimizer, or name@version');
    }
  });

  it('says "not enough values to judge" rather than "stable" below --min-samples', async () => {
    const r = await runCli(['drift', 'optimizer', '--data', data, '--min-samples', '1000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/optimizer@2\.1\.0 against 2\.0\.0: not enough values to judge \(\d+ of 1000\)/);
    expect(r.stdout).not.toContain('stable');
    expect(r.stdout).toMatch(/\/deltaPct\s+psi\s+[\d.]+\s+too few/);
    const json = await runCli(['drift', 'optimizer', '--data', data, '--min-samples', '1000', '--json']);
    const [a] = JSON.parse(json.stdout).agents;
    expect(a).toMatchObject({ drifted: false, enough: false, fanout: { enough: false } });
    expect(a.fields[0]).toMatchObject({ enough: false, drifted: false });
    const judged = JSON.parse((await runCli(['drift', '--data', data, '--json'])).stdout).agents[0];
    expect(judged.fields.find((f: { field: string }) => f.field === '/deltaPct').enough).toBe(true);
  });

  it('answers a usage error with the error and a one-line hint, not the program help', async () => {
    for (const json of [[], ['--json']]) {
      const r = await runCli(['drift', '--data', data, '--min-samples', '0', ...json]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--min-samples must be a whole number from 1, not "0"');
      expect(r.stderr).toContain('see meshwarden drift --help');
      expect(r.stderr).not.toContain('Usage:');
      expect(r.stderr.trim().split('\n')).toHaveLength(2);
    }
  });

  it('serves the report with bins and the live monitor on GET /api/v1/drift; a reset closes the breaker', async () => {
    const up = await startUp(['mesh-2.1.yaml', '--data', data], { cwd: example });
    try {
      const token = up.token!;
      const r = await call(up, token, 'GET', '/drift');
      expect(r.status).toBe(200);
      const delta = r.body.agents[0].fields.find((f: { field: string }) => f.field === '/deltaPct');
      expect(delta).toMatchObject({ metric: 'psi', drifted: true });
      expect(delta.bins.edges.length).toBe(delta.bins.baseline.length);
      expect(delta.bins.baseline.reduce((a: number, b: number) => a + b, 0)).toBe(300);
      const [monitor] = r.body.monitors;
      expect(monitor).toMatchObject({
        id: 'optimizer-delta',
        version: '2.1.0',
        alarmed: ['2.1.0'],
        breakerOpen: true,
        alarms: [expect.objectContaining({ baseline: '2.0.0', current: '2.1.0' })],
      });
      expect(monitor.evaluation).toMatchObject({ baseline: '2.0.0', metric: 'psi' });
      expect(monitor.evaluation.fields[0].bins.current.length).toBeGreaterThan(2);
      for (const t of ['high', '0', '0.0', '']) {
        const bad = await call(up, token, 'GET', `/drift?threshold=${t}`);
        expect(bad.status, t).toBe(400);
        expect(bad.body.error).toMatchObject({ code: 'MW_API_BAD_REQUEST', pointer: '/threshold' });
      }
      const malformed = await call(up, token, 'GET', '/drift?agent=optimizer@');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.message).toContain(
        'agent must be a name or name@version, such as optimizer or optimizer@2.1.0, not "optimizer@"',
      );
      expect(malformed.body.error.message).not.toContain('pattern');
      const nobody = await call(up, token, 'GET', '/drift?agent=nobody');
      expect(nobody.status).toBe(404);
      expect(nobody.body.error).toMatchObject({ code: 'MW_API_NOT_FOUND' });
      expect(nobody.body.error.message).toContain('agent nobody in the ledger (agents it has: ');
      const noVersion = await call(up, token, 'GET', '/drift?agent=optimizer@9.9');
      expect(noVersion.status).toBe(404);
      expect(noVersion.body.error.message).toContain('version 9.9 of agent optimizer');
      const reset = await call(up, token, 'POST', '/breakers/optimizer-delta/reset', {
        key: 'optimizer',
        reason: 'reviewed 2.1.0: the shift is intended',
      });
      expect(reset.status, JSON.stringify(reset.body)).toBeLessThan(300);
      const after = await call(up, token, 'GET', '/drift');
      // Closed, its alarm cleared and its current window emptied: it alarms again only on new values.
      expect(after.body.monitors[0]).toMatchObject({ breakerOpen: false, alarmed: [] });
      expect(after.body.monitors[0].evaluation.fields[0].currentCount).toBe(0);
    } finally {
      expect(await up.stop()).toBe(0);
    }
  }, 60_000);
});
