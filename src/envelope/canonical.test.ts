import canonicalizePackage from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, digestOf, sha256 } from './canonical.js';

describe('canonical JSON (RFC 8785)', () => {
  it.each([
    [{ b: 1, a: [true, null, 'x'] }, '{"a":[true,null,"x"],"b":1}'],
    [
      { '1': { f: { f: 'hi', F: 5 }, '\n': 56.0 }, '': 'empty' },
      '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}}}',
    ],
    [1e21, '1e+21'],
    [-0, '0'],
    ['\u20ac\u0007', '"€\\u0007"'],
  ])('canonicalizes %j', (value, text) => {
    expect(canonicalize(value)).toBe(text);
  });

  it('leaves out inherited members, wherever they would sort', () => {
    const before = Object.assign(Object.create({ a: 1 }) as Record<string, number>, { b: 2, c: 3 });
    const after = Object.assign(Object.create({ z: 1 }) as Record<string, number>, { b: 2, c: 3 });
    expect(canonicalize(before)).toBe('{"b":2,"c":3}');
    expect(canonicalize(after)).toBe('{"b":2,"c":3}');
  });

  it('round-trips: parsing the canonical text and canonicalizing again gives the same text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalize(value);
        expect(canonicalize(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it('does not depend on key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(digestOf(reversed)).toBe(digestOf(record));
      }),
    );
  });

  it('gives the same text as the canonicalize package, whatever the key order', () => {
    const keyed = fc.oneof(fc.string(), fc.constantFrom('1', '10', '2', 'a', 'B', '\u20ac', '\ud83d\ude00'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(keyed, tie('node'), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalize(v)).toBe(canonicalizePackage(v));
      }),
    );
  });

  it.each([
    [
      'a toJSON that returns unsorted keys',
      { when: { toJSON: () => ({ b: 1, a: 2 }) } },
      '{"when":{"a":2,"b":1}}',
    ],
    ['integer-like keys', { '2': 'x', '10': 'y' }, '{"10":"y","2":"x"}'],
    ['a Date', { at: new Date(0) }, '{"at":"1970-01-01T00:00:00.000Z"}'],
    ['undefined members', { b: undefined, a: 1 }, '{"a":1}'],
  ])('takes the slow road where JSON.stringify differs: %s', (_, value, text) => {
    expect(canonicalize(value)).toBe(text);
  });

  it('refuses lone surrogates and cycles', () => {
    expect(() => canonicalize({ a: '\ud800' })).toThrow(/surrogate/i);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalize(cycle)).toThrow(TypeError);
  });

  it('digests are sha256-prefixed hex', () => {
    expect(sha256('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
