import { describe, expect, it } from 'vitest';
import { compileMapping, REPLY_NAMES } from './mapping.js';

const linearOn = (): boolean => {
  try {
    // biome-ignore lint/complexity/useRegexLiterals: a literal with the l flag does not parse without the V8 flag
    return new RegExp('a', 'l').flags === 'l';
  } catch {
    return false;
  }
};

// Its own file: V8 flags are process-wide, and each test file runs in a fresh process.
describe('the linear-time regex engine', () => {
  it('is switched on only when a mapping has a regex, and then works', async () => {
    expect(linearOn()).toBe(false);
    expect('issues' in compileMapping({ a: '{{ $uppercase(text) }}' }, REPLY_NAMES)).toBe(false);
    expect(linearOn()).toBe(false);
    const mapping = compileMapping({ m: '{{ $match(text, /(a+)+$/) }}' }, REPLY_NAMES);
    expect(linearOn()).toBe(true);
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    expect(await mapping.evaluate({ text: `${'a'.repeat(50_000)}b` })).toEqual({ ok: true, value: {} });
  });

  it('counts a regex’s matching into the step budget: linear in a big answer is still long', async () => {
    const words = Array.from({ length: 50 }, (_, i) => `word${i}`).join('|');
    const mapping = compileMapping({ n: `{{ $count($match(text, /${words}/)) }}` }, REPLY_NAMES);
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const big = await mapping.evaluate({ text: 'ab '.repeat(100_000) });
    expect(big).toMatchObject({ ok: false, pointer: '/n', kind: 'steps' });
    // The same mapping over an ordinary answer is well within the budget.
    const small = await mapping.evaluate({ text: 'ab word7 '.repeat(200) });
    expect(small).toEqual({ ok: true, value: { n: 200 } });
  });
});

describe('$distinct', () => {
  it('keeps JSONata’s meaning: deep equality, objects in any key order, arrays in order', async () => {
    const mapping = compileMapping('{{ $distinct(json) }}', REPLY_NAMES);
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const json = [
      1,
      '1',
      1,
      { a: 1, b: 2 },
      { b: 2, a: 1 },
      [1, 2],
      [2, 1],
      [1, 2],
      null,
      null,
      true,
      'x',
      'x',
    ];
    expect(await mapping.evaluate({ json })).toEqual({
      ok: true,
      value: [1, '1', { a: 1, b: 2 }, [1, 2], [2, 1], null, true, 'x'],
    });
  });

  it('counts its work: JSONata’s compares every item with every other, in one step', async () => {
    const mapping = compileMapping('{{ $count($distinct(json.ids)) }}', REPLY_NAMES, { maxSteps: 20_000 });
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const ids = Array.from({ length: 30_000 }, (_, i) => i);
    expect(await mapping.evaluate({ json: { ids } })).toMatchObject({ ok: false, kind: 'steps' });
    expect(await mapping.evaluate({ json: { ids: ids.slice(0, 5_000) } })).toEqual({
      ok: true,
      value: 5_000,
    });
  });
});

describe('$clone, $merge and transforms', () => {
  // A 700 kB answer: 60,000 small objects.
  const json = { items: Array.from({ length: 60_000 }, (_, i) => ({ i })) };
  it.each([
    ['$clone', '{{ $reduce([1..2000], function($a, $i){ $count($clone($$.json).items) }, 0) }}'],
    ['a transform', '{{ $reduce([1..2000], function($a, $i){ $count(($$.json ~> |$|{}|).items) }, 0) }}'],
    ['$merge', '{{ $reduce([1..2000], function($a, $i){ $merge($$.json.items).i }, 0) }}'],
  ])('counts the copy %s makes: a loop over a big answer runs out of steps', async (_, template) => {
    const mapping = compileMapping(template, REPLY_NAMES);
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const began = performance.now();
    expect(await mapping.evaluate({ json })).toMatchObject({ ok: false, kind: 'steps' });
    expect(performance.now() - began).toBeLessThan(2_000);
  });

  it.each([
    ['$clone', '{{ $clone(json) }}', { a: [1, { b: 'x' }], n: 0.1 }],
    ['a transform', '{{ json ~> |$|{"c": 2}| }}', { a: [1, { b: 'x' }], c: 2, n: 0.1 }],
    ['$merge', '{{ $merge([json, {"n": 2}]) }}', { a: [1, { b: 'x' }], n: 2 }],
    ['$merge of nothing', '{{ $merge(json.none) }}', undefined],
  ])('%s gives what JSONata’s does', async (_, template, value) => {
    const mapping = compileMapping(template, REPLY_NAMES, { optional: true });
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    expect(await mapping.evaluate({ json: { a: [1, { b: 'x' }], n: 0.1 } })).toEqual({ ok: true, value });
  });
});

describe('$sort', () => {
  it('refuses a list too long to sort within the budget before sorting it (100,000 numbers ran out of memory)', async () => {
    const mapping = compileMapping('{{ $count($sort(json.nums)) }}', REPLY_NAMES);
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const nums = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 100_003);
    const began = performance.now();
    expect(await mapping.evaluate({ json: { nums } })).toMatchObject({ ok: false, kind: 'steps' });
    expect(performance.now() - began).toBeLessThan(1_000);
  });

  it.each([
    ['numbers', '{{ $sort(json.n) }}', [1, 2, 3]],
    ['text', '{{ $sort(json.s) }}', ['a', 'b', 'c']],
    ['by a comparator, stable', '{{ $sort(json.o, function($a, $b){ $a.k > $b.k }).v }}', ['x', 'z', 'y']],
    ['nothing', '{{ $sort(json.none) }}', undefined],
  ])('sorts %s as JSONata does', async (_, template, value) => {
    const mapping = compileMapping(template, REPLY_NAMES, { optional: true });
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const json = {
      n: [3, 1, 2],
      s: ['b', 'c', 'a'],
      o: [
        { k: 2, v: 'y' },
        { k: 1, v: 'x' },
        { k: 1, v: 'z' },
      ],
    };
    expect(await mapping.evaluate({ json })).toEqual({ ok: true, value });
  });
});

describe('reading a list', () => {
  it('costs steps by its length: an aggregate in a loop over a big list runs out of steps', async () => {
    const template = '{{ ($v := json.nums; $reduce([1..2000], function($a, $i){ $max($v) }, 0)) }}';
    const mapping = compileMapping(template, REPLY_NAMES);
    if ('issues' in mapping) throw new Error(JSON.stringify(mapping.issues));
    const nums = Array.from({ length: 100_000 }, (_, i) => i);
    const began = performance.now();
    expect(await mapping.evaluate({ json: { nums } })).toMatchObject({ ok: false, kind: 'steps' });
    expect(performance.now() - began).toBeLessThan(2_000);
  });
});
