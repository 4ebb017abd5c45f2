import { describe, expect, it } from 'vitest';
import type { PolicyLoadResult } from './issues.js';
import { BASE, compileLines as compile, policyOf } from './test-kit.js';

/** [code, line, col] of every issue. */
function issuesOf(result: PolicyLoadResult): [string, number, number][] {
  return result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);
}

type Case = [name: string, item: string, code: string, needle: string];

describe('drift monitors', () => {
  it('compiles a monitor with its defaults', () => {
    const p = policyOf([...BASE, 'drift:', '  - { id: d, agent: a, type: y.v1, fields: [/n, /s] }']);
    expect(p.drift).toEqual([
      {
        id: 'd',
        agent: 'a',
        type: 'y.v1',
        fields: ['/n', '/s'],
        fieldPaths: [['n'], ['s']],
        windowMs: 3_600_000,
        baseline: { kind: 'previous' },
        threshold: 0.2,
        minSamples: 100,
        action: 'alert',
      },
    ]);
  });

  it.each([
    ['previous', { kind: 'previous' }],
    ['{ version: 2.0.0 }', { kind: 'version', version: '2.0.0' }],
    ['{ window: 24h }', { kind: 'window', windowMs: 86_400_000 }],
  ])('reads baseline %s', (written, want) => {
    const item = `  - { id: d, agent: a, type: y.v1, fields: [/n], baseline: ${written}, action: freeze }`;
    const p = policyOf([...BASE, 'drift:', item]);
    expect(p.drift?.[0]?.baseline).toEqual(want);
    expect(p.drift?.[0]?.action).toBe('freeze');
  });

  it.each<Case>([
    [
      'unknown agent',
      '{ id: d, agent: zed, type: y.v1, fields: [/n] }',
      'MW_POLICY_UNKNOWN_REFERENCE',
      'zed',
    ],
    [
      'type the agent does not emit',
      '{ id: d, agent: a, type: x.v1, fields: [/n] }',
      'MW_POLICY_UNKNOWN_REFERENCE',
      'x.v1',
    ],
    ['bad pointer', '{ id: d, agent: a, type: y.v1, fields: [n] }', 'MW_POLICY_BAD_POINTER', 'n]'],
    ['no fields', '{ id: d, agent: a, type: y.v1, fields: [] }', 'MW_POLICY_BAD_VALUE', '[]'],
    [
      'bad window',
      '{ id: d, agent: a, type: y.v1, fields: [/n], window: soon }',
      'MW_POLICY_BAD_DURATION',
      'soon',
    ],
    [
      'bad baseline',
      '{ id: d, agent: a, type: y.v1, fields: [/n], baseline: last }',
      'MW_POLICY_BAD_VALUE',
      'last',
    ],
    [
      'bad action',
      '{ id: d, agent: a, type: y.v1, fields: [/n], action: page }',
      'MW_POLICY_BAD_VALUE',
      'page',
    ],
    [
      'zero threshold',
      '{ id: d, agent: a, type: y.v1, fields: [/n], threshold: 0 }',
      'MW_POLICY_BAD_VALUE',
      '0 }',
    ],
    ['reserved id', '{ id: loop, agent: a, type: y.v1, fields: [/n] }', 'MW_POLICY_RESERVED_ID', 'loop'],
    [
      'unknown key',
      '{ id: d, agent: a, type: y.v1, fields: [/n], field: /n }',
      'MW_POLICY_UNKNOWN_KEY',
      'field:',
    ],
  ])('%s', (_name, item, code, needle) => {
    const line = `  - ${item}`;
    const lines = [...BASE, 'drift:', line];
    expect(issuesOf(compile(lines))).toEqual([[code, lines.length, line.indexOf(needle) + 1]]);
  });

  it('echoes the threshold given when it is not above 0', () => {
    const lines = [...BASE, 'drift:', '  - { id: d, agent: a, type: y.v1, fields: [/n], threshold: -0.5 }'];
    const result = compile(lines);
    const messages = result.ok ? [] : result.issues.map((i) => i.message);
    expect(messages).toEqual([expect.stringContaining('threshold is -0.5, but must be above 0')]);
  });

  it('refuses an id another rule uses (its breaker shares the id)', () => {
    const lines = [
      ...BASE,
      'breakers:',
      '  - { id: d, scope: agent, when: { count: y.v1, over: 5, window: 1h } }',
      'drift:',
      '  - { id: d, agent: a, type: y.v1, fields: [/n] }',
    ];
    const result = compile(lines);
    expect(issuesOf(result)).toEqual([['MW_POLICY_DUPLICATE_ID', lines.length, 11]]);
    expect(result.ok ? '' : result.issues[0]!.message).toContain(
      'ids of limits, budgets, breakers, approvals and drift monitors must be unique',
    );
  });
});
