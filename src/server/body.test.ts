import { describe, expect, it } from 'vitest';
import { jsonProblemAt, MAX_BODY_DEPTH } from './body.js';

const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

describe('jsonProblemAt', () => {
  it.each([
    ['a plain object', { a: [1, 'two', { b: null }] }, 3, undefined],
    [
      'a lone surrogate in a string',
      { a: ['ok', 'x\ud800'] },
      8,
      { pointer: '/a/1', problem: 'broken_text' },
    ],
    [
      'a lone surrogate in a member name',
      { 'k\udc00': 1 },
      8,
      { pointer: '/k\udc00', problem: 'broken_text' },
    ],
    ['a lone surrogate as the whole value', '\ud800', 8, { pointer: '', problem: 'broken_text' }],
    ['one level too deep', { a: { b: { c: {} } } }, 3, { pointer: '/a/b/c', problem: 'too_deep' }],
    ['exactly at the limit', { a: { b: { c: 1 } } }, 3, undefined],
    [
      'a number out of range (1e400 parses as Infinity)',
      JSON.parse('{"a":[1,1e400]}'),
      8,
      { pointer: '/a/1', problem: 'not_json' },
    ],
    ['such a number as the whole value', JSON.parse('-1e400'), 8, { pointer: '', problem: 'not_json' }],
    ['an escaped member name', { 'x/y': { '~': {} } }, 2, { pointer: '/x~1y/~0', problem: 'too_deep' }],
  ])('%s', (_, value, max, expected) => {
    expect(jsonProblemAt(value, max)).toEqual(expected);
  });

  it('walks 50,000 levels without recursion and stops at the limit', () => {
    expect(jsonProblemAt(nested(50_000))).toEqual({
      pointer: '/0'.repeat(MAX_BODY_DEPTH),
      problem: 'too_deep',
    });
  });
});
