import { describe, expect, it } from 'vitest';
import type { ApprovalRule } from '../../policy/index.js';
import { createMemoryState } from '../../state/index.js';
import { bigCredit, envelope, fullPolicy, src, step, testPolicy } from '../test-kit.js';

const credit = (data: object) =>
  envelope({ source: src('discount'), type: 'credit.issue', data: data as never });
const throwing: ApprovalRule = {
  ...bigCredit,
  id: 'throws',
  test: () => {
    throw new Error('boom');
  },
};
const odd: ApprovalRule = { ...bigCredit, id: 'odd', test: () => 'yes' as unknown as boolean };

describe('approval stage', () => {
  it.each([
    {
      name: 'small credit',
      rules: [bigCredit],
      data: { amount: 25 },
      reason: 'gate.admitted',
      rule: undefined,
    },
    {
      name: 'big credit',
      rules: [bigCredit],
      data: { amount: 60 },
      reason: 'approval.required',
      rule: 'big-credit',
    },
    {
      name: 'predicate returns an error',
      rules: [bigCredit],
      data: { amount: 5, note: 'x' },
      reason: 'gate.admitted',
      rule: undefined,
    },
    {
      name: 'predicate throws',
      rules: [throwing],
      data: { amount: 5 },
      reason: 'approval.predicate_error',
      rule: 'throws',
    },
    {
      name: 'predicate returns a non-boolean',
      rules: [odd],
      data: { amount: 5 },
      reason: 'approval.predicate_error',
      rule: 'odd',
    },
    {
      name: 'the first rule that holds decides',
      rules: [{ ...bigCredit, id: 'first' }, bigCredit],
      data: { amount: 60 },
      reason: 'approval.required',
      rule: 'first',
    },
  ])('$name → $reason', ({ rules, data, reason, rule }) => {
    const d = step(createMemoryState(), testPolicy({ approvals: rules }), credit(data), { kind: 'effect' });
    expect(d.verdict.reason).toBe(reason);
    expect(d.verdict.rule).toBe(rule);
    if (reason !== 'gate.admitted') expect(d.verdict).toMatchObject({ stage: 'approval', decision: 'hold' });
  });

  it('holds on an evaluation error (fail safe)', () => {
    const noAmount: ApprovalRule = { ...bigCredit, test: () => new Error('no such key: amount') };
    const d = step(createMemoryState(), testPolicy({ approvals: [noAmount] }), credit({ amount: 1 }), {
      kind: 'effect',
    });
    expect(d.verdict).toMatchObject({ decision: 'hold', reason: 'approval.predicate_error' });
  });

  it('a held approval reserves its share of limits, budgets and counts', () => {
    const store = createMemoryState();
    const d = step(store, fullPolicy(), credit({ amount: 60 }), { kind: 'effect' });
    expect(d.verdict.reason).toBe('approval.required');
    expect(d.deltas.map((x) => x.kind)).toEqual(['bucket', 'window', 'window', 'echo', 'hold-open']);
    // The reserved 60 leaves 40 of the budget.
    expect(step(store, fullPolicy(), credit({ amount: 45 }), { kind: 'effect' }).verdict.reason).toBe(
      'budget.exceeded',
    );
  });
});
