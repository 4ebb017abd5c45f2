import { describe, expect, it } from 'vitest';
import type { PolicyLoadResult } from './issues.js';
import { compileMcpServer, splitCommandLine } from './mcp-server.js';
import { BASE, compileLines, policyOf } from './test-kit.js';

describe('compileMcpServer', () => {
  it.each([
    ['an http URL, as written', 'http://127.0.0.1:7/mcp', 'http://127.0.0.1:7/mcp'],
    ['an https URL', 'https://crm.example.com/mcp', 'https://crm.example.com/mcp'],
    ['a command on the PATH', 'crm-mcp --stdio', 'crm-mcp --stdio'],
    ['a relative script', 'node ./mcp/crm.mjs', 'node /mesh/mcp/crm.mjs'],
    ['a parent directory', 'node ../shared/crm.mjs', 'node /shared/crm.mjs'],
    ['a relative command', './bin/crm --port 0', '/mesh/bin/crm --port 0'],
    ['quotes', `node "./my mcp/crm.mjs" 'a b'`, 'node "/mesh/my mcp/crm.mjs" "a b"'],
    ['no-ops kept as words', 'python -m crm.server', 'python -m crm.server'],
  ])('%s', (_name, text, server) => {
    expect(compileMcpServer(text, '/mesh')).toMatchObject({ ok: true, server });
  });

  it('reads a URL as Streamable HTTP and a command line as its words', () => {
    expect(compileMcpServer('https://crm.example.com/mcp', '/m')).toMatchObject({
      url: 'https://crm.example.com/mcp',
    });
    expect(compileMcpServer(`node "./my mcp/crm.mjs" 'a b'`, '/m')).toMatchObject({
      command: ['node', '/m/my mcp/crm.mjs', 'a b'],
    });
  });

  it.each([
    ['another scheme', 'ftp://crm.example.com/mcp'],
    ['a broken URL', 'http://[::1/mcp'],
    ['an unclosed quote', 'node "./crm.mjs'],
    ['nothing', '   '],
  ])('refuses %s', (_name, text) => {
    expect(compileMcpServer(text, '/mesh').ok).toBe(false);
  });

  it('splits what it writes back into the same words', () => {
    const written = compileMcpServer(`node "./a \\"b\\" c/x.mjs" --name='x y'`, '/m');
    expect(written.ok && splitCommandLine(written.server)).toEqual([
      'node',
      '/m/a "b" c/x.mjs',
      '--name=x y',
    ]);
  });
});

/** [code, line, col] of every issue. */
function issuesOf(result: PolicyLoadResult): [string, number, number][] {
  return result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);
}

describe('effects.<name>: mcp and tool', () => {
  // Effects are added after `pay.send` (line 6), so each one is on line 7.
  const withEffect = (line: string) => [...BASE.slice(0, 6), line, ...BASE.slice(6)];

  it('compiles a tool of a stdio server, its script resolved against the mesh file', () => {
    const policy = policyOf(withEffect('  crm.refund: { mcp: node ./mcp/crm.mjs, tool: refund }'));
    expect(policy.effects.get('crm.refund')).toEqual({
      name: 'crm.refund',
      mcp: { server: 'node /mesh/mcp/crm.mjs', tool: 'refund', command: ['node', '/mesh/mcp/crm.mjs'] },
    });
  });

  it('compiles a tool of an HTTP server, without a warning', () => {
    const result = compileLines(
      withEffect("  crm.refund: { mcp: 'https://crm.example.com/mcp', tool: refund }"),
    );
    expect(result.ok && result.policy.effects.get('crm.refund')?.mcp).toEqual({
      server: 'https://crm.example.com/mcp',
      tool: 'refund',
      url: 'https://crm.example.com/mcp',
    });
    expect(result.ok && result.warnings.map((w) => w.code)).toEqual([]);
  });

  it.each([
    [
      'module and mcp',
      '  crm.refund: { module: ./r.ts, mcp: node ./crm.mjs, tool: r }',
      'MW_POLICY_EFFECT_TRANSPORT',
      'crm.refund',
    ],
    ['mcp without tool', '  crm.refund: { mcp: node ./crm.mjs }', 'MW_POLICY_MISSING_KEY', 'crm.refund'],
    [
      'tool without mcp',
      '  crm.refund: { module: ./r.ts, tool: r }',
      'MW_POLICY_EFFECT_TRANSPORT',
      'crm.refund',
    ],
    ['an ftp server', '  crm.refund: { mcp: "ftp://crm/mcp", tool: r }', 'MW_POLICY_MCP_SERVER', '"ftp'],
    [
      'an unclosed quote',
      `  crm.refund: { mcp: 'node "./crm.mjs', tool: r }`,
      'MW_POLICY_MCP_SERVER',
      `'node`,
    ],
    ['an empty server', "  crm.refund: { mcp: '', tool: r }", 'MW_POLICY_MCP_SERVER', "''"],
    ['an empty tool', "  crm.refund: { mcp: node ./crm.mjs, tool: '' }", 'MW_POLICY_BAD_VALUE', "''"],
    ['a server that is not text', '  crm.refund: { mcp: 5, tool: r }', 'MW_POLICY_TYPE', '5,'],
    ['a typo', '  crm.refund: { mpc: node ./crm.mjs }', 'MW_POLICY_UNKNOWN_KEY', 'mpc'],
  ])('reports %s where it is written', (_name, line, code, needle) => {
    expect(issuesOf(compileLines(withEffect(line)))).toEqual([[code, 7, line.indexOf(needle) + 1]]);
  });
});
