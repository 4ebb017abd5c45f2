import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeyAt } from './duplicate-keys.js';

describe('duplicateKeyAt', () => {
  it.each([
    ['{"a":1,"a":2}', '/a'],
    ['{"amount":1,"to":"x","amount":1000}', '/amount'],
    ['{"a":"\\u0061","\\u0061":1,"a":2}', '/a'],
    ['{"x":{"b":1,"c":{"d":[1,{"e":1,"e":2}]}}}', '/x/c/d/1/e'],
    ['[{"k":1},{"k":1,"k":2}]', '/1/k'],
    ['{"a/b":{"~":1,"~":2}}', '/a~1b/~0'],
    [' { "s" : "a,\\"b{" , "s" : 1 } ', '/s'],
  ])('finds %s at %s', (text, pointer) => {
    JSON.parse(text);
    expect(duplicateKeyAt(text)).toBe(pointer);
  });

  it.each([
    ['{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}'],
    ['{"a":"a","b":"a"}'],
    ['["a","a",{"a":1}]'],
    ['"a"'],
    ['{}'],
  ])('finds nothing in %s, where no object repeats a name', (text) => {
    expect(duplicateKeyAt(text)).toBeUndefined();
  });

  it('finds nothing in what JSON.stringify writes, and the name a repeated member adds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (value, name) => {
        const text = JSON.stringify(value);
        expect(duplicateKeyAt(text)).toBeUndefined();
        // The same member twice at the top of an object around it.
        const doubled = `{${JSON.stringify(name)}:${text},${JSON.stringify(name)}:0}`;
        expect(duplicateKeyAt(doubled)).toBe(`/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`);
      }),
    );
  });

  it('walks nesting no recursion could', () => {
    const deep = `${'['.repeat(100_000)}{"a":1,"a":2}${']'.repeat(100_000)}`;
    expect(duplicateKeyAt(deep)).toBe(`${'/0'.repeat(100_000)}/a`);
  });
});
