import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketIsNeutral, takeToken } from './gcra.js';
import type { BucketState } from './types.js';

const NOW = 1_750_000_000_000;

/** Takes `n` tokens at `at`, returning the last result's state. */
function drain(state: BucketState | undefined, at: number, n: number, interval: number, burst: number) {
  let s = state;
  for (let i = 0; i < n; i++) {
    const r = takeToken(s, at, interval, burst);
    if (!r.ok) throw new Error(`token ${i} refused`);
    s = r.state;
  }
  return s;
}

describe('takeToken', () => {
  it.each([
    { name: 'empty bucket admits', before: 0, at: NOW, ok: true },
    { name: 'admits up to burst at once', before: 2, at: NOW, ok: true },
    { name: 'refuses past burst', before: 3, at: NOW, ok: false },
    { name: 'refills one token per interval', before: 3, at: NOW + 1000, ok: true },
    { name: 'not before the interval ends', before: 3, at: NOW + 999, ok: false },
  ])('$name', ({ before, at, ok }) => {
    const state = drain(undefined, NOW, before, 1000, 3);
    expect(takeToken(state, at, 1000, 3).ok).toBe(ok);
  });

  it('says how long to wait', () => {
    const state = drain(undefined, NOW, 3, 1000, 3);
    expect(takeToken(state, NOW + 250, 1000, 3)).toEqual({ ok: false, retryAfterMs: 750 });
  });

  it('keeps one number: the theoretical arrival time', () => {
    expect(takeToken(undefined, NOW, 1000, 3)).toEqual({ ok: true, state: { tat: NOW + 1000 } });
  });

  it.each([
    { tat: undefined, neutral: true },
    { tat: NOW - 1, neutral: true },
    { tat: NOW, neutral: true },
    { tat: NOW + 1, neutral: false },
  ])('bucket with tat $tat is neutral: $neutral', ({ tat, neutral }) => {
    expect(bucketIsNeutral(tat === undefined ? undefined : { tat }, NOW)).toBe(neutral);
  });

  it('never admits more than burst + elapsed / interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 }),
        (interval, burst, gaps) => {
          let state: BucketState | undefined;
          let at = NOW;
          const admitted: number[] = [];
          for (const gap of gaps) {
            at += gap;
            const r = takeToken(state, at, interval, burst);
            if (r.ok) {
              state = r.state;
              admitted.push(at);
            }
          }
          // Every span between two admissions holds at most burst + span / interval of them.
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length; j++) {
              expect(j - i + 1).toBeLessThanOrEqual(burst + (admitted[j]! - admitted[i]!) / interval);
            }
          }
        },
      ),
    );
  });
});
