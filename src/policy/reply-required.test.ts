import { describe, expect, it } from 'vitest';
import { compileContract } from '../contracts/index.js';
import type { JsonValue } from '../envelope/index.js';
import { missingMember, requiredMembers } from './reply-required.js';
import { BASE, policyOf } from './test-kit.js';

function contract(schema: object) {
  const result = compileContract('y.v1', schema);
  if (!result.ok) throw new Error('the test schema must compile');
  return result.contract;
}

const SCORED = { type: 'object', properties: { score: { type: 'number' } }, required: ['score'] };

describe('requiredMembers', () => {
  it.each([
    ['a required {{ }} member', { score: '{{ json.scroe }}' }, SCORED, ['/score']],
    ['an optional one', { note: '{{ json.note }}' }, { type: 'object' }, []],
    ['a required literal member (checked as written)', { score: 1 }, SCORED, []],
    ['a template that is one {{ }} as a whole', '{{ json }}', SCORED, []],
    [
      'a member of a nested object',
      { customer: { id: '{{ json.id }}', name: 'x' } },
      {
        type: 'object',
        properties: { customer: { type: 'object', required: ['id', 'name'] } },
        required: ['customer'],
      },
      ['/customer/id'],
    ],
    [
      'a member required on one branch only (anyOf)',
      { a: '{{ json.a }}', b: '{{ json.b }}' },
      { type: 'object', anyOf: [{ required: ['a'] }, { required: ['b'] }] },
      [],
    ],
    ['a member name to escape', { 'a/b': '{{ json.x }}' }, { type: 'object', required: ['a/b'] }, ['/a~1b']],
  ] as [string, JsonValue, object, string[]][])('%s', (_, template, schema, expected) => {
    expect(requiredMembers(template, contract(schema))).toEqual(expected);
  });
});

describe('missingMember', () => {
  it.each([
    ['present', { score: 1 }, ['/score'], undefined],
    ['left out', {}, ['/score'], '/score'],
    ['left out inside an object', { customer: { name: 'x' } }, ['/customer/id'], '/customer/id'],
    [
      'under a value that is not an object (the contract refuses it)',
      { customer: 3 },
      ['/customer/id'],
      undefined,
    ],
    ['nothing required', {}, undefined, undefined],
  ] as [string, JsonValue, string[] | undefined, string | undefined][])(
    '%s',
    (_, value, required, expected) => {
      expect(missingMember(value, required)).toBe(expected);
    },
  );
});

describe('compiled policy', () => {
  it("gives each reply item of a flowise or http agent the members its type's contract requires", () => {
    const lines = [
      ...BASE.slice(0, 4),
      "  h: { version: 1.0.0, http: { url: 'http://127.0.0.1:5678/e' }, consumes: [x.v1], emits: [y.v1], reply: { type: y.v1, data: { score: '{{ json.scroe }}', note: '{{ json.note }}' } } }",
      ...BASE.slice(4),
    ];
    const policy = policyOf(lines, { 'y.v1': JSON.stringify(SCORED) });
    expect(policy.agents.get('h')?.reply).toEqual([
      {
        at: '/reply',
        type: 'y.v1',
        data: { score: '{{ json.scroe }}', note: '{{ json.note }}' },
        required: ['/score'],
      },
    ]);
  });
});

describe('requiredMembers through $ref', () => {
  it('a member required on one anyOf branch reached by $ref is not required of every answer', () => {
    const schema = {
      type: 'object',
      anyOf: [{ $ref: '#/$defs/A' }, { $ref: '#/$defs/B' }],
      $defs: { A: { required: ['a'] }, B: { required: ['b'] } },
    };
    expect(requiredMembers({ a: '{{ json.a }}', b: '{{ json.b }}' }, contract(schema))).toEqual([]);
  });

  it.each([
    ['under allOf: required', { type: 'object', allOf: [{ required: ['a'] }] }, ['/a']],
    [
      'in a definition the root refers to: left to the contract (it cannot tell the branches)',
      { $ref: '#/$defs/A', $defs: { A: { type: 'object', required: ['a'] } } },
      [],
    ],
  ] as [string, object, string[]][])('%s', (_, schema, expected) => {
    expect(requiredMembers({ a: '{{ json.a }}' }, contract(schema))).toEqual(expected);
  });
});
