import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseTraceparent, childTraceparent, spanIdOf, traceIdFor, traceIdOf } from './trace.js';

// What the hand-written checks in trace.ts stand for.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Strings near the shapes: each character of a valid one replaced, now and then, by any character. */
const near = (valid: fc.Arbitrary<string>) =>
  fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))))
    .map(([s, edits]) => {
      const chars = [...s];
      for (const [at, c] of edits) chars[at % chars.length] = c;
      return chars.join('');
    });
const uuidLike = fc.oneof(
  fc.uuid(),
  near(fc.uuid()),
  near(fc.uuid().map((u) => u.toUpperCase())),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefg-'), maxLength: 40 }),
);
const traceparentLike = fc.oneof(
  fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => caseTraceparent(a, b)),
  near(fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => caseTraceparent(a, b, 'ff'))),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef-'), maxLength: 60 }),
);

const hashed = (id: string, n: number) => createHash('sha256').update(id).digest('hex').slice(0, n);

describe('trace and span ids', () => {
  it('takes a UUID exactly where the regular expression does', () => {
    fc.assert(
      fc.property(uuidLike, (id) => {
        expect(spanIdOf(id)).toBe(UUID.test(id) ? id.slice(19, 23) + id.slice(24) : hashed(id, 16));
        expect(traceIdFor(id)).toBe(UUID.test(id) ? id.replaceAll('-', '') : hashed(id, 32));
      }),
      { numRuns: 2000 },
    );
  });

  it('takes a traceparent exactly where the regular expression does', () => {
    fc.assert(
      fc.property(traceparentLike, (tp) => {
        expect(traceIdOf(tp)).toBe(TRACEPARENT.test(tp) ? tp.slice(3, 35) : undefined);
        const id = randomUUID();
        const root = randomUUID();
        expect(childTraceparent(tp, id, root)).toBe(
          TRACEPARENT.test(tp)
            ? `00-${tp.slice(3, 35)}-${spanIdOf(id)}-${tp.slice(53)}`
            : caseTraceparent(root, id),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
