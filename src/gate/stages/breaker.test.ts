import { describe, expect, it } from 'vitest';
import type { BreakerRule } from '../../policy/index.js';
import {
  type BreakerState,
  breakerKey,
  createMemoryState,
  LOOP_BREAKER,
  PILOT_BREAKER,
  type StateDelta,
} from '../../state/index.js';
import { creditBurst, envelope, HOUR, MIN, NOW, src, step, testPolicy } from '../test-kit.js';

const rule = (over: Partial<BreakerRule> = {}): BreakerRule => ({ ...creditBurst, ...over });
const credit = () => envelope({ source: src('discount'), type: 'credit.issue', data: { amount: 5 } });
const open = (action: 'freeze' | 'deny', by: string, closesAt?: number): BreakerState =>
  closesAt === undefined
    ? { state: 'open', action, openedAt: NOW - MIN, by }
    : { state: 'open', action, openedAt: NOW - MIN, closesAt, by };

describe('breaker stage: open breakers', () => {
  it.each([
    {
      name: 'pilot freeze of the subject',
      key: breakerKey(PILOT_BREAKER, 'account:8841'),
      state: open('freeze', 'pilot:ana'),
      reason: 'breaker.frozen',
      decision: 'hold',
      rule: PILOT_BREAKER,
    },
    {
      name: 'loop freeze of the subject',
      key: breakerKey(LOOP_BREAKER, 'account:8841'),
      state: open('freeze', 'loop'),
      reason: 'breaker.frozen',
      decision: 'hold',
      rule: LOOP_BREAKER,
    },
    {
      name: 'an entity rule, freeze',
      key: breakerKey('credit-burst', 'account:8841'),
      state: open('freeze', 'credit-burst'),
      reason: 'breaker.frozen',
      decision: 'hold',
      rule: 'credit-burst',
    },
    {
      name: 'an agent rule, deny',
      key: breakerKey('agent-trip', 'inbox'),
      state: open('deny', 'agent-trip'),
      reason: 'breaker.open',
      decision: 'deny',
      rule: 'agent-trip',
    },
    {
      name: 'a mesh rule, deny',
      key: breakerKey('mesh-trip', '*'),
      state: open('deny', 'mesh-trip'),
      reason: 'breaker.open',
      decision: 'deny',
      rule: 'mesh-trip',
    },
    {
      name: 'another subject',
      key: breakerKey(PILOT_BREAKER, 'account:1'),
      state: open('freeze', 'pilot:ana'),
      reason: 'gate.admitted',
      decision: 'deliver',
      rule: undefined,
    },
    {
      name: 'an edge rule on another edge',
      key: breakerKey('edge-trip', 'sentiment->churn'),
      state: open('deny', 'edge-trip'),
      reason: 'gate.admitted',
      decision: 'deliver',
      rule: undefined,
    },
  ])('$name → $reason', ({ key, state, reason, decision, rule: ruleId }) => {
    const policy = testPolicy({
      breakers: [
        rule(),
        rule({ id: 'agent-trip', scope: 'agent', action: 'deny' }),
        rule({ id: 'mesh-trip', scope: 'mesh', action: 'deny' }),
        rule({ id: 'edge-trip', scope: 'edge', action: 'deny' }),
      ],
    });
    const store = createMemoryState();
    store.apply([{ kind: 'breaker-open', key, state }]);
    const d = step(store, policy, envelope());
    expect(d.verdict).toMatchObject({ reason, decision });
    expect(d.verdict.rule).toBe(ruleId);
  });

  it.each([
    ['', false],
    [', after the periodic evict pass', true],
  ])('closes a breaker whose cooldown has passed, and goes on%s', (_, evicted) => {
    const store = createMemoryState();
    const key = breakerKey('credit-burst', 'account:8841');
    store.apply([{ kind: 'breaker-open', key, state: open('deny', 'credit-burst', NOW) }]);
    // The pass leaves it for this close, whose delta is what tells on-call (breaker.closed).
    if (evicted) store.evict(NOW + HOUR);
    const d = step(store, testPolicy({ breakers: [rule()] }), envelope());
    expect(d.verdict.reason).toBe('gate.admitted');
    expect(d.deltas).toContainEqual({ kind: 'breaker-close', key });
    expect(store.breaker(key)).toBeUndefined();
  });

  it('returns the close even when a later breaker stops the message', () => {
    const store = createMemoryState();
    const closing = breakerKey(LOOP_BREAKER, 'account:8841');
    store.apply([
      { kind: 'breaker-open', key: closing, state: open('freeze', 'loop', NOW - 1) },
      {
        kind: 'breaker-open',
        key: breakerKey(PILOT_BREAKER, 'account:8841'),
        state: open('freeze', 'pilot:ana'),
      },
    ]);
    const d = step(store, testPolicy(), envelope());
    expect(d.verdict.reason).toBe('breaker.frozen');
    expect(d.deltas).toEqual([
      { kind: 'breaker-close', key: closing },
      expect.objectContaining({ kind: 'hold-open' }),
    ]);
  });
});

