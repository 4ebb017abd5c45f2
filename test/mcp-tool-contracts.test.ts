import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../src/interop/a2a/test-kit.js';
import { tempMeshDir } from '../src/interop/mcp/test-kit.js';
import { runCli } from './run-cli.js';

/** A mesh whose effect crm.refund is the `refund` tool of `server` (line 5), with no contract file for it. */
function meshDir(server: string): string {
  const dir = tempMeshDir();
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: refunds',
      'agents:',
      '  refunder: { version: 1.0.0, module: ./agents/refunder.mjs, consumes: [refund.requested.v1], effects: [crm.refund] }',
      'effects:',
      `  crm.refund: { mcp: '${server}', tool: refund }`,
      'ingress:',
      '  desk: { emits: [refund.requested.v1] }',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'refund.requested.v1.json'), '{ "type": "object" }');
  writeFileSync(join(dir, 'agents', 'refunder.mjs'), 'export default { handle() {} };');
  return dir;
}

describe('meshwarden policy check: an MCP effect whose contract is its tool input schema', () => {
  it.each([
    ['the v2 SDK (2020-12)', 'node ./mcp/v2.mjs'],
    ['the v1 SDK (draft-07)', 'node ./mcp/v1.mjs'],
  ])('passes, reading the schema from a spawned server built with %s, and ends', async (_name, server) => {
    const file = join(meshDir(server), 'mesh.yaml');
    const text = await runCli(['policy', 'check', file]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toContain('2 contracts');
    const json = await runCli(['policy', 'check', file, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, mesh: 'refunds', warnings: [] });
  });

  it('fails with file:line:col when the server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const file = join(meshDir(url), 'mesh.yaml');
    const text = await runCli(['policy', 'check', file]);
    expect(text.code).toBe(1);
    expect(text.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/mesh\.yaml:5:\d+: MW_POLICY_TOOL_SCHEMA: effect crm\.refund /),
    ]);
    const json = await runCli(['policy', 'check', file, '--json']);
    expect(JSON.parse(json.stdout).issues).toMatchObject([{ code: 'MW_POLICY_TOOL_SCHEMA', line: 5 }]);
  });
});
