import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PolicyLoadResult } from './issues.js';
import { BASE, compileLines as compile } from './test-kit.js';

/** [code, line, col] of every issue: `needle` is found on `line` to give the column. */
function issuesOf(result: PolicyLoadResult): [string, number, number][] {
  return result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);
}

function where(lines: readonly string[], line: number, needle: string): [number, number] {
  const col = lines[line - 1]!.indexOf(needle);
  if (col < 0) throw new Error(`"${needle}" is not on line ${line}`);
  return [line, col + 1];
}

type Case = [name: string, extra: string[], expected: [code: string, line: number, needle: string][]];

describe('compilePolicy reports each mistake where it is written', () => {
  it.each<Case>([
    [
      'unknown key, with a suggestion',
      ['guards:', '  loop: { maxHop: 3 }'],
      [['MW_POLICY_UNKNOWN_KEY', 10, 'maxHop']],
    ],
    [
      'missing required key',
      ['limits:', '  - { id: l, scope: entity }'],
      [['MW_POLICY_MISSING_KEY', 10, '{']],
    ],
    ['wrong type', ['partitions: two'], [['MW_POLICY_TYPE', 9, 'two']]],
    ['value out of range', ['partitions: 0'], [['MW_POLICY_BAD_VALUE', 9, '0']]],
    ['partitions past the most one process runs', ['partitions: 257'], [['MW_POLICY_BAD_VALUE', 9, '257']]],
    ['partitions not whole', ['partitions: 1.5'], [['MW_POLICY_TYPE', 9, '1.5']]],
    [
      'two partition counts',
      ['partitions: 4', 'cluster: { partitions: 8 }'],
      [['MW_POLICY_BAD_VALUE', 10, '8']],
    ],
    ['enum', ['guards:', '  loop: { action: stop }'], [['MW_POLICY_BAD_VALUE', 10, 'stop']]],
    [
      'echo length below 4',
      ['guards:', '  loop: { echoMinLength: 3 }'],
      [['MW_POLICY_BAD_VALUE', 10, '3 }']],
    ],
    [
      'echo length not whole',
      ['guards:', '  loop: { echoMinLength: 12.5 }'],
      [['MW_POLICY_TYPE', 10, '12.5']],
    ],
    [
      'bad burst',
      ['limits:', '  - { id: l, scope: mesh, rate: 5/s, burst: 0 }'],
      [['MW_POLICY_BAD_VALUE', 10, '0 }']],
    ],
    ['bad rate', ['limits:', '  - { id: l, scope: mesh, rate: 0/s }'], [['MW_POLICY_BAD_RATE', 10, '0/s']]],
    [
      'duration as a number',
      ['guards:', '  envelope: { dedupeWindow: 600 }'],
      [['MW_POLICY_BAD_DURATION', 10, '600']],
    ],
    [
      'zero duration',
      ['approvals:', "  - { id: p, when: 'msg.hop > 1', timeout: 0s }"],
      [['MW_POLICY_BAD_DURATION', 10, '0s']],
    ],
    [
      'CEL type error',
      ['approvals:', '  - { id: p, when: \'1 + "x" == 2\', timeout: 1h }'],
      [['MW_POLICY_BAD_CEL', 10, '1 + "x"']],
    ],
    [
      'CEL pattern that RE2 cannot take (a backreference)',
      ['approvals:', '  - { id: p, when: \'msg.subject.matches("(a)\\\\1")\', timeout: 1h }'],
      [['MW_POLICY_BAD_CEL', 10, '"(a)']],
    ],
    [
      'CEL that is not text',
      ['approvals:', '  - { id: p, when: 5, timeout: 1h }'],
      [['MW_POLICY_BAD_CEL', 10, '5']],
    ],
    [
      'bad pointer',
      ['budgets:', '  - { id: q, scope: entity, effect: pay.send, field: "/a~2", max: 1, window: 1h }'],
      [['MW_POLICY_BAD_POINTER', 10, '"/a~2"']],
    ],
    [
      'budget with effect and type',
      [
        'budgets:',
        '  - { id: q, scope: entity, effect: pay.send, type: x.v1, field: /n, max: 1, window: 1h }',
      ],
      [['MW_POLICY_EXCLUSIVE', 10, '{']],
    ],
    [
      'budget with neither',
      ['budgets:', '  - { id: q, scope: entity, field: /n, max: 1, window: 1h }'],
      [['MW_POLICY_EXCLUSIVE', 10, '{']],
    ],
    [
      'budget of an unknown type',
      ['budgets:', '  - { id: q, scope: entity, type: z.v1, field: /n, max: 1, window: 1h }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 10, 'z.v1']],
    ],
    [
      'limit on an unknown type',
      ['limits:', '  - { id: l, scope: edge, rate: 5/s, match: { type: z.v1 } }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 10, 'z.v1']],
    ],
    [
      'limit on an unknown target',
      ['limits:', '  - { id: l, scope: edge, rate: 5/s, match: { target: in } }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 10, 'in }']],
    ],
    [
      'breaker counting an unknown type',
      ['breakers:', '  - { id: k, scope: mesh, when: { count: z.v1, over: 1, window: 1m } }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 10, 'z.v1']],
    ],
    [
      'breaker counting admissions and failures at once',
      [
        'breakers:',
        '  - { id: k, scope: mesh, when: { count: x.v1, failures: pay.send, over: 1, window: 1m } }',
      ],
      [['MW_POLICY_EXCLUSIVE', 10, '{ count']],
    ],
    [
      'breaker counting nothing',
      ['breakers:', '  - { id: k, scope: mesh, when: { over: 1, window: 1m } }'],
      [['MW_POLICY_EXCLUSIVE', 10, '{ over']],
    ],
    [
      'breaker with a typo in what it counts',
      ['breakers:', '  - { id: k, scope: mesh, when: { failure: pay.send, over: 1, window: 1m } }'],
      [['MW_POLICY_UNKNOWN_KEY', 10, 'failure:']],
    ],
    [
      'breaker counting failures of a message type',
      ['breakers:', '  - { id: k, scope: mesh, when: { deadLetters: x.v1, over: 1, window: 1m } }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 10, 'x.v1']],
    ],
    [
      'breaker counting failures that are not a name',
      ['breakers:', '  - { id: k, scope: mesh, when: { failures: 3, over: 1, window: 1m } }'],
      [['MW_POLICY_TYPE', 10, '3,']],
    ],
    [
      'reserved breaker id',
      ['breakers:', '  - { id: pilot, scope: mesh, when: { count: x.v1, over: 1, window: 1m } }'],
      [['MW_POLICY_RESERVED_ID', 10, 'pilot']],
    ],
    [
      'duplicate id',
      [
        'limits:',
        '  - { id: same, scope: mesh, rate: 5/s }',
        'approvals:',
        "  - { id: same, when: 'msg.hop > 1', timeout: 1h }",
      ],
      [['MW_POLICY_DUPLICATE_ID', 12, 'same']],
    ],
    ['ingress named like an agent', ['  a: { emits: [x.v1] }'], [['MW_POLICY_DUPLICATE_NAME', 9, 'a:']]],
    ['bad agent name', ['  "bad name": { emits: [x.v1] }'], [['MW_POLICY_BAD_NAME', 9, '"bad name"']]],
    ['bad type name', ['  web: { emits: [Ticket.Opened] }'], [['MW_POLICY_BAD_VALUE', 9, 'Ticket']]],
    [
      'an effect sent as a message',
      ['  web: { emits: [pay.send] }'],
      [['MW_POLICY_KIND_CONFLICT', 9, 'pay.send']],
    ],
  ])('%s', (_name, extra, expected) => {
    const lines = [...BASE, ...extra];
    const want = expected.map(([code, line, needle]) => [code, ...where(lines, line, needle)]);
    expect(issuesOf(compile(lines))).toEqual(want);
  });

  it.each<Case>([
    [
      'agent without transport',
      ['  c: { version: 1.0.0, consumes: [y.v1] }'],
      [['MW_POLICY_AGENT_TRANSPORT', 9, 'c:']],
    ],
    ['agent missing its version', ['  c: { module: ./c.ts }'], [['MW_POLICY_MISSING_KEY', 9, 'c:']]],
    ['version written as a number', ['  c: { version: 2, module: ./c.ts }'], [['MW_POLICY_TYPE', 9, '2,']]],
    ['bad URL', ['  c: { version: 1.0.0, url: "not a url" }'], [['MW_POLICY_BAD_VALUE', 9, '"not']]],
    [
      'consumes not a list',
      ['  c: { version: 1.0.0, module: ./c.ts, consumes: y.v1 }'],
      [['MW_POLICY_TYPE', 9, 'y.v1']],
    ],
    [
      'undeclared effect',
      ['  c: { version: 1.0.0, module: ./c.ts, effects: [mail.send] }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 9, 'mail']],
    ],
    [
      'public key that is not PEM',
      ['  c: { version: 1.0.0, module: ./c.ts, publicKey: "abc" }'],
      [['MW_POLICY_BAD_KEY', 9, '"abc"']],
    ],
    [
      'auth on an in-process agent',
      ['  c: { version: 1.0.0, module: ./c.ts, consumes: [x.v1], auth: { env: TOKEN } }'],
      [['MW_POLICY_AUTH_LOCAL', 9, 'auth']],
    ],
    [
      'auth naming no variable',
      [
        '  c: { version: 1.0.0, url: "https://c.example.com", consumes: [x.v1], auth: { env: "not a name" } }',
      ],
      [['MW_POLICY_BAD_VALUE', 9, '"not a name"']],
    ],
    [
      'exposed through an unknown ingress',
      ['  c: { version: 1.0.0, module: ./c.ts, consumes: [x.v1], expose: { via: web } }'],
      [['MW_POLICY_UNKNOWN_REFERENCE', 9, 'web']],
    ],
    [
      'exposed through an ingress that sends it nothing',
      ['  c: { version: 1.0.0, module: ./c.ts, consumes: [y.v1], expose: { via: in } }'],
      [['MW_POLICY_EXPOSED_UNREACHABLE', 9, 'in }']],
    ],
    [
      'exposed without via',
      ['  c: { version: 1.0.0, module: ./c.ts, consumes: [x.v1], expose: {} }'],
      [['MW_POLICY_MISSING_KEY', 9, 'expose']],
    ],
  ])('agents: %s', (_name, extra, expected) => {
    // Agents are added under `agents:`, before `effects:` (line 5).
    const lines = [...BASE.slice(0, 4), ...extra, ...BASE.slice(4)];
    const want = expected.map(([code, , needle]) => [code, ...where(lines, 5, needle)]);
    expect(issuesOf(compile(lines))).toEqual(want);
  });

  it.each([
    ['empty file', [''], [['MW_POLICY_TYPE', 1, 1]]],
    ['a list', ['- a'], [['MW_POLICY_TYPE', 1, 1]]],
    ['no mesh name', ['agents: {}'], [['MW_POLICY_MISSING_KEY', 1, 1]]],
    [
      'YAML syntax errors',
      ['mesh: m', 'agents:', '  a: { version: 1.0.0 }', '  a: { version: 2.0.0 }', 'limits: [1, 2'],
      [
        ['MW_POLICY_PARSE', 4, 3],
        ['MW_POLICY_PARSE', 5, 14],
      ],
    ],
  ])('document: %s', (_name, lines, expected) => {
    expect(issuesOf(compile(lines))).toEqual(expected);
  });

  it('reports an RSA public key', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const lines = [
      ...BASE.slice(0, 2),
      `  a: { version: 1.0.0, module: ./a.ts, emits: [x.v1], publicKey: ${JSON.stringify(pem)} }`,
    ];
    expect(issuesOf(compile(lines))).toEqual([
      ['MW_POLICY_BAD_KEY', 3, lines[2]!.indexOf('publicKey: ') + 12],
    ]);
  });
});

it('compiles a credential as a header, Authorization: Bearer unless told', () => {
  const lines = [
    ...BASE.slice(0, 4),
    '  c: { version: 1.0.0, url: "https://c.example.com", consumes: [x.v1], auth: { env: C_TOKEN } }',
    '  d: { version: 1.0.0, a2a: "https://d.example.com", consumes: [x.v1], auth: { env: D_KEY, header: X-Api-Key } }',
    ...BASE.slice(4),
  ];
  const result = compile(lines);
  expect(result.ok && result.policy.agents.get('c')?.auth).toEqual({
    env: 'C_TOKEN',
    header: 'Authorization',
    scheme: 'Bearer',
  });
  expect(result.ok && result.policy.agents.get('d')?.auth).toEqual({ env: 'D_KEY', header: 'X-Api-Key' });
});

it('compiles an exposed agent with the ingress its callers send through', () => {
  const lines = [
    ...BASE.slice(0, 4),
    '  c: { version: 1.0.0, module: ./c.ts, consumes: [x.v1], expose: { via: in } }',
    ...BASE.slice(4),
  ];
  const result = compile(lines);
  expect(result.ok && result.policy.agents.get('c')?.expose).toEqual({ via: 'in' });
});

describe('compilePolicy: contracts', () => {
  it.each([
    [
      'missing, at the first mention',
      { 'x.v1': undefined },
      [['MW_POLICY_MISSING_CONTRACT', 'mesh.yaml', ...where(BASE, 3, 'x.v1')]],
    ],
    [
      'not JSON',
      { 'y.v1': '{\n  "type": "object",\n}' },
      [['MW_POLICY_CONTRACT_JSON', 'contracts/y.v1.json', 3, 1]],
    ],
    ['not an object', { 'pay.send': '[]' }, [['MW_POLICY_CONTRACT_SCHEMA', 'contracts/pay.send.json', 1, 1]]],
    [
      'a member name given twice, which JSON.parse would keep only the last of',
      { 'x.v1': '{\n  "type": "object",\n  "maxProperties": 1,\n  "maxProperties": 9\n}' },
      [['MW_POLICY_CONTRACT_JSON', 'contracts/x.v1.json', 3, 3]],
    ],
    [
      'unknown keyword, at its key',
      { 'x.v1': '{\n  "type": "object",\n  "requried": ["a"]\n}' },
      [['MW_POLICY_CONTRACT_SCHEMA', 'contracts/x.v1.json', 3, 3]],
    ],
    [
      // At the bracket that opens level 129: after 64 pairs of 19 characters, on line 2.
      'nested 3000 levels deep, at the bracket past the limit',
      { 'x.v1': `\n${'{"properties":{"a":'.repeat(1500)}{}${'}}'.repeat(1500)}` },
      [['MW_POLICY_CONTRACT_TOO_DEEP', 'contracts/x.v1.json', 2, 64 * 19 + 1]],
    ],
  ] as const)('%s', (_name, contracts, expected) => {
    const result = compile(BASE, contracts);
    expect(result.ok ? [] : result.issues.map((i) => [i.code, i.file, i.line, i.col])).toEqual(expected);
  });

  it('refuses a pattern that may backtrack exponentially, warns of one that may take quadratic time, at each', () => {
    const schema = [
      '{',
      '  "type": "object",',
      '  "properties": {',
      '    "slug": { "type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$" },',
      '    "words": { "type": "string", "pattern": "^(\\\\w+\\\\s?){1,30}$" },',
      '    "name": { "type": "string", "pattern": "^\\\\p{L}+$" },',
      '    "pattern": { "const": { "pattern": "^(a+){2,20}$" } }',
      '  },',
      '  "patternProperties": { "^(?:x|xy){1,20}$": {} }',
      '}',
    ].join('\n');
    const result = compile(BASE, { 'x.v1': schema });
    const at = (
      issues: readonly { code: string; file: string; line: number; pointer: string }[],
      code: string,
    ) => issues.filter((i) => i.code === code).map((i) => [i.file, i.line, i.pointer]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(at(result.issues, 'MW_POLICY_PATTERN_BACKTRACKS')).toEqual([
      ['contracts/x.v1.json', 5, '/properties/words/pattern'],
      ['contracts/x.v1.json', 9, '/patternProperties/^(?:x|xy){1,20}$'],
    ]);
    expect(at(result.warnings ?? [], 'MW_POLICY_PATTERN_SLOW')).toEqual([
      ['contracts/x.v1.json', 6, '/properties/name/pattern'],
    ]);
  });
});
