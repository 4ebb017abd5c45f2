import { describe, expect, it } from 'vitest';
import { hasNonFinite, nonFiniteAt } from './finite.js';

describe('nonFiniteAt', () => {
  it.each([
    ['plain JSON', { a: [1, 'x', null, { b: -2.5e300 }] }, undefined],
    ['1e400 as JSON.parse gives it', JSON.parse('{"score":1e400}'), { pointer: '/score', value: Infinity }],
    ['NaN in a list', { a: [1, Number.NaN] }, { pointer: '/a/1', value: Number.NaN }],
    ['the whole value', Number.NEGATIVE_INFINITY, { pointer: '', value: Number.NEGATIVE_INFINITY }],
    ['an escaped member name', { 'x/y': { '~': Infinity } }, { pointer: '/x~1y/~0', value: Infinity }],
  ])('%s', (_, value, expected) => {
    expect(nonFiniteAt(value)).toEqual(expected);
    expect(hasNonFinite(value)).toBe(expected !== undefined);
  });

  it('walks 50,000 levels without recursion', () => {
    let v: unknown = Infinity;
    for (let i = 0; i < 50_000; i++) v = [v];
    expect(nonFiniteAt(v)?.pointer).toBe('/0'.repeat(50_000));
  });
});
