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
    ['^\\S+@[a-z.]+$'],
    ['[a-z]+@'],
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
    // Two parts that can match half an emoji could split one between them; so could one repeated.
    ['^.+.+$'],
    ['^\\S+\\S+$'],
    ['^[^a]+[^b]+$'],
    ['^(?:.+){2}$'],
    ['^(?:[^x]+)*$'],
    ['^[\\S]+[\\W]+$'],
    // Case folded by Unicode rules with u (ſ, K), by simple ones without.
    ['^(?i:s)$'],
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

  it('compiles a pattern that answers alike without u on the linear engine', () => {
    expect(contractPattern('^(\\w+\\s?)*$', 'u').flags).toBe('l');
  });

  it('answers an unanchored greedy pattern in linear time, which the backtracking engine takes quadratic time for', () => {
    expect(contractPattern('[a-z]+@', 'u').test('a'.repeat(200_000))).toBe(false);
  });

  it('answers as the u-flag RegExp for every text, for patterns it runs linear', () => {
    const patterns = [
      '^[a-z0-9]+(?:-[a-z0-9]+)*$',
      '^[^<>]*$',
      '^.+x$',
      '^\\S+@[a-z]+$',
      '^\\w*\\s+\\d+$',
      '[a-z]+@',
    ];
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
