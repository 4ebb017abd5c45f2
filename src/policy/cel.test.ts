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
