import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { compilePredicate } from './cel.js';
import { checkPredicateTypes } from './cel-check.js';
import { BASE, compileLines } from './test-kit.js';

const SCHEMAS = new Map<string, unknown>([
  [
    'rec.do',
    {
      type: 'object',
      properties: {
        n: { type: 'integer' },
        note: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
      },
      additionalProperties: false,
    },
  ],
  [
    'credit.issue',
    {
      type: 'object',
      properties: {
        amount: { type: 'number' },
        lines: { type: 'array', items: { $ref: '#/$defs/line' } },
      },
      $defs: { line: { type: 'object', properties: { price: { type: 'number' } } } },
    },
  ],
  ['any.v1', { type: 'object' }],
  [
    'nested.v1',
    {
      type: 'object',
      properties: {
        items: {
          type: 'array',
          items: { type: 'object', properties: { sku: { type: 'string' } }, additionalProperties: false },
        },
        prices: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { eur: { type: 'number' } } },
        },
        'odd-name': { type: 'string' },
      },
    },
  ],
]);

/** What a real message of that type gives at run time: the proof the check is sound. */
function runtime(source: string, type: string, data: Envelope['data']): boolean | Error {
  const compiled = compilePredicate(source);
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.test({ type, hop: 2, subject: 'account:1', data } as unknown as Envelope);
}

describe('checkPredicateTypes: certain failures are found before anything runs', () => {
  it.each([
    // [source, failing types, where (0-based offset), message for the runtime proof]
    ['msg.type == "rec.do" && msg.data.n % 50 == 7', ['rec.do'], 24, { n: 57 }],
    ['msg.type == "rec.do" && msg.data.nope > 1', ['rec.do'], 33, { n: 1 }],
    ['msg.type == "rec.do" && msg.data.note > 1', ['rec.do'], 24, { note: 'x' }],
    ['msg.type == "rec.do" && msg.data.n', ['rec.do'], 0, { n: 1 }],
    ['msg.type == "rec.do" && !msg.data.note', ['rec.do'], 24, { note: 'x' }],
    ['msg.type in ["rec.do"] && msg.data.note.startsWith(1)', ['rec.do'], 26, { note: 'x' }],
    ['msg.hop % 2 == 0', ['rec.do', 'credit.issue', 'any.v1', 'nested.v1'], 0, { n: 1 }],
    [
      'msg.type == "nested.v1" && msg.data.items.exists(i, i.price > 1)',
      ['nested.v1'],
      54,
      { items: [{ sku: 'a' }] },
    ],
    [
      'msg.type == "nested.v1" && msg.data.prices.shop.eur % 2 == 0',
      ['nested.v1'],
      27,
      { prices: { shop: { eur: 2 } } },
    ],
    ['msg.type == "nested.v1" && msg.data["odd-name"] > 1', ['nested.v1'], 27, { 'odd-name': 'x' }],
  ] as const)('%s', (source, types, offset, data) => {
    const report = checkPredicateTypes(source, SCHEMAS);
    expect(report.error).toMatchObject({ types, offset });
    expect(runtime(source, types[0], data)).toBeInstanceOf(Error);
  });

  it('hints int(...) for % on a JSON number', () => {
    const report = checkPredicateTypes('msg.type == "rec.do" && msg.data.n % 50 == 7', SCHEMAS);
    expect(report.error?.hint).toContain('int(msg.data.n) % 50');
    expect(runtime('msg.type == "rec.do" && int(msg.data.n) % 50 == 7', 'rec.do', { n: 57 })).toBe(true);
  });

  it('names the fields a closed contract allows', () => {
    const report = checkPredicateTypes('msg.type == "rec.do" && msg.data.nope > 1', SCHEMAS);
    expect(report.error?.hint).toContain('n, note, tags');
  });

  it('warns when it fails on some types it can see, not all', () => {
    const report = checkPredicateTypes('msg.data.nope > 1', SCHEMAS);
    expect(report.error).toBeUndefined();
    expect(report.warning).toMatchObject({ types: ['rec.do'] });
    expect(report.seen).toEqual(['rec.do', 'credit.issue', 'any.v1', 'nested.v1']);
  });

  it('finds type names the mesh does not use', () => {
    const report = checkPredicateTypes('msg.type == "rec.dot" || "x.v9" == msg.type', SCHEMAS);
    expect(report.unknownTypes).toEqual([
      { name: 'rec.dot', offset: 12 },
      { name: 'x.v9', offset: 25 },
    ]);
  });
});

