// The ledger's durability (mesh.yaml `ledger.durability`, `--durability`) and its file modes, as a
// user meets them through the CLI.
import { appendFileSync, cpSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEntries, REPO, runCli, tempDir } from './run-cli.js';
import { call, startUp } from './up-process.js';

const RETENTION = join(REPO, 'examples', 'retention');
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** A copy of examples/retention with `extra` lines appended to its mesh.yaml. */
function meshWith(extra: string): string {
  const dir = join(tempDir('durability-mesh'), 'mesh');
  cpSync(RETENTION, dir, { recursive: true });
  appendFileSync(join(dir, 'mesh.yaml'), extra);
  return join(dir, 'mesh.yaml');
}

/** The durability recorded with the policy by `run`, read back through `audit export`. */
async function recorded(data: string): Promise<unknown> {
  const exported = await runCli(['audit', 'export', '--data', data]);
  expect(exported.code, exported.stderr).toBe(0);
  return parseEntries(exported.stdout).find((e) => e.kind === 'policy.loaded')?.data.durability;
}

describe('ledger durability', () => {
  it.each<[string, string, string[], string]>([
    ['the default', '', [], 'full'],
    ['the mesh file', 'ledger: { durability: normal }\n', [], 'normal'],
    ['the flag', '', ['--durability', 'normal'], 'normal'],
    ['the flag over the mesh file', 'ledger: { durability: normal }\n', ['--durability', 'full'], 'full'],
  ])('is set by %s', async (_name, extra, flags, durability) => {
    const data = join(tempDir('durability'), 'data');
    const run = await runCli(['run', meshWith(extra), '--data', data, '--json', ...flags]);
    expect(run.code, run.stderr).toBe(0);
    expect(await recorded(data)).toBe(durability);
  });

  it('takes --durability on demo too', async () => {
    const data = join(tempDir('durability-demo'), 'data');
    const run = await runCli(['demo', 'retention', '--data', data, '--json', '--durability', 'normal']);
    expect(run.code, run.stderr).toBe(0);
    expect(await recorded(data)).toBe('normal');
  });

  it('up takes --durability, says which is in force, and keeps its files private', async () => {
    const data = join(tempDir('durability-up'), 'data');
    const up = await startUp([join(RETENTION, 'mesh.yaml'), '--data', data, '--durability', 'normal']);
    let modes: number[] = [];
    let status: { durability?: string } = {};
    try {
      modes = [data, join(data, 'ledger.db'), join(data, 'tokens.json')].map(modeOf);
      status = (await call(up, up.token!, 'GET', '/ledger')).body;
    } finally {
      expect([await up.stop(), up.stderr()]).toEqual([0, expect.any(String)]);
    }
    expect((up as unknown as { durability: string }).durability).toBe('normal');
    expect(status.durability).toBe('normal');
    expect(modes).toEqual([0o700, 0o600, 0o600]);
    expect(await recorded(data)).toBe('normal');
  });

  it.each([['run'], ['up'], ['demo']])('a bad --durability on %s is a usage error', async (command) => {
    const args = command === 'demo' ? ['demo', 'retention'] : [command, join(RETENTION, 'mesh.yaml')];
    const data = join(tempDir('durability-bad'), 'data');
    const r = await runCli([...args, '--data', data, '--durability', 'fsync', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'MW_CLI_USAGE' } });
  });

  it('a bad ledger.durability fails the policy check at file:line:col', async () => {
    const mesh = meshWith('ledger:\n  durability: fsync\n');
    const r = await runCli(['policy', 'check', mesh, '--json']);
    expect(r.code).toBe(1);
    const issues = (JSON.parse(r.stdout) as { issues: { code: string; line: number; col: number }[] }).issues;
    expect(issues.map((i) => i.code)).toEqual(['MW_POLICY_BAD_VALUE']);
    expect(issues[0]).toMatchObject({ col: 15 });
  });
});

describe('data directory and ledger file modes', () => {
  it('run makes the data directory 0700 and the ledger 0600', async () => {
    const data = join(tempDir('modes'), 'parent', 'data');
    const run = await runCli(['run', join(RETENTION, 'mesh.yaml'), '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const cp = await runCli(['audit', 'checkpoint', '--data', data]);
    expect(cp.code, cp.stderr).toBe(0);
    expect([data, join(data, '..')].map(modeOf)).toEqual([0o700, 0o700]);
    expect(['ledger.db', 'ledger.key'].map((f) => modeOf(join(data, f)))).toEqual([0o600, 0o600]);
  });
});
