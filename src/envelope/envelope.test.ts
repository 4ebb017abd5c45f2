import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countInAncestry, extendAncestry, hopDigest, parseAncestry } from './ancestry.js';
import { formatUuidV7, isUuid } from './id.js';
import { partitionOf } from './partition.js';
import { readEnvelope } from './shape.js';
import { signEnvelope, verifyEnvelopeSignature } from './signature.js';
import { formatSource, parseSource } from './source.js';
import type { Envelope } from './types.js';

const envelope: Envelope = {
  specversion: '1.0',
  id: formatUuidV7(Date.parse('2026-01-01T00:00:00Z'), new Uint8Array(10).fill(7)),
  source: 'mesh://retention/sentiment@1.4.0',
  type: 'ticket.scored.v1',
  time: '2026-01-01T00:00:00.000Z',
  subject: 'account:8841',
  data: { score: -1 },
  correlationid: '01900000-0000-7000-8000-000000000000',
  hop: 1,
};

describe('envelope', () => {
  it('formats UUIDv7 with the time in the first 48 bits', () => {
    const id = formatUuidV7(0x0190_0000_0001, new Uint8Array(10));
    expect(id).toBe('01900000-0001-7000-8000-000000000000');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 47 }),
        fc.uint8Array({ minLength: 10, maxLength: 10 }),
        (ms, r) => {
          expect(isUuid(formatUuidV7(ms, r))).toBe(true);
        },
      ),
    );
  });

  it('puts the timestamp bytes, the version, the variant and the random bytes where RFC 9562 says', () => {
    const byBytes = (ms: number, r: Uint8Array): string => {
      const b = new Uint8Array(16);
      let t = ms;
      for (let i = 5; i >= 0; i--) {
        b[i] = t % 256;
        t = Math.floor(t / 256);
      }
      b.set(r.subarray(0, 10), 6);
      b[6] = 0x70 | (b[6]! & 0x0f);
      b[8] = 0x80 | (b[8]! & 0x3f);
      const h = Buffer.from(b).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 48 - 1 }), { minLength: 1, maxLength: 3 }),
        fc.uint8Array({ minLength: 10, maxLength: 10 }),
        (times, r) => {
          // Several in a row: ids in the same millisecond share the formatted timestamp.
          for (const ms of [...times, ...times]) expect(formatUuidV7(ms, r)).toBe(byBytes(ms, r));
        },
      ),
    );
  });

  it.each([
    ['mesh://retention/sentiment@1.4.0', { mesh: 'retention', name: 'sentiment', version: '1.4.0' }],
    ['mesh://retention/inbox', { mesh: 'retention', name: 'inbox' }],
    ['https://example.com/x', undefined],
  ])('parses source %s', (source, ref) => {
    expect(parseSource(source)).toEqual(ref);
    if (ref !== undefined)
      expect(formatSource(ref.mesh, ref.name, 'version' in ref ? ref.version : undefined)).toBe(source);
  });

  it.each([
    [{}, ['/specversion', '/id', '/source', '/type', '/time', '/subject', '/correlationid', '/data', '/hop']],
    [{ ...envelope, hop: -1 }, ['/hop']],
    [{ ...envelope, id: 'not-a-uuid' }, ['/id']],
    [{ ...envelope, Weird_Name: 1 }, ['/Weird_Name']],
    [{ ...envelope, time: 'yesterday' }, ['/time']],
  ])('reports every shape issue with a pointer (%#)', (candidate, pointers) => {
    const result = readEnvelope(candidate);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.pointer)).toEqual(pointers);
  });

  it('accepts a well-formed envelope and never throws on anything', () => {
    expect(readEnvelope(envelope).ok).toBe(true);
    fc.assert(fc.property(fc.anything(), (value) => void readEnvelope(value)));
  });

  it('keeps the last maxHops ancestors and counts repeats', () => {
    const a = hopDigest('inbox', 'ticket.opened.v1', 'account:1');
    const b = hopDigest('sentiment', 'ticket.scored.v1', 'account:1');
    let ancestry: string | undefined;
    for (let i = 0; i < 5; i++) ancestry = extendAncestry(ancestry, i % 2 === 0 ? a : b, 3);
    expect(parseAncestry(ancestry)).toEqual([a, b, a]);
    expect(countInAncestry(ancestry, a)).toBe(2);
    expect(countInAncestry(ancestry, hopDigest('x', 'y.z', 'w'))).toBe(0);
  });

  it('extends an ancestry as the list of its hops plus one, keeping the last max', () => {
    const hop = fc.constantFrom('aaaaaaaaaaaa', 'bbbbbbbbbbbb', '');
    fc.assert(
      fc.property(
        fc.option(fc.array(hop, { maxLength: 10 }).map((hops) => hops.join(' '))),
        fc.oneof(fc.integer({ min: -1, max: 12 }), fc.double({ min: -1, max: 12, noNaN: true })),
        (parent, max) => {
          const ancestry = parent ?? undefined;
          const list = [...parseAncestry(ancestry), 'cccccccccccc'];
          const expected = list.slice(Math.max(0, list.length - max)).join(' ');
          expect(extendAncestry(ancestry, 'cccccccccccc', max)).toBe(expected);
        },
      ),
    );
  });

  it('maps a subject to a stable partition', () => {
    expect(partitionOf('account:8841', 1)).toBe(0);
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (subject, p) => {
        const part = partitionOf(subject, p);
        expect(part).toBe(partitionOf(subject, p));
        expect(part >= 0 && part < p).toBe(true);
      }),
    );
  });

  it('verifies Ed25519 signatures and rejects any change', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signed = signEnvelope(envelope, privateKey);
    expect(verifyEnvelopeSignature(signed, publicKey)).toBe(true);
    expect(verifyEnvelopeSignature({ ...signed, data: { score: 1 } }, publicKey)).toBe(false);
    expect(verifyEnvelopeSignature(envelope, publicKey)).toBe(false);
    expect(verifyEnvelopeSignature({ ...signed, signature: 'garbage' }, publicKey)).toBe(false);
  });
});
