import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../envelope/index.js';
import type { Budget } from '../../policy/index.js';
import { budgetKey, createMemoryState } from '../../state/index.js';
import { creditBudget, DAY, envelope, NOW, src, step, testPolicy } from '../test-kit.js';

const budget = (over: Partial<Budget> = {}): Budget => ({ ...creditBudget, ...over });
const credit = (data: JsonValue, subject = 'account:8841') =>
  envelope({ source: src('discount'), type: 'credit.issue', subject, data });

/** Reasons of each credit in turn, against one store. */
function run(budgets: Budget[], credits: { data: JsonValue; subject?: string; at?: number }[]): string[] {
  const store = createMemoryState();
  const policy = testPolicy({ budgets });
  return credits.map(
    (c) =>
      step(store, policy, credit(c.data, c.subject), { kind: 'effect', now: c.at ?? NOW }).verdict.reason,
  );
}

const OK = 'gate.admitted';

describe('budget stage', () => {
  it.each([
    { name: 'within budget', credits: [{ data: { amount: 60 } }, { data: { amount: 40 } }], want: [OK, OK] },
    {
      name: 'over budget',
      credits: [{ data: { amount: 60 } }, { data: { amount: 50 } }],
      want: [OK, 'budget.exceeded'],
    },
    { name: 'a single amount over max', credits: [{ data: { amount: 101 } }], want: ['budget.exceeded'] },
    {
      name: 'per entity',
      credits: [{ data: { amount: 90 } }, { data: { amount: 90 }, subject: 'account:1' }],
      want: [OK, OK],
    },
    {
      name: 'forgotten after the window',
      credits: [{ data: { amount: 90 } }, { data: { amount: 90 }, at: NOW + DAY + DAY / 9 }],
      want: [OK, OK],
    },
    {
      name: 'remembered for the window',
      credits: [{ data: { amount: 90 } }, { data: { amount: 90 }, at: NOW + DAY }],
      want: [OK, 'budget.exceeded'],
    },
    {
      name: 'denied amounts do not count',
      credits: [{ data: { amount: 90 } }, { data: { amount: 20 } }, { data: { amount: 10 } }],
      want: [OK, 'budget.exceeded', OK],
    },
    { name: 'negative amount', credits: [{ data: { amount: -50 } }], want: ['budget.negative_value'] },
  ])('$name', ({ credits, want }) => {
    expect(run([budget()], credits)).toEqual(want);
  });

  it.each<{ name: string; data: JsonObject; path: string[] }>([
    { name: 'missing', data: { other: 1 }, path: ['deep', 'amount'] },
    { name: 'a string', data: { deep: { amount: '5' } }, path: ['deep', 'amount'] },
    { name: 'behind an array', data: { deep: [{ amount: 5 }] }, path: ['deep', 'amount'] },
    { name: 'inherited, not own', data: {}, path: ['constructor', 'length'] },
  ])('quarantines a field that is $name', ({ data, path }) => {
    const d = step(
      createMemoryState(),
      testPolicy({ budgets: [budget({ fieldPath: path, field: `/${path.join('/')}` })] }),
      credit({ amount: 1, ...data }),
      { kind: 'effect' },
    );
    expect(d.verdict).toMatchObject({
      decision: 'quarantine',
      stage: 'budget',
      reason: 'budget.field_not_number',
    });
  });

  it('reads numbers through arrays by index', () => {
    const b = budget({ fieldPath: ['lines', '1', 'amount'], field: '/lines/1/amount', max: 10 });
    expect(run([b], [{ data: { amount: 1, lines: [{}, { amount: 11 }] } }])).toEqual(['budget.exceeded']);
    expect(run([b], [{ data: { amount: 1, lines: [{}, { amount: 9 }] } }])).toEqual([OK]);
  });

  it('records the window for an admitted amount and names the rule when denying', () => {
    const store = createMemoryState();
    const policy = testPolicy({ budgets: [budget()] });
    const d = step(store, policy, credit({ amount: 25 }), { kind: 'effect' });
    expect(d.deltas.find((x) => x.kind === 'window')?.key).toBe(
      budgetKey('credit-per-account', 'account:8841'),
    );
    const denied = step(store, policy, credit({ amount: 80 }), { kind: 'effect' });
    expect(denied.verdict).toMatchObject({
      decision: 'deny',
      rule: 'credit-per-account',
      reason: 'budget.exceeded',
    });
    expect(denied.deltas).toEqual([]);
  });

  it.each([
    { scope: 'entity', partitions: 4, want: [OK, OK, OK] }, // exact: 20 + 40 + 30 of 100
    { scope: 'agent', partitions: 1, want: [OK, OK, OK] },
    { scope: 'agent', partitions: 4, want: [OK, 'budget.exceeded', 'budget.exceeded'] }, // 25 each
    { scope: 'mesh', partitions: 2, want: [OK, 'budget.exceeded', OK] }, // 50 each: 20 + 30
  ] as const)(
    'enforces a $scope budget with partitions: $partitions as its share',
    ({ scope, partitions, want }) => {
      const store = createMemoryState();
      const policy = testPolicy({ budgets: [budget({ scope })], partitions });
      const reasons = [{ amount: 20 }, { amount: 40 }, { amount: 30 }].map(
        (data) => step(store, policy, credit(data), { kind: 'effect' }).verdict,
      );
      expect(reasons.map((v) => v.reason)).toEqual(want);
      if (scope !== 'entity' && partitions > 1)
        expect(reasons[1]!.detail).toContain(
          `(each of ${partitions} partitions enforces 1/${partitions} of 100)`,
        );
    },
  );
});
