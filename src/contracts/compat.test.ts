import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSchemas } from './compat.js';
import { compileContract } from './compile.js';

const credit = {
  type: 'object',
  required: ['amount'],
  properties: {
    amount: { type: 'number', minimum: 0, maximum: 100 },
    currency: { type: 'string', enum: ['EUR', 'USD'] },
    note: { type: ['string', 'null'], maxLength: 200 },
    lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
  },
};

/** `credit` with `edit` applied to a deep copy. */
function changed(edit: (s: typeof credit & Record<string, unknown>) => void): unknown {
  const copy = structuredClone(credit) as typeof credit & Record<string, unknown>;
  edit(copy);
  return copy;
}

describe('compareSchemas', () => {
  it.each([
    [
      'a removed property',
      changed((s) => delete (s.properties as Record<string, unknown>).note),
      'properties',
      '/properties',
    ],
    ['a newly required field', changed((s) => s.required.push('currency')), 'required', '/required'],
    [
      'number → integer',
      changed((s) => (s.properties.amount.type = 'integer')),
      'type',
      '/properties/amount/type',
    ],
    [
      '["string","null"] → "string"',
      changed((s) => (s.properties.note.type = 'string' as never)),
      'type',
      '/properties/note/type',
    ],
    [
      'a narrowed enum',
      changed((s) => (s.properties.currency.enum = ['EUR'])),
      'enum',
      '/properties/currency/enum',
    ],
    [
      'a const where there was an enum',
      changed((s) => Object.assign(s.properties.currency, { enum: undefined, const: 'USD' })),
      'const',
      '/properties/currency/const',
    ],
    [
      'a lower maximum',
      changed((s) => (s.properties.amount.maximum = 50)),
      'maximum',
      '/properties/amount/maximum',
    ],
    [
      'an exclusive minimum at the same value',
      changed((s) => Object.assign(s.properties.amount, { exclusiveMinimum: 0 })),
      'exclusiveMinimum',
      '/properties/amount/exclusiveMinimum',
    ],
    [
      'a lower maxLength',
      changed((s) => (s.properties.note.maxLength = 20)),
      'maxLength',
      '/properties/note/maxLength',
    ],
    [
      'an added pattern',
      changed((s) => Object.assign(s.properties.note, { pattern: '^[a-z]*$' })),
      'pattern',
      '/properties/note/pattern',
    ],
    [
      'an added multipleOf',
      changed((s) => Object.assign(s.properties.amount, { multipleOf: 5 })),
      'multipleOf',
      '/properties/amount/multipleOf',
    ],
    [
      'a minItems',
      changed((s) => Object.assign(s.properties.lines, { minItems: 1 })),
      'minItems',
      '/properties/lines/minItems',
    ],
    [
      'additionalProperties false',
      changed((s) => (s.additionalProperties = false)),
      'additionalProperties',
      '/additionalProperties',
    ],
    [
      'a change inside items',
      changed((s) => Object.assign(s.properties.lines.items, { required: ['sku'] })),
      'required',
      '/properties/lines/items/required',
    ],
    [
      'a schema turned false',
      changed((s) => (s.properties.lines.items = false as never)),
      '',
      '/properties/lines/items',
    ],
  ])('%s is breaking, at its keyword', (_, next, keyword, pointer) => {
    const { breaking } = compareSchemas(credit, next);
    expect(breaking.map((b) => [b.keyword, b.pointer, b.code])).toEqual([
      [keyword, pointer, 'MW_CONTRACT_BREAKING'],
    ]);
  });

  it.each([
    ['an optional property', changed((s) => Object.assign(s.properties, { channel: { type: 'string' } }))],
    ['a dropped requirement', changed((s) => (s.required = []))],
    ['integer → number', { ...credit, properties: { ...credit.properties, amount: { type: 'number' } } }],
    ['a wider enum', changed((s) => s.properties.currency.enum.push('CHF'))],
    ['a higher maximum', changed((s) => (s.properties.amount.maximum = 1000))],
    [
      'a dropped pattern and bound',
      changed((s) => delete (s.properties.amount as Record<string, unknown>).minimum),
    ],
    [
      'a string that may now be null',
      changed((s) => (s.properties.note.type = ['string', 'null', 'number'] as never)),
    ],
    ['new annotations', changed((s) => Object.assign(s, { title: 'Credit', description: 'a credit' }))],
    ['a multipleOf 10 → 5', { type: 'number', multipleOf: 5 }, { type: 'number', multipleOf: 10 }],
  ] as [string, unknown, unknown?][])('%s is compatible', (_, next, old = credit) => {
    expect(compareSchemas(old, next)).toEqual({ breaking: [], unproven: [] });
  });

  it('names the old pointer too, and a plain sentence with the payload location', () => {
    const { breaking } = compareSchemas(
      credit,
      changed((s) => (s.properties.amount.maximum = 50)),
    );
    expect(breaking[0]?.oldPointer).toBe('/properties/amount/maximum');
    expect(breaking[0]?.message).toMatch(/^at \/amount, the upper bound moved from 100 to 50/);
  });

  it('is exact where the old schema allowed a finite set of values', () => {
    const old = { enum: ['EUR', 'USD'] };
    expect(
      compareSchemas(old, { type: 'string', pattern: '^[A-Z]{3}$', enum: ['EUR', 'USD', 'CHF'] }),
    ).toEqual({
      breaking: [],
      unproven: [],
    });
    const { breaking } = compareSchemas(old, { type: 'string', maxLength: 3, pattern: '^E' });
    expect(breaking.map((b) => [b.keyword, b.pointer, b.message])).toEqual([
      ['', '', 'the schema around the old enum changed: "USD" is no longer accepted'],
    ]);
  });

  it('checks a property new to a schema against what additionalProperties allowed', () => {
    const old = { type: 'object', additionalProperties: { type: ['string', 'number'] } };
    const next = { ...old, properties: { x: { type: 'string' } } };
    const { breaking } = compareSchemas(old, next);
    expect(breaking.map((b) => b.pointer)).toEqual(['/properties/x/type']);
  });

  it('follows local $refs, into $defs, and pointers name where the change is written', () => {
    const old = {
      type: 'object',
      properties: { price: { $ref: '#/$defs/money' }, tree: { $ref: '#/$defs/node' } },
      $defs: {
        money: { type: 'number', maximum: 100 },
        node: {
          type: 'object',
          properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } },
        },
      },
    };
    const next = structuredClone(old);
    next.$defs.money.maximum = 10;
    (next.$defs.node.properties.children.items as Record<string, unknown>).description = 'a child';
    const { breaking, unproven } = compareSchemas(old, next);
    expect(breaking.map((b) => b.pointer)).toEqual(['/$defs/money/maximum']);
    expect(unproven).toEqual([]);
  });

  it.each([
    ['an added oneOf', { type: 'object', oneOf: [{ required: ['a'] }, { required: ['b'] }] }, 'oneOf'],
    ['an unknown keyword', { type: 'object', 'x-rule': 1 }, 'x-rule'],
    ['a $ref with siblings', { $ref: '#/$defs/a', minimum: 1, $defs: { a: { type: 'number' } } }, '$ref'],
  ])('%s could not be proven compatible: a warning, not a pass', (_, next, keyword) => {
    const { breaking, unproven } = compareSchemas({ type: 'object' }, next);
    expect(breaking).toEqual([]);
    expect(unproven.map((u) => [u.code, u.keyword])).toEqual([['MW_CONTRACT_UNPROVEN', keyword]]);
  });

  it('walks allOf and anyOf: a new anyOf branch widens, a new allOf conjunct narrows', () => {
    const old = { anyOf: [{ type: 'string' }, { type: 'number' }] };
    expect(compareSchemas(old, { anyOf: [...old.anyOf, { type: 'null' }] }).breaking).toEqual([]);
    const { breaking } = compareSchemas(
      { allOf: [{ type: 'number' }] },
      { allOf: [{ type: 'number' }, { minimum: 1 }] },
    );
    expect(breaking.map((b) => b.pointer)).toEqual(['/allOf/1/minimum']);
  });

  // Schemas built from a few keywords; the properties below hold for any of them.
  const leaf = fc.oneof(
    fc.record({ type: fc.constantFrom('string', 'number', 'integer', 'boolean') }),
    fc.record({
      type: fc.constant('number'),
      minimum: fc.integer({ min: -5, max: 5 }),
      maximum: fc.integer({ min: 6, max: 20 }),
    }),
    fc.record({ type: fc.constant('string'), maxLength: fc.nat(10) }),
    fc.record({ enum: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 1, 2), { minLength: 1 }) }),
  );
  const object = fc
    .dictionary(fc.constantFrom('a', 'b', 'c', 'd'), leaf, { maxKeys: 4 })
    .chain((properties) =>
      fc.record({
        type: fc.constant('object'),
        properties: fc.constant(properties),
        required: fc.subarray(Object.keys(properties)),
      }),
    );

  it('never recurses past its limits: a schema nested 3000 levels, $ref circles that meet again only far down', () => {
    const deep = JSON.parse(`${'{"properties":{"a":'.repeat(1500)}{}${'}}'.repeat(1500)}`);
    const raw = compareSchemas(credit, deep);
    expect(raw.breaking).toEqual([]);
    expect(raw.unproven.map((c) => c.code)).toEqual(['MW_CONTRACT_UNPROVEN']);
    expect(raw.unproven[0]!.pointer).toMatch(/^(\/properties\/a){64}$/);
    // A ring of 17 definitions against one of 19: the same pair of places meets again only after 323.
    const ring = (n: number) => ({
      $ref: '#/$defs/d0',
      $defs: Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `d${i}`,
          { type: 'object', properties: { x: { $ref: `#/$defs/d${(i + 1) % n}` }, [`p${i}`]: true } },
        ]),
      ),
    });
    const rings = compareSchemas(ring(17), ring(19));
    expect(rings.unproven.some((c) => c.message.includes('levels deep here'))).toBe(true);
  });

  it.each([
    ['a lost branch whose type no branch left has', { anyOf: [{ type: 'string' }] }, 'BREAKING'],
    [
      'lost branches whose types a branch left has',
      { anyOf: [{ type: ['string', 'number', 'null'] }] },
      'UNPROVEN',
    ],
    [
      'a lost branch, with a branch left that names no type',
      { anyOf: [{ type: 'string' }, { $ref: '#/$defs/n' }] },
      'UNPROVEN',
    ],
  ] as const)('anyOf, %s: %s', (_name, next, verdict) => {
    const old = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'null' }] };
    const result = compareSchemas(old, { ...next, $defs: { n: { type: 'number' } } });
    const [change] = verdict === 'BREAKING' ? result.breaking : result.unproven;
    expect(change).toMatchObject({ code: `MW_CONTRACT_${verdict}`, keyword: 'anyOf', pointer: '/anyOf' });
    if (verdict === 'BREAKING') expect(change!.message).toContain('no branch accepts number and null values');
  });

  it('anyOf added beside a type: a break when no branch accepts some of that type', () => {
    const result = compareSchemas(
      { type: ['string', 'null', 'boolean'] },
      { type: ['string', 'null', 'boolean'], anyOf: [{ type: 'string' }] },
    );
    expect(result.breaking.map((c) => c.message)).toEqual([
      '"anyOf" was added, and no branch accepts null and boolean values any more, so they are rejected',
    ]);
    // An old branch with an enum, or without a type, claims nothing.
    const open = compareSchemas(
      { anyOf: [{ type: 'number', enum: [1] }, {}] },
      { anyOf: [{ type: 'string' }] },
    );
    expect(open.breaking).toEqual([]);
  });

  it("does not follow a $ref through the schema's own $id: unproven, as docs/policy.md says", () => {
    const schema = (max: number) => ({
      $id: 'https://example.com/credit.json',
      properties: { amount: { $ref: 'https://example.com/credit.json#/$defs/money' } },
      $defs: { money: { type: 'number', maximum: max } },
    });
    expect(compileContract('t.v1', schema(10)).ok).toBe(true);
    const result = compareSchemas(schema(100), schema(10));
    expect(result.unproven.map((c) => c.keyword)).toContain('$ref');
  });

  it.each([
    [{ type: 'number', multipleOf: 1 }, { type: 'integer' }, 0],
    [{ type: 'number', multipleOf: 5 }, { type: 'integer' }, 0],
    [{ type: 'number', multipleOf: 0.5 }, { type: 'integer' }, 1],
    [{ type: 'number' }, { type: 'integer' }, 1],
  ])('%j → %j: %i breaks (whole multiples are integers already)', (old, next, count) => {
    expect(compareSchemas(old, next).breaking).toHaveLength(count);
  });

  // The sentences are the feature here: each says what changed and what is now rejected, plainly.
  it.each([
    [
      { type: 'string' },
      { type: 'string', maxLength: 10 },
      'maxLength is now 10 (no limit before), so strings of more than 10 characters are rejected',
    ],
    [
      { type: 'string', maxLength: 20 },
      { type: 'string', maxLength: 1 },
      'maxLength went down from 20 to 1, so strings of more than 1 character are rejected',
    ],
    [
      { type: 'object' },
      { type: 'object', minProperties: 1 },
      'minProperties is now 1 (none before), so empty objects are rejected',
    ],
    [
      { type: 'array', minItems: 1 },
      { type: 'array', minItems: 3 },
      'minItems went up from 1 to 3, so arrays of fewer than 3 items are rejected',
    ],
    [
      {},
      { type: 'string' },
      'the type narrowed from any type to "string", so null, boolean, object, array and number values are rejected',
    ],
    [
      { type: ['number', 'string'] },
      { type: 'integer' },
      'the type narrowed from ["number","string"] to "integer", so string values and non-integer numbers are rejected',
    ],
  ])('%j → %j: %s', (old, next, message) => {
    expect(compareSchemas(old, next).breaking.map((c) => c.message)).toEqual([message]);
  });

  it('a schema is compatible with itself (property)', () => {
    fc.assert(fc.property(object, (s) => compareSchemas(s, structuredClone(s)).breaking.length === 0));
  });

  it('adding an optional property, or dropping a requirement, is compatible (property)', () => {
    fc.assert(
      fc.property(object, leaf, (s, extra) => {
        const next = { ...s, properties: { ...s.properties, zz: extra }, required: s.required.slice(1) };
        const result = compareSchemas(s, next);
        return result.breaking.length === 0 && result.unproven.length === 0;
      }),
    );
  });

  it('what it calls compatible accepts every sample the old schema accepted (property, with Ajv)', () => {
    const sample = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd'),
      fc.oneof(fc.constantFrom('a', 'b', 'c', 1, 2, 2.5, -7, 12, true), fc.string({ maxLength: 12 })),
    );
    fc.assert(
      fc.property(object, object, fc.array(sample, { maxLength: 20 }), (old, next, payloads) => {
        if (compareSchemas(old, next).breaking.length > 0) return true;
        const before = compileContract('t.v1', old);
        const after = compileContract('t.v1', next);
        if (!before.ok || !after.ok) return true;
        // A property new to the schema may reject what the old one let through unchecked: a
        // documented choice (docs/policy.md), so samples keep to the properties the old one names.
        const named = (p: Record<string, unknown>) =>
          Object.keys(p).every((k) => Object.hasOwn(old.properties, k));
        return payloads
          .filter(named)
          .every((p) => before.contract.validate(p).length > 0 || after.contract.validate(p).length === 0);
      }),
      { numRuns: 300 },
    );
  });

  it('is sound on nested schemas: what it calls compatible accepts every value the old one did (property, with Ajv)', () => {
    // Objects are closed (additionalProperties false or a schema), so a new optional property is
    // checked against what the old schema let through: no documented exception applies here.
    const { schema } = fc.letrec<{ schema: unknown }>((tie) => ({
      schema: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record(
          { type: fc.constant('array'), items: tie('schema'), maxItems: fc.nat(3) },
          { requiredKeys: ['type'] },
        ),
        fc.record({ anyOf: fc.array(tie('schema'), { minLength: 1, maxLength: 2 }) }),
        fc.dictionary(fc.constantFrom('a', 'b'), tie('schema'), { maxKeys: 2 }).chain((properties) =>
          fc.record({
            type: fc.constant('object'),
            properties: fc.constant(properties),
            required: fc.subarray(Object.keys(properties)),
            additionalProperties: fc.oneof(fc.constant(false), leaf),
          }),
        ),
      ),
    }));
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(1, 2.5, -3, 12, 'a', 'b', 'abcdefghijklmnop', true, null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('value'), { maxKeys: 3 }),
      ),
    }));
    fc.assert(
      fc.property(
        schema,
        schema,
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.array(value, { maxLength: 20 }),
        (old, other, drops, values) => {
          // Half the time a copy of the old schema with some keywords dropped (widening or not),
          // else another schema: random pairs alone are almost never compatible.
          const next = drops.length % 2 === 0 ? other : dropKeywords(old, drops);
          const result = compareSchemas(old, next);
          if (result.breaking.length > 0 || result.unproven.length > 0) return true;
          const before = compileContract('t.v1', old);
          const after = compileContract('t.v1', next);
          if (!before.ok || !after.ok) return true;
          return values.every(
            (v) => before.contract.validate(v).length > 0 || after.contract.validate(v).length === 0,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A copy of `schema` without the keywords the `picks` choose (by index among all of them, depth first). */
function dropKeywords(schema: unknown, picks: readonly number[]): unknown {
  const copy = structuredClone(schema);
  const slots: [Record<string, unknown>, string][] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        slots.push([node as Record<string, unknown>, k]);
        visit(v);
      }
    }
  };
  visit(copy);
  for (const pick of picks) {
    const slot = slots[pick % Math.max(1, slots.length)];
    if (slot !== undefined) delete slot[0][slot[1]];
  }
  return copy;
}
