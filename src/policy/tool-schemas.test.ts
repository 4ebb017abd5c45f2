import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile.js';
import { contractFiles } from './files.js';
import type { PolicyLoadResult } from './issues.js';
import { loadPolicy } from './load.js';
import { parseMesh } from './source.js';
import { BASE } from './test-kit.js';
import type { ToolSchemaResult } from './tool-schemas.js';
import type { EffectSpec } from './types.js';

/** BASE with pay.send executed by the `pay` tool of an MCP server (line 6). */
const LINES = [
  ...BASE.slice(0, 5),
  "  pay.send: { mcp: 'https://pay.example.com/mcp', tool: pay }",
  ...BASE.slice(6),
];
const AMOUNT = { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] };

/** Compiles LINES (or `lines`) with every contract file but pay.send's, and the given tool reads. */
function compile(
  tools: Record<string, ToolSchemaResult>,
  lines: readonly string[] = LINES,
): PolicyLoadResult {
  const mesh = parseMesh({ file: 'mesh.yaml', path: '/mesh/mesh.yaml', text: lines.join('\n') });
  const texts = new Map<string, string>();
  for (const { type } of contractFiles(mesh))
    if (type !== 'pay.send') texts.set(type, '{ "type": "object" }');
  return compilePolicy(mesh, texts, new Map(Object.entries(tools)));
}

/** [code, line, col]: the column is where `needle` is on that line of LINES. */
function at(code: string, needle: string, line = 6): [string, number, number] {
  return [code, line, LINES[line - 1]!.indexOf(needle) + 1];
}
const issuesOf = (result: PolicyLoadResult) =>
  result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);

describe('compilePolicy: the contract of an MCP effect from its tool', () => {
  it('takes the tool input schema as the contract, in the digest', () => {
    const result = compile({ 'pay.send': { ok: true, schema: AMOUNT } });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const contract = result.policy.contracts.get('pay.send')!;
    expect(contract.schema).toEqual(AMOUNT);
    expect(contract.validate({ amount: 'x' }).map((i) => i.keyword)).toEqual(['type']);
    const wider = compile({ 'pay.send': { ok: true, schema: { ...AMOUNT, required: [] } } });
    expect(wider.ok && wider.policy.digest).not.toBe(result.policy.digest);
  });

  it('reads a draft-07 tool schema, as servers built with the v1 SDK write it', () => {
    const schema = { ...AMOUNT, $schema: 'http://json-schema.org/draft-07/schema#' };
    const result = compile({ 'pay.send': { ok: true, schema } });
    expect(result.ok && result.policy.contracts.get('pay.send')?.validate({})[0]?.keyword).toBe('required');
  });

  it.each([
    [
      'the server cannot be read, at mcp',
      { ok: false, reason: 'ECONNREFUSED' },
      at('MW_POLICY_TOOL_SCHEMA', "'https"),
    ],
    [
      'the tool is not listed, at tool',
      { ok: false, reason: 'it does not list that tool', key: 'tool' },
      at('MW_POLICY_TOOL_SCHEMA', 'pay }'),
    ],
    [
      'the tool schema is not a valid schema, at the effect',
      { ok: true, schema: { type: 'object', properties: { amount: { type: 'numbr' } } } },
      at('MW_POLICY_TOOL_CONTRACT', 'pay.send'),
    ],
    ['the tool schema is not an object', { ok: true, schema: [] }, at('MW_POLICY_TOOL_CONTRACT', 'pay.send')],
  ] as const)('reports %s', (_name, read, expected) => {
    expect(issuesOf(compile({ 'pay.send': read }))).toEqual([expected]);
  });

  it('names the effect, tool, server, reason and the contract file to write instead', () => {
    const result = compile({ 'pay.send': { ok: false, reason: 'ECONNREFUSED' } });
    const [issue] = result.ok ? [] : result.issues;
    expect(issue?.pointer).toBe('/effects/pay.send/mcp');
    for (const part of [
      'pay.send',
      'pay',
      'https://pay.example.com/mcp',
      'ECONNREFUSED',
      'contracts/pay.send.json',
    ])
      expect(issue?.message).toContain(part);
  });

  it('puts the JSON pointer into the tool schema in the sentence', () => {
    const schema = { type: 'object', properties: { amount: { type: 'numbr' } } };
    const result = compile({ 'pay.send': { ok: true, schema } });
    expect(result.ok ? '' : result.issues[0]!.message).toContain('/properties/amount/type');
  });

  it('without a read: no contract, as for any effect', () => {
    expect(issuesOf(compile({}))).toEqual([at('MW_POLICY_MISSING_CONTRACT', 'pay.send', 4)]);
  });

  it('reports a broken mcp once, not also as a missing contract', () => {
    const lines = [...LINES.slice(0, 5), '  pay.send: { mcp: "ftp://x", tool: pay }', ...LINES.slice(6)];
    const result = compile({}, lines);
    expect(result.ok ? [] : result.issues.map((i) => i.code)).toEqual(['MW_POLICY_MCP_SERVER']);
  });
});

describe('loadPolicy: reading tool schemas', () => {
  function meshDir(withContract: boolean): string {
    const dir = mkdtempSync(join(tmpdir(), 'meshwarden-tool-schemas-'));
    mkdirSync(join(dir, 'contracts'));
    writeFileSync(join(dir, 'mesh.yaml'), LINES.join('\n'));
    for (const type of ['x.v1', 'y.v1'])
      writeFileSync(join(dir, 'contracts', `${type}.json`), '{"type":"object"}');
    writeFileSync(join(dir, 'a.ts'), '');
    if (withContract) writeFileSync(join(dir, 'contracts', 'pay.send.json'), '{"type":"object"}');
    return dir;
  }

  it('asks the reader for an MCP effect without a contract file, with its spec', async () => {
    const asked: EffectSpec[] = [];
    const result = await loadPolicy(join(meshDir(false), 'mesh.yaml'), {
      readToolSchema: async (spec) => {
        asked.push(spec);
        return { ok: true, schema: AMOUNT };
      },
    });
    expect(asked.map((s) => s.mcp)).toEqual([
      { server: 'https://pay.example.com/mcp', url: 'https://pay.example.com/mcp', tool: 'pay' },
    ]);
    expect(result.ok && result.policy.contracts.get('pay.send')?.schema).toEqual(AMOUNT);
  });

  it('does not ask when the contract file exists: the file wins', async () => {
    let asked = 0;
    const result = await loadPolicy(join(meshDir(true), 'mesh.yaml'), {
      readToolSchema: async () => {
        asked++;
        return { ok: true, schema: AMOUNT };
      },
    });
    expect(asked).toBe(0);
    expect(result.ok && result.policy.contracts.get('pay.send')?.schema).toEqual({ type: 'object' });
  });

  it('reports a reader that throws as a tool schema that cannot be read', async () => {
    const result = await loadPolicy(join(meshDir(false), 'mesh.yaml'), {
      readToolSchema: () => Promise.reject(new Error('boom')),
    });
    expect(result.ok ? [] : result.issues.map((i) => i.code)).toEqual(['MW_POLICY_TOOL_SCHEMA']);
  });
});
