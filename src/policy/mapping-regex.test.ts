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
