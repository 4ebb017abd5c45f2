import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, type JsonObject, sha256 } from '../envelope/index.js';
import { chainHash, entryBody, GENESIS, leafHash } from './hash.js';
import type { LedgerRecord } from './types.js';

const json = fc.jsonValue() as fc.Arbitrary<JsonObject[string]>;
const record: fc.Arbitrary<LedgerRecord> = fc.record(
  {
    kind: fc.string(),
    at: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    msgId: fc.string({ unit: 'grapheme' }),
    causationId: fc.uuid(),
    correlationId: fc.string(),
    subject: fc.string({ unit: 'binary' }),
    agent: fc.string(),
    data: fc.dictionary(fc.string(), json),
  },
  { requiredKeys: ['kind', 'at', 'data'] },
);

describe('entryBody', () => {
  it('equals the RFC 8785 canonical JSON of the body object', () => {
    fc.assert(
      fc.property(record, fc.nat(), fc.integer({ min: 1 }), (r, partition, seq) => {
        expect(entryBody(partition, seq, r)).toBe(canonicalize({ ...r, partition, seq }));
      }),
    );
  });

  it.each([
    ['kind is not a string', { kind: 1, at: 0, data: {} }],
    ['at is not finite', { kind: 'k', at: Number.NaN, data: {} }],
    ['data is an array', { kind: 'k', at: 0, data: [] }],
    ['data is missing', { kind: 'k', at: 0 }],
    ['a lone surrogate', { kind: 'k', at: 0, subject: '\ud800', data: {} }],
    ['msgId is null', { kind: 'k', at: 0, msgId: null, data: {} }],
  ])('throws a TypeError when %s', (_, r) => {
    expect(() => entryBody(0, 1, r as unknown as LedgerRecord)).toThrow(TypeError);
  });
});

describe('hashes', () => {
  it('follows the documented formula: leaf = H(0x00 ‖ body), link = H(0x01 ‖ prev ‖ leaf)', () => {
    expect(GENESIS).toBe(`sha256:${'0'.repeat(64)}`);
    const body = entryBody(0, 1, { kind: 'k', at: 1, data: {} });
    expect(body).toBe('{"at":1,"data":{},"kind":"k","partition":0,"seq":1}');
    expect(leafHash(body)).toBe(sha256(`\u0000${body}`));
    expect(chainHash(GENESIS, leafHash(body))).toBe(sha256(`\u0001${GENESIS}${leafHash(body)}`));
    expect(leafHash(body)).not.toBe(sha256(body));
  });
});
