import { describe, expect, it } from 'vitest';
import { compileContract, MAX_SCHEMA_DEPTH } from './compile.js';
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
    ['a vendor keyword (strict)', { type: 'object', xFoo: 1 }, [['xFoo'], 'compile']],
    // Ajv 8 does not implement $anchor: docs/policy.md says to point into $defs instead.
    [
      '$anchor',
      { $defs: { m: { $anchor: 'money' } }, $ref: '#money' },
      [['$defs', 'm', '$anchor'], 'compile'],
    ],
    ['another dialect', { $schema: 'http://json-schema.org/draft-07/schema#' }, [['$schema'], 'const']],
  ] as const)('%s', (_name, schema, [path, keyword]) => {
    const result = compileContract('x.v1', schema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ code: 'MW_CONTRACT_INVALID_SCHEMA', path, keyword });
  });

  it.each([
    [3001, false],
    [MAX_SCHEMA_DEPTH + 1, false],
    [MAX_SCHEMA_DEPTH - 1, true],
  ])(
    'a schema %i levels deep: refused before Ajv walks it, at the first place too deep, unless within the limit (ok: %s)',
    (levels, ok) => {
      // {"properties":{"a": … {} … }}: two levels a pair, and the innermost {}.
      const pairs = (levels - 1) / 2;
      const schema = JSON.parse(`${'{"properties":{"a":'.repeat(pairs)}{}${'}}'.repeat(pairs)}`);
      const result = compileContract('x.v1', schema);
      expect(result.ok).toBe(ok);
      if (result.ok) return;
      expect(result.issues).toHaveLength(1);
      expect(result.issues[0]).toMatchObject({ code: 'MW_CONTRACT_INVALID_SCHEMA', keyword: 'depth' });
      // Level 129 is the object under 64 pairs of "properties"/"a".
      expect(result.issues[0]!.path).toEqual(Array.from({ length: 64 }, () => ['properties', 'a']).flat());
    },
  );

  it('compiles two contracts that share an $id independently', () => {
    const schema = { $id: 'https://example.com/s.json', type: 'object' };
    expect(compileContract('a.v1', schema).ok).toBe(true);
    expect(compileContract('b.v1', schema).ok).toBe(true);
  });
});

describe('compileContract: draft-07, for the input schemas of MCP tools', () => {
  // What a server built with the v1 SDK lists for `{ amount: z.number(), n: z.number().int().positive() }`.
  const V1_TOOL = {
    type: 'object',
    properties: { amount: { type: 'number' }, n: { type: 'integer', exclusiveMinimum: 0 } },
    required: ['amount', 'n'],
    $schema: 'http://json-schema.org/draft-07/schema#',
  };

  it.each([
    ['valid', { amount: 5, n: 1 }, []],
    ['wrong type', { amount: 'x', n: 1 }, [[['amount'], 'type']]],
    ['exclusiveMinimum', { amount: 5, n: 0 }, [[['n'], 'exclusiveMinimum']]],
    ['missing property', { amount: 5 }, [[[], 'required']]],
  ] as const)('validates with draft-07 when allowed: %s', (_name, data, expected) => {
    const result = compileContract('refund', V1_TOOL, { tool: true });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.contract.validate(data).map((i) => [i.path, i.keyword])).toEqual(expected);
  });

  it.each([
    [
      'definitions and $ref',
      { definitions: { n: { type: 'number' } }, properties: { a: { $ref: '#/definitions/n' } } },
    ],
    ['without the #', { $schema: 'http://json-schema.org/draft-07/schema', type: 'object' }],
  ])('compiles draft-07 %s', (_name, schema) => {
    expect(
      compileContract('t', { $schema: 'http://json-schema.org/draft-07/schema#', ...schema }, { tool: true })
        .ok,
    ).toBe(true);
  });

  it.each([
    ['draft-07 not allowed', V1_TOOL, {}, [['$schema'], 'const']],
    [
      'draft-04 even when draft-07 is',
      { $schema: 'http://json-schema.org/draft-04/schema#' },
      { tool: true },
      [['$schema'], 'const'],
    ],
    [
      'a mistake in a draft-07 schema',
      { ...V1_TOOL, properties: { a: { type: 'numbr' } } },
      { tool: true },
      [['properties', 'a', 'type'], 'enum'],
    ],
  ] as const)('refuses %s', (_name, schema, opts, [path, keyword]) => {
    const result = compileContract('t', schema, opts);
    expect(result.ok ? [] : result.issues[0]).toMatchObject({
      code: 'MW_CONTRACT_INVALID_SCHEMA',
      path,
      keyword,
    });
  });

  it("ignores a tool schema's vendor keywords, which contract files may not have", () => {
    const vendor = { type: 'object', 'x-order': ['amount'], properties: { amount: { type: 'number' } } };
    const tool = compileContract('t', vendor, { tool: true });
    expect(tool.ok && tool.contract.validate({ amount: 'x' }).map((i) => i.keyword)).toEqual(['type']);
    expect(compileContract('t', vendor).ok).toBe(false);
  });

  it('still reads a tool schema without $schema as 2020-12', () => {
    const result = compileContract('t', { prefixItems: [{ type: 'number' }] }, { tool: true });
    expect(result.ok && result.contract.validate(['x']).map((i) => i.keyword)).toEqual(['type']);
  });
});

describe('schemaPointer', () => {
  it.each([
    [{ properties: { amount: { maximum: 10 } } }, { amount: 11 }, '/properties/amount/maximum'],
    [{ properties: { 'a%zz': { type: 'string' } } }, { 'a%zz': 1 }, '/properties/a%zz/type'],
    [
      { properties: { p: { $ref: '#/$defs/money' } }, $defs: { money: { maximum: 5 } } },
      { p: 6 },
      '/$defs/money/maximum',
    ],
  ])('names the schema keyword that failed, as a JSON pointer (%j)', (schema, data, pointer) => {
    const compiled = compileContract('t.v1', schema);
    expect(compiled.ok && compiled.contract.validate(data)[0]?.schemaPointer).toBe(pointer);
  });
});
