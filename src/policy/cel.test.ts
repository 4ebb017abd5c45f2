import { describe, expect, it } from 'vitest';
import type { Envelope } from '../envelope/index.js';
import { compilePredicate } from './cel.js';

const msg = (data: Envelope['data'], extra: Partial<Envelope> = {}): Envelope => ({
  specversion: '1.0',
  id: '0190a0a0-0000-7000-8000-000000000000',
  source: 'mesh://retention/discount@1.1.0',
  type: 'credit.issue',
  time: '2025-06-01T12:00:00Z',
  subject: 'account:8841',
  correlationid: '0190a0a0-0000-7000-8000-000000000000',
  hop: 3,
  data,
  ...extra,
});

function test(source: string, envelope: Envelope): boolean | Error {
  const compiled = compilePredicate(source);
  if (!compiled.ok) throw new Error(`${source} must compile: ${compiled.reason}`);
  return compiled.test(envelope);
}

describe('compilePredicate: numbers behave the way a pilot expects', () => {
  it.each([
    // JSON numbers are JS numbers (CEL doubles); literals may be CEL ints or doubles.
    ['msg.data.amount > 50.0', 60, true],
    ['msg.data.amount > 50', 60, true],
    ['msg.data.amount > 50', 50.5, true],
    ['msg.data.amount > 50', 50, false],
    ['msg.data.amount > 50.0', 40, false],
    ['msg.data.amount >= 60', 60, true],
    ['msg.data.amount == 60', 60, true],
    ['msg.data.amount == 60.0', 60, true],
    ['msg.data.amount + 1 > 60', 60, true],
    ['2 * msg.data.amount > 100', 60, true],
    ['msg.data.amount / 2 == 30', 60, true],
    ['msg.data.amount in [60, 70]', 60, true],
    ['msg.type == "credit.issue" && msg.data.amount > 50.0', 60, true],
    ['msg.type == "credit.issue" && msg.data.amount > 50.0', 50, false],
  ])('%s with amount %d → %s', (source, amount, expected) => {
    expect(test(source, msg({ amount }))).toBe(expected);
  });

  it.each([
    ['msg.hop == 3', true],
    ['msg.hop > 2', true],
    ['msg.subject.startsWith("account:")', true],
    ['has(msg.target)', false],
    ['msg.data.lines.exists(l, l.price > 10)', true],
  ])('%s → %s', (source, expected) => {
    expect(test(source, msg({ amount: 1, lines: [{ price: 5 }, { price: 12.5 }] }))).toBe(expected);
  });
});

describe('compilePredicate: errors are values', () => {
  it.each([
    ['a missing field', 'msg.data.amount > 50', { note: 'no amount' }],
    ['an absent attribute', 'msg.target == "discount"', { amount: 1 }],
    ['a result that is not a boolean', 'msg.type', { amount: 1 }],
    ['a type mismatch at run time', 'msg.data.amount > "x"', { amount: 1 }],
  ])('%s', (_name, source, data) => {
    const result = test(source, msg(data));
    expect(result).toBeInstanceOf(Error);
  });

  it.each([
    ['a syntax error', 'msg.data.amount >'],
    ['an unknown variable', 'message.data.amount > 1'],
    ['a type error', '1 + "x" == 2'],
    ['a result that can never be a boolean', '"yes"'],
    ['an empty predicate', ''],
  ])('rejects %s at compile time', (_name, source) => {
    expect(compilePredicate(source).ok).toBe(false);
  });
});

describe('compilePredicate: matches is RE2, linear in the text', () => {
  it.each([
    ['msg.data.text.matches("^(a+)+$")'],
    // However the call is written: its argument in brackets, comments around its name, its receiver
    // in brackets, `matches(` in a comment before the real one.
    ['msg.data.text.matches(("^(a+)+$"))'],
    ['msg.data.text . // the text\n matches( // a pattern\n "^(a+)+$")'],
    ['(msg.data.text).matches("^(a+)+$")'],
    ['msg.data.text.matches(// matches(\n "^(a+)+$")'],
  ])('answers %s, a pattern that backtracks exponentially in JavaScript', (source) => {
    // A JavaScript RegExp takes about a minute on 41 characters, and doubles with each one more.
    const text = `${'a'.repeat(5_000)}!`;
    expect(test(source, msg({ text }))).toBe(false);
    expect(test(source, msg({ text: 'aaaa' }))).toBe(true);
  });

  it('refuses a pattern a message brings, however the call is written: it could be made to take a minute', () => {
    for (const source of [
      'msg.subject.matches(msg.data.p)',
      'msg.subject.matches((msg.data.p))',
      'msg.subject.matches("^a" + msg.data.p)',
    ]) {
      const compiled = compilePredicate(source);
      expect(compiled.ok, source).toBe(false);
      // Said where the pattern is, inside the call.
      if (!compiled.ok) expect(compiled.offset).toBeGreaterThan(source.indexOf('matches'));
    }
  });

  it('refuses the renamed function written by hand, which would take any pattern', () => {
    expect(compilePredicate('msg.subject.re2find(msg.data.p)').ok).toBe(false);
  });

  it('refuses a literal pattern that repeats a part more than 100 times', () => {
    expect(compilePredicate('msg.subject.matches("[^#]{1000}")').ok).toBe(false);
    expect(compilePredicate('msg.subject.matches("[^#]{2,100}")').ok).toBe(true);
  });

  it.each([
    // A search, as cel-go's, not a whole-string match; RE2's inline flags work.
    ['msg.subject.matches("88")', true],
    ['msg.subject.matches("^88")', false],
    ['msg.subject.matches("(?i)^ACCOUNT:")', true],
    ['msg.subject . matches ( "^account" )', true],
    ['msg.data.text == "x.matches(y)" || msg.subject.matches("41$")', true],
    ['msg.data.text.matches("^h") && msg.subject.matches("^account:\\\\d+$")', true],
  ])('%s → %s', (source, expected) => {
    expect(test(source, msg({ text: 'hello', pattern: '^account:\\d+$', other: 'x' }))).toBe(expected);
  });

  it('refuses a literal pattern RE2 cannot take, at the pattern', () => {
    for (const source of [
      'msg.subject.matches("(")',
      'msg.subject.matches("(a)\\\\1")',
      'msg.subject.matches("(?=a)")',
    ]) {
      const compiled = compilePredicate(source);
      expect(compiled.ok, source).toBe(false);
      if (!compiled.ok) expect(compiled.offset).toBe(source.indexOf('"'));
    }
  });
});
