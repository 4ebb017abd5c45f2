import { describe, expect, it } from 'vitest';
import { compileContract } from './compile.js';
import type { Contract } from './types.js';

const CREDIT = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['amount', 'currency'],
  properties: {
    amount: { type: 'number', exclusiveMinimum: 0 },
    currency: { enum: ['EUR', 'USD'] },
    lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
    email: { type: 'string', format: 'email' },
  },
  additionalProperties: false,
};

function credit(): Contract {
  const result = compileContract('credit.issue', CREDIT);
  if (!result.ok) throw new Error('the test schema must compile');
  return result.contract;
}

describe('compileContract: validation', () => {
  it('accepts a valid payload with no issues', () => {
    expect(credit().validate({ amount: 25, currency: 'EUR' })).toEqual([]);
  });

  it.each([
    ['wrong type', { amount: 'x', currency: 'EUR' }, [['amount'], 'type']],
    ['missing property', { amount: 1 }, [[], 'required']],
    ['extra property', { amount: 1, currency: 'EUR', bonus: 1 }, [[], 'additionalProperties']],
    ['enum', { amount: 1, currency: 'GBP' }, [['currency'], 'enum']],
    [
      'array index',
      { amount: 1, currency: 'EUR', lines: [{ sku: 'a' }, { sku: 2 }] },
      [['lines', 1, 'sku'], 'type'],
    ],
    ['format', { amount: 1, currency: 'EUR', email: 'nope' }, [['email'], 'format']],
    ['exclusiveMinimum', { amount: 0, currency: 'EUR' }, [['amount'], 'exclusiveMinimum']],
    ['not an object', 'text', [[], 'type']],
  ] as const)('%s', (_name, data, [path, keyword]) => {
    const issues = credit().validate(data);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'MW_CONTRACT_VIOLATION', path, keyword });
  });

  it('reports every violation (allErrors)', () => {
    const issues = credit().validate({ amount: -1, currency: 'GBP', bonus: true });
    expect(issues.map((i) => i.keyword).sort()).toEqual(['additionalProperties', 'enum', 'exclusiveMinimum']);
  });

  it('reuses the compiled validator and never throws on odd data', () => {
    const contract = credit();
    for (const data of [undefined, null, Number.NaN, [], { amount: Infinity, currency: 'EUR' }]) {
      expect(() => contract.validate(data)).not.toThrow();
    }
  });
});

describe('compileContract: invalid schemas', () => {
  it.each([
    ['not an object', [], [[], 'type']],
    ['bad type name', { type: 'objekt' }, [['type'], 'enum']],
    [
      'bad nested keyword value',
      { properties: { a: { minimum: 'x' } } },
      [['properties', 'a', 'minimum'], 'type'],
    ],
    [
      'unknown keyword',
      { type: 'object', properties: { a: { requried: ['x'] } } },
      [['properties', 'a', 'requried'], 'compile'],
    ],
    ['unresolvable $ref', { $ref: 'http://example.com/other.json' }, [[], 'compile']],
    ['another dialect', { $schema: 'http://json-schema.org/draft-07/schema#' }, [['$schema'], 'const']],
  ] as const)('%s', (_name, schema, [path, keyword]) => {
    const result = compileContract('x.v1', schema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ code: 'MW_CONTRACT_INVALID_SCHEMA', path, keyword });
  });

  it('compiles two contracts that share an $id independently', () => {
    const schema = { $id: 'https://example.com/s.json', type: 'object' };
    expect(compileContract('a.v1', schema).ok).toBe(true);
    expect(compileContract('b.v1', schema).ok).toBe(true);
  });
});
