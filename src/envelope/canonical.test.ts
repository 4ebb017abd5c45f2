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

  it('digests are sha256-prefixed hex', () => {
    expect(sha256('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
