import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './run-cli.js';

/** A mesh with one approval; `rec.do` has an integer `n` and nothing else. */
function writeMesh(when: string): string {
  const dir = tempDir('predicate');
  mkdirSync(join(dir, 'contracts'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: rec',
      'agents:',
      '  doer: { version: 1.0.0, module: ./doer.mjs, consumes: [rec.do] }',
      'ingress:',
      '  api: { emits: [rec.do] }',
      'approvals:',
      `  - { id: sample, when: '${when}', timeout: 1h }`,
    ].join('\n'),
  );
  const schema = { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false };
  writeFileSync(join(dir, 'contracts', 'rec.do.json'), JSON.stringify(schema));
  writeFileSync(join(dir, 'doer.mjs'), 'export default { handle() {} };');
  const line = (n: number) =>
    JSON.stringify({ source: 'api', type: 'rec.do', subject: `rec:${n}`, data: { n } });
  writeFileSync(join(dir, 'in.jsonl'), `${[7, 57, 8].map(line).join('\n')}\n`);
  return dir;
}

describe('a predicate that would fail on every message', () => {
  it('fails `policy check` at the failing part, with the type and the int(...) hint', async () => {
    const dir = writeMesh('msg.type == "rec.do" && msg.data.n % 50 == 7');
    const check = await runCli(['policy', 'check', join(dir, 'mesh.yaml'), '--json']);
    expect(check.code).toBe(1);
    const { issues } = JSON.parse(check.stdout);
    expect(issues).toEqual([
      expect.objectContaining({ code: 'MW_POLICY_CEL_TYPE', line: 7, col: 50, pointer: '/approvals/0/when' }),
    ]);
    expect(issues[0].message).toContain('rec.do');
    expect(issues[0].message).toContain('int(msg.data.n) % 50');
  });

  it('passes once written with int(...), and holds exactly the matching messages', async () => {
    const dir = writeMesh('msg.type == "rec.do" && int(msg.data.n) % 50 == 7');
    expect((await runCli(['policy', 'check', join(dir, 'mesh.yaml')])).code).toBe(0);
    const run = await runCli([
      'run',
      join(dir, 'mesh.yaml'),
      '--input',
      join(dir, 'in.jsonl'),
      '--data',
      join(dir, 'data'),
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.messages.held).toBe(2);
    expect(summary.predicateErrors).toEqual({});
  });

  it('counts, and prints as an alert, a predicate that fails at run time', async () => {
    // `msg.target` is an attribute (the check passes), but these roots are not addressed.
    const dir = writeMesh('msg.type == "rec.do" && msg.target == "doer"');
    const run = await runCli([
      'run',
      join(dir, 'mesh.yaml'),
      '--input',
      join(dir, 'in.jsonl'),
      '--data',
      join(dir, 'data'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^alert: approval sample could not be evaluated on 3 message/m);
  });
});
