import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketIsNeutral } from './gcra.js';
import { breakerCountKey, bucketKey, budgetKey } from './keys.js';
import { createPackedTable, type PackedTable } from './packed.js';
import type { BucketState, WindowState } from './types.js';
import { windowAdd, windowIsNeutral } from './window.js';

const NOW = 1_750_000_000_000;

/** Runs an evict pass step by step; returns how many records went. */
function evicted(table: PackedTable, at: number, every: number): number {
  const steps = table.evict(at, every);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
const HOUR = 3_600_000;

describe('createPackedTable', () => {
  it.each([
    { name: 'a state key', key: bucketKey('per-account', 'account:8841') },
    { name: 'a scope with bars', key: budgetKey('credit', 'one->two|x|y') },
    { name: 'an empty scope', key: 'rl|limit|' },
    { name: 'no bar', key: 'k' },
    { name: 'one bar', key: 'a|b' },
    { name: 'the empty key', key: '' },
    { name: 'non-ASCII and a lone surrogate', key: 'bg|crédit|compte:\uD800é' },
  ])('reads back $name as bucket and as window, apart', ({ key }) => {
    const table = createPackedTable();
    const win: WindowState = { slotMs: 400_000, start: 4_375_000, slots: [2.5, 0, -0, 7] };
    table.setBucket(key, { tat: NOW + 0.25 });
    expect(table.window(key)).toBeUndefined();
    table.setWindow(key, win);
    expect(table.bucket(key)).toEqual({ tat: NOW + 0.25 });
    expect(table.window(key)).toEqual(win);
    expect(Object.is(table.window(key)?.slots[2], -0)).toBe(true);
    expect(table.size()).toBe(2);
  });

  it('keeps the records of one scope apart and counts records, not scopes', () => {
    const table = createPackedTable();
    const scope = 'account:8841';
    const one = windowAdd(undefined, NOW, HOUR, 1);
    const grown = windowAdd(one, NOW + HOUR / 2, HOUR, 4);
    table.setBucket(bucketKey('per-account', scope), { tat: NOW });
    table.setWindow(budgetKey('credit', scope), one);
    table.setWindow(breakerCountKey('burst', scope), one);
    table.setWindow(budgetKey('credit', scope), grown); // more slots: the record moves
    table.setBucket(bucketKey('per-account', scope), { tat: NOW + 5 }); // in place
    table.setBucket(bucketKey('per-account', 'account:1'), { tat: NOW });
    expect(grown.slots.length).toBeGreaterThan(1);
    expect(table.bucket(bucketKey('per-account', scope))).toEqual({ tat: NOW + 5 });
    expect(table.window(budgetKey('credit', scope))).toEqual(grown);
    expect(table.window(breakerCountKey('burst', scope))).toEqual(one);
    expect(table.window(budgetKey('other', scope))).toBeUndefined();
    expect(table.bucket(bucketKey('per-account', 'account:2'))).toBeUndefined();
    expect(table.size()).toBe(4);
  });

  it.each([
    { name: 'a full bucket', at: NOW + 10, left: [false, true, true] },
    { name: 'one live window', at: NOW + HOUR + HOUR / 9 + 1, left: [false, false, true] },
    { name: 'nothing live', at: NOW + 3 * HOUR, left: [false, false, false] },
    { name: 'everything live', at: NOW, left: [true, true, true] },
  ])('evicts $name', ({ at, left }) => {
    const table = createPackedTable();
    const keys = [bucketKey('l', 's'), budgetKey('b', 's'), breakerCountKey('c', 's')] as const;
    table.setBucket(keys[0], { tat: NOW + 10 });
    table.setWindow(keys[1], windowAdd(undefined, NOW, HOUR, 1));
    table.setWindow(keys[2], windowAdd(windowAdd(undefined, NOW, HOUR, 1), NOW + HOUR, HOUR, 1));
    const live = left.filter(Boolean).length;
    expect(evicted(table, at, 1)).toBe(3 - live);
    expect(table.size()).toBe(live);
    expect(
      [table.bucket(keys[0]), table.window(keys[1]), table.window(keys[2])].map((s) => s !== undefined),
    ).toEqual(left);
  });

  it('keeps a record written between two steps into a scope the pass has not reached', () => {
    const table = createPackedTable();
    table.setBucket(bucketKey('a', 's0'), { tat: NOW });
    table.setBucket(bucketKey('a', 's1'), { tat: NOW });
    const steps = table.evict(NOW + 1, 1);
    steps.next();
    // A new column for s1: its array is replaced, not written in place.
    table.setBucket(bucketKey('b', 's1'), { tat: NOW + HOUR });
    let step = steps.next();
    while (!step.done) step = steps.next();
    expect(table.bucket(bucketKey('b', 's1'))).toEqual({ tat: NOW + HOUR });
    expect(table.bucket(bucketKey('a', 's1'))).toBeUndefined();
    expect(table.size()).toBe(1);
  });

  it('evicts in steps, reading each scope as it is when the pass reaches it', () => {
    const table = createPackedTable();
    const [a, b, c] = ['s1', 's2', 's3'].map((scope) => bucketKey('l', scope)) as [string, string, string];
    for (const key of [a, b, c]) table.setBucket(key, { tat: NOW });
    const steps = table.evict(NOW + 1, 1);
    // The first step does `a`; between steps, `b`, not yet reached, is used again.
    steps.next();
    expect(table.size()).toBe(2);
    table.setBucket(b, { tat: NOW + HOUR });
    let step = steps.next();
    while (!step.done) step = steps.next();
    expect(step.value).toBe(2);
    expect([a, b, c].map((key) => table.bucket(key))).toEqual([undefined, { tat: NOW + HOUR }, undefined]);
  });
});

type Op =
  | { readonly op: 'bucket'; readonly key: string; readonly tat: number }
  | { readonly op: 'window'; readonly key: string; readonly at: number; readonly amount: number }
  | { readonly op: 'evict'; readonly at: number; readonly every: number };

describe('createPackedTable behaves like one Map per kind', () => {
  const key = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('rl', 'bg', 'bc'),
        fc.constantFrom('a', 'b', 'c-d'),
        fc.constantFrom('s1', 's2', 'x|y', ''),
      )
      .map(([kind, rule, scope]) => `${kind}|${rule}|${scope}`),
    fc.constantFrom('k', 'a|b', ''),
  );
  const time = fc.integer({ min: 0, max: 4 * HOUR }).map((d) => NOW + d);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('bucket' as const), key, tat: time }),
    fc.record({ op: fc.constant('window' as const), key, at: time, amount: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('evict' as const), at: time, every: fc.integer({ min: 1, max: 4 }) }),
  );

  it('for reads, sizes and evictions', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const table = createPackedTable();
        const buckets = new Map<string, BucketState>();
        const windows = new Map<string, WindowState>();
        for (const o of ops) {
          if (o.op === 'bucket') {
            buckets.set(o.key, { tat: o.tat });
            table.setBucket(o.key, { tat: o.tat });
          } else if (o.op === 'window') {
            const next = windowAdd(windows.get(o.key), o.at, HOUR, o.amount);
            windows.set(o.key, next);
            table.setWindow(o.key, next);
          } else {
            let dropped = 0;
            for (const [k, s] of buckets) if (bucketIsNeutral(s, o.at)) dropped += Number(buckets.delete(k));
            for (const [k, s] of windows) if (windowIsNeutral(s, o.at)) dropped += Number(windows.delete(k));
            expect(evicted(table, o.at, o.every)).toBe(dropped);
          }
          expect(table.size()).toBe(buckets.size + windows.size);
        }
        for (const k of new Set(ops.flatMap((o) => ('key' in o ? [o.key] : [])))) {
          expect(table.bucket(k)).toEqual(buckets.get(k));
          expect(table.window(k)).toEqual(windows.get(k));
        }
      }),
      { numRuns: 500 },
    );
  });
});
