import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tooDeepAt } from './depth.js';
import { plainJsonSizeBound } from './json-size.js';

const bytesOf = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
const bound = (v: unknown) => plainJsonSizeBound(v, Number.POSITIVE_INFINITY);

/** `levels` arrays nested in each other around `inner`. */
const nested = (levels: number, inner: unknown = 1): unknown => {
  let v = inner;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

describe('plainJsonSizeBound', () => {
  it('bounds the UTF-8 size of the JSON text of any JSON value, in any script', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6, stringUnit: 'grapheme' }),
        fc.string({ unit: 'grapheme' }),
        (value, text) => {
          for (const v of [value, { text, value }, [text, value]]) {
            const bound = plainJsonSizeBound(v, Number.POSITIVE_INFINITY);
            expect(bound).toBeDefined();
            expect(bound).toBeGreaterThanOrEqual(bytesOf(v));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('bounds escapes and the longest numbers', () => {
    const worst = {
      '\u0001"\\': ['\u0000\u001f\n', -2.2250738585072014e-308, -1.7976931348623157e308, 5e-324],
    };
    expect(bound(worst)).toBeGreaterThanOrEqual(bytesOf(worst));
    expect(bound('€😀')).toBeGreaterThanOrEqual(bytesOf('€😀'));
  });

  it('counts what JSON leaves out as left out, or as null in an array', () => {
    const value = { a: undefined, b: () => 1, c: Symbol('c'), d: [undefined, () => 1], e: 1 };
    expect(bound(value)).toBeGreaterThanOrEqual(bytesOf(value));
    expect(bound(Object.create(null))).toBe(2);
  });

  it.each([
    ['a BigInt', { n: 1n }],
    ['NaN', [Number.NaN]],
    ['Infinity', { x: Number.POSITIVE_INFINITY }],
    ['a lone surrogate in a string', { s: 'a\ud800' }],
    ['a lone surrogate in a key', { '\udc00': 1 }],
    ['a Date (it has toJSON)', { at: new Date(0) }],
    ['a Map', { m: new Map() }],
    ['a class instance', { c: new (class Point {})() }],
    ['an object with its own toJSON', { toJSON: () => 'x' }],
    ['an array with a toJSON', Object.assign([1], { toJSON: () => 'x'.repeat(100_000) })],
    [
      'an Array subclass with a toJSON',
      new (class Long extends Array {
        toJSON = () => 'y';
      })(),
    ],
    ['a boxed BigInt without its prototype', Object.setPrototypeOf(Object(1n), null)],
    ['a boxed Boolean of Object’s prototype', Object.setPrototypeOf(new Boolean(false), Object.prototype)],
    ['undefined alone', undefined],
    ['a function alone', () => 1],
  ])('has no bound for %s: the caller measures it exactly', (_, value) => {
    expect(bound(value)).toBeUndefined();
  });

  it('has no bound past the depth limit, where tooDeepAt names the place, nor for a cycle', () => {
    expect(plainJsonSizeBound(nested(4), 1e9, 4)).toBeDefined();
    expect(plainJsonSizeBound(nested(5), 1e9, 4)).toBeUndefined();
    expect(tooDeepAt(nested(5), 4)).toBe('/0/0/0/0');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(bound(cycle)).toBeUndefined();
    expect(bound(nested(50_000))).toBeUndefined();
  });
});