describe('breaker stage: counting', () => {
  it.each([
    { name: 'freeze', r: rule(), decision: 'hold', closesAt: undefined },
    { name: 'deny', r: rule({ action: 'deny' }), decision: 'deny', closesAt: undefined },
    {
      name: 'freeze with cooldown',
      r: rule({ cooldownMs: 30 * MIN }),
      decision: 'hold',
      closesAt: NOW + 30 * MIN,
    },
  ])('trips on one more than over: $name', ({ r, decision, closesAt }) => {
    const store = createMemoryState();
    const policy = testPolicy({ breakers: [r] });
    const reasons = [0, 1, 2].map(() => step(store, policy, credit(), { kind: 'effect' }).verdict.reason);
    expect(reasons).toEqual(['gate.admitted', 'gate.admitted', 'breaker.tripped']);
    const key = breakerKey('credit-burst', 'account:8841');
    const state = store.breaker(key);
    expect(state).toMatchObject({ state: 'open', action: r.action, openedAt: NOW, by: 'credit-burst' });
    expect(state?.closesAt).toBe(closesAt);
    const next = step(store, policy, credit(), { kind: 'effect' });
    expect(next.verdict.decision).toBe(decision);
    expect(next.verdict.reason).toBe(decision === 'hold' ? 'breaker.frozen' : 'breaker.open');
  });

  it('counts only admitted messages of the counted type, per window', () => {
    const store = createMemoryState();
    const policy = testPolicy({ breakers: [rule()] });
    const kinds: StateDelta['kind'][][] = [];
    for (const at of [NOW, NOW + 1, NOW + 2 * HOUR]) {
      kinds.push(step(store, policy, credit(), { kind: 'effect', now: at }).deltas.map((d) => d.kind));
    }
    // The count window changes, and each admitted credit is remembered (an echo mark without text).
    expect(kinds).toEqual([
      ['window', 'echo'],
      ['window', 'echo'],
      ['window', 'echo'],
    ]);
    expect(step(store, policy, envelope()).deltas).toEqual([]);
  });
});

describe('breaker stage: failure breakers', () => {
  const failing = rule({
    id: 'failing-credits',
    failures: { kind: 'deadLetters', worker: 'effect:credit.issue' },
  });

  it('does not count admissions for a breaker that counts failures', () => {
    const store = createMemoryState();
    const policy = testPolicy({ breakers: [failing] });
    const reasons = [0, 1, 2, 3].map(() => step(store, policy, credit(), { kind: 'effect' }).verdict.reason);
    expect(reasons).toEqual(['gate.admitted', 'gate.admitted', 'gate.admitted', 'gate.admitted']);
    expect(store.breaker(breakerKey('failing-credits', 'account:8841'))).toBeUndefined();
  });

  it('stops messages once the runtime opened it, like any breaker', () => {
    const store = createMemoryState();
    const key = breakerKey('failing-credits', 'account:8841');
    store.apply([{ kind: 'breaker-open', key, state: open('freeze', 'failing-credits') }]);
    const d = step(store, testPolicy({ breakers: [failing] }), credit(), { kind: 'effect' });
    expect(d.verdict).toMatchObject({ decision: 'hold', reason: 'breaker.frozen', rule: 'failing-credits' });
  });
});

describe('breaker stage: a share per partition', () => {
  it.each([
    { scope: 'entity', partitions: 2, tripsAt: 3 }, // exact: over 2
    { scope: 'agent', partitions: 2, tripsAt: 2 }, // floor(2 / 2) = 1
    { scope: 'edge', partitions: 3, tripsAt: 1 }, // floor(2 / 3) = 0
    { scope: 'mesh', partitions: 1, tripsAt: 3 },
  ] as const)(
    'trips a $scope breaker with partitions: $partitions at message $tripsAt',
    ({ scope, partitions, tripsAt }) => {
      const store = createMemoryState();
      const policy = testPolicy({ breakers: [rule({ scope })], partitions });
      const reasons = [1, 2, 3].map(() => step(store, policy, credit(), { kind: 'effect' }).verdict.reason);
      expect(reasons.indexOf('breaker.tripped') + 1).toBe(tripsAt);
    },
  );
});
