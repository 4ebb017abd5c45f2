import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, tooDeepAt } from './depth.js';

/** `levels` arrays nested in each other around `inner`. */
const nested = (levels: number, inner: unknown = 1): unknown => {
  let v = inner;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

describe('tooDeepAt', () => {
  it.each([
    ['a string', 'x', 4, undefined],
    ['null', null, 4, undefined],
    ['an empty object', {}, 1, undefined],
    ['four levels at a limit of 4', nested(4), 4, undefined],
    ['five levels at a limit of 4', nested(5), 4, '/0/0/0/0'],
    ['an object past the limit, named with escapes', { 'a/b': { '~': { x: {} } } }, 3, '/a~1b/~0/x'],
    ['the first too deep, depth first', { a: [1, [2]], b: { c: { d: {} } } }, 3, '/b/c/d'],
    ['a wide but shallow value', { a: Array.from({ length: 1000 }, () => ({ b: 1 })) }, 3, undefined],
  ])('%s', (_, value, max, expected) => {
    expect(tooDeepAt(value, max)).toBe(expected);
  });

  it('walks 50,000 levels without running out of stack, and stops at the limit', () => {
    const pointer = tooDeepAt(nested(50_000));
    expect(pointer).toBe('/0'.repeat(MAX_JSON_DEPTH));
  });

  it('takes the default limit exactly', () => {
    expect(tooDeepAt(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(tooDeepAt(nested(MAX_JSON_DEPTH + 1))).toBeDefined();
  });
});
