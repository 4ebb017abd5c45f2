import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { BASE, compileLines, policyOf } from './test-kit.js';

const MIN = 60_000;
const HOUR = 3_600_000;

describe('compiled policy: defaults', () => {
  const policy = policyOf(BASE);

  it.each([
    ['partitions', policy.partitions, 1],
    [
      'loop guard',
      policy.guards.loop,
      { maxHops: 8, maxRepeats: 1, echoWindowMs: 24 * HOUR, echoMinLength: 16, action: 'freeze' },
    ],
    ['envelope guard', policy.guards.envelope, { maxBytes: 65_536, dedupeWindowMs: 10 * MIN }],
    ['limits', policy.limits, []],
    ['budgets', policy.budgets, []],
    ['breakers', policy.breakers, []],
    ['approvals', policy.approvals, []],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('resolves modules against the mesh file and defaults the lists', () => {
    expect(policy.agents.get('a')).toEqual({
      name: 'a',
      version: '1.0.0',
      module: '/mesh/a.ts',
      consumes: ['x.v1'],
      emits: ['y.v1'],
      effects: [],
    });
    expect(policy.agents.get('b')?.url).toBe('https://b.example.com/agent');
    expect(policy.effects.get('pay.send')).toEqual({ name: 'pay.send', module: '/mesh/pay.ts' });
    expect(policy.ingress.get('in')).toEqual({ name: 'in', emits: ['x.v1'] });
    expect([...policy.contracts.keys()].sort()).toEqual(['pay.send', 'x.v1', 'y.v1']);
    expect(policy.file).toBe('/mesh/mesh.yaml');
  });
});

describe('compiled policy: every key set', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const policy = policyOf([
    ...BASE.slice(0, 4),
    `  c: { version: 3.0.0-rc.1, a2a: "https://c.example.com/.well-known/agent.json", consumes: [y.v1], publicKey: ${JSON.stringify(pem)} }`,
    ...BASE.slice(4),
    'partitions: 4',
    'guards:',
    '  loop: { maxHops: 4, maxRepeats: 0, echoWindow: 7d, echoMinLength: 12, action: deny }',
    '  envelope: { maxBytes: 1024, dedupeWindow: 500ms }',
    'limits:',
    '  - { id: l1, scope: agent, rate: 3/s, burst: 10, match: { type: y.v1, source: a, target: b } }',
    '  - { id: l2, scope: edge, rate: 100/h }',
    'budgets:',
    '  - { id: q, scope: mesh, type: y.v1, field: /order/a~1b, max: 2.5, window: 1d }',
    'breakers:',
    '  - { id: k, scope: agent, when: { count: pay.send, over: 0, window: 10m }, action: deny, cooldown: 30m }',
    '  - { id: k2, scope: edge, when: { count: y.v1, over: 5, window: 30s } }',
    'approvals:',
    "  - { id: p, when: 'msg.data.amount > 50', timeout: 15min, onTimeout: deliver }",
  ]);

  it.each([
    ['partitions', policy.partitions, 4],
    [
      'loop guard',
      policy.guards.loop,
      { maxHops: 4, maxRepeats: 0, echoWindowMs: 7 * 24 * HOUR, echoMinLength: 12, action: 'deny' },
    ],
    ['envelope guard', policy.guards.envelope, { maxBytes: 1024, dedupeWindowMs: 500 }],
    [
      'limits',
      policy.limits,
      [
        {
          id: 'l1',
          scope: 'agent',
          intervalMs: 1000 / 3,
          burst: 10,
          rate: '3/s',
          match: { type: 'y.v1', source: 'a', target: 'b' },
        },
        { id: 'l2', scope: 'edge', intervalMs: 36_000, burst: 100, rate: '100/h' },
      ],
    ],
    [
      'budgets',
      policy.budgets,
      [
        {
          id: 'q',
          scope: 'mesh',
          type: 'y.v1',
          field: '/order/a~1b',
          fieldPath: ['order', 'a/b'],
          max: 2.5,
          windowMs: 24 * HOUR,
        },
      ],
    ],
    [
      'breakers',
      policy.breakers,
      [
        {
          id: 'k',
          scope: 'agent',
          count: 'pay.send',
          over: 0,
          windowMs: 10 * MIN,
          action: 'deny',
          cooldownMs: 30 * MIN,
        },
        { id: 'k2', scope: 'edge', count: 'y.v1', over: 5, windowMs: 30_000, action: 'freeze' },
      ],
    ],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('keeps the approval source and compiles its predicate', () => {
    const [approval] = policy.approvals;
    expect(approval).toMatchObject({
      id: 'p',
      when: 'msg.data.amount > 50',
      timeoutMs: 15 * MIN,
      onTimeout: 'deliver',
    });
    expect(approval?.test({ data: { amount: 51 } } as unknown as Envelope)).toBe(true);
    expect(approval?.test({ data: { amount: 50 } } as unknown as Envelope)).toBe(false);
  });

  it('keeps the public key and the a2a card', () => {
    expect(policy.agents.get('c')).toMatchObject({
      a2a: 'https://c.example.com/.well-known/agent.json',
      publicKey: pem,
    });
    expect(policy.consumers.get('y.v1')).toEqual(['b', 'c']);
  });
});

describe('compiled policy: failure breakers', () => {
  it('compiles failures and dead letters of an effect or an agent', () => {
    const policy = policyOf([
      ...BASE,
      'breakers:',
      '  - { id: f1, scope: entity, when: { failures: pay.send, over: 2, window: 10m } }',
      '  - { id: f2, scope: agent, when: { deadLetters: a, over: 0, window: 1h }, action: deny, cooldown: 5m }',
    ]);
    expect(policy.breakers).toEqual([
      {
        id: 'f1',
        scope: 'entity',
        count: 'pay.send',
        failures: { kind: 'failures', worker: 'effect:pay.send' },
        over: 2,
        windowMs: 10 * MIN,
        action: 'freeze',
      },
      {
        id: 'f2',
        scope: 'agent',
        count: 'a',
        failures: { kind: 'deadLetters', worker: 'a' },
        over: 0,
        windowMs: HOUR,
        action: 'deny',
        cooldownMs: 5 * MIN,
      },
    ]);
  });

  it('refuses a name that is both an agent and an effect', () => {
    const lines = [
      ...BASE.slice(0, 4),
      '  pay.send: { version: 1.0.0, module: ./p.ts, consumes: [y.v1] }',
      ...BASE.slice(4),
      'breakers:',
      '  - { id: f, scope: mesh, when: { failures: pay.send, over: 1, window: 1m } }',
    ];
    const result = compileLines(lines);
    const issues = result.ok ? [] : result.issues.map((i) => [i.code, i.line, i.col]);
    expect(issues).toEqual([['MW_POLICY_AMBIGUOUS_NAME', 11, lines[10]!.indexOf('pay.send') + 1]]);
  });
});

describe('compiled policy: warnings', () => {
  it.each([
    ['an effect without an executor', ['  pay.send: {}'], 'MW_POLICY_NO_EXECUTOR', 6, 3],
    ['an effect with nothing after its key', ['  pay.send:'], 'MW_POLICY_NO_EXECUTOR', 6, 3],
  ])('%s', (_name, effectLine, code, line, col) => {
    const result = compileLines([...BASE.slice(0, 5), ...effectLine, ...BASE.slice(6)]);
    expect(result.ok && result.warnings.map((w) => [w.code, w.line, w.col])).toEqual([[code, line, col]]);
  });

  it('warns about a type nobody consumes', () => {
    const lines = [...BASE, '  web: { emits: [z.v1] }'];
    const result = compileLines(lines);
    expect(result.ok && result.warnings.map((w) => [w.code, w.line, w.col])).toEqual([
      ['MW_POLICY_UNCONSUMED', 9, lines[8]!.indexOf('z.v1') + 1],
    ]);
  });
});

describe('compiled policy: digest', () => {
  const digest = (lines: readonly string[], contracts?: Record<string, string>) =>
    policyOf(lines, contracts).digest;
  const base = digest(BASE);

  it.each<[string, readonly string[], Record<string, string>]>([
    ['a changed value', [...BASE, 'partitions: 2'], {}],
    ['a changed contract', BASE, { 'x.v1': '{ "type": "object", "required": ["a"] }' }],
  ])('changes with %s', (_name, lines, contracts) => {
    expect(digest(lines, contracts)).not.toBe(base);
  });

  it('is stable, and formatting and comments do not change it', () => {
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digest(BASE)).toBe(base);
    expect(digest(['# a comment', ...BASE.map((l) => l.replace(', ', ',  '))])).toBe(base);
  });
});

describe('compiled policy: the partition count', () => {
  it('reads cluster.partitions as the count, where a distributed mesh writes it', () => {
    const result = compileLines([...BASE, 'cluster: { partitions: 16 }']);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.policy.partitions).toBe(16);
    expect(result.policy.partitionsAt?.line).toBe(BASE.length + 1);
  });
});

describe('compiled policy: shares of partitions', () => {
  const warnings = (lines: readonly string[]) => {
    const result = compileLines([...BASE, ...lines]);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    return result.warnings.map((w) => [w.code, w.line]);
  };

  it('warns of a breaker whose share of over rounds down to 0, at its over', () => {
    expect(
      warnings([
        'partitions: 4',
        'breakers:',
        '  - { id: k, scope: mesh, when: { count: y.v1, over: 3, window: 1m } }',
        '  - { id: e, scope: entity, when: { count: y.v1, over: 1, window: 1m } }',
        '  - { id: m, scope: agent, when: { count: y.v1, over: 4, window: 1m } }',
      ]),
    ).toEqual([['MW_POLICY_EMPTY_SHARE', BASE.length + 3]]);
  });

  it('says nothing with one partition', () => {
    expect(
      warnings(['breakers:', '  - { id: k, scope: mesh, when: { count: y.v1, over: 0, window: 1m } }']),
    ).toEqual([]);
  });
});
