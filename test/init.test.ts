import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';

describe('init and policy check', () => {
  it('scaffolds a mesh that passes policy check and runs in a folder with meshwarden linked', async () => {
    const project = tempDir('init');
    // A user's project with meshwarden linked into node_modules, outside this repository.
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(REPO, join(project, 'node_modules', 'meshwarden'));
    const init = await runCli(['init', 'demo-mesh'], { cwd: project });
    expect(init.code, init.stderr).toBe(0);
    const check = await runCli(['policy', 'check', 'demo-mesh/mesh.yaml'], { cwd: project });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const run = await runCli(
      [
        'run',
        'demo-mesh/mesh.yaml',
        '--input',
        'demo-mesh/messages.jsonl',
        '--data',
        'demo-mesh/.mw',
        '--json',
      ],
      { cwd: project },
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.messages.admitted).toBeGreaterThanOrEqual(3);
    expect(summary.effects.executed).toBe(1);
    expect(summary.effects.held).toBe(1);
    // Without --input, run feeds the scaffolded messages.jsonl, and says it joins earlier runs' cases.
    const sample = await runCli(['run', 'demo-mesh/mesh.yaml', '--data', 'demo-mesh/.mw', '--json'], {
      cwd: project,
    });
    expect(sample.code, sample.stderr).toBe(0);
    expect(JSON.parse(sample.stdout).messages.admitted).toBeGreaterThanOrEqual(3);
    expect(sample.stderr).toMatch(/feeding demo-mesh\/messages\.jsonl/);
    // Every entry of the first run, and not the policy.loaded this run has just recorded.
    expect(sample.stderr).toContain(`already holds ${summary.ledger.entries} entries from earlier runs`);
    // In words, a run that left something held says where a pilot answers it.
    const words = await runCli(['run', 'demo-mesh/mesh.yaml', '--data', 'demo-mesh/.fresh'], {
      cwd: project,
    });
    expect(words.code, words.stderr).toBe(0);
    expect(words.stdout).toMatch(
      /next: what is held waits for a pilot: meshwarden up \S*mesh\.yaml --data \S*\.fresh/,
    );
    const again = await runCli(['init', 'demo-mesh'], { cwd: project });
    expect(again.code).toBe(2);
  });

  it("passes a file whose alert sink's secret is not set here, and warns that up and run need it", async () => {
    const dir = tempDir('secret');
    expect((await runCli(['init', dir])).code).toBe(0);
    const alerts = [
      'alerts:',
      '  sinks:',
      '    siem: { type: webhook, url: https://siem.example.com/hook, secret: { env: MW_TEST_UNSET_SECRET } }',
      '  routes:',
      '    - { id: audit, on: [breaker.opened], sink: siem, severity: error }',
    ];
    writeFileSync(
      join(dir, 'mesh.yaml'),
      `${readFileSync(join(dir, 'mesh.yaml'), 'utf8')}\n${alerts.join('\n')}\n`,
    );
    const env = { ...process.env, MW_TEST_UNSET_SECRET: undefined };
    const json = await runCli(['policy', 'check', join(dir, 'mesh.yaml'), '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).environment).toEqual([
      { code: 'MW_INTEROP_ALERT_ENV', message: expect.any(String) },
    ]);
    const words = await runCli(['policy', 'check', join(dir, 'mesh.yaml')], { env });
    expect(words.stdout).toMatch(/^warning: MW_INTEROP_ALERT_ENV: /m);
    const set = await runCli(['policy', 'check', join(dir, 'mesh.yaml'), '--json'], {
      env: { ...process.env, MW_TEST_UNSET_SECRET: 's3cret' },
    });
    expect(JSON.parse(set.stdout).environment).toBeUndefined();
  });

  it('lists every mistake of a broken policy as file:line:col', async () => {
    const dir = tempDir('broken');
    const init = await runCli(['init', dir]);
    expect(init.code).toBe(0);
    writeFileSync(
      join(dir, 'mesh.yaml'),
      [
        'mesh: shop',
        'agents:',
        '  fraud: { version: 1.0.0, module: ./agents/fraud.ts, consumes: [order.placed.v1], emits: [order.screened.v1], colour: red }',
        '  fulfil: { version: 1.0.0, module: ./agents/missing.ts, consumes: [order.unknown.v1], effects: [shipment.create] }',
        'effects:',
        '  shipment.create: { module: ./effects/shipment.ts }',
        'ingress:',
        '  web: { emits: [order.placed.v1] }',
        'guards:',
        '  loop: { maxHops: 8, echoWindow: 24 hours }',
        'approvals:',
        "  - { id: big, when: 'msg.data.items >', timeout: 4h }",
        '',
      ].join('\n'),
    );
    const r = await runCli(['policy', 'check', join(dir, 'mesh.yaml')]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) expect(line).toMatch(/mesh\.yaml:\d+:\d+: \S/);
    const at = (line: number) => lines.some((l) => l.includes(`mesh.yaml:${line}:`));
    expect([3, 4, 10, 12].every(at)).toBe(true);
    const json = await runCli(['policy', 'check', join(dir, 'mesh.yaml'), '--json']);
    expect(json.code).toBe(1);
    const codes = (JSON.parse(json.stdout).issues as { code: string }[]).map((i) => i.code);
    expect(codes).toEqual(
      expect.arrayContaining(['MW_POLICY_UNKNOWN_KEY', 'MW_POLICY_BAD_CEL', 'MW_POLICY_BAD_DURATION']),
    );
  });

  it('says which copy to install for editor types, never a registry install', async () => {
    const dir = tempDir('advice');
    const init = await runCli(['init', dir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(init.stdout).package).toEqual({
      installed: false,
      install: `npm install ${REPO.replace(/\/$/, '')}`,
    });
  });

  it('makes a typeless package.json a module only where the project has no modules of its own', async () => {
    const empty = tempDir('typeless');
    writeFileSync(join(empty, 'package.json'), JSON.stringify({ dependencies: { x: '1' } }));
    expect((await runCli(['init', empty])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(empty, 'package.json'), 'utf8'))).toEqual({
      dependencies: { x: '1' },
      type: 'module',
    });
    const commonjs = tempDir('commonjs');
    const manifest = JSON.stringify({ name: 'old-app' });
    writeFileSync(join(commonjs, 'package.json'), manifest);
    mkdirSync(join(commonjs, 'lib'));
    writeFileSync(join(commonjs, 'lib', 'server.js'), "module.exports = require('http');\n");
    const init = await runCli(['init', commonjs]);
    expect(init.code).toBe(0);
    expect(readFileSync(join(commonjs, 'package.json'), 'utf8')).toBe(manifest);
    expect(init.stderr).toContain('warning');
  });

  it('is a usage error to call an unknown command or scenario', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['demo', 'nope'])).code).toBe(2);
  });
});
