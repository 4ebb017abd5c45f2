import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileContract } from './compile.js';
import { contractPattern, runsLinear, sameWithoutUnicode } from './linear-pattern.js';

describe('sameWithoutUnicode: a pattern that answers alike without the u flag', () => {
  it.each([
    ['^[a-z0-9]+(?:-[a-z0-9]+)*$'],
    ['^(\\w+\\s?)*$'],
    ['^(a+)+$'],
    ['^\\d{3}-\\d{4}$'],
    ['^[^<>]*$'],
    ['^.+$'],
    ['^\\S+@\\S+$'],
  ])('%s: yes', (pattern) => {
    expect(sameWithoutUnicode(pattern)).toBe(true);
    expect(runsLinear(pattern)).toBe(true);
  });

  it('leaves a pattern that answers alike but repeats more than V8 unrolls (over 16) to the RegExp', () => {
    expect(sameWithoutUnicode('^[A-Z0-9]{10,30}$')).toBe(true);
    expect(contractPattern('^[A-Z0-9]{10,30}$', 'u').flags).toBe('u');
  });

  it.each([
    // One unit or two: a bounded count of what can match half an emoji, or one such match alone.
    ['^.{1,5}$'],
    ['^.$'],
    ['^[^x]{2}$'],
    ['^\\S{3,}$'],
    // Read otherwise without u, or not linear at all.
    ['^\\p{L}+$'],
    ['^\\u{61}$'],
    ['^😀$'],
    ['(a)\\1'],
    ['^(?=a)a'],
  ])('%s: no, left to the backtracking engine', (pattern) => {
    expect(sameWithoutUnicode(pattern)).toBe(false);
    expect(runsLinear(pattern)).toBe(false);
    expect(contractPattern(pattern, 'u').flags).toBe('u');
  });

  it('compiles a pattern that answers alike without u, on the fast engine', () => {
    expect(contractPattern('^(\\w+\\s?)*$', 'u').flags).toBe('');
  });

  it('answers as the u-flag RegExp for every text, for patterns it runs linear', () => {
    const patterns = ['^[a-z0-9]+(?:-[a-z0-9]+)*$', '^[^<>]*$', '^.+x$', '^\\S+@\\S+$', '^\\w*\\s+\\d+$'];
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.string({ unit: 'grapheme' }), (pattern, text) => {
        expect(contractPattern(pattern, 'u').test(text)).toBe(new RegExp(pattern, 'u').test(text));
      }),
    );
  });
});

describe('a contract pattern on a message', () => {
  it('answers a pattern that backtracks exponentially, where the RegExp would hold the mesh', () => {
    // JavaScript's RegExp takes seconds on some 30 characters of this, doubling with each one more.
    const compiled = compileContract('note.v1', {
      type: 'object',
      properties: { text: { type: 'string', pattern: '^(\\w+\\s?)*$' } },
    });
    if (!compiled.ok) throw new Error('the contract does not compile');
    expect(compiled.contract.validate({ text: `${'word '.repeat(2_000)}!` })).not.toEqual([]);
    expect(compiled.contract.validate({ text: 'two words' })).toEqual([]);
  });
});