describe('checkPredicateTypes: never refuses what works at run time', () => {
  it.each([
    ['msg.type == "rec.do" && int(msg.data.n) % 50 == 7', 'rec.do', { n: 57 }],
    ['msg.type == "rec.do" && msg.data.n > 50', 'rec.do', { n: 57 }],
    ['msg.type == "rec.do" && msg.data.n + 1 > 50.5', 'rec.do', { n: 57 }],
    ['msg.type == "rec.do" && has(msg.data.nope) == false', 'rec.do', { n: 1 }],
    ['msg.type == "rec.do" && size(msg.data) == 1', 'rec.do', { n: 1 }],
    ['msg.type == "rec.do" && "n" in msg.data', 'rec.do', { n: 1 }],
    ['msg.type == "rec.do" && msg.data.exists(k, k == "n")', 'rec.do', { n: 1 }],
    ['msg.type == "rec.do" && msg.data.n == 1', 'rec.do', { n: 1 }],
    ['msg.type == "rec.do" && "b" in msg.data.tags', 'rec.do', { tags: ['a', 'b'] }],
    [
      'msg.type == "credit.issue" && msg.data.lines.exists(l, l.price > 10)',
      'credit.issue',
      { lines: [{ price: 12 }] },
    ],
    ['msg.type == "credit.issue" && msg.data.other == "x"', 'credit.issue', { other: 'x' }],
    ['msg.type == "any.v1" && msg.data.whatever % 2 == 0', 'any.v1', { whatever: 4n as unknown as number }],
    // Each branch is checked against the types that reach it.
    [
      '(msg.type == "rec.do" && msg.data.n > 5) || (msg.type == "credit.issue" && msg.data.amount > 5.0)',
      'credit.issue',
      { amount: 6 },
    ],
    ['msg.type != "rec.do" && msg.data.amount > 1', 'credit.issue', { amount: 6 }],
    ['msg.type == "rec.do" ? int(msg.data.n) % 2 == 1 : msg.data.amount > 1', 'credit.issue', { amount: 6 }],
    ['msg.subject.startsWith("account:") || msg.hop > 3', 'any.v1', {}],
    // A guarded read of a field a closed contract cannot have is never evaluated.
    ['has(msg.data.amount) && msg.data.amount > 50', 'rec.do', { n: 1 }],
    ['"amount" in msg.data && msg.data.amount > 50', 'rec.do', { n: 1 }],
    ['has(msg.data.amount) ? msg.data.amount > 50 : false', 'rec.do', { n: 1 }],
  ] as const)('%s', (source, type, data) => {
    const report = checkPredicateTypes(source, SCHEMAS);
    expect(report.error).toBeUndefined();
    expect(report.warning).toBeUndefined();
    expect(runtime(source, type, data as Envelope['data'])).not.toBeInstanceOf(Error);
  });
});

describe('compilePredicate: syntax slips get a hint', () => {
  it.each([
    ['msg.data.n = 5', 11, '=='],
    ['msg.data.n === 5', 13, '=='],
    ['msg.data.n == 5 & msg.hop > 1', 16, '&&'],
    ['msg.data.n == 5 and msg.hop > 1', 16, '&&'],
  ])('%s', (source, offset, fix) => {
    const compiled = compilePredicate(source);
    expect(compiled).toMatchObject({ ok: false, offset });
    expect(compiled.ok === false && compiled.hint).toContain(fix);
  });
});

describe('compilePolicy: predicates are checked against the contracts, at file:line:col', () => {
  const X = JSON.stringify({
    type: 'object',
    properties: { n: { type: 'integer' } },
    additionalProperties: false,
  });
  const compileWith = (extra: string[]) => compileLines([...BASE, 'approvals:', ...extra], { 'x.v1': X });
  const at = (lines: string[], line: number, needle: string) => ({
    line,
    col: lines[line - 10]!.indexOf(needle) + 1,
  });

  it.each([
    [
      'an int-only operator on a JSON number',
      [`  - { id: p, when: 'msg.type == "x.v1" && msg.data.n % 50 == 7', timeout: 1h }`],
      'MW_POLICY_CEL_TYPE',
      10,
      'msg.data.n %',
      'int(msg.data.n) % 50',
    ],
    [
      'a field a closed contract cannot have, in a block scalar',
      [
        '  - id: p',
        '    when: |',
        '      msg.type == "x.v1" &&',
        '        msg.data.nope > 1',
        '    timeout: 1h',
      ],
      'MW_POLICY_CEL_TYPE',
      13,
      'nope',
      'allows only n',
    ],
    [
      'a type no part of the mesh uses',
      [`  - { id: p, when: 'msg.type == "x.v2" && msg.data.n > 1', timeout: 1h }`],
      'MW_POLICY_UNKNOWN_REFERENCE',
      10,
      '"x.v2"',
      'x.v2',
    ],
    [
      'a lone =',
      [`  - { id: p, when: 'msg.type == "x.v1" && msg.data.n = 1', timeout: 1h }`],
      'MW_POLICY_BAD_CEL',
      10,
      '= 1',
      '==',
    ],
  ])('%s', (_name, extra, code, line, needle, says) => {
    const result = compileWith(extra);
    expect(result.ok).toBe(false);
    const issues = result.ok ? [] : result.issues;
    expect(issues).toEqual([expect.objectContaining({ code, ...at(extra, line, needle) })]);
    expect(issues[0]?.message).toContain(says);
  });

  it.each([
    [
      'double quotes with escapes',
      ['  - id: p', '    when: "msg.type == \\"x.v1\\" && msg.data.n % 2 == 0"', '    timeout: 1h'],
      11,
    ],
    [
      'a folded block',
      [
        '  - id: p',
        '    when: >-',
        '      msg.type == "x.v1" &&',
        '      msg.data.n % 2 == 0',
        '    timeout: 1h',
      ],
      13,
    ],
    [
      'a plain scalar over two lines',
      ['  - id: p', '    when: msg.type == "x.v1" &&', '      msg.data.n % 2 == 0', '    timeout: 1h'],
      12,
    ],
  ])('points into %s', (_name, extra, line) => {
    const result = compileWith(extra);
    const issues = result.ok ? [] : result.issues;
    expect(issues).toEqual([
      expect.objectContaining({ code: 'MW_POLICY_CEL_TYPE', ...at(extra, line, 'msg.data.n %') }),
    ]);
  });

  it('warns, and compiles, when the predicate fails on some of the types it can see', () => {
    const extra = ["  - { id: p, when: 'msg.data.nope > 1', timeout: 1h }"];
    const result = compileWith(extra);
    expect(result.ok).toBe(true);
    const warnings = result.ok ? result.warnings : [];
    expect(warnings).toContainEqual(
      expect.objectContaining({ code: 'MW_POLICY_CEL_TYPE_SOME', ...at(extra, 10, 'nope') }),
    );
  });
});
